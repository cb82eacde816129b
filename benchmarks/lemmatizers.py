"""Dutch lemmas without a download: accuracy on the UD Dutch treebanks and speed, for docs/nlp.md.

Accuracy: every word token (not PUNCT, SYM, NUM) of the UD Dutch test files in
../shared/corpora/ud-dutch/ (Alpino and LassySmall, CC BY-SA 4.0), compared case-insensitively
with the gold lemma with its compound separators removed (UD writes klooster_orde).
Speed: the `simplemma_lemmatizer` component inside the pipeline, per second of CPU time.

Usage: .venv/bin/python benchmarks/lemmatizers.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harvester.nlp import build_pipeline, load_themes  # noqa: E402
from harvester.nlp.components import lemmatize  # noqa: E402

UD = ROOT.parent / "shared" / "corpora" / "ud-dutch"
SKIP = {"PUNCT", "SYM", "NUM", "X"}


def tokens():
    for path in sorted(UD.glob("*-test.conllu")):
        for line in path.read_text(encoding="utf-8").splitlines():
            cols = line.split("\t")
            if len(cols) == 10 and cols[0].isdigit() and cols[3] not in SKIP:
                yield cols[1], cols[2].replace("_", "").lower()


def sentences():
    for path in sorted(UD.glob("*.conllu")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("# text = "):
                yield line[9:]


def main() -> None:
    gold = list(tokens())
    same = sum(1 for form, lemma in gold if form.lower() == lemma)
    right = sum(1 for form, lemma in gold if lemmatize(form) == lemma)
    print(f"{len(gold)} word tokens in the UD Dutch test files")
    print(f"form as lemma (no lemmatizer): {same / len(gold):.1%}")
    print(f"simplemma (harvester.nlp.components.lemmatize): {right / len(gold):.1%}")
    nlp = build_pipeline(load_themes(ROOT / "config" / "themes.toml"))
    texts = list(sentences())
    docs = [nlp.get_pipe("social_text")(d) for d in nlp.tokenizer.pipe(texts)]
    lemmatizer = nlp.get_pipe("simplemma_lemmatizer")
    started = time.process_time()
    for doc in docs:
        lemmatizer(doc)
    cold = len(docs) / (time.process_time() - started)
    started = time.process_time()
    for doc in docs:
        lemmatizer(doc)
    warm = len(docs) / (time.process_time() - started)
    words = sum(len(d) for d in docs) / len(docs)
    print(f"simplemma_lemmatizer component: {cold:,.0f} sentences/s cold cache, {warm:,.0f} warm "
          f"({len(docs)} UD sentences, {words:.0f} tokens each, CPU time)")


if __name__ == "__main__":
    main()
