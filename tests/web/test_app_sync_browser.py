"""The app's panels for signing in and for push notifications (issue 16 point 3 and 4's user
interface) in Debian's Chromium at 360x780, in English and Chinese, against a real server that
mails its sign-in links through a real SMTP server on loopback.

Two browser contexts are two devices of one person: their lists are merged both ways through
the server once each has followed a sign-in link; a removal on one is a removal on the other;
signing out keeps the list on the device; "Delete my list" asks first, then deletes the server's
list and the account.

Push: headless Chromium reaches no push service. In a test profile (off the record) it refuses
`pushManager.subscribe` ("Registration failed - permission denied"), in a persistent one it
waits for the push service for ever. So the switch is tested twice: with the browser as it is
(shown when the server has push keys, hidden when not; the permission asked; the refusal to
subscribe said plainly and the switch off again), and with a stand-in for `PushManager` that
answers as a browser with a push service would, so that what the app and the server do with a
subscription is tested for real: the server's key handed to `subscribe`, the list's numbers
followed (`POST /api/v1/push/subscriptions`, read back from the database), an item added or
removed followed or let go, the switch off letting every number go. The worker's push handler
is tested in test_app_browser.py with a push delivered through the DevTools protocol; a click
on a notification cannot be made headless, so `notificationclick` is not tested.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from chromium import launched, needs_chromium
from mailserver import Mailbox, parts, smtp_server
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route
from pydantic import SecretStr

# The axe-core check of test_accessibility (a module beside this one: not on mypy's path).
from test_accessibility import _RUN, TAGS, _report  # type: ignore[import-not-found]
from test_accessibility import axe as _axe  # noqa: F401
from webclient import serve_url

from emstrack.config import Settings
from emstrack.demo import load_demo
from emstrack.domain.lang import Lang
from emstrack.notify.webpush import new_keys
from emstrack.store.database import Database
from emstrack.store.engine import ensure_schema, make_engine
from emstrack.store.push import endpoint_id
from emstrack.store.subscriptions import subscriptions_of
from emstrack.web.app import create_app

pytestmark = needs_chromium
PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 780},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
LOCALES: dict[Lang, str] = {"en": "en-GB", "zh": "zh-CN"}
ADDRESS: dict[Lang, str] = {"en": "li.lei@example.cn", "zh": "han.meimei@example.cn"}
WORDS: dict[Lang, dict[str, str]] = {
    "en": {
        "check_mail": "Check your mail",
        "signed_in": "You are signed in.",
        "signed_out": "You are signed out.",
        "deleted": "Your list is deleted from our server.",
        "question": "Delete your list from our server",
        "push_failed": "Notifications could not be turned on in this browser.",
        "push_on": "Notifications are on for the items of your list.",
        "push_off": "Notifications are off.",
        "email_needed": "Please enter your e-mail address.",
    },
    "zh": {
        "check_mail": "请查收邮件",
        "signed_in": "您已登录。",
        "signed_out": "您已退出登录。",
        "deleted": "您的列表已从我们的服务器上删除",
        "question": "要从我们的服务器上删除您的列表",
        "push_failed": "无法在此浏览器中开启通知。",
        "push_on": "已为列表中的邮件开启通知。",
        "push_off": "通知已关闭。",
        "email_needed": "请输入您的电子邮箱地址。",
    },
}


class Server:
    def __init__(self, url: str, mailbox: Mailbox, examples: dict[str, str], db: Database) -> None:
        self.url = url
        self.mailbox = mailbox
        self.examples = examples
        self.db = db


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    url = f"sqlite:///{tmp_path_factory.mktemp('app-sync') / 'emstrack.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    db = Database(engine)
    summary = load_demo(db, items=80, seed=3, now=datetime(2026, 11, 24, 9, tzinfo=UTC))
    public, private = new_keys()
    with smtp_server() as (mailbox, port):
        settings = Settings(
            database_url=url,
            secret_key=SecretStr("k" * 40),
            rate_limit="100000/minute",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            mail_from="Track <track@emstrack.test>",
            webpush_public_key=public,
            webpush_private_key=SecretStr(private),
            webpush_subject="mailto:push@emstrack.test",
        )
        with serve_url(create_app(settings, db)) as base:
            yield Server(base, mailbox, dict(summary.examples), db)
    engine.dispose()


@pytest.fixture(scope="module")
def plain_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server without push keys, nor a secret key."""
    url = f"sqlite:///{tmp_path_factory.mktemp('app-plain') / 'emstrack.db'}"
    engine = make_engine(url)
    ensure_schema(engine)
    with serve_url(create_app(Settings(database_url=url), Database(engine))) as base:
        yield base
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


@pytest.fixture(params=["en", "zh"])
def lang(request: pytest.FixtureRequest) -> Lang:
    value: Lang = request.param
    return value


def _device(browser: Browser, base: str, lang: Lang) -> BrowserContext:
    return browser.new_context(base_url=base, locale=LOCALES[lang], **PHONE)


def _open(page: Page, lang: Lang) -> None:
    page.goto(f"/app?lang={lang}")
    page.locator("#app-main").wait_for(state="visible")


def _add(page: Page, numbers: list[str]) -> None:
    page.locator("#app-numbers").fill("\n".join(numbers))
    page.locator("#app-add [type=submit]").click()
    for number in numbers:
        _card(page, number).wait_for()


def _card(page: Page, number: str) -> Locator:
    return page.locator(f".app-item[data-number='{number}']")


def _listed(page: Page) -> set[str]:
    numbers: list[str] = page.locator(".app-item").evaluate_all(
        "cards => cards.map(c => c.dataset.number)"
    )
    return set(numbers)


def _server_list(page: Page) -> set[str]:
    answer = page.request.get("/api/v1/app/items")
    assert answer.status == 200, answer.text()
    return {item["number"] for item in answer.json()["items"]}


def _sign_in(page: Page, server: Server, lang: Lang, address: str = "") -> None:
    """Ask for a link in the panel, read it from the mail, follow it in this device."""
    words = WORDS[lang]
    seen = len(server.mailbox.messages)
    panel = page.locator("#app-sync")
    panel.wait_for(state="visible")
    # Each address gets 3 sign-in mails an hour: one address per test.
    panel.get_by_role("textbox").fill(address or ADDRESS[lang])
    panel.locator("[type=submit]").click()
    page.locator("#app-sign-in-result").filter(has_text=words["check_mail"]).wait_for()
    message = server.mailbox.wait(seen + 1)[seen]
    found = re.search(r"https?://\S+(/app/sign-in\?token=\S+)", parts(message)["text/plain"])
    assert found, "no sign-in link in the mail"
    page.goto(found.group(1))
    assert page.url.endswith("/app?signed_in=1")
    page.locator("#app-sync-status").filter(has_text=words["signed_in"]).wait_for()


def _wait_listed(page: Page, numbers: set[str]) -> None:
    page.wait_for_function(
        "wanted => { const shown = [...document.querySelectorAll('.app-item')]"
        ".map(c => c.dataset.number).sort(); return JSON.stringify(shown) === "
        "JSON.stringify(wanted); }",
        arg=sorted(numbers),
        timeout=20000,
    )


def test_two_devices_share_one_list(browser: Browser, server: Server, lang: Lang) -> None:
    words = WORDS[lang]
    first, second, third = (
        server.examples[s]
        for s in (
            ("delivered", "in_transit", "returned")
            if lang == "en"
            else ("customs_held", "stale", "awaiting_pickup")
        )
    )
    phone = _device(browser, server.url, lang)
    laptop = _device(browser, server.url, lang)
    try:
        a = phone.new_page()
        _open(a, lang)
        _add(a, [first, second])
        # An address is needed before anything is sent.
        a.locator("#app-sync [type=submit]").click()
        a.locator("#app-sign-in-result").filter(has_text=words["email_needed"]).wait_for()
        _sign_in(a, server, lang)
        _wait_listed(a, {first, second})
        assert _server_list(a) == {first, second}  # this device's list, sent
        b = laptop.new_page()
        _open(b, lang)
        _add(b, [third])
        _sign_in(b, server, lang)
        _wait_listed(b, {first, second, third})  # the server's, merged in
        assert _server_list(b) == {first, second, third}  # and this device's, sent
        _open(a, lang)
        _wait_listed(a, {first, second, third})
        # Removed on one device: gone from the server, and from the other device next time.
        _card(b, second).locator(".app-remove").click()
        _card(b, second).wait_for(state="detached")
        b.wait_for_timeout(300)
        assert _server_list(b) == {first, third}
        _open(a, lang)
        _wait_listed(a, {first, third})
        # Added on one device while signed in: on the server at once.
        fourth = server.examples["posted_only" if lang == "en" else "export_customs"]
        _add(a, [fourth])
        a.wait_for_function(
            "n => fetch('/api/v1/app/items').then(r => r.json())"
            ".then(d => d.items.some(i => i.number === n))",
            arg=fourth,
            timeout=20000,
        )
        # Signing out keeps the list on the device.
        a.locator("#app-sign-out").click()
        a.locator("#app-sync-status").filter(has_text=words["signed_out"]).wait_for()
        assert a.locator("#app-sign-in").is_visible()
        assert a.request.get("/api/v1/app/me").json()["signed_in"] is False
        assert _listed(a) == {first, third, fourth}
        # "Delete my list" asks first; Cancel keeps it.
        b.reload()
        b.locator("#app-delete").wait_for(state="visible")
        b.locator("#app-delete").click()
        question = b.locator("#app-delete-confirm")
        assert words["question"] in question.inner_text()
        b.locator("#app-delete-no").click()
        assert question.is_hidden()
        assert _server_list(b) == {first, third, fourth}
        b.locator("#app-delete").click()
        b.locator("#app-delete-yes").click()
        b.locator("#app-sync-status").filter(has_text=words["deleted"]).wait_for()
        me = b.request.get("/api/v1/app/me").json()
        assert me == {"signed_in": False, "items": 0}
        assert b.request.get("/api/v1/app/items").status == 401
        assert _listed(b) == {first, third, fourth}  # still on this device
    finally:
        phone.close()
        laptop.close()


def _server_has(page: Page, numbers: set[str]) -> None:
    for _ in range(100):
        if _server_list(page) == numbers:
            return
        page.wait_for_timeout(100)
    assert _server_list(page) == numbers


def test_an_undo_whose_send_failed_is_sent_by_the_next_merge(
    browser: Browser, server: Server, lang: Lang
) -> None:
    """Undo puts an item back as one not yet on the server: if sending it fails, the next merge
    sends it rather than taking it for an item removed on another device."""
    first, second = server.examples["delivered"], server.examples["stale"]
    device = _device(browser, server.url, lang)
    try:
        page = device.new_page()
        _open(page, lang)
        _add(page, [first, second])
        _sign_in(page, server, lang, f"undo-{lang}@example.org")
        _server_has(page, {first, second})
        _card(page, first).locator(".app-remove").click()
        _card(page, first).wait_for(state="detached")
        _server_has(page, {second})

        def refuse_sends(route: Route) -> None:
            if route.request.method == "POST":
                route.abort()
            else:
                route.continue_()

        page.route("**/api/v1/app/items", refuse_sends)
        page.locator("#app-undo").click()
        _card(page, first).wait_for()
        page.wait_for_timeout(500)  # the send, refused
        page.unroute("**/api/v1/app/items")
        assert _server_list(page) == {second}
        _open(page, lang)
        _wait_listed(page, {first, second})
        _server_has(page, {first, second})
    finally:
        device.close()


def test_the_push_switch_as_far_as_headless_chromium_goes(
    browser: Browser, server: Server, lang: Lang
) -> None:
    words = WORDS[lang]
    device = _device(browser, server.url, lang)
    device.grant_permissions(["notifications"], origin=server.url)
    try:
        page = device.new_page()
        _open(page, lang)
        _add(page, [server.examples["in_transit"]])
        switch = page.get_by_role("switch")
        switch.wait_for(state="visible")
        assert not switch.is_checked()
        asked = page.evaluate("() => Notification.permission")
        assert asked == "granted"
        switch.click()
        # No push service for a headless browser: the subscription is refused, and said so.
        page.locator("#app-push-status").filter(has_text=words["push_failed"]).wait_for()
        assert not switch.is_checked()
    finally:
        device.close()


#: A browser's push subscription as PushManager would give it, for the stand-in below: a
#: P-256 public key (65 bytes, base64url) and a 16-byte secret.
STAND_IN_ENDPOINT = "https://push.example.net/send/stand-in-{lang}"
STAND_IN = """(() => {
  const endpoint = %(endpoint)s;
  const keys = {p256dh: %(p256dh)s, auth: "c3RhbmQtaW4tc2VjcmV0IQ"};
  let current = null;
  // Headless Chromium reaches no push service: PushManager is stood in for, as a browser
  // that could subscribe would answer; everything after it is the app's and the server's.
  PushManager.prototype.subscribe = function (options) {
    window.pushKeyBytes = new Uint8Array(options.applicationServerKey).length;
    current = {
      endpoint: endpoint,
      toJSON: () => ({endpoint: endpoint, expirationTime: null, keys: keys}),
      unsubscribe: () => { current = null; return Promise.resolve(true); },
    };
    return Promise.resolve(current);
  };
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
})();"""


def _followed(server: Server, endpoint: str) -> set[str]:
    with server.db.read() as conn:
        rows = subscriptions_of(conn, "webpush", endpoint_id(endpoint))
    return {row.number for row in rows if row.state == "active"}


def test_the_push_switch_follows_the_list(browser: Browser, server: Server, lang: Lang) -> None:
    """With a stand-in for the browser's PushManager: the switch subscribes with the server's
    key and follows the list's numbers; adding and removing items follows and lets go; off
    lets every number go."""
    words = WORDS[lang]
    endpoint = STAND_IN_ENDPOINT.format(lang=lang)
    p256dh, _ = new_keys()  # any P-256 public key will do for the browser's
    device = _device(browser, server.url, lang)
    device.grant_permissions(["notifications"], origin=server.url)
    device.add_init_script(
        script=STAND_IN % {"endpoint": json.dumps(endpoint), "p256dh": json.dumps(p256dh)}
    )
    first, second, third = (server.examples[s] for s in ("in_transit", "stale", "returned"))
    try:
        page = device.new_page()
        _open(page, lang)
        _add(page, [first, second])
        switch = page.get_by_role("switch")
        switch.click()
        page.locator("#app-push-status").filter(has_text=words["push_on"]).wait_for()
        assert switch.is_checked()
        assert page.evaluate("() => window.pushKeyBytes") == 65  # the server's key, decoded
        assert _followed(server, endpoint) == {first, second}
        _add(page, [third])
        _until(lambda: _followed(server, endpoint) == {first, second, third})
        _card(page, second).locator(".app-remove").click()
        _until(lambda: _followed(server, endpoint) == {first, third})
        switch.click()
        page.locator("#app-push-status").filter(has_text=words["push_off"]).wait_for()
        assert not switch.is_checked()
        assert _followed(server, endpoint) == set()
    finally:
        device.close()


def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.05)


def test_no_push_switch_nor_sign_in_where_the_server_has_neither(
    browser: Browser, plain_url: str, lang: Lang
) -> None:
    device = _device(browser, plain_url, lang)
    try:
        page = device.new_page()
        _open(page, lang)
        page.wait_for_load_state("networkidle")
        assert httpx.get(f"{plain_url}/api/v1/push/key").status_code == 404
        assert page.locator("#app-push-panel").is_hidden()
        assert page.locator("#app-sync").is_visible() == (
            httpx.get(f"{plain_url}/api/v1/app/me").status_code == 200
        )
    finally:
        device.close()


def test_no_accessibility_violation_in_the_panels(
    request: pytest.FixtureRequest, browser: Browser, server: Server, lang: Lang
) -> None:
    """axe on My items with both panels: signed out, then signed in with the question of
    "Delete my list" open."""
    device = browser.new_context(
        base_url=server.url, locale=LOCALES[lang], bypass_csp=True, **PHONE
    )
    try:
        page = device.new_page()
        _open(page, lang)
        _add(page, [server.examples["delivered"]])
        page.locator("#app-push-panel").wait_for(state="visible")
        page.locator("#app-sync").wait_for(state="visible")
        axe = str(request.getfixturevalue("_axe"))
        page.add_script_tag(path=axe)
        violations = page.evaluate(_RUN, TAGS)
        assert not violations, f"signed out ({lang}):\n{_report(violations)}"
        _sign_in(page, server, lang, f"a11y-{lang}@example.org")
        page.locator("#app-delete").click()
        page.locator("#app-delete-confirm").wait_for(state="visible")
        page.add_script_tag(path=axe)
        violations = page.evaluate(_RUN, TAGS)
        assert not violations, f"signed in ({lang}):\n{_report(violations)}"
    finally:
        device.close()
