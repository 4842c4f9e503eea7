"""Reasons in the reader's language (issue 14 point 7, docs/standards/events.md §7): a standard
wording is said in Chinese on the Chinese page and in the headline; the operator's free text
stays as sent, marked with its language for screen readers."""

from __future__ import annotations

import re

import httpx
from factories import DELIVERED_TO_DE, Loader, history

HELD = "EE710000049CN"
REFUSED = "EE710000052CN"
FREE = "EE710000066CN"


def _load(load: Loader) -> None:
    held = history(HELD, *DELIVERED_TO_DE[:5])
    held[-1] = {**held[-1], "event_code": "EME", "retention_text": "Awaiting documents"}
    failed = history(REFUSED, *DELIVERED_TO_DE[:9], ("EMH", "2026-11-07T13:00", "DEBERB", "DE"))
    failed[-1] |= {"reason_text": "Refused by addressee", "action_text": "Returned to sender"}
    free = history(FREE, *DELIVERED_TO_DE[:9], ("EMH", "2026-11-07T13:00", "DEBERB", "DE"))
    free[-1] |= {"reason_text": "Business closed", "action_text": "投递员已电话联系收件人"}
    load(*held, *failed, *free)


def _page(client: httpx.Client, number: str, lang: str) -> str:
    page = client.get(f"/track/{number}", params={"lang": lang}, headers={"Accept": "text/html"})
    assert page.status_code == 200
    return page.text


def _details(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<p class="event-detail"( lang="[^"]+")?>(.*?)</p>', page)


def test_a_customs_reason_is_chinese_on_the_chinese_page(
    load: Loader, client: httpx.Client
) -> None:
    _load(load)
    assert ("", "需补充单证（如发票）") in _details(_page(client, HELD, "zh"))
    assert "Awaiting documents" not in _page(client, HELD, "zh")
    assert ("", "Documents required (such as an invoice)") in _details(_page(client, HELD, "en"))
    zh = client.get(f"/api/v1/tracking/{HELD}", params={"lang": "zh"}).json()
    assert "需补充单证（如发票）" in zh["headline"]
    assert zh["events"][0]["retention_text"] == "Awaiting documents"  # the API keeps the pair


def test_a_non_delivery_reason_and_its_action(load: Loader, client: httpx.Client) -> None:
    _load(load)
    assert _details(_page(client, REFUSED, "zh"))[:2] == [("", "收件人拒收"), ("", "退回寄件人")]
    zh = client.get(f"/api/v1/tracking/{REFUSED}", params={"lang": "zh"}).json()
    assert zh["headline"].startswith("退回中（收件人拒收）。")  # the action makes it a return
    en = client.get(f"/api/v1/tracking/{REFUSED}", params={"lang": "en"}).json()
    assert en["headline"].startswith("Being returned to sender (Refused by the addressee).")


def test_free_text_stays_as_sent_marked_with_its_language(
    load: Loader, client: httpx.Client
) -> None:
    _load(load)
    for lang in ("en", "zh"):
        details = _details(_page(client, FREE, lang))
        assert details[:2] == [
            (' lang="en"', "Business closed"),
            (' lang="zh"', "投递员已电话联系收件人"),
        ]
    zh = client.get(f"/api/v1/tracking/{FREE}", params={"lang": "zh"}).json()
    assert "Business closed" in zh["headline"]
