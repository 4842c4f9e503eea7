"""The documentation covers every setting and every import field, and stands on its own: a new
setting or field fails here first, and so does a link to a page that is not there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emstrack.config import Settings
from emstrack.ingest.records import FIELDS

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
CONFIGURATION = (DOCS / "configuration.md").read_text(encoding="utf-8")
IMPORT = (DOCS / "import.md").read_text(encoding="utf-8")
CHANNELS = (DOCS / "channels.md").read_text(encoding="utf-8")

#: The pages and files of the project a reader follows links between.
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def _default(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_configuration_table(name: str) -> None:
    field = Settings.model_fields[name]
    row = re.search(rf"^\| `EMSTRACK_{name.upper()}` \| `([^`]*)` \| (.+) \|$", CONFIGURATION, re.M)
    assert row, f"docs/configuration.md lacks EMSTRACK_{name.upper()}"
    assert row.group(1) == _default(field.default)
    assert row.group(2) == field.description


@pytest.mark.parametrize("name", FIELDS)
def test_every_import_field_is_documented(name: str) -> None:
    assert re.search(rf"^\| [^|]*`{name}`", IMPORT, re.M), f"docs/import.md lacks the field {name}"


def test_readme_opens_with_the_two_commands() -> None:
    block = README.split("```")[1]
    assert "make run" in block
    assert "make test" in block


def test_the_readme_links_every_reference_page() -> None:
    for page in sorted(DOCS.glob("*.md")):
        assert f"(docs/{page.name})" in README, f"README does not link docs/{page.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_of_the_project(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path = (page.parent / target).resolve()
        assert path.exists(), f"{page.relative_to(ROOT)} links {target}, which is not there"
        assert path.is_relative_to(ROOT), f"{page.relative_to(ROOT)} links outside the project"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_file_the_docs_name_is_there(page: Path) -> None:
    """A module or test moved or renamed takes its mentions in the docs along."""
    named = re.findall(r"`((?:emstrack|tests|bench|docs)/[\w/.*-]+)`", page.read_text("utf-8"))
    shipped = [path for path in named if not path.startswith("bench/out")]  # made by the benchmarks
    missing = [path for path in shipped if not any(ROOT.glob(path))]
    assert not missing, f"{page.relative_to(ROOT)} names files that are not there: {missing}"


def _project_texts() -> list[Path]:
    files = [ROOT / name for name in ("README.md", "pyproject.toml", "Makefile", ".ci/run")]
    for folder in ("emstrack", "tests", "bench", "docs"):
        files += [
            path
            for path in sorted((ROOT / folder).rglob("*"))
            if path.is_file() and path.suffix not in {".pyc", ".mo", ".png", ".gz"}
        ]
    return [path for path in files if path.exists() and "out" not in path.parts]


def test_nothing_points_outside_the_repository() -> None:
    """Code and docs cite `docs/standards/`, never a folder beside the checkout."""
    outside = "shared" + "/"  # spelt so that a grep of the project does not find this line
    cited = [
        str(path.relative_to(ROOT))
        for path in _project_texts()
        if outside in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert not cited, f"these files cite a folder outside the repository: {cited}"


def test_the_webhook_verification_snippet_is_the_tested_one() -> None:
    from emstrack.notify.webhook import VERIFY_SNIPPET

    assert VERIFY_SNIPPET.strip() in CHANNELS
