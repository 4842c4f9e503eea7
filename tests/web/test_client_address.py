"""Who the client is, for the per-address limits and for Secure cookies.

`X-Forwarded-For` and `X-Forwarded-Proto` count only from `EMSTRACK_TRUSTED_PROXIES`, the same
whether the app runs under `emstrack serve` or under uvicorn started by hand (which takes the
client from `X-Forwarded-For` for loopback peers before the app sees it). IPv6 clients count
per /64 (configurable). All through real servers on loopback; the forwarded addresses are
documentation ranges written in a header, nothing is sent to them.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from webclient import ServeApp, emstrack_serve, serve_url

from emstrack.config import Settings
from emstrack.store.database import Database
from emstrack.web.app import create_app
from emstrack.web.clients import limit_key

NUMBER = "EE123456785CN"
LOOKUP = f"/api/v1/numbers/{NUMBER}"


def _statuses(http: httpx.Client, *addresses: str) -> list[int]:
    """The status of a lookup from each of `addresses`, as a proxy on loopback forwards them."""
    return [http.get(LOOKUP, headers={"X-Forwarded-For": a}).status_code for a in addresses]


@pytest.mark.parametrize(
    ("host", "prefix", "key"),
    [
        ("192.0.2.1", 64, "192.0.2.1"),
        ("2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::ffff", 64, "2001:db8:1:2::/64"),
        ("2001:db8:1:2:3:4:5:6", 48, "2001:db8:1::/48"),
        ("2001:db8:1:2:3:4:5:6", 128, "2001:db8:1:2:3:4:5:6/128"),
        ("::ffff:192.0.2.1", 64, "192.0.2.1"),  # an IPv4 client on a dual-stack socket
        ("testclient", 64, "testclient"),
    ],
)
def test_limit_keys(host: str, prefix: int, key: str) -> None:
    assert limit_key(host, prefix) == key


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: who the client is does not depend on the database."""
    return f"sqlite:///{tmp_path / 'emstrack.db'}"


# --- emstrack serve


@pytest.mark.slow
def test_serve_ignores_forwarded_for_by_default(database_url: str) -> None:
    env = {"EMSTRACK_DATABASE_URL": database_url, "EMSTRACK_RATE_LIMIT": "2/minute"}
    with emstrack_serve(env) as base, httpx.Client(base_url=base, timeout=10) as http:
        # A proxy on the same host that passes the client's header on unchanged: every
        # request claims another address, and all count as the proxy's.
        assert _statuses(http, "192.0.2.1", "192.0.2.2", "192.0.2.3") == [200, 200, 429]


@pytest.mark.slow
def test_serve_believes_only_its_trusted_proxies(database_url: str) -> None:
    env = {
        "EMSTRACK_DATABASE_URL": database_url,
        "EMSTRACK_RATE_LIMIT": "2/minute",
        "EMSTRACK_TRUSTED_PROXIES": "127.0.0.1",
    }
    with emstrack_serve(env) as base, httpx.Client(base_url=base, timeout=10) as http:
        assert _statuses(http, "192.0.2.1", "192.0.2.2", "192.0.2.1", "192.0.2.2") == [200] * 4
        assert _statuses(http, "192.0.2.1") == [429]
        # The proxy appends the address it was reached from; what is left of it the client
        # wrote: another claim there buys nothing.
        assert _statuses(http, "203.0.113.5, 192.0.2.3", "203.0.113.6, 192.0.2.3") == [200] * 2
        assert _statuses(http, "203.0.113.7, 192.0.2.3") == [429]


# --- uvicorn started by hand (its defaults: X-Forwarded-For read for loopback peers)


def test_uvicorn_by_hand_does_not_make_limits_spoofable(serve_app: ServeApp) -> None:
    with serve_app(rate_limit="2/minute") as http:
        assert _statuses(http, "192.0.2.1", "192.0.2.2", "192.0.2.3") == [200, 200, 429]


def test_uvicorn_by_hand_with_trusted_proxies_counts_per_client(serve_app: ServeApp) -> None:
    with serve_app(rate_limit="2/minute", trusted_proxies="127.0.0.1") as http:
        assert _statuses(http, "192.0.2.1", "192.0.2.2", "192.0.2.1", "192.0.2.2") == [200] * 4
        assert _statuses(http, "192.0.2.1") == [429]
        assert _statuses(http, "203.0.113.5, 192.0.2.3", "203.0.113.6, 192.0.2.3") == [200] * 2
        assert _statuses(http, "203.0.113.7, 192.0.2.3") == [429]


# --- IPv6 networks


@pytest.mark.parametrize(
    ("prefix", "neighbour_status"),
    [("64", 200), ("48", 429)],
)
def test_ipv6_clients_count_per_network(
    serve_app: ServeApp, prefix: str, neighbour_status: int
) -> None:
    limits: dict[str, Any] = {"rate_limit": "2/minute", "rate_limit_ipv6_prefix": int(prefix)}
    with serve_app(trusted_proxies="127.0.0.1", **limits) as http:
        # One /64 (a home, a server): however many addresses it uses, one client.
        assert _statuses(http, "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe") == [200] * 2
        assert _statuses(http, "2001:db8:1:2:aaaa::7") == [429]
        # The next /64 is another client, unless the prefix is shorter.
        assert _statuses(http, "2001:db8:1:3::1") == [neighbour_status]
        # IPv4 clients count per address.
        assert _statuses(http, "192.0.2.1", "192.0.2.2") == [200] * 2


# --- Secure cookies


def _cookies(response: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie of `response` by the cookie's name, lower-cased."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        found[header.partition("=")[0]] = header.lower()
    return found


def _secure(cookie: str) -> bool:
    return "secure" in [part.strip() for part in cookie.split(";")]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def test_cookies_are_secure_over_https(
    db: Database, settings: Settings, ca: trustme.CA, tmp_path: Path
) -> None:
    cert = ca.issue_cert("127.0.0.1")
    key_file, cert_file = tmp_path / "key.pem", tmp_path / "cert.pem"
    cert.private_key_pem.write_to_path(str(key_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    context = ssl.create_default_context()
    ca.configure_trust(context)
    app = create_app(settings, db)
    with (
        serve_url(app, ssl_keyfile=str(key_file), ssl_certfile=str(cert_file)) as base,
        httpx.Client(base_url=base, verify=context, timeout=10) as https,
    ):
        assert base.startswith("https://")
        form = _cookies(https.get("/check", params={"lang": "zh"}))
        switch = _cookies(https.get("/lang/en", follow_redirects=False))
    assert "csrf" not in form  # pages hold no per-browser token (emstrack.web.csrf)
    assert _secure(form["lang"])
    assert _secure(switch["lang"])


def test_cookies_are_not_secure_over_plain_http(client: httpx.Client) -> None:
    form = _cookies(client.get("/check", params={"lang": "zh"}))
    switch = _cookies(client.get("/lang/en", follow_redirects=False))
    assert not _secure(form["lang"])
    assert not _secure(switch["lang"])


@pytest.mark.slow
@pytest.mark.parametrize(("trusted", "secure"), [("127.0.0.1", True), ("", False)])
def test_cookies_are_secure_behind_a_trusted_https_proxy(
    database_url: str, trusted: str, secure: bool
) -> None:
    env = {"EMSTRACK_DATABASE_URL": database_url, "EMSTRACK_TRUSTED_PROXIES": trusted}
    with emstrack_serve(env) as base, httpx.Client(base_url=base, timeout=10) as http:
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.1"}
        form = _cookies(http.get("/check", params={"lang": "zh"}, headers=headers))
        switch = _cookies(http.get("/lang/en", headers=headers, follow_redirects=False))
    assert _secure(form["lang"]) is secure
    assert _secure(switch["lang"]) is secure
