"""Errors that help (issue 14 point 6): the wait the 429 page says is the one `Retry-After`
asks, in seconds, minutes or hours, in English and Chinese; after too many postcode tries the
page's button goes back to the item, not home."""

from __future__ import annotations

import re

import pytest
from factories import DELIVERED_TO_DE, Loader, history
from webclient import ServeApp

from emstrack.domain.lang import Lang
from emstrack.text.waits import wait

NUMBER = "EE123456785CN"
POSTCODE = "10115"


@pytest.mark.parametrize(
    ("seconds", "en", "zh"),
    [
        (0, "1 second", "1 秒"),
        (1, "1 second", "1 秒"),
        (45, "45 seconds", "45 秒"),
        (60, "60 seconds", "60 秒"),
        (119, "119 seconds", "119 秒"),
        (120, "2 minutes", "2 分钟"),
        (121, "3 minutes", "3 分钟"),
        (3600, "60 minutes", "60 分钟"),
        (7199, "120 minutes", "120 分钟"),
        (7200, "2 hours", "2 小时"),
        (7201, "3 hours", "3 小时"),
        (86400, "24 hours", "24 小时"),
    ],
)
def test_a_wait_in_words_is_never_shorter(seconds: int, en: str, zh: str) -> None:
    assert wait(seconds, "en") == en
    assert wait(seconds, "zh") == zh


def _said(seconds: int, lang: Lang) -> str:
    if lang == "en":
        return f"Please try again in {wait(seconds, 'en')}."
    return f"请在 {wait(seconds, 'zh')}后重试。"


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(
    ("limit", "unit", "longest"),
    [("1/minute", "seconds", 60), ("1/hour", "minutes", 3600), ("1/day", "hours", 86400)],
)
def test_the_429_page_says_the_wait_of_retry_after(
    serve_app: ServeApp, lang: Lang, limit: str, unit: str, longest: int
) -> None:
    with serve_app(html=True, rate_limit=limit) as http:
        http.get(f"/track/{NUMBER}", params={"lang": lang})
        refused = http.get(f"/track/{NUMBER}", params={"lang": lang})
    assert refused.status_code == 429
    seconds = int(refused.headers["retry-after"])
    assert 0 < seconds <= longest
    assert _said(seconds, lang) in refused.text
    words = {
        "seconds": ("seconds", "秒"),
        "minutes": ("minutes", "分钟"),
        "hours": ("hours", "小时"),
    }
    assert words[unit][0 if lang == "en" else 1] in wait(seconds, lang)
    # Never the old fixed "60 minutes" when the wait is another.
    if unit != "minutes":
        assert "60 minutes" not in refused.text
        assert "60 分钟" not in refused.text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_too_many_postcode_tries_lead_back_to_the_item(
    load: Loader, serve_app: ServeApp, lang: Lang
) -> None:
    records = history(NUMBER, *DELIVERED_TO_DE)
    for record in records:
        record["destination_postcode"] = POSTCODE
    load(*records)
    with serve_app(html=True, rate_limit_postcode="1/hour") as http:
        answers = []
        for _ in range(2):
            page = http.get(f"/track/{NUMBER}", params={"lang": lang}).text
            assert 'name="postcode"' in page
            data = {"postcode": "99999"}
            answers.append(http.post(f"/track/{NUMBER}/details", params={"lang": lang}, data=data))
    wrong, refused = answers
    assert wrong.status_code == 403
    assert refused.status_code == 429
    back = "Back to the item" if lang == "en" else "返回"
    found = re.search(r'<a class="button" href="([^"]+)">([^<]+)</a>', refused.text)
    assert found, refused.text
    assert found[1] == f"/track/{NUMBER}"
    assert back in found[2]
    assert _said(int(refused.headers["retry-after"]), lang) in refused.text


def test_other_429_pages_still_lead_home(serve_app: ServeApp) -> None:
    with serve_app(html=True, rate_limit="1/minute") as http:
        http.get(f"/track/{NUMBER}")
        refused = http.get(f"/track/{NUMBER}")
    assert refused.status_code == 429
    assert '<a class="button" href="/">Track an item</a>' in refused.text
