"""Training the theme classifier and measuring it: labelled JSON lines in, a pipeline and scores out."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from spacy.language import Language
from spacy.training import Example
from spacy.util import minibatch
from thinc.api import Adam

from ..dutch import decimal, os_error
from ..errors import UsageError
from ..tomlfile import read_edited
from .features import set_idf
from .pipeline import TERM_EVIDENCE, TEXTCAT, build_pipeline, term_weight
from .themes import ThemeSet
from .evidence import Table, raise_rows, thresholds_per_weight

Labelled = tuple[str, list[str]]   # a text and its theme ids ([] = no theme)
# the share of posts without a theme that thresholds chosen on writers must leave empty: most
# harvested posts are chatter, notices and news, and each wrong suggestion costs an editor a look
MIN_NONE_ACCURACY = 0.85


class DataError(UsageError):
    """A labelled-data file with a bad line; the message names the file and the line."""

    kind = "gegevensfout"


def read_jsonl(path: str | Path, known: Sequence[str] | None = None) -> list[Labelled]:
    """Lines of {"text": ..., "themes": [...]} (an optional "writer" names who wrote the text, see
    `read_writers`; other keys are ignored, so a file may carry its sources); blank lines are
    skipped, anything else bad is an error naming the file and the line."""
    return [(text, themes) for text, themes, _ in _read_lines(path, known)]


def read_writers(path: str | Path, known: Sequence[str] | None = None) -> list[str]:
    """Per labelled text of `read_jsonl(path)` its writer ("" where the line names none): the
    writing round or person, so that choices are measured on writers a model has not read."""
    return [writer for _, _, writer in _read_lines(path, known)]


def _read_lines(path: str | Path, known: Sequence[str] | None) -> list[tuple[str, list[str], str]]:
    """The labelled lines of a file people write, some in Notepad or Excel: a byte-order mark is no
    part of it, and every mistake is named in Dutch with the file and the line. A file without a
    single text is refused: measuring or training on it would report nothing as a score."""
    path = Path(path)
    try:
        text = read_edited(path)
    except FileNotFoundError:
        raise DataError(f"{path}: bestand niet gevonden") from None
    except OSError as e:
        raise DataError(f"{path}: niet te lezen: {os_error(e)}") from None
    except ValueError as e:
        raise DataError(f"{path}: {e}") from None
    items: list[tuple[str, list[str], str]] = []
    # split on line ends only: str.splitlines would also break a text at a \u2028 it holds
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}, regel {number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{where}, kolom {e.colno}: geen geldige JSON: {_dutch_json(e.msg)}") from None
        if not isinstance(item, dict) or not {"text", "themes"} <= set(item):
            raise DataError(f'{where}: verwacht {{"text": "...", "themes": [...]}}')
        text, themes, writer = item["text"], item["themes"], item.get("writer", "")
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: 'text' moet een niet-lege tekst zijn")
        if not isinstance(themes, list) or not all(isinstance(t, str) for t in themes):
            raise DataError(f"{where}: 'themes' moet een lijst van thema-ids zijn")
        if len(set(themes)) != len(themes):
            raise DataError(f"{where}: een thema staat er twee keer in")
        unknown = [t for t in themes if known is not None and t not in known]
        if unknown:
            raise DataError(f"{where}: onbekend thema {unknown[0]!r}")
        if not isinstance(writer, str):
            raise DataError(f"{where}: 'writer' moet tekst zijn")
        items.append((item["text"], list(item["themes"]), writer))
    if not items:
        raise DataError(f'{path}: geen teksten; verwacht per regel {{"text": "...", "themes": [...]}}')
    return items


# json's messages (Python 3.11 on) in Dutch; the first that matches at the start. Another passes
# through in English.
_JSON_DUTCH = [
    ("Expecting value", "hier hoort een waarde: tekst tussen dubbele aanhalingstekens, een lijst [...] of een getal"),
    ("Expecting property name enclosed in double quotes",
     "hier hoort een sleutel tussen dubbele aanhalingstekens (geen enkele, en geen komma voor '}')"),
    ("Expecting ':' delimiter", "':' ontbreekt achter de sleutel"),
    ("Expecting ',' delimiter", "',' ontbreekt tussen twee waarden"),
    ("Unterminated string", "tekst niet afgesloten met een dubbel aanhalingsteken"),
    ("Invalid control character", "een tab of ander stuurteken in een tekst (schrijf \\t of \\n)"),
    ("Invalid \\", "ongeldige '\\'-code in een tekst (schrijf '\\\\' voor een losse '\\')"),
    ("Extra data", "na het object hoort de regel te eindigen (één object per regel)"),
    ("Illegal trailing comma", "een komma voor ']' of '}'"),
]


def _dutch_json(message: str) -> str:
    return next((dutch for english, dutch in _JSON_DUTCH if message.startswith(english)), message)


def split(items: Sequence[Labelled], held_out: float = 0.2, seed: int = 0) -> tuple[list[Labelled], list[Labelled]]:
    """A reproducible shuffle, then the last `held_out` share apart."""
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    n = max(1, round(len(shuffled) * held_out)) if len(shuffled) > 1 else 0
    return shuffled[: len(shuffled) - n], shuffled[len(shuffled) - n:]


def new_version() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def train(
    items: Sequence[Labelled],
    themes: ThemeSet,
    *,
    epochs: int = 30,
    learn_rate: float = 0.01,
    l2: float = 0.0008,
    seed: int = 0,
    version: str | None = None,
    textcat_model: dict | None = None,
) -> Language:
    """A fresh pipeline whose textcat_multilabel learned `items`; the other components need no training.

    `l2` pulls every feature weight towards zero at each step (a word seen in two posts should not
    decide alone); the biases are left free, so a post with no known word scores a theme's base
    rate. Chosen on held-out training data (docs/nlp-log.md).

    The weights kept are the optimizer's running average over the last steps (thinc's parameter
    averages, which spaCy's own training saves too), not the last step's: those depend on the
    order of the last few batches, so a retraining with another shuffle or a few more texts was a
    new draw of several hundredths on real writing (docs/nlp-log.md, "Thirteenth round").
    """
    if not items:
        raise DataError("geen voorbeelden om van te leren")
    nlp = build_pipeline(themes, textcat_model=textcat_model)
    known = set(themes.ids)
    for _, labels in items:
        unknown = set(labels) - known
        if unknown:
            raise DataError(f"onbekend thema in de voorbeelden: {sorted(unknown)[0]!r}")
    # the annotating components are deterministic: run them once, then train only the classifier
    with nlp.select_pipes(disable=[TEXTCAT, TERM_EVIDENCE]):
        docs = list(nlp.pipe(text for text, _ in items))
    examples = [
        Example.from_dict(doc, {"cats": {t: float(t in labels) for t in themes.ids}})
        for doc, (_, labels) in zip(docs, items)
    ]
    textcat = nlp.get_pipe(TEXTCAT)
    optimizer = nlp.initialize(lambda: examples, sgd=Adam(learn_rate))
    set_idf(textcat.model, docs)   # document frequencies of these texts, if the model weighs by them
    linear = textcat.model.get_ref("output_layer")
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(examples)
        for batch in minibatch(examples, size=16):
            textcat.update(batch, sgd=None)   # gradients only; the penalty joins them before the step
            if l2:
                linear.inc_grad("W", l2 * linear.get_param("W"))
            textcat.finish_update(optimizer)
    for node in textcat.model.walk():
        for name in node.param_names:
            if (node.id, name) in optimizer.averages:
                node.set_param(name, optimizer.averages[node.id, name].copy())
    nlp.meta["name"] = "themes"
    nlp.meta["version"] = version or new_version()
    nlp.meta["description"] = "Charter themes for #innoverheid posts (harvester.nlp)"
    nlp.meta["harvester"] = {"themes_version": themes.version, "examples": len(items)}
    return nlp


def theme_scores(nlp: Language, texts: Sequence[str], themes: ThemeSet) -> list[list[float]]:
    """Per text its score per theme (in `themes.ids` order), after term evidence; 0 for a text not in
    the consultation's language, which gets no theme."""
    rows, words = scores_before_evidence(nlp, texts, themes)
    weight = term_weight(nlp)
    return rows if weight is None else raise_rows(rows, words, weight)


def scores_before_evidence(nlp: Language, texts: Sequence[str], themes: ThemeSet) -> tuple[list[list[float]], list[list[int]]]:
    """Per text the classifier's scores before term evidence (as `theme_scores`) and per theme the
    number of distinct words that matched its terms: what a term weight is chosen on (evidence.py)."""
    rows, words = [], []
    with nlp.select_pipes(disable=[p for p in (TERM_EVIDENCE,) if p in nlp.pipe_names]):
        for doc in nlp.pipe(texts):
            ours = doc._.language in (None, themes.language)
            hits = doc._.term_hits or {}
            rows.append([doc.cats[t] if ours else 0.0 for t in themes.ids])
            words.append([len(set(hits.get(t, ()))) if ours else 0 for t in themes.ids])
    return rows, words


def out_of_writer_scores(items: Sequence[Labelled], writers: Sequence[str], themes: ThemeSet,
                         always: Sequence[Labelled] = (), **settings) -> tuple[list[list[float]], list[list[int]]]:
    """Each writer's texts scored by a model trained on the other writers' texts and `always` (the
    themes' examples, editors' decisions: learned from in every round, never scored), before term
    evidence, with their matched-word counts (`scores_before_evidence`). Texts that name no writer
    are learned from in every round too, and get no scores ([])."""
    scores: list[list[float]] = [[] for _ in items]
    words: list[list[int]] = [[] for _ in items]
    for name in sorted(set(writers) - {""}):
        held = [i for i, w in enumerate(writers) if w == name]
        learn = [x for x, w in zip(items, writers) if w != name] + list(always)
        nlp = train(learn, themes, **settings)
        for i, row, counts in zip(held, *scores_before_evidence(nlp, [items[i][0] for i in held], themes)):
            scores[i], words[i] = row, counts
    return scores, words


def writer_thresholds(items: Sequence[Labelled], writers: Sequence[str], themes: ThemeSet,
                      always: Sequence[Labelled] = (), **settings) -> tuple[Table, dict[float, dict]]:
    """Per term weight tried, per-theme thresholds chosen on scores of writers the model had not
    read (raised where needed to leave MIN_NONE_ACCURACY of the texts without a theme empty), and
    per weight what its thresholds give on those scores (metrics as `evaluate`, over all writers'
    texts together).

    Scores of unfamiliar writing are lower than those of a random fold, as on real posts; a
    threshold chosen here allows for that (docs/nlp.md, "Thresholds")."""
    rows, words = out_of_writer_scores(items, writers, themes, always, **settings)
    scored = [i for i, row in enumerate(rows) if row]
    gold, rows, words = [items[i][1] for i in scored], [rows[i] for i in scored], [words[i] for i in scored]
    table = thresholds_per_weight(gold, rows, words, themes.ids, MIN_NONE_ACCURACY)
    metrics = {}
    for weight, thresholds in table.items():
        predicted = [[t for t, s in zip(themes.ids, row) if s >= thresholds[t]]
                     for row in raise_rows(rows, words, weight)]
        metrics[weight] = evaluate(gold, predicted, themes.ids)
    return table, metrics


def evaluate(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], labels: Sequence[str]) -> dict:
    """Per-theme precision/recall/F1, micro and macro F1, and the share of no-theme texts left without one."""
    per_theme = {}
    total_tp = total_fp = total_fn = 0
    for label in labels:
        tp = sum(1 for g, p in zip(gold, predicted) if label in g and label in p)
        fp = sum(1 for g, p in zip(gold, predicted) if label not in g and label in p)
        fn = sum(1 for g, p in zip(gold, predicted) if label in g and label not in p)
        total_tp, total_fp, total_fn = total_tp + tp, total_fp + fp, total_fn + fn
        precision, recall, f1 = _prf(tp, fp, fn)
        per_theme[label] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    none_gold = [p for g, p in zip(gold, predicted) if not g]
    return {
        "per_theme": per_theme,
        "micro_f1": _prf(total_tp, total_fp, total_fn)[2],
        "macro_f1": round(sum(m["f1"] for m in per_theme.values()) / len(per_theme), 4) if per_theme else 0.0,
        "none_accuracy": round(sum(1 for p in none_gold if not p) / len(none_gold), 4) if none_gold else None,
        "texts": len(gold),
    }


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return round(precision, 4), round(recall, 4), round(f1, 4)


def format_report(metrics: dict, labels: dict[str, str] | None = None) -> str:
    """The metrics as a small aligned table (Dutch headings) for the terminal."""
    labels = labels or {}
    rows = [f"{'thema':<18} {'precisie':>8} {'recall':>8} {'F1':>8} {'aantal':>7}"]
    for theme, m in metrics["per_theme"].items():
        rows.append(f"{labels.get(theme, theme):<18} {decimal(m['precision'], 3):>8} {decimal(m['recall'], 3):>8} "
                    f"{decimal(m['f1'], 3):>8} {m['support']:>7}")
    rows.append(f"micro-F1 {decimal(metrics['micro_f1'], 3)}   macro-F1 {decimal(metrics['macro_f1'], 3)}")
    none = metrics["none_accuracy"]
    rows.append("zonder thema terecht leeg: " + ("-" if none is None else f"{decimal(none * 100, 1)}%"))
    return "\n".join(rows)
