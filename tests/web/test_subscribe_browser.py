"""E-mail updates in a real headless Chromium on a phone-sized screen (Debian's `chromium`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chromium import launched, needs_chromium, phone_context
from playwright.sync_api import Browser, Page
from pydantic import SecretStr
from sqlalchemy import Engine, select
from webclient import serve

from emstrack.config import Settings
from emstrack.store.database import Database
from emstrack.store.engine import ensure_schema, make_engine
from emstrack.store.schema import subscriptions
from emstrack.web.app import create_app

pytestmark = needs_chromium
NUMBER = "RR473124829GB"  # valid, never scanned


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('subscribe') / 'emstrack.db'}")
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def base_url(db: Engine) -> Iterator[str]:
    settings = Settings(database_url=str(db.url), secret_key=SecretStr("x" * 40))
    with serve(create_app(settings, Database(db))) as client:
        yield str(client.base_url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched() as browser:
        yield browser


@pytest.fixture
def phone(browser: Browser, base_url: str) -> Iterator[Page]:
    context = phone_context(browser, base_url, timezone_id="America/Sao_Paulo")
    yield context.new_page()
    context.close()


def test_subscribe_by_e_mail_on_a_phone(phone: Page, db: Engine) -> None:
    phone.goto(f"/track/{NUMBER}")
    phone.get_by_label("Your e-mail address").fill("alice@example.com")
    phone.get_by_role("button", name="E-mail me").click()
    phone.wait_for_url(f"**/track/{NUMBER}/subscribe")
    main = phone.locator("main").inner_text()
    assert "Check your inbox" in main
    assert "a***@example.com" in main
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    # The phone's own zone was sent along: quiet hours are the reader's nights.
    with db.connect() as conn:
        [row] = conn.execute(select(subscriptions.c.target, subscriptions.c.timezone)).all()
    assert tuple(row) == ("alice@example.com", "America/Sao_Paulo")
