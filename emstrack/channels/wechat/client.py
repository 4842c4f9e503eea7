"""The outbound WeChat API: an access_token owner, the customer-service text message and the
account's custom menu.

Used when a passive reply cannot be ready within WeChat's 5 seconds (docs/standards/channels.md
§1.4): the callback answers `success` and the result follows through `send_text`; and by the
notify worker to send status notices.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from emstrack.channels.logs import redact_httpx
from emstrack.config import Settings
from emstrack.errors import ChannelError

DEFAULT_API_BASE = "https://api.weixin.qq.com"

#: Fetch a new token this long before the old one expires.
REFRESH_MARGIN = 300.0

# The token is invalid or expired (another process fetched a newer one, or its time ran out).
_STALE_TOKEN = frozenset({40001, 40014, 42001})
# "System busy, try again later": the only errcode WeChat documents as transient.
_BUSY = -1
# "menu no exist": the account has no custom menu.
_NO_MENU = "46003"
_JSON = {"Content-Type": "application/json; charset=utf-8"}


class WeChatAPIError(ChannelError):
    """A call the WeChat API refused or that did not reach it.

    `code` is the WeChat errcode as a string ("45047"), or "http_<status>", "network",
    "bad_response"; `retryable` says whether the same call may succeed later.
    """

    def __init__(self, code: str, message: str, retryable: bool) -> None:
        super().__init__(code, message)
        self.retryable = retryable


class _RedactQuery(logging.Filter):
    """Hide `secret` and `access_token` in the request URLs httpx logs at INFO level."""

    _NAMES = ("secret", "access_token")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._redact(arg) for arg in record.args)
        return True

    def _redact(self, arg: object) -> object:
        if isinstance(arg, httpx.URL) and any(name in arg.params for name in self._NAMES):
            params = arg.params
            for name in self._NAMES:
                if name in params:
                    params = params.set(name, "***")
            return arg.copy_with(params=params)
        return arg


class WeChatAPI:
    """One account's access_token, fetched once and shared, and the messages sent with it."""

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_API_BASE,
        app_id: str,
        app_secret: str,
        client: httpx.Client | None = None,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        redact_httpx(_RedactQuery)
        self._base_url = base_url.rstrip("/")
        self._app_id = app_id
        self._app_secret = app_secret
        self._client = client or httpx.Client()
        self._owns_client = client is None
        self._timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._fresh_until = 0.0

    def __repr__(self) -> str:
        return f"WeChatAPI(base_url={self._base_url!r}, app_id={self._app_id!r})"

    def close(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_client:
            self._client.close()

    def send_text(self, openid: str, content: str) -> None:
        """Send `content` to the user `openid` as a customer-service text message."""
        payload = {"touser": openid, "msgtype": "text", "text": {"content": content}}
        self._authorized(
            "POST", "/cgi-bin/message/custom/send", content=_json_body(payload), headers=_JSON
        )

    def menu(self) -> dict[str, Any] | None:
        """The account's custom menu as WeChat keeps it (`{"button": [...]}`), or None when the
        account has none (errcode 46003)."""
        try:
            answer = self._authorized("GET", "/cgi-bin/menu/get")
        except WeChatAPIError as exc:
            if exc.code == _NO_MENU:
                return None
            raise
        menu = answer.get("menu")
        if not isinstance(menu, dict):
            raise WeChatAPIError("bad_response", "The menu answer has no menu.", retryable=True)
        return menu

    def set_menu(self, menu: dict[str, Any]) -> None:
        """Replace the account's custom menu with `menu` (`{"button": [...]}`)."""
        self._authorized("POST", "/cgi-bin/menu/create", content=_json_body(menu), headers=_JSON)

    def delete_menu(self) -> None:
        """Remove the account's custom menu (and its conditional menus, as WeChat does)."""
        self._authorized("GET", "/cgi-bin/menu/delete")

    def _authorized(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """One call with the account's access_token; once more with a new token when WeChat
        says the token is stale (another process fetched a newer one); a second refusal goes to
        the caller."""
        stale = self._access_token()
        try:
            return self._call(method, path, params={"access_token": stale}, **kwargs)
        except WeChatAPIError as exc:
            if exc.code not in {str(code) for code in _STALE_TOKEN}:
                raise
        fresh = self._access_token(stale=stale)
        return self._call(method, path, params={"access_token": fresh}, **kwargs)

    def _access_token(self, *, stale: str | None = None) -> str:
        """The cached token, or a new one if it is near its end or is `stale`."""
        with self._lock:
            if (
                self._token is not None
                and self._token != stale
                and self._clock() < self._fresh_until
            ):
                return self._token
            answer = self._call(
                "GET",
                "/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": self._app_id,
                    "secret": self._app_secret,
                },
            )
            token, expires_in = answer.get("access_token"), answer.get("expires_in")
            if not isinstance(token, str) or not token or not isinstance(expires_in, int):
                raise WeChatAPIError(
                    "bad_response", "The token answer has no access_token.", retryable=True
                )
            self._token = token
            # A token shorter-lived than the margin is still used for half of its life.
            margin = min(REFRESH_MARGIN, expires_in / 2)
            self._fresh_until = self._clock() + expires_in - margin
            return token

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The JSON answer of one call, or WeChatAPIError; URLs in messages carry no query."""
        try:
            response = self._client.request(
                method, self._base_url + path, timeout=self._timeout, **kwargs
            )
        except httpx.TransportError as exc:
            raise WeChatAPIError(
                "network", f"{path}: {type(exc).__name__}: {exc}", retryable=True
            ) from None
        if response.status_code != 200:
            status = response.status_code
            raise WeChatAPIError(
                f"http_{status}", f"{path}: HTTP {status}", retryable=status >= 500 or status == 429
            )
        try:
            answer = response.json()
        except ValueError:
            raise WeChatAPIError(
                "bad_response", f"{path}: the answer is not JSON.", retryable=True
            ) from None
        if not isinstance(answer, dict):
            raise WeChatAPIError("bad_response", f"{path}: the answer is not an object.", True)
        errcode = answer.get("errcode", 0)
        if errcode != 0:
            message = str(answer.get("errmsg", ""))[:200]
            retryable = errcode == _BUSY or errcode in _STALE_TOKEN
            raise WeChatAPIError(str(errcode), f"{path}: errcode {errcode}: {message}", retryable)
        return answer


def _json_body(payload: dict[str, Any]) -> bytes:
    # WeChat shows \\uXXXX escapes literally in some clients (and in menu names): send UTF-8.
    return json.dumps(payload, ensure_ascii=False).encode()


def client_for(settings: Settings) -> WeChatAPI | None:
    """The account's API client, or None when no AppID and AppSecret are set."""
    if not (settings.wechat_app_id and settings.wechat_app_secret.get_secret_value()):
        return None
    return WeChatAPI(
        base_url=settings.wechat_api_base,
        app_id=settings.wechat_app_id,
        app_secret=settings.wechat_app_secret.get_secret_value(),
    )
