"""Control and invisible characters in a subscriber's address: refused, never stored, never logged.

`a\\u0000b@example.com` once reached PostgreSQL (which refuses NUL in text), was answered 500,
and the error logged with it carried the address in clear. It is now a `422 bad_email` on the
API and the form's own error on the page, on both databases; and no statement's parameters ever
reach a log or an error message (`hide_parameters`), even with SQLAlchemy's logging on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine
from webclient import serve

from emstrack.config import Settings
from emstrack.store.outbox import notices
from emstrack.web.app import create_app

NUMBER = "EE123456785CN"

# NUL, other C0 and C1 controls, DEL, and the invisible format characters (zero-width space,
# right-to-left override, byte-order mark) that make an address read as another one.
CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u200b", "\u202e", "\ufeff"]


@pytest.fixture
def client(
    engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> Iterator[httpx.Client]:
    # Every logger at DEBUG before the app exists, SQLAlchemy's statement log included.
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # SQLAlchemy keeps it at WARN
    configured = Settings.model_validate(
        {
            "database_url": settings.database_url,
            "secret_key": "x" * 40,
            "public_url": "https://track.example.org",
        }
    )
    # The app opens the database itself, as `emstrack serve` does (and closes it at shutdown).
    with serve(create_app(configured)) as http:
        yield http


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged, messages and tracebacks, as one text."""
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def _subscribed(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [n.target for n in notices(conn)]


@pytest.mark.parametrize("control", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
def test_the_api_refuses_an_address_with_a_control_character(
    client: httpx.Client, engine: Engine, caplog: pytest.LogCaptureFixture, control: str
) -> None:
    address = f"a{control}b@example.com"
    body = {"number": NUMBER, "channel": "email", "email": address}
    answer = client.post("/api/v1/subscriptions", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["code"] == "bad_email"
    assert "control or invisible character" in problem["title"]
    assert address not in answer.text
    assert _subscribed(engine) == []
    logged = _logged(caplog)
    for shown in (address, repr(address)[1:-1], "b@example.com"):
        assert shown not in logged


def test_no_statement_parameter_is_logged(
    client: httpx.Client, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    body = {"number": NUMBER, "channel": "email", "email": "carol@example.com"}
    assert client.post("/api/v1/subscriptions", json=body).status_code == 202
    assert _subscribed(engine) == ["carol@example.com"]
    logged = _logged(caplog)
    assert "INSERT INTO subscriptions" in logged  # SQLAlchemy did log its statements...
    assert "carol@example.com" not in logged  # ... and none of their values


@pytest.mark.parametrize("control", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
def test_the_form_says_the_address_is_refused(
    client: httpx.Client, engine: Engine, caplog: pytest.LogCaptureFixture, control: str
) -> None:
    client.headers["Accept"] = "text/html"
    page = client.get(f"/track/{NUMBER}")
    assert f'action="/track/{NUMBER}/subscribe"' in page.text
    address = f"a{control}b@example.com"
    answer = client.post(f"/track/{NUMBER}/subscribe", data={"email": address})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "That is not an e-mail address we can write to." in answer.text
    assert 'name="email"' in answer.text  # the form, to try again
    assert "b@example.com" not in answer.text  # the refused address is not echoed back
    assert _subscribed(engine) == []
    assert "b@example.com" not in _logged(caplog)
