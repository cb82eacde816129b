"""How well the related-idea search finds labelled pairs: precision at 5 (docs/related.md).

Reads a JSONL file of pairs ({"a": text, "b": text, "related": true|false}); every distinct text
becomes a post of its own author in a fresh SQLite file, is indexed as `harvester classify` does,
and each text with a related partner is searched (both directions). A shown post without a label
counts as not related. Prints the figures of `harvester.related.score_pairs`.

Usage: .venv/bin/python benchmarks/related_quality.py [PAIRS.jsonl] [--min-similarity S]
(default: the pairs written for the tests, tests/data/related/pairs.jsonl)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harvester import related  # noqa: E402
from harvester.models import Author, Post  # noqa: E402
from harvester.nlp.related import TermExtractor  # noqa: E402
from harvester.related import index_pending, score_pairs  # noqa: E402
from harvester.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pairs", nargs="?", default=str(ROOT / "tests" / "data" / "related" / "pairs.jsonl"))
    parser.add_argument("--min-similarity", type=float, default=related.MIN_SIMILARITY)
    args = parser.parse_args()
    related.MIN_SIMILARITY = args.min_similarity
    pairs = [json.loads(line) for line in Path(args.pairs).read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = list(dict.fromkeys(t for p in pairs for t in (p["a"], p["b"])))
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "related.db") as store:
        source = store.sources.sync("paren", "feed", "https://paren.example/feed")
        ids = {}
        for n, text in enumerate(texts):
            key = f"https://paren.example/{n}"
            store.posts.upsert(Post(key=key, kind="feed", content_html=text, text=text, url=key,
                                    author=Author(f"schrijver-{n}")), source.id)
            ids[text] = store.db.execute("SELECT id FROM posts WHERE key = ?", [key]).fetchone()[0]
        index_pending(store, TermExtractor())
        labels: dict[bool, dict[int, set[int]]] = {True: {}, False: {}}
        for p in pairs:
            a, b = ids[p["a"]], ids[p["b"]]
            labels[p["related"]].setdefault(a, set()).add(b)
            labels[p["related"]].setdefault(b, set()).add(a)
        score = score_pairs(store, labels[True], labels[False], k=5)
    n_related = sum(p["related"] for p in pairs)
    print(f"{len(texts)} texts, {n_related} related and {len(pairs) - n_related} unrelated pairs; "
          f"min similarity {args.min_similarity}")
    print(f"queries {score.queries}, shown {score.shown} ({score.shown / max(1, score.queries):.2f} per query)")
    print(f"precision of what is shown (<= 5): {score.precision:.3f}")
    print(f"precision at 5 (related in top 5 / 5): {score.at_k:.3f} of at most {score.ceiling:.3f}"
          f" ({score.at_k / score.ceiling:.1%} of the ceiling)" if score.ceiling else "")
    print(f"labelled-unrelated pairs shown: {score.unrelated_shown}")


if __name__ == "__main__":
    main()
