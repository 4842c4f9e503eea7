"""The chat platforms' callbacks: WeChat Official Account and Telegram webhooks.

These are called by the platforms, not by people: every request is authenticated by the
platform's own scheme (WeChat's signature, Telegram's secret token) before anything is read,
and a platform never sees a stack trace. What the bot says comes from `channels.replies`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from emstrack.channels import replay, replies
from emstrack.channels.telegram import (
    BotAPI,
    TelegramError,
    Update,
    check_secret,
    parse_update,
)
from emstrack.channels.wechat import (
    SUCCESS,
    Crypto,
    Incoming,
    WeChatError,
    check_signature,
    parse_message,
    text_reply,
)
from emstrack.channels.wechat_api import WeChatAPI, WeChatAPIError
from emstrack.config import Settings
from emstrack.lookup import Tracker
from emstrack.notify import subscriptions
from emstrack.web.ratelimit import Limiter
from emstrack.web.responses import problem

log = logging.getLogger(__name__)

router = APIRouter(tags=["channels"])

#: Time allowed to a WeChat answer: WeChat gives up after 5 s and then retries (spec §1.4).
WECHAT_BUDGET_SECONDS = 4.0
# Answers run here rather than in the shared threadpool: a look-up past its budget keeps its
# thread until it ends, and must not starve the requests that follow.
_ANSWERS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="wechat-answer")

_API_LOCK = threading.Lock()
#: Answers started and not finished, at most: past it a message is answered `success` at once.
_MAX_IN_FLIGHT = 32
_IN_FLIGHT = threading.BoundedSemaphore(_MAX_IN_FLIGHT)

_XML = "application/xml"
_CALLBACK = "A callback of the chat platform, not for direct use."


def _off(name: str) -> Response:
    return problem(404, "not_found", f"The {name} channel is not set up on this server.")


def _refused(exc: WeChatError) -> Response:
    # WeChat reads any non-reply as a failure; a short sentence helps whoever debugs it.
    status = 403 if exc.code == "bad_signature" else 400
    return PlainTextResponse(exc.message, status_code=status)


@router.get(
    "/channels/wechat",
    summary="WeChat: URL verification",
    description=f"{_CALLBACK} Echoes `echostr` when the signature is right (spec §1.1).",
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
    "passive text reply, or `success` (spec §1.2–1.5).",
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

    def first_use() -> bool:
        checked = msg_signature if crypto is not None else signature
        return replay.first_use(
            request.app.state.engine, timestamp=timestamp, nonce=nonce, signature=checked, body=body
        )

    try:
        content = await _content(request, settings, incoming, first_use)
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


async def _content(
    request: Request, settings: Settings, incoming: Incoming, first_use: Callable[[], bool]
) -> str | None:
    """What to say to `incoming`, or None to answer `success` (nothing, seen already, or too
    late — then the answer follows as a customer-service message). WeChatError when its signed
    URL came before with another body (`first_use`, see `channels.replay`)."""
    engine: Engine = request.app.state.engine
    tracker: Tracker = request.app.state.tracker
    limiter: Limiter = request.app.state.limiter

    def work() -> str | None:
        # The de-duplication writes, so it can wait for a busy database too: it runs under the
        # budget with the rest. A redelivery that finds it done is answered `success`.
        if not first_use():
            raise WeChatError("bad_signature", "This signed URL came before with another body.")
        if not replies.seen_first(engine, "wechat", incoming.dedupe_key):
            return None
        return _say(engine, tracker, limiter, settings, incoming)

    if not _IN_FLIGHT.acquire(blocking=False):
        # Answers are piling up behind a slow database: refuse more work than can be done in
        # time rather than queue it without end. WeChat delivers the message again shortly.
        log.warning("wechat: %d answers already in flight; replied success", _MAX_IN_FLIGHT)
        return None
    late = _Late(settings, incoming.from_user, request.app.state)
    future = asyncio.get_running_loop().run_in_executor(_ANSWERS, late.run, work)
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
        return replies.sorry()


def _say(
    engine: Engine, tracker: Tracker, limiter: Limiter, settings: Settings, incoming: Incoming
) -> str | None:
    if incoming.msg_type == "event":
        if incoming.event == "subscribe":
            return replies.welcome()
        if incoming.event == "unsubscribe":
            # An unfollower cannot be written to any more: their notices would only fail.
            subscriptions.unsubscribe_target(engine, "wechat", incoming.from_user)
        return None
    if incoming.msg_type != "text" or not (incoming.content or "").strip():
        return replies.short_help("wechat", settings)
    return replies.answer(
        incoming.content or "",
        tracker=tracker,
        engine=engine,
        settings=settings,
        channel="wechat",
        user=incoming.from_user,
        lang=None,
        limiter=limiter,
    )


class _Late:
    """An answer that may miss WeChat's deadline: then it is sent, when ready, as a
    customer-service message (spec §1.4) instead of the passive reply."""

    def __init__(self, settings: Settings, openid: str, state: State) -> None:
        self._settings = settings
        self._state = state
        self._openid = openid
        self._lock = threading.Lock()
        self._late = False
        self._text: str | None = None  # set when the answer is ready

    def run(self, answer: Callable[[], str | None]) -> str | None:
        try:
            text = answer()
        finally:
            _IN_FLIGHT.release()
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
            _ANSWERS.submit(self._push, ready)

    def _api(self) -> WeChatAPI:
        # One client per process, kept on the app: every new one would fetch a new access
        # token, which voids the one the worker holds (spec §1.4) and spends the daily quota.
        with _API_LOCK:
            api: WeChatAPI | None = getattr(self._state, "wechat_api", None)
            if api is None:
                settings = self._settings
                api = WeChatAPI(
                    base_url=settings.wechat_api_base,
                    app_id=settings.wechat_app_id,
                    app_secret=settings.wechat_app_secret.get_secret_value(),
                )
                self._state.wechat_api = api
            return api

    def _push(self, text: str) -> None:
        settings = self._settings
        if not (settings.wechat_app_id and settings.wechat_app_secret.get_secret_value()):
            log.warning(
                "wechat: a late answer was dropped: set EMSTRACK_WECHAT_APP_ID and "
                "EMSTRACK_WECHAT_APP_SECRET to send it as a customer-service message"
            )
            return
        try:
            self._api().send_text(self._openid, text)
        except WeChatAPIError as exc:
            log.warning("wechat: the late answer could not be sent: %s", exc.code)


@router.post(
    "/channels/telegram",
    summary="Telegram: webhook updates",
    description=f"{_CALLBACK} Needs the `X-Telegram-Bot-Api-Secret-Token` header; the answer "
    "goes out through `sendMessage` (spec §2).",
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
    if not settings.telegram_bot_token.get_secret_value():
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
    await run_in_threadpool(_handle_telegram, request, settings, update)
    return Response(status_code=200)


def _handle_telegram(request: Request, settings: Settings, update: Update) -> None:
    with BotAPI(
        settings.telegram_bot_token.get_secret_value(), base_url=settings.telegram_api_base
    ) as api:
        handle = replies.telegram_handler(
            settings=settings,
            engine=request.app.state.engine,
            tracker=request.app.state.tracker,
            api=api,
            limiter=request.app.state.limiter,
        )
        try:
            handle(update)
        except TelegramError as exc:
            # Answered 200 all the same: a redelivery would only be deduplicated, or answered twice.
            log.warning("telegram: the reply to update %d was not sent: %s", update.update_id, exc)
