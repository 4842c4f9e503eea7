"""Debian's Chromium driven by Playwright, for the browser tests (never a downloaded browser)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Mark a test module with it: its tests skip, with the reason, where there is no Chromium.
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)"
)
# Off the network: the probe's flags for a closed machine.
_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: A phone-sized screen, as people mostly track items.
PHONE: dict[str, Any] = {
    "viewport": {"width": 360, "height": 760},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


@contextmanager
def launched() -> Iterator[Browser]:
    """A headless Chromium, closed on exit."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def phone_context(browser: Browser, base_url: str, **options: Any) -> BrowserContext:
    return browser.new_context(base_url=base_url, **PHONE, **options)
