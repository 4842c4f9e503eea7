"""What the item page shows, worked out from a lookup: banner, milestones, timeline rows.

Words come from the page's translations (`t`), so this module decides *what* to say and the
catalogue says it in the viewer's language. Personal fields appear only when `private`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from babel.support import NullTranslations
from markupsafe import Markup, escape

from emstrack.domain import countries, operators, reasons
from emstrack.domain.events import Event, Status
from emstrack.domain.lang import Lang
from emstrack.domain.times import format_offset
from emstrack.domain.tracking_number import NumberKind
from emstrack.lookup import TrackingResult
from emstrack.text.headline import headline as summary
from emstrack.web import i18n

#: The steps of the outbound line, in order; a domestic item's has no customs step.
POSTED, TRANSIT, CUSTOMS, TO_DOOR, OUT, DELIVERED = range(6)

#: Which step each code puts the item in (docs/standards/events.md §1): an item is in a step
#: while its newest known scan is, so released by customs (`EDC`) is on the way to the door.
_PHASE = {
    "EMA": POSTED,
    **dict.fromkeys(("EMB", "EXA", "EXB", "EXC", "EXD", "EXX", "EMC"), TRANSIT),
    **dict.fromkeys(("EMJ", "EMK", "EMD", "EDA"), TRANSIT),
    **dict.fromkeys(("EDB", "EME", "EDX"), CUSTOMS),
    **dict.fromkeys(("EDC", "EMF", "EDD", "EDE", "EMG", "EDF"), TO_DOOR),
    **dict.fromkeys(("EDG", "EDH", "EMH"), OUT),
    "EMI": DELIVERED,
}

#: The return line: on the way back, in the origin country again, with the sender.
BACK, HOME, RETURNED = range(3)

#: The tone of a status on the page: a colour *and* a word, never a colour alone.
TONE = {
    Status.DELIVERED: "good",
    Status.CUSTOMS_IMPORT: "attention",
    Status.CUSTOMS_EXPORT: "attention",
    Status.DELIVERY_FAILED: "problem",
    Status.TERMINATED: "problem",
    Status.AWAITING_PICKUP: "attention",
    Status.RETURNING: "problem",
    Status.RETURNED: "problem",
}


@dataclass(frozen=True, slots=True)
class Step:
    label: str
    state: str  # "done", "current" or "todo"


@dataclass(frozen=True, slots=True)
class Row:
    """One event of the timeline."""

    label: str
    tone: str
    place: str
    when: str
    offset: str
    ago: str | None
    details: list[reasons.Wording]  # text, and the language of an operator's own text
    private: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ItemView:
    headline: str
    summary: str  # the facts: `text.headline`, as the API's `headline` and the bots say them
    tone: str
    steps: list[Step]
    rows: list[Row]
    origin: str | None
    destination: str | None
    stale_days: int | None  # days without news when the item looks stale, else None
    advice: list[str]  # "customs", "failed", "pickup", "stale": the advice boxes to show
    service: str | None
    issuer: str | None
    last_event_ago: str | None
    # The destination's post, from the item's first event in that country on (`Handover`).
    handover: Handover | None = None
    # "Last scan 3 hours ago" under the status, and "Step 3 of 6: Customs" under the progress
    # line on a phone (where six labels do not fit under their steps), as the page says them.
    last_scan: Markup | None = None
    step_now: Markup | None = None

    def timeline(self) -> Markup:
        """The timeline's rows as `_found.html` lays them out, drawn here in one piece: a
        page has a dozen rows of a dozen values each, and Jinja's loop cost a fifth of the
        page (tests/web/test_page_bytes.py holds the bytes)."""
        return Markup("".join(_row_html(row) for row in self.rows))


@dataclass(frozen=True, slots=True)
class Handover:
    """The destination country's operator that now has the item: its name in the reader's
    language, the country's name, its site, its tracking page for this number, its phones."""

    operator: str
    country: str
    site: str
    tracking_url: str | None
    phones: tuple[operators.Phone, ...]


def handover(result: TrackingResult, lang: Lang) -> Handover | None:
    """The hand-over block's facts, when the item has reached its destination country."""
    found = result.destination_operator
    if found is None:
        return None
    return Handover(
        operator=found.name(lang),
        country=countries.country_name(found.country, lang) or found.country,
        site=found.site,
        tracking_url=found.tracking_link(result.number.number),
        phones=found.phones,
    )


def flag(code: str | None) -> str:
    """The flag emoji of a two-letter country code ("" for anything else)."""
    if not code or len(code) != 2 or not code.isalpha() or not code.isascii():
        return ""
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in code.upper())


def place_name(code: str | None, lang: Lang) -> str | None:
    if not code:
        return None
    name = countries.country_name(code, lang) or code
    return f"{flag(code)} {name}".strip()


def headline(
    status: Status, detail: str | None, country: str | None, lang: Lang, t: NullTranslations
) -> str:
    """The status banner in plain words: "Held by import customs in Germany"."""
    where = countries.country_name(country, lang) if country else None
    texts = _headlines(status, detail, t)
    return texts[1] % {"country": where} if where else texts[0]


def _headlines(status: Status, detail: str | None, t: NullTranslations) -> tuple[str, str]:
    _ = t.gettext
    if status is Status.CUSTOMS_IMPORT or status is Status.CUSTOMS_EXPORT:
        if detail == "held":
            if status is Status.CUSTOMS_IMPORT:
                return _("Held by import customs"), _("Held by import customs in %(country)s")
            return _("Held by export customs"), _("Held by export customs in %(country)s")
        if detail == "released":
            return _("Released by customs"), _("Released by customs in %(country)s")
        return _("With customs"), _("With customs in %(country)s")
    table = {
        Status.INFO_RECEIVED: (_("Announced, not scanned yet"), _("Announced, not scanned yet")),
        Status.ACCEPTED: (_("Posted"), _("Posted in %(country)s")),
        Status.IN_TRANSIT: (_("In transit"), _("In transit, last seen in %(country)s")),
        Status.OUT_FOR_DELIVERY: (_("Out for delivery"), _("Out for delivery in %(country)s")),
        Status.AWAITING_PICKUP: (
            _("Waiting for you to collect it"),
            _("Waiting for collection in %(country)s"),
        ),
        Status.DELIVERY_FAILED: (
            _("Delivery attempted, not delivered"),
            _("Delivery attempted in %(country)s, not delivered"),
        ),
        Status.DELIVERED: (_("Delivered"), _("Delivered in %(country)s")),
        Status.TERMINATED: (_("Stopped, will not be delivered"), _("Stopped in %(country)s")),
        Status.RETURNING: (
            _("Being returned to sender"),
            _("Being returned to sender, last seen in %(country)s"),
        ),
        Status.RETURNED: (_("Returned to sender"), _("Returned to sender in %(country)s")),
    }
    return table.get(status, (_("Status unknown"), _("Status unknown")))


def _line(labels: list[str], current: int, done_all: bool = False) -> list[Step]:
    return [
        Step(label, "done" if i < current or done_all else "current" if i == current else "todo")
        for i, label in enumerate(labels)
    ]


def _steps(result: TrackingResult, t: NullTranslations) -> list[Step]:
    """The progress line: the outbound one, without customs for a domestic item, or the return
    line for an item on its way back; the current step is where the newest known scan is."""
    _ = t.gettext
    state = result.state
    status = state.status if state else Status.UNKNOWN
    event = state.event if state else None
    if status is Status.RETURNING or status is Status.RETURNED:
        labels = [_("Being returned"), _("Back in the origin country"), _("Returned to sender")]
        if status is Status.RETURNED:
            return _line(labels, RETURNED, done_all=True)
        origin = result.origin_country
        home = event is not None and origin is not None and event.country == origin
        return _line(labels, HOME if home else BACK)
    origin, destination = result.origin_country, result.destination_country
    domestic = result.number.kind is NumberKind.DOMESTIC or (
        origin is not None and origin == destination
    )
    labels = [
        _("Posted"),
        _("In transit"),
        _("Customs"),
        _("To the delivery office"),
        _("Out for delivery"),
        _("Delivered"),
    ]
    phase = _PHASE.get(event.code, -1) if event else -1
    if domestic:
        # No customs: the scans of the sorting centres are the transit.
        del labels[CUSTOMS]
        if event is not None and event.code in ("EDD", "EDE"):
            phase = TRANSIT
        elif phase > CUSTOMS:
            phase -= 1
    return _line(labels, phase, done_all=status is Status.DELIVERED)


#: How long ago an instant (aware, UTC) was, in the reader's words: `i18n.ago` from the page's
#: clock, or a mark where a kept page leaves the time out (`web.keptpages`).
Relative = Callable[[datetime], str]


def _row(e: Event, relative: Relative, lang: Lang, t: NullTranslations, private: bool) -> Row:
    """One timeline row; `e` is the public projection of the event (`TrackingResult.projection`)."""
    office = e.office_name or e.office_code or ""
    country = countries.country_name(e.country, lang) if e.country else None
    place = ", ".join(p for p in (office, country) if p) or t.gettext("Place not given")
    offset = format_offset(e.utc_offset_min) or t.gettext("local time, offset unknown")
    utc = e.occurred_utc
    ago = relative(utc) if utc else None
    # A reason with a category in the reader's words; the operator's own text as sent, marked
    # with its language where its script tells (docs/standards/events.md §7).
    pairs = (
        (e.reason_code, e.reason_text),
        (e.action_code, e.action_text),
        (e.retention_code, e.retention_text),
    )
    details = [said for code, text in pairs if text and (said := reasons.wording(code, text, lang))]
    hidden: list[tuple[str, str]] = []
    if private:
        if e.signatory:
            hidden.append((t.gettext("Signed by"), e.signatory))
        if e.description:
            hidden.append((t.gettext("Note"), e.description))
    return Row(
        label=e.label(lang),
        tone=TONE.get(e.status, "neutral"),
        place=place,
        when=i18n.local_time(e.occurred_local, lang),
        offset=offset,
        ago=ago,
        details=details,
        private=hidden,
    )


def _row_html(row: Row) -> str:
    ago = f" · {escape(row.ago)}" if row.ago else ""
    details = "".join(
        f'<p class="event-detail" lang="{escape(d.lang)}">{escape(d.text)}</p>'
        if d.lang
        else f'<p class="event-detail">{escape(d.text)}</p>'
        for d in row.details
    )
    hidden = "".join(
        f'<p class="event-private"><strong>{escape(name)}:</strong> {escape(value)}</p>'
        for name, value in row.private
    )
    return (
        f'    <li class="event tone-{escape(row.tone)}">\n'
        '      <span class="dot" aria-hidden="true"></span>\n'
        f'      <p class="event-label">{escape(row.label)}</p>\n'
        f'      <p class="event-place">{escape(row.place)}</p>\n'
        f'      <p class="event-time"><time>{escape(row.when)}</time> '
        f'<span class="offset">({escape(row.offset)})</span>{ago}</p>\n'
        f"{details}{hidden}    </li>\n"
    )


def last_seen(result: TrackingResult) -> datetime | None:
    """The instant of the item's newest scan (its local time where its offset is unknown)."""
    latest = result.events[0] if result.events else None
    if latest is None:
        return None
    return latest.occurred_utc or latest.occurred_local.replace(tzinfo=UTC)


def build(
    result: TrackingResult,
    lang: Lang,
    t: NullTranslations,
    *,
    stale_after_days: int,
    private: bool = False,
    now: datetime | None = None,
    relative: Relative | None = None,
) -> ItemView:
    """The page's view of a found item at `now`; its relative times by `relative` (default:
    how long before `now`)."""
    now = now or datetime.now(UTC)
    if relative is None:
        relative = partial(_ago, now, lang)
    state = result.state
    status = state.status if state else Status.UNKNOWN
    event = state.event if state else None
    seen = last_seen(result)
    since = now - seen if seen is not None else None
    stale = (
        since is not None
        and not (state and state.terminal)
        and since > timedelta(days=stale_after_days)
    )
    advice = {
        Status.CUSTOMS_IMPORT: "customs",
        Status.CUSTOMS_EXPORT: "customs",
        Status.DELIVERY_FAILED: "failed",
        Status.AWAITING_PICKUP: "pickup",
    }.get(status)
    if state and state.detail == "released":
        advice = None
    tn = result.number
    # Places without postcodes, for the recipient who unlocked the page too: proving one
    # postcode must not show the postcodes of other places (the posting office's is the proof
    # of the items delivered there).
    shown = result.projection()
    events = [shown.event(e) for e in result.events]
    steps = _steps(result, t)
    ago = relative(seen) if seen is not None else None
    shown_state = result.shown_state(shown)
    return ItemView(
        headline=headline(
            status, state.detail if state else None, event.country if event else None, lang, t
        ),
        summary=summary(shown_state, lang) if shown_state else "",
        tone=TONE.get(status, "neutral"),
        steps=steps,
        rows=[_row(e, relative, lang, t, private) for e in events],
        origin=place_name(result.origin_country, lang),
        destination=place_name(result.destination_country, lang),
        stale_days=since.days if stale and since else None,
        advice=[a for a in (advice, "stale" if stale else None) if a],
        service=tn.service_label(lang),
        issuer=tn.issuer_name(lang),
        last_event_ago=ago,
        handover=handover(result, lang),
        last_scan=Markup(t.gettext("Last scan %(ago)s")) % {"ago": ago} if ago else None,
        step_now=_step_now(steps, t),
    )


def _ago(now: datetime, lang: Lang, instant: datetime) -> str:
    return i18n.ago(now - instant, lang)


def _step_now(steps: list[Step], t: NullTranslations) -> Markup | None:
    """ "Step 3 of 6: Customs" for the current step, None when no step is current."""
    for n, step in enumerate(steps, 1):
        if step.state == "current":
            said = Markup(t.gettext("Step %(n)s of %(total)s: %(label)s"))
            return said % {"n": n, "total": len(steps), "label": step.label}
    return None
