"""The problems of a number in the language asked for: the pages' translations, for the API."""

from __future__ import annotations

from typing import Any

from emstrack.domain.lang import Lang
from emstrack.domain.problems import Problem
from emstrack.text import problems


def localise_problems(doc: dict[str, Any], found: tuple[Problem, ...], lang: Lang) -> None:
    """Put each problem's `message` in `lang` (in place); English stays the domain's sentence."""
    if lang == "en":
        return
    for item, problem in zip(doc.get("problems", []), found, strict=False):
        item["message"] = problems.text(problem, lang)
