"""Problems with a number in words for people, in their language; which part of it is wrong.

The same sentences serve the pages, the bots and the API's problem documents.
"""

from __future__ import annotations

from emstrack.domain.lang import Lang
from emstrack.domain.problems import Problem
from emstrack.text.catalogue import translations


def part_label(part: str | None, lang: Lang) -> str | None:
    t = translations(lang)
    labels = {
        "service": t.gettext("Service code (the 2 letters at the start)"),
        "serial": t.gettext("Serial number (the 8 digits)"),
        "check_digit": t.gettext("Check digit (the 9th digit)"),
        "country": t.gettext("Country code (the 2 letters at the end)"),
    }
    return labels.get(part or "")


def text(problem: Problem, lang: Lang) -> str:
    """English keeps the domain's own sentence; Chinese gets a translation by stable code."""
    if lang == "en":
        return problem.message
    _ = translations(lang).gettext
    known = {
        "empty": _("Please enter a tracking number."),
        "check_digit": _("The check digit should be %(expected)s, not %(found)s."),
        "missing_check_digit": _("The check digit is missing; it should be %(expected)s."),
        "missing_country": _("The two-letter country code at the end is missing."),
        "country_cut_short": _("The country code at the end needs two letters."),
        "too_short": _("This is too short to be a tracking number."),
        "too_long": _("This is too long to be a tracking number."),
        "bad_character": _("This contains characters that cannot be part of a tracking number."),
        "bad_format": _("This is not a tracking number: it should have 13 characters."),
        "unknown_country": _("The country code at the end is not a known country."),
        "not_iso_country": _("The country code at the end is not an ISO country code."),
        "reserved_service": _("The service code at the start is reserved and never issued."),
    }
    template = known.get(problem.code)
    if template is None:
        return problem.message
    try:
        return template % problem.extra if "%(" in template else template
    except (KeyError, TypeError, ValueError):
        return problem.message
