"""The Chinese message catalogue: complete, translated, and compiled from the current .po."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

import emstrack

PACKAGE = Path(emstrack.__file__).parent
MESSAGES = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES"


def _po() -> dict[str, str]:
    with (MESSAGES / "messages.po").open("rb") as f:
        return {str(m.id): str(m.string) for m in read_po(f) if m.id}


def test_every_message_has_a_translation() -> None:
    assert [msgid for msgid, text in _po().items() if not text.strip()] == []


def test_every_string_of_the_pages_is_in_the_catalogue() -> None:
    method_map = [
        ("web/templates/**.html", "jinja2"),
        ("web/**.py", "python"),
        ("text/**.py", "python"),
        ("channels/**.py", "python"),
    ]
    options = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found = {str(m[2]) for m in extract_from_dir(str(PACKAGE), method_map, options)}
    assert sorted(found - set(_po())) == []


def test_compiled_catalogue_matches_the_po() -> None:
    with (MESSAGES / "messages.po").open("rb") as f:
        compiled = io.BytesIO()
        write_mo(compiled, read_po(f))
    compiled.seek(0)
    with (MESSAGES / "messages.mo").open("rb") as f:
        shipped = {m.id: m.string for m in read_mo(f) if m.id}
    fresh = {m.id: m.string for m in read_mo(compiled) if m.id}
    assert shipped == fresh, "run: pybabel compile -d emstrack/locale"
