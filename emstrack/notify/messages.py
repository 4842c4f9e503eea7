"""What a notice says: the webhook's JSON, the chat text and the e-mail, rendered from its row.

Everything here is read from the outbox row alone (its payload was written with the change that
caused it), so a notice sent again after a crash says exactly what the first try said. Only the
links are made at send time: the page from `public_url`, the unsubscribe link signed with
`secret_key` (an unsubscribe token does not expire).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from emstrack.config import Settings
from emstrack.domain.events import CATALOGUE, Status, status_label
from emstrack.domain.lang import HTML_LANG, Lang
from emstrack.domain.operator import public_label
from emstrack.domain.places import FIELDS, Projection
from emstrack.notify import tokens
from emstrack.notify.mail import Mail
from emstrack.store.outbox import OutboxRow


def links(row: OutboxRow, settings: Settings) -> dict[str, str]:
    """The notice's page and unsubscribe links (and, for a confirmation, its confirm link)."""
    payload = row.payload
    if row.kind == "confirm":
        # Made when the subscription was: the confirm token's age is counted from then.
        return {k: str(payload[k]) for k in ("page", "unsubscribe", "confirm") if k in payload}
    base = settings.public_url.rstrip("/")
    token = tokens.make(
        settings.secret_key.get_secret_value(), tokens.UNSUBSCRIBE, row.number, row.subscription_id
    )
    return {
        "page": f"{base}/track/{row.number}",
        "unsubscribe": f"{base}/subscriptions/unsubscribe?token={token}",
    }


def label(status: str | None, lang: Lang) -> str:
    """A status in plain words; a status name we do not know is shown as it is."""
    if status is None:
        return ""
    try:
        return status_label(Status(status), lang)
    except ValueError:
        return status


#: A notice's place as the public sees it: the outbox row knows the event's country, not the
#: item's countries or postcode, so a place of no country loses any token with a digit.
_PUBLIC = Projection(None, None, None)


def _event(row: OutboxRow, lang: Lang = "en") -> dict[str, Any] | None:
    event = row.payload.get("event")
    if not isinstance(event, dict):
        return None
    entry = CATALOGUE.get(str(event.get("code", "")))
    # A notice goes wherever the subscriber pointed it: no postcode in its place (the payload
    # holds the event as stored, and rows queued before this rule must say no more).
    stored = tuple(_text(event.get(name)) for name in FIELDS)
    shown = dict(zip(FIELDS, _PUBLIC.fields(stored), strict=True))
    place = {name: shown[name] for name in FIELDS if name in event}
    label = entry.label(lang) if entry else event.get("code")
    if "label_en" in event:  # an operator event: its profile's label, not its stand-in code's
        label = public_label(_text(event["label_en"]), _text(event.get("label_zh")), lang)
    return {**event, **place, "label": label}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _place(event: dict[str, Any]) -> str:
    name = event.get("office_name") or event.get("office_code") or ""
    country = event.get("country") or ""
    return ", ".join(part for part in (name, country) if part)


def _when(event: dict[str, Any]) -> str:
    # The office's own wall-clock time, as scanned: the recipient's zone is not the office's.
    try:
        return datetime.fromisoformat(str(event["local_time"])).strftime("%Y-%m-%d %H:%M")
    except (KeyError, ValueError):
        return ""


def webhook_body(row: OutboxRow, settings: Settings) -> bytes:
    """The JSON body of a webhook notice; `id` is the stable event id receivers de-duplicate on."""
    payload = row.payload
    urls = links(row, settings)
    body = {
        "id": row.id,
        "type": "status_changed",
        "created_at": row.created_at.isoformat(timespec="seconds"),
        "number": row.number,
        "status": payload.get("status"),
        "status_label": label(payload.get("status"), "en"),
        "status_detail": payload.get("status_detail"),
        "previous_status": payload.get("previous_status"),
        "event": _event(row),
        "page_url": urls["page"],
        "unsubscribe_url": urls["unsubscribe"],
    }
    return orjson.dumps(body)


def _where(row: OutboxRow, lang: Lang) -> str:
    """ "DEBERB, DE, 2026-11-07 11:45 (local)": where and when the status came; "" if unknown."""
    event = _event(row, lang)
    if event is None:
        return ""
    place, when = _place(event), _when(event)
    local = "（当地时间）" if lang == "zh" else " (local)"
    return ", ".join(part for part in (place, when + local if when else "") if part)


def _summary(row: OutboxRow, lang: Lang) -> str:
    """ "Delivered — DEBERB, DE, 2026-11-07 11:45 (local)": the status and where and when."""
    words = label(row.payload.get("status"), lang)
    where = _where(row, lang)
    return f"{words} — {where}" if where else words


def chat_text(row: OutboxRow, settings: Settings, lang: Lang) -> str:
    """A short chat message: the status in plain words, the page, and how to stop."""
    urls = links(row, settings)
    # The bots take the English command in either language.
    if lang == "zh":
        return (
            f"{row.number}：{_summary(row, lang)}\n{urls['page']}\n"
            f"退订请发送：unsubscribe {row.number}"
        )
    return (
        f"{row.number}: {_summary(row, lang)}\n{urls['page']}\n"
        f"Unsubscribe: send 'unsubscribe {row.number}'"
    )


def push_payload(row: OutboxRow, lang: Lang) -> bytes:
    """The JSON a web push notice carries, sealed for the browser: what its service worker shows
    (the chat message's words as title and body) and the item page it opens, in `lang`."""
    words = label(row.payload.get("status"), lang)
    body = {
        "title": f"{row.number}：{words}" if lang == "zh" else f"{row.number}: {words}",
        "body": _where(row, lang) or words,
        # The page on the app's own origin: the service worker opens it where it was installed.
        "url": f"/track/{row.number}?lang={lang}",
        "number": row.number,
        "status": row.payload.get("status"),
        # One notification per item on the device: a newer one replaces the one shown.
        "tag": row.number,
        "lang": HTML_LANG[lang],
    }
    return orjson.dumps(body)


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("emstrack.notify", "templates"),
        # Escaped HTML; the plain-text parts are not HTML and must keep "&" in links as it is.
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _render(name: str, **context: Any) -> str:
    return _templates().get_template(name).render(**context)


#: The last notice's closing line (English, Chinese), by final status (store.outbox).
_FINAL = {
    Status.DELIVERED.value: (
        "The item has been delivered: this is the last e-mail about it.",
        "邮件已妥投，这是关于该邮件的最后一封通知。",
    ),
    Status.RETURNED.value: (
        "The item is back with its sender: this is the last e-mail about it.",
        "邮件已退回寄件人，这是关于该邮件的最后一封通知。",
    ),
}


def mail(row: OutboxRow, settings: Settings, lang: Lang) -> Mail:
    """The e-mail of a notice (a status change, or the confirmation of a new subscription)."""
    urls = links(row, settings)
    zh = lang == "zh"
    if row.kind == "confirm":
        subject = (
            f"请确认订阅 {row.number} 的邮件通知" if zh else f"Confirm e-mails about {row.number}"
        )
        context: dict[str, Any] = {"zh": zh, "number": row.number, "links": urls}
        text = _render("confirm.txt", **context)
        html = _render("confirm.html", **context)
    else:
        words = label(row.payload.get("status"), lang)
        subject = f"{row.number}：{words}" if zh else f"{row.number}: {words}"
        event = _event(row, lang)
        context = {
            "zh": zh,
            "number": row.number,
            "links": urls,
            "status": words,
            "previous": label(row.payload.get("previous_status"), lang),
            "summary": _summary(row, lang),
            "event": event,
            "final": _FINAL.get(row.payload.get("status") or "", ("", ""))[zh],
        }
        text = _render("status.txt", **context)
        html = _render("status.html", **context)
    return Mail(
        to=row.target,
        subject=subject,
        text=text,
        html=html,
        lang=lang,
        headers={
            # One-click unsubscribe (RFC 8058): mail clients show their own button for it.
            "List-Unsubscribe": f"<{urls['unsubscribe']}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def sign_in_mail(settings: Settings, to: str, link: str, lang: Lang) -> Mail:
    """The mail with a link that signs its reader in to the app (no unsubscribe: it is the
    answer to a request just made, and nothing else is ever sent for it)."""
    zh = lang == "zh"
    context: dict[str, Any] = {
        "zh": zh,
        "link": link,
        "minutes": settings.app_sign_in_link_minutes,
        "service": settings.brand.short_name.get(lang),
        "home": settings.public_url.rstrip("/") + "/app",
    }
    subject = "登录链接" if zh else "Your sign-in link"
    return Mail(
        to=to,
        subject=f"{context['service']}：{subject}" if zh else f"{context['service']}: {subject}",
        text=_render("signin.txt", **context),
        html=_render("signin.html", **context),
        lang=lang,
    )
