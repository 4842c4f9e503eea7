"""Precision and recall on the corpus of tests/data/messages.jsonl (run `pytest -s` to see them).

The messages were written for these tests: 42 scams imitating many posts, 42 genuine notices,
in English and Chinese. A message counts as flagged when the verdict is `likely_scam` or
`suspicious`. Tracking numbers are judged without records here (check digits only).
"""

from __future__ import annotations

import json
from pathlib import Path

from emstrack.scamcheck import Verdict, check

CORPUS = Path(__file__).parent.parent / "data" / "messages.jsonl"


def _corpus() -> list[dict[str, str]]:
    with CORPUS.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_corpus_is_big_enough_in_both_languages() -> None:
    rows = _corpus()
    for label in ("scam", "genuine"):
        assert sum(r["label"] == label for r in rows) >= 40
        for lang in ("en", "zh"):
            assert sum(r["label"] == label and r["lang"] == lang for r in rows) >= 15


def test_precision_and_recall() -> None:
    tp = fp = fn = 0
    misses: list[str] = []
    for row in _corpus():
        flagged = check(row["text"], row.get("sender")).verdict is not Verdict.NO_RED_FLAGS
        scam = row["label"] == "scam"
        tp += flagged and scam
        fp += flagged and not scam
        fn += scam and not flagged
        if flagged != scam:
            misses.append(f"{row['label']}: {row['text']}")
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(f"\nscam checker on {CORPUS.name}: precision {precision:.3f}, recall {recall:.3f}")
    for miss in misses:
        print("  wrong:", miss)
    assert recall >= 0.9
    assert precision >= 0.9
