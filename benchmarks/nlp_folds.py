"""Theme-classifier quality on held-out folds of the *training* data, for the choices in docs/nlp-log.md.

The evaluation set (data/eval/themes.jsonl) is not read here: every setting is chosen on these
figures, and the evaluation set only reports the result (benchmarks/nlp_quality.py).

Two measures, both on config/training.jsonl (the themes' statements and terms are always learned
from, never measured on):
- k-fold cross-validation over all labelled texts, with several shuffles (seeds);
- "transfer": train on the first --first texts of the file (the first training set, written
  before the rest) and measure on the texts after them, and the other way round. The later texts
  were written apart from the first ones (other organisations and phrasing), which is closer to
  what the evaluation set does than a random fold.
Per setting: macro-F1 / none_accuracy at one threshold for every theme (--thresholds), and with
per-theme thresholds chosen on one half of the texts' out-of-fold scores and measured on the
other half (and back), so that the thresholds are never scored on the texts that chose them.

With --parts (the file's line numbers where a later round of writing began, e.g. 554 1287): transfer
between those parts instead: each part measured by a model trained on every other part, and by one
trained on each other part alone, so that one sees whether adding a round helps on texts of another.
With --always-learn N: the texts after the first N are learned from in every fold and every transfer
and never measured, so that the same folds of the first N texts show what a later round adds.

Usage: .venv/bin/python benchmarks/nlp_folds.py [--setting shipped|previous|no-idf|no-forms] [--folds 5]
       [--seeds 0 1] [--first 554] [--thresholds 0.5 0.4 0.3] [--per-theme] [--themes FILE]
       [--parts 554 1287 [--others-only]] [--l2 0.0008] [--epochs 30] [--learn-rate 0.01]
       [--arch forms=false] [--always-learn 2082]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from thinc.api import Config  # noqa: E402

from harvester.nlp import evaluate, load_themes, read_jsonl, train  # noqa: E402
from harvester.nlp.pipeline import PIPELINE_CONFIG, TEXTCAT  # noqa: E402

# the training setup before this comparison: plain counts, no L2, 20 epochs
PREVIOUS = {
    "epochs": 20, "l2": 0.0,
    "textcat_model": {"@architectures": "harvester.TermBOW.v1", "exclusive_classes": False,
                      "length": 65536, "normalize": False},
}
# the shipped setup before IDF weighting (fifth round): normalised, L2, 30 epochs, no idf
NO_IDF = {"textcat_model": {"@architectures": "harvester.TermBOW.v1", "exclusive_classes": False,
                            "length": 65536, "normalize": True, "idf": False}}
# the shipped setup before word forms (sixth round): idf, but lemmas only
NO_FORMS = {"textcat_model": {"@architectures": "harvester.TermBOW.v1", "exclusive_classes": False,
                              "length": 65536, "normalize": True, "idf": True, "forms": False}}
SETTINGS = {"shipped": {}, "previous": PREVIOUS, "no-idf": NO_IDF, "no-forms": NO_FORMS}
GRID = [round(0.2 + 0.05 * i, 2) for i in range(11)]   # 0.2 .. 0.7


def scores(nlp, texts, themes) -> list[list[float]]:
    """Per text a score per theme; 0 for a text not in the consultation's language (it gets no theme)."""
    return [[d.cats[t] for t in themes.ids] if d._.language in (None, themes.language) else [0.0] * len(themes.ids)
            for d in nlp.pipe(texts)]


def out_of_fold(items, themes, extra, folds: int, seed: int, setting: dict) -> list[list[float]]:
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    result: list[list[float]] = [[] for _ in items]
    for k in range(folds):
        held = order[k::folds]
        held_set = set(held)
        learn = [items[i] for i in range(len(items)) if i not in held_set] + extra
        nlp = train(learn, themes, seed=seed, **setting)
        for i, s in zip(held, scores(nlp, [items[i][0] for i in held], themes)):
            result[i] = s
    return result


def assign(row_scores, thresholds, ids):
    return [[t for t, s, th in zip(ids, row, thresholds) if s >= th] for row in row_scores]


def measure(gold, row_scores, thresholds, ids) -> dict:
    return evaluate(gold, assign(row_scores, thresholds, ids), ids)


def best_thresholds(gold, row_scores, ids) -> list[float]:
    """Per theme the grid threshold with the best F1 on these texts."""
    chosen = []
    for j, theme in enumerate(ids):
        def f1(th):
            tp = sum(1 for g, r in zip(gold, row_scores) if theme in g and r[j] >= th)
            fp = sum(1 for g, r in zip(gold, row_scores) if theme not in g and r[j] >= th)
            fn = sum(1 for g, r in zip(gold, row_scores) if theme in g and r[j] < th)
            return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        chosen.append(max(GRID, key=lambda th: (f1(th), -abs(th - 0.5))))
    return chosen


def cross_half(gold, row_scores, ids, seed: int = 99) -> tuple[dict, list[list[float]]]:
    """Thresholds chosen on one half, measured on the other (and back); also the thresholds chosen."""
    order = list(range(len(gold)))
    random.Random(seed).shuffle(order)
    halves = [order[0::2], order[1::2]]
    predicted: list[list[str]] = [[] for _ in gold]
    chosen = []
    for a, b in ((0, 1), (1, 0)):
        th = best_thresholds([gold[i] for i in halves[a]], [row_scores[i] for i in halves[a]], ids)
        chosen.append(th)
        for i in halves[b]:
            predicted[i] = assign([row_scores[i]], th, ids)[0]
    return evaluate(gold, predicted, ids), chosen


def cell(metrics: list[dict]) -> str:
    macro = sum(m["macro_f1"] for m in metrics) / len(metrics)
    none = sum(m["none_accuracy"] for m in metrics) / len(metrics)
    return f"{macro:.3f}/{none:.3f}"


def transfer_rows(name, learn, test, themes, extra, setting, seeds, thresholds) -> str:
    runs = [scores(train(learn + extra, themes, seed=s, **setting), [t for t, _ in test], themes) for s in seeds]
    gold = [labels for _, labels in test]
    fixed = [cell([measure(gold, r, [th] * len(themes.ids), themes.ids) for r in runs]) for th in thresholds]
    return f"| {name} | " + " | ".join(fixed) + f" | {cell([cross_half(gold, r, themes.ids)[0] for r in runs])} |"


def parts_table(items, bounds, themes, extra, setting, seeds, thresholds, others_only=False) -> None:
    """Each part measured by models trained on the other parts together and (unless `others_only`)
    on each other part alone."""
    edges = [0, *bounds, len(items)]
    parts = [items[a:b] for a, b in zip(edges, edges[1:])]
    names = [f"{a + 1}–{b}" for a, b in zip(edges, edges[1:])]
    for i, test in enumerate(parts):
        others = [j for j in range(len(parts)) if j != i]
        for group in [others] + ([[j] for j in others] if len(others) > 1 and not others_only else []):
            learn = [x for j in group for x in parts[j]]
            label = " + ".join(names[j] for j in group)
            print(transfer_rows(f"{label} → {names[i]}", learn, test, themes, extra, setting, seeds, thresholds))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="shipped")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--first", type=int, default=554, help="size of the first training set (transfer)")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.4, 0.3])
    parser.add_argument("--per-theme", action="store_true", help="also print per-theme F1 of the folds at 0.5")
    parser.add_argument("--parts", type=int, nargs="+", help="transfer between the parts that begin at these lines, no folds")
    parser.add_argument("--others-only", action="store_true", help="with --parts: only the model trained on all other parts")
    parser.add_argument("--l2", type=float, help="L2 strength instead of the setting's")
    parser.add_argument("--epochs", type=int, help="epochs instead of the setting's")
    parser.add_argument("--learn-rate", type=float, help="Adam's learning rate instead of the setting's")
    parser.add_argument("--arch", nargs="+", default=[], metavar="KEY=VALUE",
                        help="TermBOW parameters instead of the setting's (forms=false)")
    parser.add_argument("--themes", default=str(ROOT / "config" / "themes.toml"), help="another themes file to compare")
    parser.add_argument("--always-learn", type=int, metavar="N",
                        help="measure on the first N texts only; the later ones are learned from in every run")
    args = parser.parse_args()
    themes = load_themes(args.themes)
    items = read_jsonl(ROOT / "config" / "training.jsonl", themes.ids)
    extra = themes.examples()
    always = items[args.always_learn:] if args.always_learn else []
    items, extra = items[: len(items) - len(always)], extra + always
    setting = dict(SETTINGS[args.setting])
    setting.update({k: v for k, v in (("l2", args.l2), ("epochs", args.epochs), ("learn_rate", args.learn_rate))
                    if v is not None})
    if args.arch:
        arch = dict(setting.get("textcat_model") or Config().from_str(PIPELINE_CONFIG)["components"][TEXTCAT]["model"])
        for pair in args.arch:
            key, value = pair.split("=", 1)
            try:
                arch[key] = json.loads(value)
            except json.JSONDecodeError:
                arch[key] = value   # a bare word: a string
        setting["textcat_model"] = arch
    ids = themes.ids
    started = time.process_time()
    print(f"setting {args.setting} {setting}; {len(items)} labelled texts (+ {len(always)} always learned from); "
          "cells: macro-F1/none_accuracy")
    header = " | ".join(f"at {th}" for th in args.thresholds)
    print(f"| measure | {header} | per-theme thresholds (other half) |")
    print("|---|" + "---|" * (len(args.thresholds) + 1))

    if args.parts:
        parts_table(items, args.parts, themes, extra, setting, args.seeds, args.thresholds, args.others_only)
        print(f"CPU time {time.process_time() - started:.0f} s")
        return
    first, later = items[: args.first], items[args.first:]
    for name, learn, test in (("transfer first → later", first, later), ("transfer later → first", later, first)):
        print(transfer_rows(name, learn, test, themes, extra, setting, args.seeds, args.thresholds))

    gold = [labels for _, labels in items]
    runs = [out_of_fold(items, themes, extra, args.folds, s, setting) for s in args.seeds]
    fixed = [cell([measure(gold, r, [th] * len(ids), ids) for r in runs]) for th in args.thresholds]
    halves = [cross_half(gold, r, ids) for r in runs]
    print(f"| {args.folds}-fold, seeds {' '.join(map(str, args.seeds))} | " + " | ".join(fixed)
          + f" | {cell([m for m, _ in halves])} |")
    chosen = [th for _, pair in halves for th in pair]
    print("per-theme thresholds chosen on halves of the folds (mean): "
          + ", ".join(f"{t} {sum(c[j] for c in chosen) / len(chosen):.2f}" for j, t in enumerate(ids)))
    if args.per_theme:
        at_half = [measure(gold, r, [0.5] * len(ids), ids) for r in runs]
        print("per-theme F1 of the folds at 0.5: "
              + ", ".join(f"{t} {sum(m['per_theme'][t]['f1'] for m in at_half) / len(at_half):.3f}" for t in ids))
    print(f"CPU time {time.process_time() - started:.0f} s")


if __name__ == "__main__":
    main()
