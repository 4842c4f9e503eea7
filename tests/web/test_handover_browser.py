"""The hand-over block and the support directory in Debian's Chromium, at 360x780 and 1280x900,
in English and Chinese: visible, linked, nothing wider than the screen. With
`EMSTRACK_SCREENSHOTS=1` the item pages are saved to docs/screenshots/handover-*.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromium import launched, needs_chromium
from factories import DELIVERED_TO_DE, history
from playwright.sync_api import Browser, Page
from webclient import serve

from emstrack.config import Settings
from emstrack.ingest.records import parse_record
from emstrack.ingest.writer import record
from emstrack.store.database import Database
from emstrack.store.engine import ensure_schema, make_engine
from emstrack.web.app import create_app

pytestmark = needs_chromium
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
NUMBER = "EE123456785CN"
SIZES = {"phone": (360, 780), "desktop": (1280, 900)}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('handover') / 'emstrack.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    db = Database(engine)
    record(db, [parse_record(r) for r in history(NUMBER, *DELIVERED_TO_DE[:6])])
    with serve(create_app(Settings(database_url=url), db)) as client:
        yield str(client.base_url)
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


@pytest.fixture(params=[(size, lang) for size in SIZES for lang in ("en", "zh")], ids="-".join)
def case(request: pytest.FixtureRequest) -> tuple[str, str]:
    """The screen's size and the reader's language."""
    found: tuple[str, str] = request.param
    return found


@pytest.fixture
def page(case: tuple[str, str], browser: Browser, base_url: str) -> Iterator[Page]:
    size, lang = case
    width, height = SIZES[size]
    phone = size == "phone"
    context = browser.new_context(
        base_url=base_url,
        viewport={"width": width, "height": height},
        device_scale_factor=2 if phone else 1,
        is_mobile=phone,
        has_touch=phone,
        locale="zh-CN" if lang == "zh" else "en-GB",
    )
    page = context.new_page()
    page.set_extra_http_headers({"Accept-Language": "zh-CN" if lang == "zh" else "en"})
    yield page
    context.close()


def _shot(page: Page, name: str) -> None:
    if os.environ.get("EMSTRACK_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _fits(page: Page) -> int:
    """The viewport's width, after checking that nothing is wider."""
    viewport = page.viewport_size
    assert viewport
    width: int = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"]
    return viewport["width"]


def test_the_item_page_hands_over_to_the_destination_post(
    page: Page, case: tuple[str, str]
) -> None:
    size, lang = case
    page.goto(f"/track/{NUMBER}")
    assert page.evaluate("document.documentElement.lang") == ("zh-Hans" if lang == "zh" else "en")
    block = page.locator("section.handover")
    block.scroll_into_view_if_needed()
    assert block.is_visible()
    heading = block.locator("h2").inner_text()
    assert heading == ("现由德国的德国邮政 DHL投递" if lang == "zh" else
                       "Now with Deutsche Post DHL in Germany")  # fmt: skip
    link = block.locator("a.button")
    assert link.is_visible()
    assert "piececode=EE123456785CN" in (link.get_attribute("href") or "")
    assert link.get_attribute("rel") == "noopener noreferrer"
    _fits(page)
    _shot(page, f"handover-{size}-{lang}")


def test_the_support_directory_links_every_operator(page: Page, case: tuple[str, str]) -> None:
    page.goto("/support")
    table = page.locator("table.directory")
    table.scroll_into_view_if_needed()
    assert table.locator("a[href^='https://www.dhl.de']").count() >= 1
    assert table.locator("a[href^='tel:']").count() >= 30
    if case[1] == "zh":
        assert "德国邮政 DHL" in table.inner_text()
    _fits(page)
