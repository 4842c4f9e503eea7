"""`/channels/wechat` through a real server: verification, messages, AES mode, dedupe, abuse."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest
from factories import DELIVERED_TO_DE, Loader, history
from fastapi import FastAPI
from sqlalchemy import Engine, select
from standins import (
    AES_KEY,
    APP_ID,
    APP_SECRET,
    NONCE,
    TIMESTAMP,
    WECHAT_TOKEN,
    FakeWeChat,
    reply_content,
    signed,
    text_message,
)
from webclient import serve, serve_url

from emstrack.channels.wechat.crypto import Crypto
from emstrack.config import Settings
from emstrack.store.database import Database
from emstrack.store.schema import subscriptions
from emstrack.web import bots
from emstrack.web.app import create_app

# docs/standards/channels.md §1.5: an envelope around the text "EE123456789CN" (a wrong check
# digit).
VECTOR_ENCRYPT = (
    "Q3stYC6hdFzMh9T8HCvyDJUcnX/47jrDVwuFR6QtlUdRExugiHPOQ6S5LYD2mXwpPelWBVtY9bS2TrvZpd5PIE3ej"
    "urKef5Yk8dcQUJzyjjvrSwRKC+uk79VBOU1omFkkh6nP/bec31RdynPiUmDY0lr8pren/qkgvLqO6KpeBlLpiMvk9"
    "5rORpa9PgyLJxdO5BfOjQtTWE4DQJnWDgscFRD0xOes6kj8EIlTPE3lWwZw8+aJLjTR2NkJzHTzDD01vxZJi6mX4"
    "vFsJVasHiisPRsmohOmtFKMlqs11R8Y5zp3wbZQAYDorFqYwjVGj7OiwPfqgQ0jeL3f2Q8WOd9oJOLMKmXpXvDF"
    "itkgY4RHnbpSAmSfC+ek7cVHmpfROuIGuOvtIBBmeN+j+SZCsn0H0B3wZqFCzV2UyAfBT9kDzM="
)
VECTOR_SIGNATURE = "ed1ec7671064a3486873280bc4b466524c0cb0ee"
ECHOSTR = "4375120948345356249"  # the official example's


@pytest.fixture
def wechat_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "wechat_token": WECHAT_TOKEN,
            "wechat_aes_key": AES_KEY,
            "wechat_app_id": APP_ID,
            "secret_key": "test-secret-key-that-is-long-enough-for-tokens-0123456789",
            # The standard's vectors are signed in 2024: the replay window is tested on its own.
            "wechat_max_clock_skew_seconds": 0,
        }
    )


@pytest.fixture
def app(wechat_settings: Settings, db: Database) -> FastAPI:
    return create_app(wechat_settings, db)


@pytest.fixture
def http(app: FastAPI) -> Iterator[httpx.Client]:
    with serve(app) as client:
        yield client


@pytest.mark.parametrize(
    ("timestamp", "nonce", "signature", "echostr"),
    [
        ("1714036504", "1514711492", "f464b24fc39322e44b38aa78f5edd27bd1441696", ECHOSTR),
        ("1714037059", "486452656", "899cf89e464efb63f54ddac96b0a0a235f53aa78", "hello"),
    ],
)
def test_url_verification_echoes_with_the_official_vectors(
    http: httpx.Client, timestamp: str, nonce: str, signature: str, echostr: str
) -> None:
    params = {"signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
    response = http.get("/channels/wechat", params=params)
    assert response.status_code == 200
    assert response.text == echostr
    assert response.headers["content-type"].startswith("text/plain")


def test_url_verification_with_a_bad_signature_is_403(http: httpx.Client) -> None:
    params = {"signature": "0" * 40, "timestamp": TIMESTAMP, "nonce": NONCE, "echostr": "x"}
    response = http.get("/channels/wechat", params=params)
    assert response.status_code == 403
    assert "x" not in response.text


def test_channel_off_without_a_token_is_404(settings: Settings, engine: Engine) -> None:
    with serve(create_app(settings, Database(engine))) as client:
        assert client.get("/channels/wechat", params=signed()).status_code == 404
        assert client.post("/channels/wechat", params=signed()).status_code == 404


def test_text_message_with_a_number_on_record_gets_its_status(
    http: httpx.Client, load: Loader
) -> None:
    load(*history("EE123456785CN", *DELIVERED_TO_DE))
    response = http.post("/channels/wechat", params=signed(), content=text_message("EE123456785CN"))
    assert response.status_code == 200
    content = reply_content(response.content)
    assert "EE123456785CN" in content
    assert "已妥投" in content  # WeChat answers in Chinese unless the user writes otherwise
    assert "/track/EE123456785CN" in content


def test_aes_vector_gets_an_encrypted_did_you_mean(http: httpx.Client) -> None:
    params = {
        "signature": signed()["signature"],
        "timestamp": TIMESTAMP,
        "nonce": NONCE,
        "encrypt_type": "aes",
        "msg_signature": VECTOR_SIGNATURE,
        "openid": "oUSER",
    }
    body = (
        "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
        f"<Encrypt><![CDATA[{VECTOR_ENCRYPT}]]></Encrypt></xml>"
    ).encode()
    response = http.post("/channels/wechat", params=params, content=body)
    assert response.status_code == 200
    envelope = ET.fromstring(response.content)
    encrypt = envelope.findtext("Encrypt") or ""
    crypto = Crypto(WECHAT_TOKEN, [AES_KEY], APP_ID)
    assert envelope.findtext("MsgSignature") == crypto.sign(
        envelope.findtext("TimeStamp") or "", envelope.findtext("Nonce") or "", encrypt
    )
    assert envelope.findtext("Nonce") == NONCE
    xml, key_index = crypto.decrypt(encrypt)
    assert key_index == 0
    content = reply_content(xml)
    assert "EE123456789CN" in content
    assert "邮件号无效" in content
    assert "EE123456785CN" in content  # did you mean


def test_aes_with_a_wrong_msg_signature_is_403(http: httpx.Client) -> None:
    params = {**signed(), "encrypt_type": "aes", "msg_signature": "0" * 40}
    body = f"<xml><Encrypt><![CDATA[{VECTOR_ENCRYPT}]]></Encrypt></xml>".encode()
    assert http.post("/channels/wechat", params=params, content=body).status_code == 403


def test_the_same_msg_id_twice_is_answered_once(http: httpx.Client) -> None:
    body = text_message("EE123456785CN", msg_id="77")
    first = http.post("/channels/wechat", params=signed(), content=body)
    assert "EE123456785CN" in reply_content(first.content)
    second = http.post("/channels/wechat", params=signed(), content=body)
    assert second.status_code == 200
    assert second.content == b"success"


def test_subscribe_event_gets_the_welcome(http: httpx.Client) -> None:
    body = (
        b"<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
        b"<FromUserName><![CDATA[oUSER]]></FromUserName><CreateTime>1714037100</CreateTime>"
        b"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>"
    )
    response = http.post("/channels/wechat", params=signed(), content=body)
    content = reply_content(response.content)
    assert "欢迎" in content
    assert "Welcome" in content


def test_other_message_types_get_a_short_help(http: httpx.Client) -> None:
    body = (
        b"<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
        b"<FromUserName><![CDATA[oUSER]]></FromUserName><CreateTime>1714037101</CreateTime>"
        b"<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://x/y.jpg]]></PicUrl>"
        b"<MsgId>88</MsgId></xml>"
    )
    response = http.post("/channels/wechat", params=signed(), content=body)
    assert "请发送邮件号" in reply_content(response.content)


def test_subscribe_message_creates_a_wechat_subscription(
    http: httpx.Client, engine: Engine
) -> None:
    response = http.post(
        "/channels/wechat", params=signed(), content=text_message("订阅 EE123456785CN", "99")
    )
    assert "已订阅" in reply_content(response.content)
    with engine.connect() as conn:
        rows = conn.execute(
            select(subscriptions.c.number, subscriptions.c.target, subscriptions.c.lang).where(
                subscriptions.c.channel == "wechat"
            )
        ).all()
    assert [tuple(r) for r in rows] == [("EE123456785CN", "oUSER", "zh")]


def test_post_with_a_bad_signature_is_403(http: httpx.Client) -> None:
    params = {**signed(), "signature": "f" * 40}
    response = http.post("/channels/wechat", params=params, content=text_message("EE123456785CN"))
    assert response.status_code == 403
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    "body",
    [
        b"not xml at all",
        b"<xml><MsgType>text</MsgType></xml>",
        b"<other/>",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'.encode()
            for i in range(1, 10)
        )
        + b"]><xml><Content>&lol9;</Content></xml>",
        b"<xml>" + b"a" * 70_000 + b"</xml>",
    ],
    ids=["text", "incomplete", "other-root", "billion-laughs", "too-large"],
)
def test_bad_bodies_are_400_quickly_and_plain(http: httpx.Client, body: bytes) -> None:
    started = time.monotonic()
    response = http.post("/channels/wechat", params=signed(), content=body)
    assert time.monotonic() - started < 2
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert "Traceback" not in response.text


def test_an_answer_past_the_budget_is_success_then_a_customer_service_message(
    wechat_settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock is how this test makes an answer slow")
    from emstrack.store.engine import WRITE

    monkeypatch.setattr(bots, "WECHAT_BUDGET_SECONDS", 0.3)
    fake = FakeWeChat()
    with serve_url(fake.app()) as api_base:
        settings = wechat_settings.model_copy(
            update={"wechat_app_secret": APP_SECRET, "wechat_api_base": api_base}
        )
        with serve(create_app(settings, Database(engine))) as http:
            # Another writer (an import, say) holds the write lock: subscribing has to wait.
            with engine.connect().execution_options(**WRITE) as blocker, blocker.begin():
                started = time.monotonic()
                response = http.post(
                    "/channels/wechat",
                    params=signed(),
                    content=text_message("订阅 EE123456785CN", "101"),
                )
                assert response.content == b"success"
                assert time.monotonic() - started < 5
                time.sleep(0.5)
            deadline = time.monotonic() + 10
            while not fake.sent and time.monotonic() < deadline:
                time.sleep(0.05)
    [pushed] = fake.sent
    assert pushed["touser"] == "oUSER"
    assert pushed["msgtype"] == "text"
    assert "EE123456785CN" in pushed["text"]["content"]
    with engine.connect() as conn:
        rows = conn.execute(select(subscriptions.c.channel, subscriptions.c.target)).all()
    assert [tuple(r) for r in rows] == [("wechat", "oUSER")]


@pytest.mark.parametrize(("age", "status"), [(0, 200), (-120, 200), (3600, 403), (-3600, 403)])
def test_a_message_with_a_stale_timestamp_is_refused(
    wechat_settings: Settings, engine: Engine, age: int, status: int
) -> None:
    # The signature covers the timestamp and nonce, not the body: a captured URL is good for
    # minutes, not for ever.
    strict = wechat_settings.model_copy(update={"wechat_max_clock_skew_seconds": 300})
    with serve(create_app(strict, Database(engine))) as http:
        params = signed(timestamp=str(int(time.time()) - age), nonce="42")
        response = http.post("/channels/wechat", params=params, content=text_message("help"))
    assert response.status_code == status


def test_with_every_answer_slot_busy_a_message_is_answered_success_at_once(
    app: FastAPI, http: httpx.Client
) -> None:
    # As when answers pile up behind a slow database: no queue without end; WeChat retries.
    slots = app.state.bots.in_flight
    held = 0
    while slots.acquire(blocking=False):
        held += 1
    try:
        response = http.post(
            "/channels/wechat", params=signed(), content=text_message("EE123456785CN", "301")
        )
        assert response.content == b"success"
    finally:
        for _ in range(held):
            slots.release()
    assert held == bots.MAX_IN_FLIGHT
    # Not marked as answered: the redelivery gets the real answer.
    again = http.post(
        "/channels/wechat", params=signed(), content=text_message("EE123456785CN", "301")
    )
    assert "EE123456785CN" in reply_content(again.content)


def test_a_signed_url_used_again_with_another_body_is_403(
    wechat_settings: Settings, engine: Engine
) -> None:
    # In plaintext mode the signature covers the timestamp and nonce, not the body: whoever saw
    # one signed URL could post any message with it while its timestamp is fresh.
    strict = wechat_settings.model_copy(update={"wechat_max_clock_skew_seconds": 300})
    params = signed(timestamp=str(int(time.time())), nonce="170001")
    with serve(create_app(strict, Database(engine))) as http:
        genuine = http.post("/channels/wechat", params=params, content=text_message("help", "1"))
        assert "EE123456785CN" in reply_content(genuine.content)
        forged = text_message("订阅 EE123456785CN", "2", user="oVICTIM")
        response = http.post("/channels/wechat", params=params, content=forged)
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/plain")
        # Refused each time, not only the first.
        assert http.post("/channels/wechat", params=params, content=forged).status_code == 403
    with engine.connect() as conn:
        assert conn.execute(select(subscriptions.c.target)).all() == []


def test_another_server_process_refuses_the_reused_url_too(
    wechat_settings: Settings, engine: Engine
) -> None:
    # Each app stands for a process of `emstrack serve --workers 2`: they share the database.
    params = signed(nonce="170002")
    with serve(create_app(wechat_settings, Database(engine))) as one:
        first = one.post("/channels/wechat", params=params, content=text_message("help", "1"))
        assert first.status_code == 200
    with serve(create_app(wechat_settings, Database(engine))) as two:
        again = two.post(
            "/channels/wechat", params=params, content=text_message("EE123456785CN", "2")
        )
        assert again.status_code == 403


def test_a_wechat_retry_with_the_same_url_and_body_still_gets_its_answer(
    wechat_settings: Settings, engine: Engine
) -> None:
    # Whether WeChat signs a retry anew is not documented: the same URL with the same body is
    # a retry (or a harmless exact replay) and left to the MsgId de-duplication.
    params = signed(nonce="170003")
    body = text_message("EE123456785CN", "170003")
    app = create_app(wechat_settings, Database(engine))
    with serve(app) as http:
        slots = app.state.bots.in_flight
        held = 0
        while slots.acquire(blocking=False):  # the first try finds no free slot
            held += 1
        try:
            busy = http.post("/channels/wechat", params=params, content=body)
        finally:
            for _ in range(held):
                slots.release()
        assert busy.content == b"success"
        retry = http.post("/channels/wechat", params=params, content=body)
        assert "EE123456785CN" in reply_content(retry.content)
        again = http.post("/channels/wechat", params=params, content=body)
        assert again.status_code == 200
        assert again.content == b"success"
        # A retry signed anew is the same message: answered once too.
        resigned = http.post("/channels/wechat", params=signed(nonce="170004"), content=body)
        assert resigned.content == b"success"
