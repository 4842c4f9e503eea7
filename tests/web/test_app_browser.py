"""The app (issue 16 points 1 and 2) in Debian's Chromium at 360x780, in English and Chinese,
against a real server with the demo data: installable (no installability error, the manifest,
the icons), My items (add by typing and by pasting several, from an item's page, remove by the
button and by a swipe, undo, refresh by the button and by a pull down), offline (the list and an
item's last answer with "last updated"), the worker's update, the page without JavaScript, the
worker's push handler, and no accessibility violation on /app and /offline.

With `EMSTRACK_SCREENSHOTS=1` the app's home screen with three items is saved as
docs/screenshots/app-home-en.png and app-home-zh.png.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from chromium import _ARGS, CHROMIUM, launched, needs_chromium
from factories import history
from PIL import Image
from playwright.sync_api import (
    Browser,
    BrowserContext,
    CDPSession,
    Locator,
    Page,
    Route,
    sync_playwright,
)
from pydantic import SecretStr

# The axe-core check of test_accessibility (a module beside this one: not on mypy's path).
from test_accessibility import _RUN, TAGS, _report  # type: ignore[import-not-found]
from test_accessibility import axe as _axe  # noqa: F401
from webclient import serve_url

from emstrack.config import Settings
from emstrack.demo import load_demo
from emstrack.domain.lang import HTML_LANG, Lang
from emstrack.ingest.records import parse_record
from emstrack.ingest.writer import record
from emstrack.store.database import Database
from emstrack.store.engine import ensure_schema, make_engine
from emstrack.web import i18n, pwa
from emstrack.web.app import create_app

pytestmark = needs_chromium
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 780},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
LOCALES: dict[Lang, str] = {"en": "en-GB", "zh": "zh-CN"}
MOVING = "EE123456785CN"  # posted, then a scan arrives during a test
NEVER = "RR473124829GB"  # valid, never scanned
#: Valid, never scanned until the refresh test records scans of it, one per language.
FRESH: dict[Lang, str] = {"en": NEVER, "zh": "RR123456785GB"}
INVALID = "EE123456789CN"  # check digit 9 instead of 5
WORDS: dict[Lang, dict[str, str]] = {
    "en": {
        "title": "My items",
        "remove": "Remove",
        "undo": "Undo",
        "follow": "Follow on this device",
        "added": "Added to My items on this device.",
        "delivered": "Delivered",
        "customs": "At import customs",
        "in_transit": "In transit",
        "offline": "You are offline",
        "updated": "Last updated",
        "new_version": "A new version is ready.",
        "reload": "Reload",
        "check_digit": "The check digit should be 5, not 9.",
        "needs": "It needs JavaScript",
        "no_scan": "No scan yet",
        "following": "Followed on this device.",
    },
    "zh": {
        "title": "我的邮件",
        "remove": "移除",
        "undo": "撤销",
        "follow": "在本机关注",
        "added": "已添加到本机的“我的邮件”。",
        "delivered": "已妥投",
        "customs": "进口海关处理中",
        "in_transit": "运输中",
        "offline": "您目前处于离线状态",
        "updated": "最近更新",
        "new_version": "新版本已准备就绪。",
        "reload": "重新加载",
        "check_digit": "校验位应为 5，而不是 9。",
        "needs": "它需要 JavaScript",
        "no_scan": "尚无扫描记录",
        "following": "已在本机关注。",
    },
}


class Server:
    def __init__(self, url: str, db: Database, examples: dict[str, str], settings: Settings):
        self.url = url
        self.db = db
        self.examples = examples
        self.settings = settings


def _settings(url: str, **changes: Any) -> Settings:
    return Settings(
        database_url=url,
        secret_key=SecretStr("k" * 40),
        rate_limit="100000/minute",
        **changes,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path_factory.mktemp('app') / 'emstrack.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    db = Database(engine)
    summary = load_demo(db, items=80, seed=3, now=datetime(2026, 11, 24, 9, tzinfo=UTC))
    record(
        db, [parse_record(r) for r in history(MOVING, ("EMA", "2026-11-20T09:12", "CNBJSD", "CN"))]
    )
    settings = _settings(url)
    with serve_url(create_app(settings, db)) as base:
        yield Server(base, db, dict(summary.examples), settings)
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


@pytest.fixture(params=["en", "zh"])
def lang(request: pytest.FixtureRequest) -> Lang:
    value: Lang = request.param
    return value


@pytest.fixture
def context(browser: Browser, server: Server, lang: Lang) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=server.url, locale=LOCALES[lang], **PHONE)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    yield context
    context.close()


def _open(page: Page, lang: Lang) -> None:
    page.goto(f"/app?lang={lang}")
    page.locator("#app-main").wait_for(state="visible")


def _controlled(page: Page) -> None:
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30000)


def _add(page: Page, text: str) -> None:
    page.locator("#app-numbers").fill(text)
    page.locator("#app-add [type=submit]").click()


def _card(page: Page, number: str) -> Locator:
    return page.locator(f".app-item[data-number='{number}']")


def _touch(cdp: CDPSession, kind: str, points: list[tuple[float, float]]) -> None:
    touches = [{"x": x, "y": y} for x, y in points]
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touches})


def _drag(cdp: CDPSession, start: tuple[float, float], end: tuple[float, float]) -> None:
    """A finger put down at `start`, moved in ten steps to `end`, and lifted."""
    _touch(cdp, "touchStart", [start])
    for step in range(1, 11):
        x = start[0] + (end[0] - start[0]) * step / 10
        y = start[1] + (end[1] - start[1]) * step / 10
        _touch(cdp, "touchMove", [(x, y)])
    _touch(cdp, "touchEnd", [])


# --- installable --------------------------------------------------------------------------


def test_chromium_finds_the_app_installable(server: Server, lang: Lang, tmp_path: Path) -> None:
    # A persistent profile: Chromium never offers to install from an incognito one.
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=_ARGS,
            base_url=server.url,
            locale=LOCALES[lang],
            **PHONE,
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            _open(page, lang)
            _controlled(page)
            cdp = context.new_cdp_session(page)
            errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
            assert errors == []
            href = page.locator("link[rel=manifest]").get_attribute("href")
            assert href == f"/manifest.webmanifest?lang={lang}"
            colour = page.locator("meta[name=theme-color]").get_attribute("content")
            assert colour == server.settings.brand.colours.primary
        finally:
            context.close()


def test_the_manifest_is_the_brands(server: Server, lang: Lang) -> None:
    brand = server.settings.brand
    answer = httpx.get(f"{server.url}/manifest.webmanifest?lang={lang}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/manifest+json"
    assert "set-cookie" not in answer.headers
    manifest = answer.json()
    assert manifest["name"] == brand.name.get(lang)
    assert manifest["short_name"] == brand.short_name.get(lang)
    assert manifest["lang"] == HTML_LANG[lang]
    assert manifest["dir"] == "ltr"
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "/app",
        "/",
        "standalone",
    )
    assert manifest["theme_color"] == brand.colours.primary
    purposes = set()
    for icon in manifest["icons"]:
        png = httpx.get(f"{server.url}{icon['src']}")
        assert png.status_code == 200
        assert png.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(png.content))
        assert f"{image.width}x{image.height}" == icon["sizes"]
        purposes.add((icon["sizes"], icon["purpose"]))
        if icon["purpose"] == "maskable":  # filled to the edges with the brand's colour
            corner = image.convert("RGB").getpixel((0, 0))
            assert isinstance(corner, tuple)
            assert "#" + "".join(f"{c:02x}" for c in corner) == brand.colours.primary
        else:  # the logo's rounded square: transparent corners
            corner = image.convert("RGBA").getpixel((0, 0))
            assert isinstance(corner, tuple)
            assert corner[3] == 0
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= purposes


def test_the_worker_is_served_from_the_root_and_never_kept(server: Server) -> None:
    answer = httpx.get(f"{server.url}/sw.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["service-worker-allowed"] == "/"
    assert "__VERSION__" not in answer.text
    assert "__SHELL__" not in answer.text
    assert len(pwa.worker_version(answer.text)) == 16
    for path in pwa.shell(server.settings.brand):  # every file of the shell is there
        assert httpx.get(f"{server.url}{path}").status_code == 200, path


def test_offline_page_in_both_languages(server: Server, lang: Lang) -> None:
    page = httpx.get(f"{server.url}/offline?lang={lang}")
    assert page.status_code == 200
    assert WORDS[lang]["offline"] in page.text
    assert f'<html lang="{HTML_LANG[lang]}">' in page.text


# --- My items -----------------------------------------------------------------------------


def test_add_by_typing_and_by_pasting_several(
    context: BrowserContext, server: Server, lang: Lang
) -> None:
    words = WORDS[lang]
    delivered, customs = server.examples["delivered"], server.examples["customs_held"]
    transit = server.examples["in_transit"]
    page = context.new_page()
    _open(page, lang)
    # Shown once the list is read from the device's storage (asynchronous), not with the page.
    page.locator("#app-empty").wait_for(state="visible")
    _add(page, delivered.lower())  # typed as people type: lower case
    expect_text(_card(page, delivered).locator(".app-item-status"), words["delivered"])
    assert _card(page, delivered).locator(".app-item-headline").inner_text().strip()
    assert _card(page, delivered).locator(".app-item-when").inner_text().strip()
    # Several pasted at once, one of them twice, one with a wrong check digit.
    pasted = f"{customs}\n{transit}, {delivered}\n{INVALID}"
    page.evaluate("text => navigator.clipboard.writeText(text)", pasted)
    page.locator("#app-numbers").fill("")
    page.locator("#app-numbers").focus()
    page.keyboard.press("Control+V")
    assert page.locator("#app-numbers").input_value() == pasted
    page.locator("#app-add [type=submit]").click()
    expect_text(_card(page, customs).locator(".app-item-status"), words["customs"])
    expect_text(_card(page, transit).locator(".app-item-status"), words["in_transit"])
    error = page.locator("#app-add-result .form-error")
    expect_text(error, words["check_digit"])
    assert "EE 123 456 785 CN" in error.inner_text()  # the lookup's suggestion
    assert page.locator("#app-numbers").input_value() == INVALID  # left to be corrected
    assert page.locator(".app-item").count() == 3
    # Kept on the device: there after the page is opened again.
    _open(page, lang)
    _card(page, transit).wait_for()
    assert page.locator(".app-item").count() == 3


def expect_text(locator: Locator, text: str) -> None:
    locator.filter(has_text=text).first.wait_for(timeout=20000)


def test_follow_from_the_item_page(context: BrowserContext, server: Server, lang: Lang) -> None:
    words = WORDS[lang]
    number = server.examples["returned"]
    page = context.new_page()
    page.goto(f"/track/{number}?lang={lang}")
    button = page.get_by_role("button", name=words["follow"])
    button.click()
    expect_text(page.locator(".follow-device-status"), words["added"])
    assert button.is_hidden()
    _open(page, lang)
    _card(page, number).wait_for()
    # The app looked it up when it opened: its status is there.
    _card(page, number).locator(".app-item-headline").wait_for()
    # Followed already: the item page says so instead of offering the button.
    page.goto(f"/track/{number}?lang={lang}")
    expect_text(page.locator(".follow-device-status"), words["following"])
    assert page.get_by_role("button", name=words["follow"]).is_hidden()


def test_remove_by_the_button_and_undo(context: BrowserContext, server: Server, lang: Lang) -> None:
    words = WORDS[lang]
    first, second = server.examples["delivered"], server.examples["stale"]
    page = context.new_page()
    _open(page, lang)
    _add(page, f"{first}\n{second}")
    _card(page, second).wait_for()
    # By keyboard: the Remove button of a card, then Undo.
    remove = _card(page, first).locator(".app-remove")
    remove.focus()
    page.keyboard.press("Enter")
    _card(page, first).wait_for(state="detached")
    toast = page.locator("#app-toast")
    expect_text(toast, words["undo"])
    assert page.evaluate("() => document.activeElement.id") == "app-undo"
    page.keyboard.press("Enter")
    _card(page, first).wait_for()
    assert page.locator(".app-item").count() == 2
    # Removed for good: gone after the page is opened again.
    _card(page, second).locator(".app-remove").click()
    _card(page, second).wait_for(state="detached")
    _open(page, lang)
    _card(page, first).wait_for()
    assert _card(page, second).count() == 0


def test_an_answer_that_comes_late_brings_no_removed_item_back(
    context: BrowserContext, server: Server, lang: Lang
) -> None:
    """Two tabs of the app share one list: an item removed in one while the other's update is
    on its way stays removed when that update's answers arrive (they are written into the
    records still kept, not over the list as the tab had it)."""
    first, second = server.examples["delivered"], server.examples["in_transit"]
    one, other = context.new_page(), context.new_page()
    _open(one, lang)
    _add(one, f"{first}\n{second}")
    _card(one, second).wait_for()
    _open(other, lang)
    _card(other, first).wait_for()
    held: list[Route] = []
    one.route("**/api/v1/tracking/batch", lambda route: held.append(route))
    one.locator("#app-refresh").click()
    for _ in range(200):
        if held:
            break
        one.wait_for_timeout(50)
    assert held, "the update asked nothing"
    _card(other, first).locator(".app-remove").click()
    _card(other, first).wait_for(state="detached")
    held[0].continue_()
    one.unroute("**/api/v1/tracking/batch")
    expect_text(one.locator("#app-status"), "Updated." if lang == "en" else "已更新。")
    _card(one, first).wait_for(state="detached")  # the tab shows the list as it is kept
    assert _card(one, second).count() == 1
    _open(other, lang)
    _card(other, second).wait_for()
    assert _card(other, first).count() == 0


def test_remove_by_a_swipe_and_undo(context: BrowserContext, server: Server, lang: Lang) -> None:
    number = server.examples["awaiting_pickup"]
    page = context.new_page()
    _open(page, lang)
    _add(page, number)
    card = _card(page, number)
    card.wait_for()
    cdp = context.new_cdp_session(page)
    box = card.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    # A short slide is not a swipe: the card stays.
    _drag(cdp, (box["x"] + box["width"] * 0.6, y), (box["x"] + box["width"] * 0.5, y))
    page.wait_for_timeout(300)
    assert card.count() == 1
    _drag(cdp, (box["x"] + box["width"] * 0.8, y), (box["x"] + 5, y))
    card.wait_for(state="detached")
    page.locator("#app-undo").click()
    card.wait_for()


def test_refresh_by_the_button_and_by_a_pull_down(
    context: BrowserContext, server: Server, lang: Lang
) -> None:
    words = WORDS[lang]
    fresh = FRESH[lang]
    page = context.new_page()
    _open(page, lang)
    _add(page, fresh)
    expect_text(_card(page, fresh).locator(".app-item-status"), words["no_scan"])
    # A first scan arrives: Refresh shows it.
    record(
        server.db,
        [parse_record(r) for r in history(fresh, ("EMA", "2026-11-21T08:00", "GBLONA", "GB"))],
    )
    page.locator("#app-refresh").click()
    _card(page, fresh).locator(".app-item-when").wait_for()
    assert words["no_scan"] not in _card(page, fresh).inner_text()
    # Another scan: a pull down from the top of the list shows it.
    before = _card(page, fresh).locator(".app-item-headline").inner_text()
    record(
        server.db,
        [parse_record(r) for r in history(fresh, ("EMC", "2026-11-22T08:00", "GBLONA", "GB"))],
    )
    cdp = context.new_cdp_session(page)
    box = _card(page, fresh).bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + 10
    _drag(cdp, (x, y), (x, y + 160))
    page.wait_for_function(
        "([number, before]) => document.querySelector("
        "`.app-item[data-number='${number}'] .app-item-headline`).textContent !== before",
        arg=[fresh, before],
        timeout=20000,
    )


def test_offline_the_list_and_an_items_last_answer(
    context: BrowserContext, server: Server, lang: Lang
) -> None:
    words = WORDS[lang]
    number = server.examples["customs_held"]
    page = context.new_page()
    _open(page, lang)
    _controlled(page)
    _add(page, number)
    _card(page, number).wait_for()
    page.wait_for_timeout(500)
    context.set_offline(True)
    try:
        page.reload()
        page.locator("#app-main").wait_for(state="visible")
        page.locator("#app-offline").wait_for(state="visible")  # once the list is drawn
        card = _card(page, number)
        expect_text(card.locator(".app-item-updated"), words["updated"])
        expect_text(card.locator(".app-item-status"), words["customs"])
        card.locator(".app-item-open").click()
        detail = page.locator("#app-detail")
        detail.wait_for(state="visible")
        expect_text(page.locator("#app-detail-updated"), words["updated"])
        expect_text(page.locator("#app-detail-status"), words["customs"])
        assert page.locator("#app-detail-events li").count() > 1
        # Each event's time as the item page says it (Babel's there, the browser's here).
        answer = httpx.get(f"{server.url}/api/v1/tracking/{number}?lang={lang}").json()
        first = answer["events"][0]
        said = i18n.local_time(datetime.fromisoformat(first["local_time"]), lang)
        shown = page.locator("#app-detail-events li .app-event-when").first.inner_text()
        assert shown == f"{said} ({first['utc_offset_label']})"
        # A page never seen: the offline page, in the person's language.
        page.goto(f"/track/{server.examples['export_customs']}")
        expect_text(page.locator("h1"), words["offline"])
    finally:
        context.set_offline(False)


@pytest.fixture
def limited(server: Server) -> Iterator[str]:
    """The same data behind a server of its own that allows 3 lookups a minute."""
    # Its counters its own (in memory), whatever Redis the environment names.
    changed = server.settings.model_copy(update={"rate_limit": "3/minute", "redis_url": ""})
    with serve_url(create_app(changed, server.db)) as base:
        yield base


def test_an_update_refused_keeps_the_last_answers(
    browser: Browser, server: Server, limited: str, lang: Lang
) -> None:
    """Online, but the server does not answer the update (here: the lookup limit): the list
    stays as it was last updated, and says so."""
    words = WORDS[lang]
    failed = {
        "en": "Could not update: showing the answers as they were last updated.",
        "zh": "无法更新：显示最近一次更新时的查询结果。",
    }[lang]
    context = browser.new_context(base_url=limited, locale=LOCALES[lang], **PHONE)
    try:
        page = context.new_page()
        _open(page, lang)
        numbers = [server.examples["delivered"], server.examples["returned"]]
        _add(page, "\n".join(numbers))  # 2 lookups
        _card(page, numbers[1]).wait_for()
        _open(page, lang)  # its update: 2 more, over the limit
        expect_text(page.locator("#app-status"), failed)
        for number in numbers:
            expect_text(_card(page, number).locator(".app-item-updated"), words["updated"])
            assert _card(page, number).locator(".app-item-headline").inner_text().strip()
        assert page.locator("#app-offline").is_hidden()  # not offline: the server said no
    finally:
        context.close()


def test_the_worker_shows_a_push_and_its_page(
    context: BrowserContext, server: Server, lang: Lang
) -> None:
    """The worker's push handler, given a payload by the DevTools protocol as a push service
    would (headless Chromium reaches no real push service): the notification it shows."""
    context.grant_permissions(["notifications"], origin=server.url)
    page = context.new_page()
    _open(page, lang)
    _controlled(page)
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    for _ in range(100):  # the registrations are reported as events, soon after
        if any(r["scopeURL"] == server.url + "/" for r in registrations):
            break
        page.wait_for_timeout(100)
    (registration,) = {
        r["registrationId"]: r for r in registrations if r["scopeURL"] == server.url + "/"
    }.values()
    payload = {
        "title": "EE 123 456 785 CN",
        "body": WORDS[lang]["delivered"],
        "url": f"/track/{MOVING}?lang={lang}",
        "number": MOVING,
        "status": "delivered",
        "tag": MOVING,
        "lang": HTML_LANG[lang],
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": server.url,
            "registrationId": registration["registrationId"],
            "data": json.dumps(payload),
        },
    )
    shown = page.evaluate(
        """async () => {
          const registration = await navigator.serviceWorker.ready;
          for (let i = 0; i < 50; i++) {
            const found = await registration.getNotifications();
            if (found.length) {
              return found.map(n => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url}));
            }
            await new Promise(r => setTimeout(r, 100));
          }
          return [];
        }"""
    )
    assert shown == [
        {"title": payload["title"], "body": payload["body"], "tag": MOVING, "url": payload["url"]}
    ]


# --- the worker's update ------------------------------------------------------------------


def test_a_new_worker_waits_until_reload(browser: Browser, server: Server, lang: Lang) -> None:
    """A new deploy (here: other settings, so another worker version) is found when the app
    opens; the page offers it, and Reload makes it the active worker."""
    words = WORDS[lang]
    first = create_app(server.settings, server.db)
    with serve_url(first) as base:
        port = int(base.rsplit(":", 1)[1])
        context = browser.new_context(base_url=base, locale=LOCALES[lang], **PHONE)
        try:
            page = context.new_page()
            _open(page, lang)
            _controlled(page)
            old = _active_version(page)
            assert old == pwa.worker_version(httpx.get(f"{base}/sw.js").text)
            assert page.locator("#app-update").is_hidden()
            # The same address, a new deploy.
            second = create_app(server.settings.model_copy(update={"cache_max_age": 61}), server.db)
        except BaseException:
            context.close()
            raise
    try:
        with serve_url(second, port=port):
            new = pwa.worker_version(httpx.get(f"{base}/sw.js").text)
            assert new != old
            _open(page, lang)
            banner = page.locator("#app-update")
            banner.wait_for(state="visible", timeout=30000)
            assert words["new_version"] in banner.inner_text()
            assert _active_version(page) == old  # it waits
            with page.expect_event("load"):
                page.get_by_role("button", name=words["reload"]).click()
            page.locator("#app-main").wait_for(state="visible")
            _controlled(page)
            assert _active_version(page) == new
            assert page.locator("#app-update").is_hidden()
    finally:
        context.close()


def _active_version(page: Page) -> str:
    version: str = page.evaluate(
        """() => new Promise(resolve => {
          const channel = new MessageChannel();
          channel.port1.onmessage = e => resolve(e.data.version);
          navigator.serviceWorker.controller.postMessage({type: "VERSION"}, [channel.port2]);
        })"""
    )
    return version


# --- without JavaScript -------------------------------------------------------------------


def test_without_javascript(browser: Browser, server: Server, lang: Lang) -> None:
    words = WORDS[lang]
    context = browser.new_context(
        base_url=server.url, locale=LOCALES[lang], java_script_enabled=False, **PHONE
    )
    try:
        page = context.new_page()
        page.goto(f"/app?lang={lang}")
        assert words["needs"] in page.locator("#app-nojs").inner_text()
        assert page.locator("#app-main").is_hidden()
        number = server.examples["delivered"]
        page.locator("#n").fill(number)
        with page.expect_navigation():
            page.locator(".track-form [type=submit]").click()
        assert page.url.endswith(f"/track/{number}?scope=international")
        expect_text(page.locator(".banner"), words["delivered"])
        # The item page has no "Follow on this device" without script.
        assert page.locator(".follow-device").is_hidden()
        page.goto(f"/offline?lang={lang}")
        assert words["offline"] in page.locator("h1").inner_text()
    finally:
        context.close()


# --- accessibility ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/app", "/app#detail", "/offline"])
def test_no_accessibility_violation(
    request: pytest.FixtureRequest, browser: Browser, server: Server, lang: Lang, path: str
) -> None:
    context = browser.new_context(
        base_url=server.url, locale=LOCALES[lang], bypass_csp=True, **PHONE
    )
    try:
        page = context.new_page()
        if path.startswith("/app"):
            _open(page, lang)
            _add(
                page, f"{server.examples['delivered']}\n{server.examples['customs_held']}\n{NEVER}"
            )
            _card(page, server.examples["customs_held"]).wait_for()
            page.locator(".app-item-open").first.click()  # the removal's toast and a detail
            if path == "/app#detail":
                page.locator("#app-detail").wait_for(state="visible")
            else:
                page.go_back()
                page.locator(".app-remove").first.click()
                page.locator("#app-toast").wait_for(state="visible")
        else:
            page.goto(f"{path}?lang={lang}")
        page.add_script_tag(path=str(request.getfixturevalue("_axe")))
        violations = page.evaluate(_RUN, TAGS)
        assert not violations, f"{path} ({lang}):\n{_report(violations)}"
    finally:
        context.close()


# --- screenshots --------------------------------------------------------------------------


def test_home_screen_with_three_items(browser: Browser, server: Server, lang: Lang) -> None:
    """The app's home screen with three items of different statuses, the phone's whole screen
    as the installed app shows it (a standalone window has no browser bar; Chromium's DevTools
    cannot emulate `display-mode: standalone`, and the page does not depend on it); saved to
    docs/screenshots/ with EMSTRACK_SCREENSHOTS=1."""
    context = browser.new_context(base_url=server.url, locale=LOCALES[lang], **PHONE)
    try:
        page = context.new_page()
        _open(page, lang)
        numbers = [server.examples[s] for s in ("delivered", "customs_held", "in_transit")]
        _add(page, "\n".join(numbers))
        for number in numbers:
            _card(page, number).locator(".app-item-when").wait_for()
        page.locator("#app-numbers").blur()
        page.locator("#app-add-result").evaluate("e => e.replaceChildren()")
        tones = page.locator(".app-item").evaluate_all("cards => cards.map(c => c.className)")
        assert len(set(tones)) == 3  # three statuses, three colours
        if os.environ.get("EMSTRACK_SCREENSHOTS"):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"app-home-{lang}.png"))
    finally:
        context.close()
