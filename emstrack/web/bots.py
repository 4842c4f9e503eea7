"""The chat bots' callbacks: WeChat Official Account and Telegram webhooks.

These are called by the platforms, not by people: every request is authenticated by the
platform's own scheme (WeChat's signature, Telegram's secret token) before anything is read,
and a platform never sees a stack trace. What the bots say comes from `emstrack.channels`.
The thread pool the WeChat answers run in and the API clients live as long as the app
(`running`, entered by the app's lifespan).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from emstrack.channels.conversation import Bot
from emstrack.channels.telegram.bot import update_handler
from emstrack.channels.telegram.client import BotAPI
from emstrack.channels.telegram.protocol import TelegramError, Update, check_secret, parse_update
from emstrack.channels.wechat.bot import respond
from emstrack.channels.wechat.client import WeChatAPI, WeChatAPIError, client_for
from emstrack.channels.wechat.crypto import Crypto
from emstrack.channels.wechat.protocol import (
    SUCCESS,
    Incoming,
    WeChatError,
    check_signature,
    parse_message,
    text_reply,
)
from emstrack.channels.wording import sorry
from emstrack.config import Settings
from emstrack.web.deps import public_tracker
from emstrack.web.responses import problem

log = logging.getLogger(__name__)

router = APIRouter(tags=["channels"])

#: Time allowed to a WeChat answer: WeChat gives up after 5 s and then retries
#: (docs/standards/channels.md §1.4).
WECHAT_BUDGET_SECONDS = 4.0
#: Answers started and not finished, at most: past it a message is answered `success` at once.
MAX_IN_FLIGHT = 32

_XML = "application/xml"
_CALLBACK = "A callback of the chat platform, not for direct use."


@dataclass(frozen=True)
class Bots:
    """What the callbacks share while the app runs."""

    # WeChat answers run here rather than in the shared threadpool: a look-up past its budget
    # keeps its thread until it ends, and must not starve the requests that follow.
    answers: ThreadPoolExecutor
    in_flight: threading.BoundedSemaphore
    # One client per process: every new one would fetch a new access token, which voids the
    # one the worker holds (docs/standards/channels.md §1.4) and spends the daily quota.
    wechat_api: WeChatAPI | None
    telegram_api: BotAPI | None


@contextmanager
def running(settings: Settings) -> Iterator[Bots]:
    """The bots' thread pool and API clients, closed when the block ends."""
    token = settings.telegram_bot_token.get_secret_value()
    bots = Bots(
        answers=ThreadPoolExecutor(max_workers=8, thread_name_prefix="wechat-answer"),
        in_flight=threading.BoundedSemaphore(MAX_IN_FLIGHT),
        wechat_api=client_for(settings),
        telegram_api=BotAPI(token, base_url=settings.telegram_api_base) if token else None,
    )
    try:
        yield bots
    finally:
        # An answer still running past its budget is not waited for.
        bots.answers.shutdown(wait=False, cancel_futures=True)
        for api in (bots.wechat_api, bots.telegram_api):
            if api is not None:
                api.close()


def _bots(request: Request) -> Bots:
    bots: Bots = request.app.state.bots
    return bots


def _bot(request: Request) -> Bot:
    state = request.app.state
    # A chat's lookups are public: on a read replica where there are any. What a chat writes
    # (its subscriptions) and reads back ("我的订阅") goes to the primary through `state.db`.
    return Bot(state.db, public_tracker(state), state.settings, state.limiter)


def _off(name: str) -> Response:
    return problem(404, "not_found", f"The {name} channel is not set up on this server.")


def _refused(exc: WeChatError) -> Response:
    # WeChat reads any non-reply as a failure; a short sentence helps whoever debugs it.
    status = 403 if exc.code == "bad_signature" else 400
    return PlainTextResponse(exc.message, status_code=status)


@router.get(
    "/channels/wechat",
    summary="WeChat: URL verification",
    description=f"{_CALLBACK} Echoes `echostr` when the signature is right "
    "(docs/standards/channels.md §1.1).",
    response_class=PlainTextResponse,
    responses={403: {"description": "Bad signature."}, 404: {"description": "Not set up."}},
)
async def wechat_verify(
    request: Request, signature: str = "", timestamp: str = "", nonce: str = "", echostr: str = ""
) -> Response:
    settings: Settings = request.app.state.settings
    if not settings.wechat_token.get_secret_value():
        return _off("WeChat")
    if not check_signature(settings.wechat_token.get_secret_value(), signature, timestamp, nonce):
        return _refused(WeChatError("bad_signature"))
    return PlainTextResponse(echostr)


@router.post(
    "/channels/wechat",
    summary="WeChat: messages and events",
    description=f"{_CALLBACK} Plaintext, compatible and secure (AES) modes; answers with a "
    "passive text reply, or `success` (docs/standards/channels.md §1.2–1.5).",
    response_class=Response,
    responses={
        200: {"content": {_XML: {}, "text/plain": {}}, "description": "A reply, or `success`."},
        400: {"description": "Not a WeChat message."},
        403: {"description": "Bad signature."},
        404: {"description": "Not set up."},
    },
)
async def wechat_message(
    request: Request,
    signature: str = "",
    timestamp: str = "",
    nonce: str = "",
    encrypt_type: str = "",
    msg_signature: str = "",
) -> Response:
    settings: Settings = request.app.state.settings
    token = settings.wechat_token.get_secret_value()
    if not token:
        return _off("WeChat")
    body = await request.body()
    crypto: Crypto | None = None
    key_index = 0
    try:
        _check_fresh(timestamp, settings)
        if encrypt_type.lower() == "aes":
            crypto = _crypto(settings)
            incoming, key_index = crypto.open_envelope(
                body, msg_signature=msg_signature, timestamp=timestamp, nonce=nonce
            )
        else:
            if not check_signature(token, signature, timestamp, nonce):
                raise WeChatError("bad_signature")
            incoming = parse_message(body)
    except WeChatError as exc:
        return _refused(exc)

    bot = _bot(request)

    def work() -> str | None:
        return respond(
            bot,
            incoming,
            timestamp=timestamp,
            nonce=nonce,
            signature=msg_signature if crypto is not None else signature,
            body=body,
        )

    try:
        content = await _in_time(_bots(request), settings, incoming, work)
    except WeChatError as exc:
        log.warning("wechat: refused a signed URL used before with another body")
        return _refused(exc)
    if content is None:
        return PlainTextResponse(SUCCESS)
    xml = text_reply(incoming, content, now=int(time.time()))
    if crypto is not None:
        xml = crypto.seal_reply(
            xml, timestamp=str(int(time.time())), nonce=nonce, key_index=key_index
        )
    return Response(xml, media_type=_XML)


def _check_fresh(timestamp: str, settings: Settings) -> None:
    """Refuse a signed request whose timestamp is far from now: WeChat's signature covers the
    timestamp and nonce but not the body, so a captured URL must not serve for ever."""
    skew = settings.wechat_max_clock_skew_seconds
    if not skew:
        return
    if (
        not (timestamp.isascii() and timestamp.isdigit())
        or abs(time.time() - int(timestamp)) > skew
    ):
        raise WeChatError("bad_signature", "The request's timestamp is stale or missing.")


def _crypto(settings: Settings) -> Crypto:
    if not settings.wechat_aes_keys or not settings.wechat_app_id:
        raise WeChatError(
            "bad_encryption",
            "Encrypted mode needs EMSTRACK_WECHAT_AES_KEY and EMSTRACK_WECHAT_APP_ID.",
        )
    try:
        return Crypto(
            settings.wechat_token.get_secret_value(),
            settings.wechat_aes_keys,
            settings.wechat_app_id,
        )
    except ValueError as exc:
        log.error("wechat: the AES settings are wrong: %s", exc)
        raise WeChatError("bad_encryption", "The EncodingAESKey setting is not valid.") from None


async def _in_time(
    bots: Bots, settings: Settings, incoming: Incoming, work: Callable[[], str | None]
) -> str | None:
    """What `work` says to `incoming`, or None to answer `success` (nothing, seen already, or
    too late — then the answer follows as a customer-service message). WeChatError passes."""
    if not bots.in_flight.acquire(blocking=False):
        # Answers are piling up behind a slow database: refuse more work than can be done in
        # time rather than queue it without end. WeChat delivers the message again shortly.
        log.warning("wechat: %d answers already in flight; replied success", MAX_IN_FLIGHT)
        return None
    late = _Late(bots, settings, incoming.from_user)
    future = asyncio.get_running_loop().run_in_executor(bots.answers, late.run, work)
    try:
        # Shielded: past the budget the answer goes on, and is pushed when it is ready.
        return await asyncio.wait_for(asyncio.shield(future), WECHAT_BUDGET_SECONDS)
    except TimeoutError:
        log.warning("wechat: no answer within %.1f s; replied success", WECHAT_BUDGET_SECONDS)
        late.give_up_waiting()
        return None
    except WeChatError:
        raise
    except Exception:
        log.exception("wechat: answering a message failed")
        return sorry()


class _Late:
    """An answer that may miss WeChat's deadline: then it is sent, when ready, as a
    customer-service message (docs/standards/channels.md §1.4) instead of the passive reply."""

    def __init__(self, bots: Bots, settings: Settings, openid: str) -> None:
        self._bots = bots
        self._settings = settings
        self._openid = openid
        self._lock = threading.Lock()
        self._late = False
        self._text: str | None = None  # set when the answer is ready

    def run(self, answer: Callable[[], str | None]) -> str | None:
        try:
            text = answer()
        finally:
            self._bots.in_flight.release()
        with self._lock:
            self._text = text
            push = self._late
        if push and text is not None:
            self._push(text)
        return text

    def give_up_waiting(self) -> None:
        with self._lock:
            self._late = True
            ready = self._text
        if ready is not None:  # finished between the deadline and now: push it from here
            self._bots.answers.submit(self._push, ready)

    def _push(self, text: str) -> None:
        api = self._bots.wechat_api
        if api is None:
            log.warning(
                "wechat: a late answer was dropped: set EMSTRACK_WECHAT_APP_ID and "
                "EMSTRACK_WECHAT_APP_SECRET to send it as a customer-service message"
            )
            return
        try:
            api.send_text(self._openid, text)
        except WeChatAPIError as exc:
            log.warning("wechat: the late answer could not be sent: %s", exc.code)


@router.post(
    "/channels/telegram",
    summary="Telegram: webhook updates",
    description=f"{_CALLBACK} Needs the `X-Telegram-Bot-Api-Secret-Token` header; the answer "
    "goes out through `sendMessage` (docs/standards/channels.md §2).",
    response_class=Response,
    responses={
        200: {"description": "Received (a malformed update too: it is logged, not retried)."},
        403: {"description": "Missing or wrong secret token."},
        404: {"description": "Not set up."},
        415: {"description": "Not JSON."},
    },
)
async def telegram_update(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    api = _bots(request).telegram_api
    if api is None:
        return _off("Telegram")
    # An unset secret matches nothing: a webhook anyone could call is never accepted.
    secret = request.headers.get("x-telegram-bot-api-secret-token")
    if not check_secret(settings.telegram_secret.get_secret_value(), secret):
        return problem(403, "forbidden", "The Telegram secret token is missing or wrong.")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        return problem(415, "unsupported_media_type", "A Telegram update is JSON.")
    body = await request.body()
    try:
        update = parse_update(orjson.loads(body))
    except (orjson.JSONDecodeError, TelegramError) as exc:
        # Telegram redelivers anything but a 2xx, for hours: a bad update is logged and dropped.
        log.warning("telegram: dropped an unreadable update: %s", exc)
        return Response(status_code=200)
    await run_in_threadpool(_handle_telegram, _bot(request), api, update)
    return Response(status_code=200)


def _handle_telegram(bot: Bot, api: BotAPI, update: Update) -> None:
    try:
        update_handler(bot, api)(update)
    except TelegramError as exc:
        # Answered 200 all the same: a redelivery would only be deduplicated, or answered twice.
        log.warning("telegram: the reply to update %d was not sent: %s", update.update_id, exc)
