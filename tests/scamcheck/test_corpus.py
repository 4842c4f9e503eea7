"""The checker measured on real messages (tests/data/scamcorpus, see `corpus.py`).

The guard is on the held-out part, per language: at least 0.9 recall at 0.9 precision, a message
counting as flagged when the verdict is `likely_scam` or `suspicious`. Tracking numbers are judged
without records here (check digits only). `python tests/scamcheck/corpus.py` prints the figures.

`tests/data/messages.jsonl` is older: messages written for the tests, kept as a regression set.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from corpus import FIELDS, LABELS, LANGS, LANGUAGES, Row, figures, rows, site_key, split_of

from emstrack.scamcheck import Verdict, check

WRITTEN = Path(__file__).parent.parent / "data" / "messages.jsonl"
CORPUS = rows()
#: Below this many scams or genuine messages in a language's held-out part, its figures say
#: little: the corpus must grow (from new sources) before the language can be judged.
MIN_HELD_OUT = 15
TARGET = 0.9


def test_the_corpus_is_big_enough() -> None:
    count = Counter(row.label for row in CORPUS)
    assert count["scam"] >= 200
    assert count["genuine"] >= 200


def test_every_row_is_complete_and_cites_its_source() -> None:
    folder = Path(__file__).parent.parent / "data" / "scamcorpus"
    ids: set[str] = set()
    for path in folder.glob("*.jsonl"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            raw = json.loads(line)
            where = f"{path.name}:{number}"
            assert set(FIELDS) <= raw.keys(), where
            assert raw["label"] in LABELS, where
            assert raw["lang"] in LANGS, where
            assert raw["text"].strip(), where
            assert re.match(r"https?://[^/\s]+\.[^/\s]+", raw["source"]), where
            assert raw["id"] not in ids, where
            ids.add(raw["id"])


def _skeleton(text: str) -> str:
    return re.sub(r"https?://\S+|[\d\s.,:;!?，。：；！？]+", "", text.lower())


def test_no_text_is_in_the_corpus_twice() -> None:
    seen: dict[str, str] = {}
    for row in CORPUS:
        key = _skeleton(row.text)
        assert key not in seen, f"{row.id} repeats {seen[key]}"
        seen[key] = row.id


def test_a_site_lies_in_one_part_only() -> None:
    parts: dict[str, set[str]] = defaultdict(set)
    for row in CORPUS:
        parts[row.site].add(row.split)
    assert all(len(found) == 1 for found in parts.values())
    assert site_key("https://www.example.org/a") == "example.org"
    assert site_key("https://github.com/o/r/blob/x/y.txt") == "github.com/o/r"
    assert site_key("https://raw.githubusercontent.com/o/r/x/y") == "github.com/o/r"
    assert {split_of("example.org"), split_of("example.com")} <= {"dev", "heldout"}


def _held_out(langs: tuple[str, ...]) -> list[Row]:
    return [r for r in CORPUS if r.split == "heldout" and r.lang in langs and r.whole]


#: The held-out figures measured when the rules were last changed (issue 13, third round),
#: rounded down: a change that loses any of them fails here. Raise them when the checker does
#: better. The second round raised all four (English 0.862/0.893 -> 0.879/0.895, Chinese
#: 0.727/0.800 -> 0.739/0.8095, whose precision still rounds down to 0.80); the third round's
#: rules and sources (all of them in the development part) left them exactly as they were, and
#: so did the fourth round, which added no rule and one source, in the development part: the
#: held-out rows are the second round's, measured once at the end, every figure the same.
#: The fifth round added 155 texts from 60 new sources (both parts, by their hashes) and four
#: rules from development-part texts: on the grown corpus the rules before it gave English
#: 0.852 / 0.867 and Chinese 0.739 / 0.773, the new rules 0.902 / 0.873 and 0.739 / 0.8095
#: (rounded down: 0.80).
#: The sixth round added 116 English texts from 64 new sources (29 whole in the held-out part,
#: mostly e-mail phishing of 2009-2017 with attachments) and five rules from development-part
#: texts: held-out English fell to 0.842 / 0.877 with the new data, the same with either
#: round's rules (the new rules changed no held-out verdict); Chinese unchanged.
#: The seventh round added 86 texts from 47 new sources: measured before any rule changed, the
#: new data gave English 0.843 / 0.864 and Chinese 0.739 / 0.773 (new held-out genuine notices
#: that the rules flag); its rules, from development-part texts, changed no held-out verdict.
#: The eighth round (42 texts from 27 new sources, forums and the posts' own words sought and
#: found thin) gave English 0.849 / 0.869 with the rules before it; its rules changed no
#: held-out verdict, and neither did link_hidden_operator.
#: The ninth and tenth rounds (session 10: 141 texts from 73 new sources) gave, with the rules
#: from before them, English 0.845 / 0.888 and Chinese 0.739 / 0.739 (a new held-out genuine
#: shop notice that the rules flag); their rules, from development-part texts, raised English to
#: 0.854 / 0.907 and left Chinese as it was. A review then found doors in the new exceptions;
#: narrowed (an invoice on the shop's own site is no attachment only when nothing is to be
#: filled in, printed or sent back, and no link is in the sentence), they gave back the English
#: precision (0.854 / 0.889). The eleventh round (6 texts) gave 0.857 / 0.891.
FLOORS = {"en": (0.85, 0.89), "zh": (0.73, 0.73)}


@pytest.mark.parametrize("language", LANGUAGES)
def test_held_out_figures_do_not_fall(language: str) -> None:
    found = figures(_held_out(LANGUAGES[language]))
    print(
        f"\nheld-out {language}: {found.scams} scams, {found.genuine} genuine, "
        f"recall {found.recall:.3f}, precision {found.precision:.3f}"
    )
    assert found.scams >= MIN_HELD_OUT
    assert found.genuine >= MIN_HELD_OUT
    recall, precision = FLOORS[language]
    assert found.recall >= recall
    assert found.precision >= precision


# The target of issue 13 is not met yet (see docs/scamcheck.md, "Figures"): strict, so that the
# day it is met this test fails until the mark goes and the target guards the figures for good.
@pytest.mark.xfail(strict=True, reason="held-out below 0.9 recall at 0.9 precision (issue 13)")
@pytest.mark.parametrize("language", LANGUAGES)
def test_held_out_recall_and_precision_reach_the_target(language: str) -> None:
    found = figures(_held_out(LANGUAGES[language]))
    assert found.recall >= TARGET
    assert found.precision >= TARGET


def test_the_messages_written_for_the_tests() -> None:
    with WRITTEN.open(encoding="utf-8") as f:
        written = [json.loads(line) for line in f if line.strip()]
    wrong = [
        row["text"]
        for row in written
        if (check(row["text"], row.get("sender")).verdict is not Verdict.NO_RED_FLAGS)
        != (row["label"] == "scam")
    ]
    assert wrong == []
