"""The problems of a number in the language asked for: the pages' translations, for the API."""

from __future__ import annotations

from typing import Any

from emstrack.domain.lang import Lang
from emstrack.domain.problems import Problem
from emstrack.text import problems as problem_text


def localise_problems(doc: dict[str, Any], problems: tuple[Problem, ...], lang: Lang) -> None:
    """Put each problem's `message` in `lang` (in place); English stays the domain's sentence."""
    if lang == "en":
        return
    for item, found in zip(doc.get("problems", []), problems, strict=False):
        item["message"] = problem_text.text(found, lang)
