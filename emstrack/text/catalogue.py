"""The message catalogue: one gettext translation per language, from `emstrack/locale`.

After changing a string marked for translation (templates, `gettext` calls), update and compile
the catalogue from the repository root (the patterns in babel.cfg are relative to it):

    pybabel extract -F emstrack/locale/babel.cfg --no-location -o /tmp/messages.pot .
    pybabel update -i /tmp/messages.pot -d emstrack/locale -l zh_Hans --no-fuzzy-matching
    pybabel compile -d emstrack/locale

`tests/web/test_catalogue.py` fails when a string is missing, untranslated or not compiled.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.support import NullTranslations, Translations

from emstrack.domain.lang import BABEL_LOCALE, Lang

LOCALE_DIR = Path(__file__).parent.parent / "locale"


@cache
def translations(lang: Lang) -> NullTranslations:
    """The translations into `lang` (English is the catalogue's own language)."""
    if lang == "en":
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [BABEL_LOCALE[lang]], domain="messages")
