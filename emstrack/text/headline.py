"""The sentence that says where an item is: the page's banner, the API's `headline`, the bots'
reply.

One pure function of the item's state, in EN or ZH. The caller passes the state with its events
as the reader may see them (`domain.places.Projection.event` for a public answer): this module
never shows the signatory or the operator's free description, only the code's label, the
place, the local time and the reason, action and retention texts: in the reader's language
when they are a standard wording or code (`domain.reasons`), the operator's own text otherwise.
"""

from __future__ import annotations

from emstrack.domain import countries, reasons
from emstrack.domain.events import Event, Status, status_label
from emstrack.domain.lang import Lang
from emstrack.domain.status import ItemState
from emstrack.domain.times import format_offset
from emstrack.text.catalogue import translations


def headline(state: ItemState, lang: Lang) -> str:
    """The facts in one or two sentences: what happened last, where, when, and what follows."""
    _ = translations(lang).gettext
    event, latest = state.event, state.latest
    if latest is None:
        return _("Announced by the sender's post; not scanned yet.")
    if event is None:  # only codes we do not know
        return _("%(status)s: %(event)s.") % {
            "status": status_label(state.status, lang),
            "event": _said(latest, lang),
        }
    status = state.status
    facts = {"when": _when(event, lang), "place": _place(event, lang) or _("a place not given")}
    if status is Status.DELIVERED:
        return _("Delivered on %(when)s at %(place)s.") % facts
    if status is Status.RETURNED:
        return _("Returned to sender on %(when)s at %(place)s.") % facts
    if status is Status.RETURNING:
        cause = state.cause
        why = (_why(cause, "reason", lang) or _why(cause, "action", lang)) if cause else None
        said = {"why": why, "event": _said(latest, lang)}
        if why:
            return _("Being returned to sender (%(why)s). Latest: %(event)s.") % said
        return _("Being returned to sender. Latest: %(event)s.") % said
    if status is Status.AWAITING_PICKUP:
        return _("Waiting for collection at %(place)s since %(when)s.") % facts
    if status is Status.DELIVERY_FAILED:
        return _(
            "Delivery attempted on %(when)s at %(place)s, not delivered: %(why)s. Next: %(next)s."
        ) % {
            **facts,
            "why": _why(event, "reason", lang) or _("no reason given"),
            "next": _why(event, "action", lang) or _("ask the delivery office"),
        }
    if state.detail == "held":
        reason = _why(event, "retention", lang) or _why(event, "reason", lang)
        said = {**facts, "reason": reason or _("no reason given")}
        if status is Status.CUSTOMS_IMPORT:
            held = _(
                "Held by import customs at %(place)s since %(when)s: %(reason)s. What to do: "
                "the addressee gives customs what they ask for (documents, payment) through the "
                "destination post; the item moves on once released."
            )
        else:
            held = _(
                "Held by export customs at %(place)s since %(when)s: %(reason)s. What to do: "
                "the sender asks the post office where the item was posted."
            )
        return held % said
    if status is Status.TERMINATED:
        why = _why(event, "reason", lang)
        said = {"event": _said(event, lang), "why": why}
        if why:
            return _("Stopped, will not be delivered: %(event)s (%(why)s).") % said
        return _("Stopped, will not be delivered: %(event)s.") % said
    words = _("Released by customs") if state.detail == "released" else status_label(status, lang)
    return _("%(status)s: %(event)s.") % {"status": words, "event": _said(latest, lang)}


def _said(event: Event, lang: Lang) -> str:
    """ "Arrived at delivery office, KOELN, Germany, 2026-12-05 09:14 (UTC+1)"."""
    parts = (event.label(lang), _place(event, lang), _when(event, lang))
    return ("，" if lang == "zh" else ", ").join(p for p in parts if p)


def _place(event: Event, lang: Lang) -> str | None:
    office = event.office_name or event.office_code
    country = countries.country_name(event.country, lang) if event.country else None
    return ("，" if lang == "zh" else ", ").join(p for p in (office, country) if p) or None


def _when(event: Event, lang: Lang) -> str:
    offset = format_offset(event.utc_offset_min)
    local = event.occurred_local.strftime("%Y-%m-%d %H:%M")
    if offset:
        return f"{local} ({offset})"
    return local + translations(lang).gettext(" (local time)")


def _why(event: Event, kind: str, lang: Lang) -> str | None:
    """An event's reason, action or retention (`kind`): in the reader's language when it has a
    category (`domain.reasons`), otherwise the operator's text as sent, or its code; without a
    final stop. None when the event gives neither."""
    code, text = getattr(event, f"{kind}_code"), getattr(event, f"{kind}_text")
    said = reasons.wording(code, text, lang)
    return (said.text.rstrip(".。") or None) if said else None
