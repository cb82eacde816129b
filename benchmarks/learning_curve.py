"""How much editors' decisions teach the model: a learning curve on texts of writers the model never read.

Editors are simulated through the store's own interfaces: the held-out writer set's texts are
stored as posts and classified by the starting model; an editor takes posts from the review
queue (least certain first, or newest first) and decides them as the set's labels say (accepted
with its themes, or rejected), and after each step the model is retrained exactly as the
background job does (`harvester.learning.retrain`: a held-back fifth of the decisions, decisions
weighing `--weight` times a written text, thresholds refitted per theme from 20 decisions, the
term weight chosen on the learned decisions from 50 on, a switch only when not worse). The posts
are then reclassified.

A fixed share of the texts (`--test`, chosen by a seeded shuffle) is never decided: after k = 0,
50, 100, 200 decisions the active model is scored on those, so every point of both curves is
measured on the same texts. With several `--seeds` each seed draws other test texts (and so
other decisions); one curve swings by a few hundredths with which texts it drew, so the mean over
seeds is what to read. Prints one line per step, each seed's curves and their mean.

Usage: .venv/bin/python benchmarks/learning_curve.py [--set data/eval/writers-spent.jsonl] [--steps 0 50 100 200]
       [--orders confidence date] [--weight 5] [--test 100] [--model DIR] [--seeds 0 1 2 3]
Takes a while: each step trains the model once (more once thresholds are refitted).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harvester import learning  # noqa: E402
from harvester.jobs.classify import classify_pending  # noqa: E402
from harvester.config import load_config  # noqa: E402
from harvester.models import Author, Post  # noqa: E402
from harvester.nlp import Classifier, evaluate, load_themes, read_jsonl  # noqa: E402
from harvester.store import Store  # noqa: E402
from harvester.store.reviews import QueueFilter  # noqa: E402


def write_config(directory: Path, model: str, weight: int) -> Path:
    path = directory / "harvester.toml"
    path.write_text(
        f'[database]\npath = "{directory / "harvester.db"}"\n'
        f'[nlp]\nmodel = "{model}"\nthemes = "{ROOT / "config" / "themes.toml"}"\n'
        f'training = "{ROOT / "config" / "training.jsonl"}"\ndecision_weight = {weight}\n',
        encoding="utf-8")
    return path


def store_posts(store: Store, texts: list[str]) -> list[int]:
    """The texts as harvested posts, one a day apart (the newest last), in one source."""
    source = store.sources.sync("simulatie", "mastodon", "https://mastodon.example")
    ids = []
    for n, text in enumerate(texts):
        post = Post(key=f"https://mastodon.example/@sim/{n}", kind="mastodon", url=f"https://mastodon.example/@sim/{n}",
                    content_html=f"<p>{text}</p>", text=text, language="nl",
                    published_at=f"2026-{1 + n // 28 % 12:02d}-{1 + n % 28:02d}T10:00:00+00:00",
                    tags=("innoverheid",), author=Author(f"schrijver{n % 40}@mastodon.example"))
        store.posts.upsert(post, source.id)
        ids.append(store.db.execute("SELECT id FROM posts WHERE key = ?", [post.key]).fetchone()[0])
    return ids


def reclassify(store: Store, config) -> Classifier:
    active = learning.active_model(store, config)
    classifier = Classifier.load(active.path or None, load_themes(config.nlp.themes))
    classify_pending(store, classifier, include_all=True, workers=1)
    return classifier


def curve(items, test_ids: set[int], order: str, steps: list[int], weight: int, model: str) -> list[tuple[int, float, float]]:
    """(decisions, macro-F1, none_accuracy on the test texts) after each step, for one queue order."""
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(write_config(Path(tmp), model, weight))
        points = []
        with Store(config.db_path) as store:
            ids = store_posts(store, [t for t, _ in items])
            gold = dict(zip(ids, (labels for _, labels in items)))
            test = [i for n, i in enumerate(ids) if n in test_ids]
            editor = store.users.add("eva", "redacteur", "niet-gebruikt")
            classifier = reclassify(store, config)
            decided = 0
            for k in steps:
                while decided < k:
                    page = store.reviews.queue(QueueFilter(status="nieuw", sort=order), limit=len(ids))
                    batch = [item for item in page.items if item.id not in set(test)][: k - decided]
                    if not batch:
                        break
                    for item in batch:
                        themes = gold[item.id]
                        action = "set_themes" if themes else "reject"
                        store.reviews.decide(item.id, editor, item.review.version, action, themes=themes or None,
                                             reason=None if themes else "off_topic")
                        decided += 1
                if k:
                    started = time.monotonic()
                    _, outcome, _ = learning.retrain(store, config)
                    classifier = reclassify(store, config)
                    print(f"  {order}: {decided} decisions, candidate {outcome.score} vs current "
                          f"{outcome.current_score}, {'switched' if outcome.switch else 'kept'}, "
                          f"refitted {sorted(outcome.refitted)}, term weight {outcome.term_weight}, "
                          f"{time.monotonic() - started:.0f} s", flush=True)
                verdicts = list(classifier.classify(store.reviews.item(i).text for i in test))
                metrics = evaluate([gold[i] for i in test], [v.assigned for v in verdicts], classifier.themes.ids)
                points.append((decided, metrics["macro_f1"], metrics["none_accuracy"]))
                print(f"{order}: after {decided} decisions macro-F1 {metrics['macro_f1']:.3f}, "
                      f"none_accuracy {metrics['none_accuracy']:.3f} ({classifier.version})", flush=True)
        return points


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default=str(ROOT / "data" / "eval" / "writers-spent.jsonl"))
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 50, 100, 200])
    parser.add_argument("--orders", nargs="+", default=["confidence", "date"], choices=["confidence", "date"])
    parser.add_argument("--weight", type=int, default=5, help="[nlp] decision_weight")
    parser.add_argument("--test", type=int, default=100, help="texts never decided, scored at every step")
    parser.add_argument("--model", default="", help="the starting model (default: the shipped one)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="one curve per order and seed")
    args = parser.parse_args()
    themes = load_themes(ROOT / "config" / "themes.toml")
    items = read_jsonl(args.set, themes.ids)
    print(f"{len(items)} texts in {args.set}: {args.test} scored, up to {max(args.steps)} decided; "
          f"decision_weight {args.weight}; seeds {args.seeds}")
    runs: dict[str, list[list[tuple[int, float, float]]]] = {o: [] for o in args.orders}
    for seed in args.seeds:
        order = list(range(len(items)))
        random.Random(seed).shuffle(order)
        test_ids = set(order[: args.test])
        curves = {o: curve(items, test_ids, o, sorted(args.steps), args.weight, args.model) for o in args.orders}
        print(f"seed {seed}:")
        table(curves)
        for o, points in curves.items():
            runs[o].append(points)
    if len(args.seeds) > 1:
        print(f"mean over {len(args.seeds)} seeds:")
        table({o: [mean_point(step) for step in zip(*points)] for o, points in runs.items()})


def mean_point(points: tuple[tuple[int, float, float], ...]) -> tuple[int, float, float]:
    """The mean of one step over seeds (the decisions are the steps' own count, the same in each)."""
    n = len(points)
    assert len({p[0] for p in points}) == 1, f"the seeds reached different numbers of decisions: {points}"
    return points[0][0], sum(p[1] for p in points) / n, sum(p[2] for p in points) / n


def table(curves: dict[str, list[tuple[int, float, float]]]) -> None:
    print("| decisions | " + " | ".join(f"{o} (macro-F1/none)" for o in curves) + " |")
    print("|---|" + "---|" * len(curves))
    for points in zip(*curves.values()):
        print(f"| {points[0][0]} | " + " | ".join(f"{f1:.3f}/{none:.3f}" for _, f1, none in points) + " |")


if __name__ == "__main__":
    main()
