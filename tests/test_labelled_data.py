"""Checks on the project's labelled data: config/themes.toml, config/training.jsonl, the held-out
writer set data/eval/writers.jsonl, the spent ones and the first evaluation set data/eval/themes.jsonl.

Why: the evaluation figures in docs/nlp.md and docs/nlp-log.md only mean something if the evaluation texts were never
trained on, every label is a known theme, and each theme has enough examples. The checkers below are
also run on small planted cases, so that they are shown to catch what they are meant to catch.
"""

from __future__ import annotations

import json
import re
import tomllib
import unicodedata
from collections import Counter
from itertools import product
from pathlib import Path
from typing import NamedTuple

import pytest

from harvester.nlp import DataError, evaluate, read_jsonl, read_writers

from .conftest import ROOT

THEMES_FILE = ROOT / "config" / "themes.toml"
TRAINING_FILE = ROOT / "config" / "training.jsonl"
EVAL_DIR = ROOT / "data" / "eval"
EVAL_FILE = EVAL_DIR / "themes.jsonl"


class WriterSet(NamedTuple):
    """A held-out writer set, data/eval/<stem>.jsonl, labelled twice (both labellings in
    <stem>-labels.jsonl), with the agreement data/eval/README.md reports: written down here so that
    the test notices when the files and the README part ways."""

    stem: str
    agreed: int  # texts both labellings gave the same themes
    macro_f1: float  # between the two labellings

    @property
    def path(self) -> Path:
        return EVAL_DIR / f"{self.stem}.jsonl"

    @property
    def both_labels(self) -> Path:
        return EVAL_DIR / f"{self.stem}-labels.jsonl"


# the held-out writer set (h7, h8), then the earlier ones (h1, h2; h3, h4; h5, h6), each run three times
# and spent, development data now; every check below follows from this table, one line per set
WRITER_SETS = (
    WriterSet("writers", 305, 0.977),
    WriterSet("writers-spent", 312, 0.986),
    WriterSet("writers-spent2", 297, 0.967),
    WriterSet("writers-spent3", 315, 0.993),
)
WRITER_STEMS = [s.stem for s in WRITER_SETS]
each_writer_set = pytest.mark.parametrize("writer_set", WRITER_SETS, ids=WRITER_STEMS)

CHARTER_IDS = [
    "cultuur", "samenwerking", "structuur", "open_overheid",
    "leiderschap", "publieke_waarde", "medewerkers", "bestuurders",
]

# minimum counts (a text with two themes counts for each), see docs/labelling.md
TRAINING_MIN = {"per_theme": 60, "none": 80, "total": 0, "multi_share": (0.20, 0.32)}
EVAL_MIN = {"per_theme": 25, "none": 50, "total": 260, "multi_share": (0.15, 0.28)}
WRITERS_MIN = {"per_theme": 30, "none": 60, "total": 300, "multi_share": (0.12, 0.28)}

# two texts whose sets of words overlap this much (Jaccard) count as near-duplicates
NEAR_DUPLICATE_JACCARD = 0.5


def load_theme_ids(path: Path = THEMES_FILE) -> list[str]:
    with path.open("rb") as f:
        return [t["id"] for t in tomllib.load(f)["themes"]]


def load_jsonl(path: Path, known_ids: set[str]) -> list[dict]:
    """The file through the reader `harvester train` and `evaluate` use (one reader: what it
    accepts is what the project accepts), as rows with their writer."""
    items = read_jsonl(path, sorted(known_ids))
    return [{"text": text, "themes": themes, "writer": writer}
            for (text, themes), writer in zip(items, read_writers(path, sorted(known_ids)))]


def keys_per_line(path: Path) -> set[frozenset]:
    return {frozenset(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()}


def normalise(text: str) -> str:
    """Lowercase, without accents, URLs, mentions, '#' and punctuation, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"https?://\S+|@[\w.]+(@[\w.-]+)?", " ", text)
    return " ".join(re.findall(r"\w+", text))


def near_duplicates(a: list[str], b: list[str], threshold: float = NEAR_DUPLICATE_JACCARD):
    """Pairs (i, j, similarity) of texts a[i], b[j] that are equal after normalising or whose word
    sets overlap at least `threshold` (Jaccard)."""
    norm_a, norm_b = [normalise(t) for t in a], [normalise(t) for t in b]
    words_a, words_b = [set(n.split()) for n in norm_a], [set(n.split()) for n in norm_b]
    found = []
    for i, j in product(range(len(a)), range(len(b))):
        if norm_a[i] == norm_b[j]:
            found.append((i, j, 1.0))
            continue
        union = words_a[i] | words_b[j]
        if union:
            similarity = len(words_a[i] & words_b[j]) / len(union)
            if similarity >= threshold:
                found.append((i, j, round(similarity, 2)))
    return found


def count(rows: list[dict]) -> dict:
    per_theme = Counter(t for r in rows for t in r["themes"])
    return {
        "total": len(rows),
        "none": sum(1 for r in rows if not r["themes"]),
        "multi": sum(1 for r in rows if len(r["themes"]) > 1),
        "per_theme": per_theme,
    }


def shortfalls(rows: list[dict], ids: list[str], minimum: dict) -> list[str]:
    """What falls short of the minimum counts, in words; empty when all is well."""
    c = count(rows)
    problems = [f"{t}: {c['per_theme'][t]} < {minimum['per_theme']}"
                for t in ids if c["per_theme"][t] < minimum["per_theme"]]
    if c["none"] < minimum["none"]:
        problems.append(f"zonder thema: {c['none']} < {minimum['none']}")
    if c["total"] < minimum["total"]:
        problems.append(f"totaal: {c['total']} < {minimum['total']}")
    low, high = minimum["multi_share"]
    share = c["multi"] / c["total"] if c["total"] else 0.0
    if not low <= share <= high:
        problems.append(f"aandeel met meer thema's {share:.2f} buiten [{low}, {high}]")
    return problems


# --- the shipped files ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def theme_ids() -> list[str]:
    return load_theme_ids()


@pytest.fixture(scope="module")
def training(theme_ids) -> list[dict]:
    return load_jsonl(TRAINING_FILE, set(theme_ids))


@pytest.fixture(scope="module")
def evaluation(theme_ids) -> list[dict]:
    return load_jsonl(EVAL_FILE, set(theme_ids))


@pytest.fixture(scope="module")
def writer_rows(theme_ids) -> dict[str, list[dict]]:
    """Each held-out writer set's rows by stem, read once: the cross-set checks need them all."""
    return {s.stem: load_jsonl(s.path, set(theme_ids)) for s in WRITER_SETS}


@pytest.fixture(scope="module")
def rows_by_name(training, evaluation, writer_rows) -> dict[str, list[dict]]:
    """Every labelled file's rows, for the checks that run on each of them alike."""
    return {"training": training, "evaluation": evaluation, **writer_rows}


def test_themes_file_has_the_charter_themes_in_the_documented_format():
    with THEMES_FILE.open("rb") as f:
        config = tomllib.load(f)
    assert isinstance(config["version"], str) and config["version"]
    assert config["language"] == "nl"
    themes = config["themes"]
    assert [t["id"] for t in themes] == CHARTER_IDS
    for theme in themes:
        assert {"id", "label", "description", "terms", "examples"} <= set(theme), theme["id"]
        assert set(theme) <= {"id", "label", "description", "terms", "examples", "threshold"}, theme["id"]
        assert re.fullmatch(r"[a-z0-9_]+", theme["id"])
        assert theme["label"].strip() and theme["description"].strip()
        assert 20 <= len(theme["terms"]) <= 70, theme["id"]
        assert len(set(theme["terms"])) == len(theme["terms"]), f"{theme['id']}: dubbele term"
        assert all(t == t.lower() and t.strip() == t and t for t in theme["terms"]), theme["id"]
        assert len(theme["examples"]) >= 3 and all(e.strip() for e in theme["examples"])
        assert "threshold" not in theme or 0 < theme["threshold"] < 1


def test_charter_statements_are_quoted_from_the_seed():
    """The examples start with the draft charter's own statements, verbatim."""
    seed = ROOT.parent / "shared" / "seeds" / "000_fab06dec8ffcff0f.txt"
    if not seed.exists():
        pytest.skip("seed document not present on this machine")
    text = " ".join(seed.read_text(encoding="utf-8").split())  # the seed has stray double spaces
    with THEMES_FILE.open("rb") as f:
        themes = tomllib.load(f)["themes"]
    # the seed lost the first letter of one statement ("n onze organisatie is ruimte voor zingeving")
    text = text.replace(" n onze organisatie is ruimte voor zingeving", " In onze organisatie is ruimte voor zingeving")
    for theme in themes:
        quoted = [e for e in theme["examples"] if e in text]
        assert len(quoted) >= 2, f"{theme['id']}: charter statements missing"
        assert theme["examples"][: len(quoted)] == quoted, f"{theme['id']}: charter statements come first"


def test_training_set_meets_the_minimum_counts(training, theme_ids):
    assert shortfalls(training, theme_ids, TRAINING_MIN) == []


def test_evaluation_set_meets_the_minimum_counts(evaluation, theme_ids):
    assert shortfalls(evaluation, theme_ids, EVAL_MIN) == []


@each_writer_set
def test_held_out_writer_sets_meet_the_minimum_counts(writer_set, theme_ids, writer_rows):
    assert shortfalls(writer_rows[writer_set.stem], theme_ids, WRITERS_MIN) == []


def test_files_hold_the_documented_fields():
    """Training and held-out writer texts name their writer; the first evaluation set predates that."""
    for path in [TRAINING_FILE, *(s.path for s in WRITER_SETS)]:
        assert keys_per_line(path) == {frozenset({"text", "themes", "writer"})}, path.name
    assert keys_per_line(EVAL_FILE) == {frozenset({"text", "themes"})}


def test_every_writer_set_in_data_eval_is_checked():
    """A new or renamed set in data/eval gets a line in WRITER_SETS, or none of this checks it."""
    found = {p.name for p in EVAL_DIR.glob("writers*.jsonl")}
    assert found == {p.name for s in WRITER_SETS for p in (s.path, s.both_labels)}


def test_held_out_writers_wrote_nothing_in_training(training, writer_rows):
    """Each held-out set's writers wrote nothing in training, nor in another held-out set."""
    sets = list(writer_rows.values())
    assert all(r["writer"] for r in training + [r for rows in sets for r in rows])
    writers = [{r["writer"] for r in rows} for rows in [training] + sets]
    assert all(a.isdisjoint(b) for i, a in enumerate(writers) for b in writers[i + 1:])


@each_writer_set
def test_held_out_writer_sets_were_labelled_twice_with_the_reported_agreement(writer_set, theme_ids, writer_rows):
    """data/eval/README.md reports the agreement between the writers' own labels and a blind second
    labeller's; the final label is theirs where they agree and one of the two where they do not."""
    rows = writer_rows[writer_set.stem]
    both = [json.loads(line) for line in writer_set.both_labels.read_text(encoding="utf-8").splitlines()]
    assert len(both) == len(rows)
    first, second = [b["writer"] for b in both], [b["second"] for b in both]
    assert all(set(t) <= set(theme_ids) and len(t) <= 2 for t in first + second)
    assert sum(set(a) == set(b) for a, b in zip(first, second)) == writer_set.agreed
    assert round(evaluate(first, second, theme_ids)["macro_f1"], 3) == writer_set.macro_f1
    for row, a, b in zip(rows, first, second):
        assert set(row["themes"]) in ({*a}, {*b})


@pytest.mark.parametrize("which", ["training", "evaluation", *WRITER_STEMS])
def test_no_text_twice_within_a_file(which, rows_by_name):
    seen = Counter(normalise(r["text"]) for r in rows_by_name[which])
    assert [t for t, n in seen.items() if n > 1] == []


def test_evaluation_texts_do_not_occur_in_training(training, evaluation):
    """Held out means held out: no equal or near-equal text in both files.

    A failure names line numbers and the training text only: printing the evaluation text would
    show it to whoever writes the next training texts.
    """
    found = near_duplicates([r["text"] for r in evaluation], [r["text"] for r in training])
    report = [(f"evaluation text {i + 1}", f"training text {j + 1}", training[j]["text"][:60], s)
              for i, j, s in found]
    assert report == []


@each_writer_set
def test_held_out_writer_texts_do_not_occur_in_training_or_the_other_sets(writer_set, training, evaluation,
                                                                          writer_rows):
    """No near-duplicate across the split, nor between two writer sets (numbers only in the report,
    as above)."""
    held = [r["text"] for r in writer_rows[writer_set.stem]]
    later = WRITER_STEMS[WRITER_STEMS.index(writer_set.stem) + 1:]   # each pair of writer sets once
    others = [training, evaluation] + [writer_rows[w] for w in later]
    for other in others:
        assert [(i + 1, j + 1, s) for i, j, s in near_duplicates(held, [r["text"] for r in other])] == []


@pytest.mark.parametrize("which", ["evaluation", *WRITER_STEMS])
def test_evaluation_texts_do_not_occur_in_the_theme_examples(which, rows_by_name):
    with THEMES_FILE.open("rb") as f:
        examples = [e for t in tomllib.load(f)["themes"] for e in t["examples"]]
    assert near_duplicates([r["text"] for r in rows_by_name[which]], examples) == []


# --- the checkers catch what they should ---------------------------------------------------------


@pytest.mark.parametrize(
    "line, problem",
    [
        ('{"text": "Open data!", "themes": ["open_overheid"]', "geen geldige JSON"),
        ('["Open data!", ["open_overheid"]]', "verwacht"),
        ('{"text": "Open data!"}', "verwacht"),
        ('{"text": "  ", "themes": []}', "niet-lege tekst"),
        ('{"text": "Open data!", "themes": "open_overheid"}', "lijst van thema-ids"),
        ('{"text": "Open data!", "themes": ["openoverheid"]}', "onbekend thema 'openoverheid'"),
        ('{"text": "Open data!", "themes": ["cultuur", "cultuur"]}', "twee keer"),
        ('{"text": "Open data!", "themes": [], "writer": 3}', "'writer' moet tekst zijn"),
    ],
)
def test_the_reader_refuses_malformed_lines(tmp_path, line, problem):
    path = tmp_path / "x.jsonl"
    path.write_text('{"text": "Wij delen alles.", "themes": ["cultuur"]}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=problem) as info:
        read_jsonl(path, CHARTER_IDS)
    assert "x.jsonl, regel 2" in str(info.value)


def test_the_reader_keeps_writers_and_ignores_other_keys(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"text": "Wij delen alles.", "themes": ["cultuur"], "writer": "h1", "url": "https://x.example"}\n'
                    '\n{"text": "Geen idee.", "themes": []}\n', encoding="utf-8")
    assert read_jsonl(path, CHARTER_IDS) == [("Wij delen alles.", ["cultuur"]), ("Geen idee.", [])]
    assert read_writers(path, CHARTER_IDS) == ["h1", ""]


def test_near_duplicates_are_found_and_different_texts_are_not():
    train = [
        "Vanaf vandaag publiceren we alle raadsbesluiten als open data! https://data.example.nl #opendata",
        "Onze teamleider gaf ons drie maanden om het nieuwe spreekuur uit te proberen.",
    ]
    evaluation = [
        "vanaf vandaag publiceren we alle RAADSBESLUITEN als open data #OpenData",  # normalised equal
        "Onze teamleider gaf ons twee maanden om het nieuwe spreekuur te proberen.",  # reworded slightly
        "De burgemeester opende het nieuwe zwembad in de regen.",  # unrelated
    ]
    found = {(i, j) for i, j, _ in near_duplicates(evaluation, train)}
    assert found == {(0, 0), (1, 1)}


def test_shortfalls_name_what_is_missing():
    rows = [{"text": "a", "themes": ["cultuur"]}, {"text": "b", "themes": ["cultuur", "structuur"]},
            {"text": "c", "themes": []}]
    minimum = {"per_theme": 2, "none": 2, "total": 4, "multi_share": (0.0, 0.2)}
    problems = shortfalls(rows, ["cultuur", "structuur"], minimum)
    assert problems == ["structuur: 1 < 2", "zonder thema: 1 < 2", "totaal: 3 < 4",
                        "aandeel met meer thema's 0.33 buiten [0.0, 0.2]"]
