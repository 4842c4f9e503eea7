"""The problems of a number in the language asked for: the pages' translations, for the API."""

from __future__ import annotations

from typing import Any

from emstrack.domain.problems import Problem
from emstrack.web import i18n, problemtext


def localise_problems(doc: dict[str, Any], problems: tuple[Problem, ...], lang: str) -> None:
    """Put each problem's `message` in `lang` (in place); English stays the domain's sentence."""
    if not lang.startswith("zh"):
        return
    translations = i18n.translations("zh_Hans")
    for item, found in zip(doc.get("problems", []), problems, strict=False):
        item["message"] = problemtext.text(found, "zh_Hans", translations)
