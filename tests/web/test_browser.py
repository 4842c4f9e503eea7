"""The pages in a real headless Chromium (Debian's `chromium`, driven by Playwright).

Run against a server on loopback with the demo data plus one item with private details. With
`EMSTRACK_SCREENSHOTS=1` the key pages are saved to docs/screenshots/ for the README.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from chromium import launched, needs_chromium, phone_context
from factories import DELIVERED_TO_DE, history
from playwright.sync_api import Browser, Page
from webclient import serve

from emstrack.config import Settings
from emstrack.demo import load_demo
from emstrack.ingest.records import parse_record
from emstrack.ingest.writer import record
from emstrack.store.database import Database
from emstrack.store.engine import ensure_schema, make_engine
from emstrack.web.app import create_app

pytestmark = needs_chromium
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
NUMBER = "EE123456785CN"
POSTCODE = "10115"
SIGNATORY = "Erika Mustermann"
EXAMPLES: dict[str, str] = {}  # scenario -> a demo number, filled by the server fixture


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'emstrack.db'}"
    settings = Settings(database_url=url)
    engine = make_engine(url)
    ensure_schema(engine)
    db = Database(engine)
    summary = load_demo(db, items=300, seed=3, now=datetime(2026, 11, 24, 9, tzinfo=UTC))
    records = history(NUMBER, *DELIVERED_TO_DE)
    for row in records:
        row["destination_postcode"] = POSTCODE
        row["destination_country"] = "DE"
    records[-1]["signatory"] = SIGNATORY
    record(db, [parse_record(r) for r in records])
    EXAMPLES.update(summary.examples)
    with serve(create_app(settings, db)) as client:
        yield str(client.base_url)
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1100, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser: Browser, base_url: str) -> Iterator[Page]:
    context = phone_context(browser, base_url)
    yield context.new_page()
    context.close()


def _shot(page: Page, name: str) -> None:
    if os.environ.get("EMSTRACK_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _example(name: str) -> str:
    return EXAMPLES[name]


def test_search_one_number(page: Page) -> None:
    page.goto("/")
    _shot(page, "home")
    page.get_by_label("Tracking number").first.fill("ee 123 456 785 cn")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/track/EE123456785CN*")
    assert "Delivered" in page.locator("main").inner_text()
    assert "UTC+8" in page.locator("main").inner_text()
    assert SIGNATORY not in page.content()
    _shot(page, "item-delivered")


def test_customs_hold_is_explained(page: Page) -> None:
    page.goto(f"/track/{_example('customs_held')}")
    text = page.locator("main").inner_text()
    assert "customs" in text.lower()
    _shot(page, "item-customs")


def test_search_many_numbers(page: Page) -> None:
    numbers = [_example("delivered"), _example("in_transit"), "EE123456789CN", "RR473124829GB"]
    page.goto("/")
    page.get_by_label("Tracking number").first.fill("\n".join(numbers))
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table tbody tr")
    assert rows.count() == len(numbers)
    assert "check digit" in rows.nth(2).inner_text().lower()
    _shot(page, "many")


def test_invalid_number_and_its_suggestion(page: Page) -> None:
    page.goto("/track/EE123456784CN")
    assert "The check digit should be 5, not 4." in page.locator("main").inner_text()
    _shot(page, "invalid")
    page.get_by_role("link", name="EE 123 456 785 CN").first.click()
    page.wait_for_url("**/track/EE123456785CN*")
    assert "Delivered" in page.locator("main").inner_text()


def test_chinese_page(page: Page) -> None:
    page.goto(f"/track/{NUMBER}?lang=zh")
    assert "已妥投" in page.locator("main").inner_text()
    assert page.locator("html").get_attribute("lang", timeout=2000) in ("zh-Hans", "zh-CN", "zh")
    _shot(page, "item-zh")


def test_phone_sized_viewport_has_no_sideways_scroll(phone: Page) -> None:
    for path in ("/", f"/track/{NUMBER}", f"/track/{_example('customs_held')}", "/support"):
        phone.goto(path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} is {width}px wide at 360px"
    phone.goto(f"/track/{_example('customs_held')}")
    _shot(phone, "phone-item")


_OVERLAPS = """() => {
  const boxes = [...document.querySelectorAll('.progress .step-label')]
    .map(e => e.getBoundingClientRect()).filter(r => r.width > 1);
  let n = 0;
  for (let i = 1; i < boxes.length; i++) {
    const a = boxes[i - 1], b = boxes[i];
    if (a.right > b.left + 0.5 && a.bottom > b.top && b.bottom > a.top) n++;
  }
  return n;
}"""


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_progress_labels_never_overlap_on_a_phone(phone: Page, lang: str) -> None:
    # Six labels do not fit under their steps at 360 px: the current one is said below the line.
    for scenario in ("in_transit", "customs_held", "delivered", "returned"):
        phone.goto(f"/track/{_example(scenario)}?lang={lang}")
        assert phone.evaluate(_OVERLAPS) == 0, scenario
        current = phone.locator('.step[aria-current="step"] .step-label')
        if current.count():
            said = phone.locator(".progress-now")
            assert said.is_visible()
            assert current.inner_text() in said.inner_text()


def test_postcode_unlock(page: Page) -> None:
    page.goto(f"/track/{NUMBER}")
    page.locator("#postcode").fill("99999")
    page.get_by_role("button", name="Show details").click()
    assert SIGNATORY not in page.content()
    page.goto(f"/track/{NUMBER}")
    page.locator("#postcode").fill(POSTCODE)
    page.get_by_role("button", name="Show details").click()
    assert SIGNATORY in page.locator("main").inner_text()


def test_no_request_leaves_the_machine(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url)
    page = context.new_page()
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    page.goto(f"/track/{NUMBER}")
    page.wait_for_load_state("networkidle")
    context.close()
    host = httpx.URL(base_url).host
    assert seen
    assert all(httpx.URL(url).host == host for url in seen), seen


def test_search_with_the_keyboard_alone(page: Page) -> None:
    page.goto("/")
    for _ in range(20):  # Tab through the page until the number box has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "n":
            break
    else:
        pytest.fail("the tracking-number box cannot be reached with Tab")
    page.keyboard.type(NUMBER)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "BUTTON"
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/track/{NUMBER}*")
    assert "Delivered" in page.locator("main").inner_text()
