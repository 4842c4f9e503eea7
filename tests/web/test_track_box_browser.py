"""The track box in a real Chromium (issue 14 points 2 and 4), at 360x780 and 1280x900, in
English and Chinese: Search within the first screen, Enter searches, a pasted list still gives
several numbers, a pasted message shows its numbers and the offer to check it, and the offer's
button lands on /check with the verdict.

With `EMSTRACK_SCREENSHOTS_DIR=DIR` the pages are saved there to be looked at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from chromium import launched, needs_chromium
from factories import DELIVERED_TO_DE, history
from playwright.sync_api import Browser, Page
from webclient import serve

from emstrack.config import Settings
from emstrack.demo import load_demo
from emstrack.domain.lang import Lang
from emstrack.ingest.records import parse_record
from emstrack.ingest.writer import record
from emstrack.store.database import Database
from emstrack.store.engine import ensure_schema, make_engine
from emstrack.web.app import create_app

pytestmark = needs_chromium
NUMBER = "EE123456785CN"
OTHER = "RR473124829GB"
SMS = (
    f"EMS: your parcel {NUMBER} is held at customs, pay the duty of 12.50 CNY within 24 hours "
    "at https://ems-cn-delivery.top/pay or it will be returned to the sender."
)
SIZES = {"phone": (360, 780), "desktop": (1280, 900)}
WORDS: dict[Lang, dict[str, str]] = {
    "en": {"search": "Search", "offer": "This looks like a message you received",
           "check": "Check this message", "delivered": "Delivered"},
    "zh": {"search": "查询", "offer": "这看起来是您收到的一条短信",
           "check": "核实这条短信", "delivered": "妥投"},
}  # fmt: skip


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('trackbox') / 'emstrack.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    db = Database(engine)
    load_demo(db, items=50, seed=3, now=datetime(2026, 11, 24, 9, tzinfo=UTC))
    record(db, [parse_record(r) for r in history(NUMBER, *DELIVERED_TO_DE)])
    with serve(create_app(Settings(database_url=url), db)) as client:
        yield str(client.base_url)
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


def _page(browser: Browser, base_url: str, size: str, lang: Lang) -> Page:
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
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    return context.new_page()


@pytest.fixture(
    params=[(s, lang) for s in SIZES for lang in ("en", "zh")], ids=lambda p: "-".join(p)
)
def page(request: pytest.FixtureRequest, browser: Browser, base_url: str) -> Iterator[Page]:
    size, lang = request.param
    page = _page(browser, base_url, size, lang)
    page.goto(f"/?lang={lang}")
    yield page
    page.context.close()


def _lang(page: Page) -> Lang:
    return "zh" if page.locator("html").get_attribute("lang", timeout=2000) != "en" else "en"


def _shot(page: Page, name: str) -> None:
    where = os.environ.get("EMSTRACK_SCREENSHOTS_DIR")
    if where:
        width = page.viewport_size["width"] if page.viewport_size else 0
        Path(where).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(where) / f"{name}-{width}-{_lang(page)}.png"))


def _paste(page: Page, text: str) -> None:
    """Paste `text` into the number box as a person does: through the clipboard."""
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.locator("#n").click()
    page.keyboard.press("Control+V")


def test_search_is_within_the_first_screen(page: Page) -> None:
    height = page.viewport_size["height"] if page.viewport_size else 0
    words = WORDS[_lang(page)]
    button = page.get_by_role("button", name=words["search"]).bounding_box()
    box = page.locator("#n").bounding_box()
    assert button
    assert box
    assert button["y"] + button["height"] <= height, button
    assert box["y"] + box["height"] <= height, box
    # The choice of service stays, on the first screen too.
    domestic = page.locator('input[name="scope"][value="domestic"]').bounding_box()
    assert domestic
    assert domestic["y"] + domestic["height"] <= height
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= (page.viewport_size or {"width": 0})["width"]
    _shot(page, "home")


def test_enter_in_the_box_searches(page: Page) -> None:
    page.locator("#n").fill("ee 123 456 785 cn")
    page.locator("#n").press("Enter")
    page.wait_for_url(f"**/track/{NUMBER}*")
    assert WORDS[_lang(page)]["delivered"] in page.locator("main").inner_text()


def test_a_pasted_list_of_lines_gives_several_numbers(page: Page) -> None:
    _paste(page, f"{NUMBER}\n{OTHER}\r\nEE123456789CN\n")
    assert "\n" not in page.locator("#n").input_value()  # an <input> has one line
    page.locator("#n").press("Enter")
    page.wait_for_url("**/track?n=*")
    for number in (NUMBER, OTHER, "EE123456789CN"):
        assert number in page.url
    assert page.locator("table.results tbody tr, .results li").count() >= 3


def test_a_pasted_message_shows_its_numbers_and_the_check(page: Page) -> None:
    words = WORDS[_lang(page)]
    _paste(page, SMS)
    page.locator("#n").press("Enter")
    page.wait_for_load_state()
    assert page.url.endswith("/track")  # answered to the POST: no text in the URL
    main = page.locator("main")
    assert words["offer"] in main.inner_text()
    assert page.get_by_role("link", name="EE 123 456 785 CN").first.is_visible()
    assert words["delivered"] in main.inner_text()
    assert "ems-cn-delivery" not in main.inner_text()
    assert "ems-cn-delivery" not in page.title()
    _shot(page, "pasted")
    page.get_by_role("button", name=words["check"]).click()
    page.wait_for_url("**/check")
    verdict = page.locator("section.verdict")
    assert verdict.is_visible()
    assert "problem" in (verdict.get_attribute("class") or "")
    _shot(page, "pasted-checked")
