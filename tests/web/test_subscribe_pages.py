"""The e-mail subscription pages over real HTTP: subscribe, confirm, unsubscribe, on both
databases."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from factories import DELIVERED_TO_DE, Loader, history
from sqlalchemy import Engine
from webclient import ServeApp, same_origin

from emstrack.notify import tokens
from emstrack.store.outbox import notices
from emstrack.store.subscriptions import subscriptions_of

NUMBER = "EE123456785CN"
SECRET = "x" * 40
ADDRESS = "alice@example.com"


@pytest.fixture
def client(serve_app: ServeApp) -> Iterator[httpx.Client]:
    with serve_app(html=True, secret_key=SECRET, public_url="https://track.example.org") as http:
        yield http


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


#: What a browser sends with a form of another site's page (its Fetch Metadata and Origin).
ELSEWHERE = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}


def subscribe(client: httpx.Client, email: str = ADDRESS) -> httpx.Response:
    page = client.get(f"/track/{NUMBER}")
    assert f'action="/track/{NUMBER}/subscribe"' in page.text
    headers = same_origin(client)  # as the browser sends it from the page
    return client.post(f"/track/{NUMBER}/subscribe", data={"email": email}, headers=headers)


def link(engine: Engine, kind: str) -> str:
    """The path and query of the `kind` link ("confirm", "unsubscribe") of the address's
    subscription, as its mail would carry it."""
    with engine.connect() as conn:
        (notice,) = [n for n in notices(conn) if n.kind == "confirm"]
    url = httpx.URL(notice.payload[kind])
    return f"{url.path}?{url.query.decode()}"


def state(engine: Engine) -> str:
    with engine.connect() as conn:
        rows = subscriptions_of(conn, "email", ADDRESS)
    return rows[0].state if rows else "ended"


def test_the_item_page_offers_e_mail_updates(load: Loader, client: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:5]))
    html = client.get(f"/track/{NUMBER}").text
    assert f'action="/track/{NUMBER}/subscribe" method="post"' in html
    assert '<label for="subscribe-email">' in html
    assert "E-mail me when this item moves" in text(html)


def test_not_yet_scanned_items_offer_it_too(client: httpx.Client) -> None:
    html = client.get("/track/RR473124829GB").text
    assert 'action="/track/RR473124829GB/subscribe"' in html


def test_no_form_for_delivered_or_invalid_items(load: Loader, client: httpx.Client) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    assert "/subscribe" not in client.get(f"/track/{NUMBER}").text
    assert "/subscribe" not in client.get("/track/EE123456784CN").text


def test_subscribing_sends_only_a_confirmation(engine: Engine, client: httpx.Client) -> None:
    response = subscribe(client)
    assert response.status_code == 200
    page = text(response.text)
    assert "Check your inbox" in page
    assert "We sent a link to a***@example.com. Nothing is sent until you confirm." in page
    assert ADDRESS not in response.text
    assert state(engine) == "pending"
    with engine.connect() as conn:
        assert [n.kind for n in notices(conn)] == ["confirm"]


def test_subscribing_again_looks_the_same(client: httpx.Client) -> None:
    first = text(subscribe(client).text)
    again = subscribe(client)
    assert again.status_code == 200
    assert text(again.text) == first


def test_the_form_sent_from_another_site_is_refused(engine: Engine, client: httpx.Client) -> None:
    data = {"email": ADDRESS}
    response = client.post(f"/track/{NUMBER}/subscribe", data=data, headers=ELSEWHERE)
    assert response.status_code == 403
    assert "sent from another site" in text(response.text)
    with engine.connect() as conn:
        assert subscriptions_of(conn, "email", ADDRESS) == []


def test_a_bad_address_is_refused_with_the_form_again(client: httpx.Client) -> None:
    response = subscribe(client, "alice at example")
    assert response.status_code == 422
    assert "That is not an e-mail address we can write to." in text(response.text)
    assert 'value="alice at example"' in response.text


def test_confirming_takes_a_button(engine: Engine, client: httpx.Client) -> None:
    subscribe(client)
    shown = client.get(link(engine, "confirm"))
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    assert shown.headers["referrer-policy"] == "no-referrer"
    assert "Confirm</button>" in shown.text
    assert state(engine) == "pending"  # a mail scanner fetching the link changes nothing

    token = re.search(r'name="token" value="([^"]+)"', shown.text)
    assert token
    data = {"token": token.group(1)}
    done = client.post("/subscriptions/confirm", data=data, headers=same_origin(client))
    assert done.status_code == 200
    assert "Subscribed" in text(done.text)
    assert "You will get an e-mail when EE 123 456 785 CN changes status." in text(done.text)
    assert state(engine) == "active"


def test_unsubscribing_takes_a_button(engine: Engine, client: httpx.Client) -> None:
    subscribe(client)
    shown = client.get(link(engine, "unsubscribe"))
    assert "Unsubscribe</button>" in shown.text
    assert state(engine) == "pending"
    token = re.search(r'name="token" value="([^"]+)"', shown.text)
    assert token
    done = client.post(
        "/subscriptions/unsubscribe", data={"token": token.group(1)}, headers=same_origin(client)
    )
    assert done.status_code == 200
    assert "Unsubscribed" in text(done.text)
    assert state(engine) == "ended"


def test_one_click_unsubscribe_comes_from_any_mail_client(
    engine: Engine, client: httpx.Client
) -> None:
    subscribe(client)
    url = link(engine, "unsubscribe")
    with httpx.Client(base_url=client.base_url) as mail_client:  # no cookies
        # A webmail's one-click POST comes from its own site: the signed link is the proof.
        done = mail_client.post(url, data={"List-Unsubscribe": "One-Click"}, headers=ELSEWHERE)
    assert done.status_code == 200
    assert state(engine) == "ended"


def test_another_sites_form_without_one_click_ends_nothing(
    engine: Engine, client: httpx.Client
) -> None:
    subscribe(client)
    with httpx.Client(base_url=client.base_url) as other:
        refused = other.post(link(engine, "unsubscribe"), data={}, headers=ELSEWHERE)
        assert refused.status_code == 403
    assert state(engine) == "pending"


@pytest.mark.parametrize("path", ["/subscriptions/confirm", "/subscriptions/unsubscribe"])
def test_a_bad_link_says_what_to_do(client: httpx.Client, path: str) -> None:
    response = client.get(path, params={"token": "forged.token"})
    assert response.status_code == 400
    page = text(response.text)
    assert "This link is not valid" in page
    assert "subscribe again from the item's page" in page
    assert "Traceback" not in page


def test_an_expired_confirmation_link(client: httpx.Client) -> None:
    old = tokens.make(SECRET, tokens.CONFIRM, NUMBER, "some-id", now=1_000_000)
    response = client.get("/subscriptions/confirm", params={"token": old})
    assert response.status_code == 400
    assert "This link has expired" in text(response.text)


def test_pages_in_chinese(engine: Engine, client: httpx.Client) -> None:
    client.headers["Accept-Language"] = "zh-CN,zh;q=0.9"
    item = client.get("/track/RR473124829GB").text
    assert "此邮件有新动态时发电子邮件通知我" in text(item)
    sent = subscribe(client)
    assert "请查收电子邮件" in text(sent.text)
    client.cookies.set("lang", "zh_Hans")
    del client.headers["Accept-Language"]
    shown = client.get(link(engine, "confirm"))
    assert "确认订阅" in text(shown.text)
    with engine.connect() as conn:
        assert subscriptions_of(conn, "email", ADDRESS)[0].lang == "zh"


def test_without_a_secret_key_there_is_no_form_and_503(serve_app: ServeApp) -> None:
    with serve_app(html=True) as http:
        assert "/subscribe" not in http.get("/track/RR473124829GB").text
        response = http.get("/subscriptions/confirm", params={"token": "x.y"})
        assert response.status_code == 503
        assert "E-mail updates are not available" in text(response.text)
        assert http.post(f"/track/{NUMBER}/subscribe", data={}).status_code == 503
