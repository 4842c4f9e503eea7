"""The app's optional sign-in and "my items" on the server, over real HTTP, on both databases.

Sign-in links go through a real SMTP server on loopback (aiosmtpd), and are read from the mails
it received, as a person would. The app's clock (`app.state.clock`) is the real one moved on by
the test where a link must grow old.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from mailserver import Mailbox, parts, smtp_server
from sqlalchemy import Engine, MetaData, String, select
from webclient import same_origin, serve

from emstrack.config import Settings
from emstrack.store.database import Database
from emstrack.store.schema import app_accounts, app_items
from emstrack.web.app import create_app

SECRET = "k" * 40
ADDRESS = "Li.Lei@Example.cn"
SENT_TO = "Li.Lei@example.cn"  # the domain in lower case, as subscriptions write it
OTHER = "han.meimei@example.org"
NUMBER = "EE123456785CN"
SECOND = "RR123456785DE"


@pytest.fixture
def inbox() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


class Clock:
    """The real clock, moved on by `shift`."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift


Serve = Callable[..., AbstractContextManager[httpx.Client]]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def serve_account(
    db: Database, settings: Settings, inbox: tuple[Mailbox, int], clock: Clock
) -> Serve:
    """The app, mailing through the loopback SMTP server, on `clock`; `changes` to settings."""

    @contextmanager
    def start(**changes: Any) -> Iterator[httpx.Client]:
        update = {
            "secret_key": SECRET,
            "smtp_host": "127.0.0.1",
            "smtp_port": inbox[1],
            "smtp_security": "none",
            "mail_from": "Track <track@emstrack.test>",
            **changes,
        }
        app = create_app(settings.model_copy(update=update), db)
        app.state.clock = clock
        with serve(app) as http:
            http.headers["Origin"] = str(http.base_url).rstrip("/")
            yield http

    return start


@pytest.fixture
def client(serve_account: Serve) -> Iterator[httpx.Client]:
    with serve_account() as http:
        yield http


def link_in(message: EmailMessage) -> str:
    """The path and query of the sign-in link in a mail's text."""
    found = re.search(r"https?://\S+/app/sign-in\?token=\S+", parts(message)["text/plain"])
    assert found, "no sign-in link in the mail"
    url = httpx.URL(found.group(0))
    return f"{url.path}?{url.query.decode()}"


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def ask(client: httpx.Client, email: str = ADDRESS, lang: str = "en") -> httpx.Response:
    return client.post("/api/v1/app/sign-in", json={"email": email, "lang": lang})


def sign_in(client: httpx.Client, inbox: Mailbox, email: str = ADDRESS) -> httpx.Response:
    """Ask for a link, read it from the newest mail and follow it; the link's answer."""
    seen = len(inbox.messages)
    assert ask(client, email).status_code == 202
    message = inbox.wait(seen + 1)[seen]
    return client.get(link_in(message))


def cookie_header(response: httpx.Response) -> str:
    (header,) = [v for v in response.headers.get_list("set-cookie") if "emstrack_app=" in v]
    return header


def items(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/api/v1/app/items")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["items"]
    return found


# --- signing in -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "subject", "words"),
    [
        ("en", "Your sign-in link", "The link works for 30 minutes, once."),
        ("zh-Hans", "登录链接", "此链接在 30 分钟内有效，且只能使用一次。"),
    ],
)
def test_a_mailed_link_signs_in_and_sets_the_session_cookie(
    client: httpx.Client, inbox: tuple[Mailbox, int], lang: str, subject: str, words: str
) -> None:
    mailbox = inbox[0]
    asked = ask(client, lang=lang)
    assert asked.status_code == 202
    assert asked.headers["cache-control"] == "private, no-store"
    (mail,) = mailbox.wait(1)
    assert mail["To"] == SENT_TO
    assert subject in str(mail["Subject"])
    assert mail["Content-Language"] == lang_tag(lang)
    assert words in parts(mail)["text/plain"]
    assert "/app/sign-in?token=" in parts(mail)["text/html"]

    followed = client.get(link_in(mail))
    assert followed.status_code == 303
    assert followed.headers["location"] == "/app?signed_in=1"
    cookie = cookie_header(followed)
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert f"Max-Age={180 * 86400}" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback, and an http:// public URL
    assert client.get("/api/v1/app/me").json() == {"signed_in": True, "items": 0}


def lang_tag(lang: str) -> str:
    return "zh" if lang.startswith("zh") else "en"


def test_the_cookie_is_secure_when_the_public_url_is_https(
    serve_account: Serve, inbox: tuple[Mailbox, int]
) -> None:
    with serve_account(public_url="https://track.example.org") as http:
        followed = sign_in(http, inbox[0])
        assert followed.status_code == 303
        assert "Secure" in cookie_header(followed)
        # The link in the mail points at the public address.
        assert (
            "https://track.example.org/app/sign-in?token="
            in parts(inbox[0].messages[0])["text/plain"]
        )


def test_without_a_session_nothing_is_listed(client: httpx.Client) -> None:
    assert client.get("/api/v1/app/me").json() == {"signed_in": False, "items": 0}
    refused = client.get("/api/v1/app/items")
    assert refused.status_code == 401
    assert refused.json()["code"] == "not_signed_in"
    assert refused.headers["content-type"] == "application/problem+json"
    forged = client.get("/api/v1/app/items", headers={"Cookie": "emstrack_app=abc.def"})
    assert forged.status_code == 401


def test_a_used_link_is_refused(client: httpx.Client, inbox: tuple[Mailbox, int]) -> None:
    assert sign_in(client, inbox[0]).status_code == 303
    again = client.get(link_in(inbox[0].messages[0]), headers={"Accept": "text/html"})
    assert again.status_code == 400
    assert "This sign-in link has been used already" in text(again.text)
    assert 'action="/app/sign-in"' in again.text  # the form to ask for a new one
    assert again.headers["cache-control"] == "private, no-store"
    assert not [v for v in again.headers.get_list("set-cookie") if "emstrack_app=" in v]


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "This sign-in link has expired"), ("zh", "此登录链接已过期")],
)
def test_an_expired_link_is_refused_in_the_pages_language(
    client: httpx.Client, inbox: tuple[Mailbox, int], clock: Clock, lang: str, words: str
) -> None:
    assert ask(client).status_code == 202
    (mail,) = inbox[0].wait(1)
    clock.shift = timedelta(minutes=31)
    late = client.get(f"{link_in(mail)}&lang={lang}")
    assert late.status_code == 400
    assert words in text(late.text)
    assert client.get("/api/v1/app/me").json()["signed_in"] is False


def test_a_link_a_minute_before_it_expires_still_works(
    client: httpx.Client, inbox: tuple[Mailbox, int], clock: Clock
) -> None:
    assert ask(client).status_code == 202
    (mail,) = inbox[0].wait(1)
    clock.shift = timedelta(minutes=29)
    assert client.get(link_in(mail)).status_code == 303


def test_a_broken_link_says_so(client: httpx.Client) -> None:
    broken = client.get("/app/sign-in?token=not-a-token")
    assert broken.status_code == 400
    assert "This sign-in link is not valid" in text(broken.text)
    asking = client.get("/app/sign-in")
    assert asking.status_code == 200
    assert "Send me a sign-in link" in text(asking.text)


def test_the_form_asks_for_a_link_without_javascript(
    client: httpx.Client, inbox: tuple[Mailbox, int]
) -> None:
    page = client.get("/app/sign-in", headers={"Accept-Language": "zh-CN"})
    assert 'action="/app/sign-in"' in page.text
    sent = client.post(
        "/app/sign-in",
        data={"email": ADDRESS},
        headers={"Accept-Language": "zh-CN", **same_origin(client)},
    )
    assert sent.status_code == 200
    assert "请查收电子邮件" in text(sent.text)
    (mail,) = inbox[0].wait(1)
    assert mail["Content-Language"] == "zh"
    assert client.get(link_in(mail)).status_code == 303
    # The form sent from another site's page: refused, and nothing sent.
    elsewhere = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    refused = client.post("/app/sign-in", data={"email": ADDRESS}, headers=elsewhere)
    assert refused.status_code == 403
    time.sleep(0.3)
    assert len(inbox[0].messages) == 1


# --- the list ---------------------------------------------------------------------------------


def test_the_list_adds_merges_labels_and_deletes(
    client: httpx.Client, inbox: tuple[Mailbox, int]
) -> None:
    sign_in(client, inbox[0])
    added = client.post(
        "/api/v1/app/items",
        json={
            "items": [
                {"number": "ee 123 456 785 cn", "label": "Mum's\x00 birthday\u200b\npresent"},
                {"number": "EE123456789CN", "label": None},
            ]
        },
    )
    assert added.status_code == 200, added.text
    assert added.headers["cache-control"] == "private, no-store"
    body = added.json()
    assert [(i["number"], i["label"]) for i in body["items"]] == [
        (NUMBER, "Mum's birthday present")
    ]
    (refused,) = body["refused"]
    assert refused["number"] == "EE123456789CN"
    assert refused["code"] == "invalid_number"
    assert "EE123456789CN" in refused["detail"]

    # Merge: a new number, and the first again without a label (its label stays).
    merged = client.post(
        "/api/v1/app/items", json={"items": [{"number": SECOND}, {"number": NUMBER}]}
    ).json()
    assert [(i["number"], i["label"]) for i in merged["items"]] == [
        (NUMBER, "Mum's birthday present"),
        (SECOND, None),
    ]
    assert "refused" not in merged
    # A label set, and one cleared.
    client.post(
        "/api/v1/app/items",
        json={"items": [{"number": SECOND, "label": "Books"}, {"number": NUMBER, "label": ""}]},
    )
    assert [(i["number"], i["label"]) for i in items(client)] == [(NUMBER, None), (SECOND, "Books")]
    assert client.get("/api/v1/app/me").json() == {"signed_in": True, "items": 2}

    too_long = client.post(
        "/api/v1/app/items", json={"items": [{"number": NUMBER, "label": "x" * 81}]}
    )
    assert too_long.status_code == 422
    assert too_long.json()["code"] == "label_too_long"
    assert (
        client.post(
            "/api/v1/app/items", json={"items": [{"number": NUMBER, "label": "x" * 80}]}
        ).status_code
        == 200
    )

    only_bad = client.post("/api/v1/app/items", json={"items": [{"number": "EE123CN"}]})
    assert only_bad.status_code == 422
    assert only_bad.json()["code"] == "invalid_number"
    assert "EE123CN" in only_bad.json()["detail"]

    left = client.delete(f"/api/v1/app/items/{NUMBER.lower()}")
    assert left.status_code == 200
    assert [i["number"] for i in left.json()["items"]] == [SECOND]
    assert client.delete("/api/v1/app/items/EE123").status_code == 422
    assert [i["number"] for i in items(client)] == [SECOND]


def test_a_list_holds_at_most_the_configured_number_of_items(
    serve_account: Serve, inbox: tuple[Mailbox, int], engine: Engine
) -> None:
    numbers = ["EE123456785CN", "RR123456785DE", "CP123456785FR", "LX123456785GB"]
    with serve_account(app_max_items=3) as http:
        sign_in(http, inbox[0])
        full = [{"number": n} for n in numbers[:3]]
        assert http.post("/api/v1/app/items", json={"items": full}).status_code == 200
        over = http.post("/api/v1/app/items", json={"items": [{"number": numbers[3]}]})
        assert over.status_code == 422
        assert over.json()["code"] == "too_many_items"
        assert "at most 3 items" in over.json()["title"]
        # Labels of the items already there still change.
        relabel = [{"number": numbers[0], "label": "A"}]
        assert http.post("/api/v1/app/items", json={"items": relabel}).status_code == 200
    with engine.connect() as conn:
        assert len(conn.execute(select(app_items)).all()) == 3


def test_another_account_neither_sees_nor_deletes_this_ones_items(
    serve_account: Serve, inbox: tuple[Mailbox, int]
) -> None:
    with serve_account() as alice, serve_account() as bob:
        sign_in(alice, inbox[0], ADDRESS)
        sign_in(bob, inbox[0], OTHER)
        alice.post("/api/v1/app/items", json={"items": [{"number": NUMBER, "label": "Mine"}]})
        assert items(bob) == []
        assert bob.delete(f"/api/v1/app/items/{NUMBER}").json() == {"items": []}
        assert bob.delete("/api/v1/app/account").status_code == 200
        assert [i["number"] for i in items(alice)] == [NUMBER]


def test_the_same_address_in_other_letters_is_the_same_list(
    serve_account: Serve, inbox: tuple[Mailbox, int]
) -> None:
    with serve_account() as phone, serve_account() as laptop:
        sign_in(phone, inbox[0], ADDRESS)
        phone.post("/api/v1/app/items", json={"items": [{"number": NUMBER}]})
        sign_in(laptop, inbox[0], ADDRESS.lower())
        assert [i["number"] for i in items(laptop)] == [NUMBER]


# --- signing out and deleting -----------------------------------------------------------------


def test_signing_out_clears_the_cookie(client: httpx.Client, inbox: tuple[Mailbox, int]) -> None:
    sign_in(client, inbox[0])
    out = client.post("/api/v1/app/sign-out", json={"everywhere": False})
    assert out.status_code == 200
    assert out.json() == {"signed_in": False}
    header = cookie_header(out)
    assert 'emstrack_app=""' in header or "emstrack_app=;" in header
    assert "Max-Age=0" in header
    assert "emstrack_app" not in client.cookies
    assert client.get("/api/v1/app/me").json()["signed_in"] is False


def test_signing_out_everywhere_voids_other_sessions_and_unused_links(
    serve_account: Serve, inbox: tuple[Mailbox, int], clock: Clock
) -> None:
    mailbox = inbox[0]
    with serve_account() as phone, serve_account() as laptop:
        sign_in(phone, mailbox)
        sign_in(laptop, mailbox)
        phone.post("/api/v1/app/items", json={"items": [{"number": NUMBER}]})
        assert ask(phone).status_code == 202  # a link left unused
        unused = link_in(mailbox.wait(3)[2])
        stolen = {"Cookie": f"emstrack_app={laptop.cookies['emstrack_app']}"}

        out = phone.post("/api/v1/app/sign-out", json={"everywhere": True})
        assert out.status_code == 200
        assert laptop.get("/api/v1/app/me").json() == {"signed_in": False, "items": 0}
        assert laptop.get("/api/v1/app/items").status_code == 401
        # A copy of the old cookie is worth nothing either.
        assert (
            httpx.get(laptop.base_url.join("/api/v1/app/items"), headers=stolen).status_code == 401
        )
        void = phone.get(unused)
        assert void.status_code == 400
        assert "This sign-in link was cancelled" in text(void.text)

        # A new sign-in works, and finds the list (an hour on: three links an hour were sent).
        clock.shift = timedelta(hours=1, minutes=1)
        assert sign_in(laptop, mailbox).status_code == 303
        assert [i["number"] for i in items(laptop)] == [NUMBER]


def test_deleting_the_list_forgets_it_and_a_later_sign_in_starts_empty(
    serve_account: Serve, inbox: tuple[Mailbox, int], engine: Engine
) -> None:
    with serve_account() as phone, serve_account() as laptop:
        sign_in(phone, inbox[0])
        sign_in(laptop, inbox[0])
        phone.post("/api/v1/app/items", json={"items": [{"number": NUMBER}, {"number": SECOND}]})
        gone = phone.delete("/api/v1/app/account")
        assert gone.status_code == 200
        assert gone.json() == {"signed_in": False, "deleted_items": 2}
        assert "Max-Age=0" in cookie_header(gone)
        with engine.connect() as conn:
            assert conn.execute(select(app_items)).all() == []
            assert conn.execute(select(app_accounts)).all() == []
        assert laptop.get("/api/v1/app/items").status_code == 401

        assert sign_in(phone, inbox[0]).status_code == 303
        assert items(phone) == []
        # The other device's old session does not come back with the new account.
        assert laptop.get("/api/v1/app/me").json()["signed_in"] is False


# --- privacy and abuse ------------------------------------------------------------------------


def test_the_address_is_in_no_table_after_the_whole_flow(
    serve_account: Serve, inbox: tuple[Mailbox, int], engine: Engine
) -> None:
    with serve_account() as http:
        sign_in(http, inbox[0])
        http.post("/api/v1/app/items", json={"items": [{"number": NUMBER, "label": "Gift"}]})
        ask(http)  # one more link, never followed
        inbox[0].wait(2)
        http.post("/api/v1/app/sign-out", json={"everywhere": True})
    wanted = {ADDRESS.lower(), ADDRESS.split("@")[0].lower()}
    scanned = 0
    found = MetaData()
    with engine.connect() as conn:
        found.reflect(conn)  # every table there is, not only those the code knows
        for table in found.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String)]
            if not columns:
                continue
            for row in conn.execute(select(*columns)):
                for value in row:
                    scanned += 1
                    assert not any(w in str(value).lower() for w in wanted), (table.name, value)
        assert conn.execute(select(app_accounts)).all()  # the account is there, as a digest
    assert scanned > 0


def test_the_answer_is_the_same_for_a_known_and_an_unknown_address(
    client: httpx.Client, inbox: tuple[Mailbox, int]
) -> None:
    sign_in(client, inbox[0], ADDRESS)  # ADDRESS has an account now, OTHER has none
    known, unknown = ask(client, ADDRESS), ask(client, OTHER)
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    varying = {"date", "ratelimit-remaining", "ratelimit-reset", "set-cookie"}
    assert {k: v for k, v in known.headers.items() if k not in varying} == {
        k: v for k, v in unknown.headers.items() if k not in varying
    }
    # Both get their mail: a link makes the account when it is followed, not before.
    assert {m["To"] for m in inbox[0].wait(3)[1:]} == {SENT_TO, OTHER}


def test_an_address_gets_a_few_links_an_hour_whoever_asks(
    client: httpx.Client, inbox: tuple[Mailbox, int]
) -> None:
    answers = [ask(client) for _ in range(4)]
    assert {a.status_code for a in answers} == {202}
    assert len({a.content for a in answers}) == 1
    inbox[0].wait(3)
    time.sleep(0.5)
    assert len(inbox[0].messages) == 3  # the fourth was not sent, and nothing said so


def test_too_many_requests_from_one_client_are_refused(
    serve_account: Serve, inbox: tuple[Mailbox, int]
) -> None:
    with serve_account(rate_limit="10/minute") as http:
        assert ask(http, ADDRESS).status_code == 202
        assert ask(http, OTHER).status_code == 202
        refused = ask(http, "third@example.net")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) > 0
    time.sleep(0.3)
    assert {m["To"] for m in inbox[0].messages} == {SENT_TO, OTHER}


def test_a_cross_site_write_is_refused(client: httpx.Client, inbox: tuple[Mailbox, int]) -> None:
    sign_in(client, inbox[0])
    evil = {"Origin": "https://evil.example"}
    cross = client.post("/api/v1/app/items", json={"items": [{"number": NUMBER}]}, headers=evil)
    assert cross.status_code == 403
    assert cross.json()["code"] == "cross_site"
    assert client.delete("/api/v1/app/account", headers=evil).status_code == 403
    assert client.post("/api/v1/app/sign-out", json={}, headers=evil).status_code == 403
    # Without Origin, the Referer tells.
    origin = client.headers.pop("Origin")
    by_referer = client.post(
        "/api/v1/app/items",
        json={"items": [{"number": NUMBER}]},
        headers={"Referer": "https://evil.example/page"},
    )
    assert by_referer.status_code == 403
    # A program sends neither, and holds no one's cookie but its own.
    program = client.post("/api/v1/app/items", json={"items": [{"number": SECOND}]})
    assert program.status_code == 200
    client.delete(f"/api/v1/app/items/{SECOND}")
    client.headers["Origin"] = origin
    # What a cross-site form can send: not JSON.
    form = client.post(
        "/api/v1/app/items",
        content='{"items": [{"number": "EE123456785CN"}]}',
        headers={"Content-Type": "text/plain"},
    )
    assert form.status_code == 415
    assert form.json()["code"] == "unsupported_media_type"
    assert items(client) == []
    assert client.get("/api/v1/app/me").json()["signed_in"] is True  # still signed in
    # Nor may another site make us mail someone.
    assert ask_from(client, evil).status_code == 403
    time.sleep(0.3)
    assert len(inbox[0].messages) == 1


def ask_from(client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return client.post("/api/v1/app/sign-in", json={"email": OTHER}, headers=headers)


def test_a_bad_address_is_refused_clearly(client: httpx.Client) -> None:
    refused = ask(client, "not an address")
    assert refused.status_code == 422
    assert refused.json()["code"] == "bad_email"
    hidden = ask(client, "li\u200blei@example.cn")
    assert hidden.status_code == 422
    assert hidden.json()["code"] == "bad_email"


def test_without_a_secret_key_signing_in_is_unavailable(serve_account: Serve) -> None:
    with serve_account(secret_key="") as http:
        refused = ask(http)
        assert refused.status_code == 503
        assert refused.json()["code"] == "sign_in_unavailable"
        assert http.get("/api/v1/app/me").json() == {"signed_in": False, "items": 0}
        assert http.get("/app/sign-in?token=x").status_code == 503


def test_a_session_is_no_link_and_a_link_is_no_session(
    client: httpx.Client, inbox: tuple[Mailbox, int]
) -> None:
    sign_in(client, inbox[0])
    session = client.cookies["emstrack_app"]
    as_link = client.get(f"/app/sign-in?token={session}")
    assert as_link.status_code == 400
    assert "This sign-in link is not valid" in text(as_link.text)
    assert ask(client).status_code == 202
    link = httpx.URL(link_in(inbox[0].wait(2)[1])).params["token"]
    as_session = client.get("/api/v1/app/items", headers={"Cookie": f"emstrack_app={link}"})
    assert as_session.status_code == 401
    # Each token names a digest of the address and an instant, never the address.
    for token, purpose in ((session, "app-session"), (link, "sign-in")):
        body = token.split(".")[0]
        kind, account, issued = (
            base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode().split("|")
        )
        assert kind == purpose
        assert re.fullmatch(r"[0-9a-f]{64}", account)
        assert issued.isdigit()
