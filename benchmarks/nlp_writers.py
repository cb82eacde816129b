"""Theme-classifier quality on writers a model has not read: the measure that chooses features,
weights and thresholds (docs/nlp-log.md, "Seventh round").

The training texts (config/training.jsonl) name their writer (`writer`: the project's five writing
rounds p1..p5, each a voice of its own). Each writer's texts are scored by a model trained on the
other writers' texts (and the themes' statements and terms, always learned from), which is
closer to what real posts do to the model than a random fold. Printed per setting:
- macro-F1 / none_accuracy at one threshold for every theme (--thresholds), averaged over writers;
- with per-theme thresholds chosen on the other writers' out-of-writer scores (never on the texts
  they are measured on), and the thresholds chosen on all writers' scores (the ones a model ships);
  both by the rule `harvester train` uses (best F1, raised until MIN_NONE_ACCURACY of the texts
  without a theme get none).

With --single each writer's texts alone train a model that scores every other writer's texts:
a model that has read one voice meets four others, with far more words it never saw (as real
posts are to the whole training set). What carries over shows there first.

With --heldout FILE the model trained on all writers is also measured on FILE, at the thresholds
chosen on all writers. A held-out writer set may be run only a few times (docs/nlp-log.md says how
often and logs each run): run it only after the setting was chosen on the writers here.

Usage: .venv/bin/python benchmarks/nlp_writers.py [--arch chars=[3,5] char_scale=0.5 ...] [--l2 0.0008]
       [--epochs 30] [--seed 0] [--thresholds 0.5 0.35 0.25] [--heldout data/eval/writers.jsonl]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from thinc.api import Config  # noqa: E402

from harvester.nlp import evaluate, load_themes, read_jsonl, read_writers, train  # noqa: E402
from harvester.nlp.training import MIN_NONE_ACCURACY, out_of_writer_scores, theme_scores as scores  # noqa: E402
from harvester.nlp.pipeline import PIPELINE_CONFIG, TEXTCAT  # noqa: E402
from harvester.nlp.thresholds import choose_thresholds  # noqa: E402
from harvester.nlp.evidence import TERM_WEIGHT, raise_rows  # noqa: E402


def assign(rows, thresholds, ids):
    return [[t for t, s in zip(ids, row) if s >= thresholds[t]] for row in rows]


def cell(metrics: list[dict]) -> str:
    macro = sum(m["macro_f1"] for m in metrics) / len(metrics)
    none = sum(m["none_accuracy"] for m in metrics) / len(metrics)
    return f"{macro:.3f}/{none:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", nargs="+", default=[], metavar="KEY=VALUE", help="TermBOW parameters (chars=[3,5])")
    parser.add_argument("--l2", type=float)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.35, 0.25])
    parser.add_argument("--heldout", help="a held-out writer set, measured once at the end")
    parser.add_argument("--single", action="store_true", help="train on one writer, measure on the others")
    parser.add_argument("--themes", default=str(ROOT / "config" / "themes.toml"))
    parser.add_argument("--training", default=str(ROOT / "config" / "training.jsonl"))
    args = parser.parse_args()
    themes = load_themes(args.themes)
    ids = themes.ids
    items = read_jsonl(args.training, ids)
    writers = read_writers(args.training, ids)
    extra = themes.examples()
    setting: dict = {k: v for k, v in (("l2", args.l2), ("epochs", args.epochs)) if v is not None}
    arch = dict(Config().from_str(PIPELINE_CONFIG)["components"][TEXTCAT]["model"])
    for pair in args.arch:
        key, value = pair.split("=", 1)
        try:
            arch[key] = json.loads(value)
        except json.JSONDecodeError:
            arch[key] = value
    setting["textcat_model"] = arch
    names = sorted(set(writers))
    started = time.process_time()
    print(f"{setting}; {len(items)} texts by {len(names)} writers; cells: macro-F1/none_accuracy")

    if args.single:
        single(items, writers, names, themes, extra, setting, args)
        print(f"CPU time {time.process_time() - started:.0f} s")
        return
    # scored as the pipeline scores: with term evidence at its default weight
    out = raise_rows(*out_of_writer_scores(items, writers, themes, extra, seed=args.seed, **setting), TERM_WEIGHT)
    gold = [labels for _, labels in items]
    groups = {name: [i for i, w in enumerate(writers) if w == name] for name in names}

    def per_writer(thresholds_for) -> list[dict]:
        return [evaluate([gold[i] for i in idx], assign([out[i] for i in idx], thresholds_for(name), ids), ids)
                for name, idx in groups.items()]

    rows = [f"at {th}: {cell(per_writer(lambda _n, th=th: dict.fromkeys(ids, th)))}" for th in args.thresholds]

    def chosen_without(name):
        rest = [i for n, idx in groups.items() if n != name for i in idx]
        return choose_thresholds([gold[i] for i in rest], [out[i] for i in rest], ids, MIN_NONE_ACCURACY)

    rows.append(f"per-theme, chosen on the other writers: {cell(per_writer(chosen_without))}")
    print(" | ".join(rows))
    print("per writer (per-theme thresholds): " + ", ".join(
        f"{n} {m['macro_f1']:.3f}" for n, m in zip(groups, per_writer(chosen_without))))
    shipped = choose_thresholds(gold, out, ids, MIN_NONE_ACCURACY)
    print("thresholds chosen on all writers: " + ", ".join(f"{t} {shipped[t]:.2f}" for t in ids))
    print(f"CPU time {time.process_time() - started:.0f} s")
    if args.heldout:
        test = read_jsonl(args.heldout, ids)
        nlp = train(items + extra, themes, seed=args.seed, **setting)
        predicted = assign(scores(nlp, [t for t, _ in test], themes), shipped, ids)
        metrics = evaluate([labels for _, labels in test], predicted, ids)
        print(f"held-out {args.heldout}: macro-F1 {metrics['macro_f1']:.3f}, micro-F1 {metrics['micro_f1']:.3f}, "
              f"none_accuracy {metrics['none_accuracy']:.3f}; per theme "
              + ", ".join(f"{t} {m['f1']:.3f}" for t, m in metrics["per_theme"].items()))


def single(items, writers, names, themes, extra, setting, args) -> None:
    """Per writer: a model trained on that writer alone, measured on all the others together."""
    ids = themes.ids
    grid = sorted(set(args.thresholds) | {0.2, 0.3})
    results: dict[float, list[dict]] = {th: [] for th in grid}
    for name in names:
        learn = [x for x, w in zip(items, writers) if w == name] + extra
        test = [x for x, w in zip(items, writers) if w != name]
        rows = scores(train(learn, themes, seed=args.seed, **setting), [t for t, _ in test], themes)
        gold = [labels for _, labels in test]
        for th in grid:
            results[th].append(evaluate(gold, assign(rows, dict.fromkeys(ids, th), ids), ids))
        print(f"{name} → others: " + ", ".join(f"{th} {m[-1]['macro_f1']:.3f}" for th, m in results.items()))
    print("mean: " + " | ".join(f"at {th}: {cell(ms)}" for th, ms in results.items()))


if __name__ == "__main__":
    main()
