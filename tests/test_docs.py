"""The README documents every setting and every import field: a new one fails here first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emstrack.config import Settings
from emstrack.ingest.records import FIELDS

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _default(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_configuration_table(name: str) -> None:
    field = Settings.model_fields[name]
    row = re.search(rf"^\| `EMSTRACK_{name.upper()}` \| `([^`]*)` \| (.+) \|$", README, re.M)
    assert row, f"README's configuration table lacks EMSTRACK_{name.upper()}"
    assert row.group(1) == _default(field.default)
    assert row.group(2) == field.description


@pytest.mark.parametrize("name", FIELDS)
def test_every_import_field_is_documented(name: str) -> None:
    assert re.search(rf"^\| [^|]*`{name}`", README, re.M), f"README lacks the field {name}"


def test_readme_opens_with_the_two_commands() -> None:
    block = README.split("```")[1]
    assert "make run" in block
    assert "make test" in block


def test_the_webhook_verification_snippet_is_the_tested_one() -> None:
    from emstrack.notify.webhook import VERIFY_SNIPPET

    assert VERIFY_SNIPPET.strip() in README
