"""UPU item event codes: the catalogue, the normalised status of each, and the Event value.

Statuses come from an exact lookup in `CATALOGUE`, never from the operator's free text
("could not be delivered" contains "delivered"). A code not in the catalogue is kept with its
raw text and has status `unknown`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from emstrack.domain.lang import Lang
from emstrack.domain.operator import public_label


class Status(StrEnum):
    """The coarse status of an item (docs/standards/events.md §3)."""

    INFO_RECEIVED = "info_received"
    ACCEPTED = "accepted"
    IN_TRANSIT = "in_transit"
    CUSTOMS_EXPORT = "customs_export"
    CUSTOMS_IMPORT = "customs_import"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AWAITING_PICKUP = "awaiting_pickup"
    DELIVERY_FAILED = "delivery_failed"
    DELIVERED = "delivered"
    TERMINATED = "terminated"
    RETURNING = "returning"
    RETURNED = "returned"
    UNKNOWN = "unknown"


#: Statuses that end an item's journey: a later non-terminal scan does not undo them.
TERMINAL = frozenset({Status.DELIVERED, Status.TERMINATED, Status.RETURNED})


class Leg(StrEnum):
    ORIGIN = "origin"
    TRANSIT = "transit"
    DESTINATION = "destination"


@dataclass(frozen=True, slots=True)
class EventCode:
    """One catalogue entry. `rank` orders codes along the journey, to break ties in time."""

    code: str
    label_en: str
    label_zh: str
    leg: Leg
    status: Status
    detail: str | None
    rank: int

    def label(self, lang: Lang = "en") -> str:
        return self.label_zh if lang == "zh" else self.label_en


_O, _T, _D = Leg.ORIGIN, Leg.TRANSIT, Leg.DESTINATION
_S = Status

# (code, English, Simplified Chinese, leg, status, detail), in journey order.
_TABLE: tuple[tuple[str, str, str, Leg, Status, str | None], ...] = (
    ("EMA", "Posted / collected", "收寄", _O, _S.ACCEPTED, None),
    ("EMB", "Arrived at outward office of exchange", "到达出口互换局", _O, _S.IN_TRANSIT, None),
    ("EXA", "Presented to export customs", "已交出口海关/安检", _O, _S.CUSTOMS_EXPORT, "presented"),
    ("EXB", "Held by export customs", "出口海关/安检扣留", _O, _S.CUSTOMS_EXPORT, "held"),
    ("EXC", "Released by export customs", "出口海关/安检放行", _O, _S.CUSTOMS_EXPORT, "released"),
    ("EXD", "Held at outward office of exchange", "在出口互换局滞留", _O, _S.IN_TRANSIT, None),
    ("EXX", "Export cancelled", "出口取消", _O, _S.TERMINATED, "export_cancelled"),
    ("EMC", "Departed outward office of exchange", "离开出口互换局", _O, _S.IN_TRANSIT, None),
    ("EMJ", "Arrived at transit office of exchange", "到达转运互换局", _T, _S.IN_TRANSIT, None),
    ("EMK", "Departed transit office of exchange", "离开转运互换局", _T, _S.IN_TRANSIT, None),
    ("EMD", "Arrived at inward office of exchange", "到达进口互换局", _D, _S.IN_TRANSIT, None),
    ("EDA", "Held at inward office of exchange", "在进口互换局滞留", _D, _S.IN_TRANSIT, None),
    ("EDB", "Presented to import customs", "已交进口海关", _D, _S.CUSTOMS_IMPORT, "presented"),
    ("EME", "Held by import customs", "进口海关扣留", _D, _S.CUSTOMS_IMPORT, "held"),
    ("EDC", "Released by import customs", "进口海关放行", _D, _S.CUSTOMS_IMPORT, "released"),
    ("EMF", "Departed inward office of exchange", "离开进口互换局", _D, _S.IN_TRANSIT, None),
    ("EDD", "Arrived at sorting centre", "到达处理中心", _D, _S.IN_TRANSIT, None),
    ("EDE", "Left sorting centre", "离开处理中心", _D, _S.IN_TRANSIT, None),
    ("EMG", "Arrived at delivery office", "到达投递局", _D, _S.IN_TRANSIT, None),
    ("EDF", "Held at delivery office", "在投递局滞留", _D, _S.AWAITING_PICKUP, None),
    ("EDG", "Out for delivery", "安排投递", _D, _S.OUT_FOR_DELIVERY, None),
    ("EDH", "Ready for pick-up at collection point", "到达自提点，待收件人领取", _D,
     _S.AWAITING_PICKUP, None),
    ("EMH", "Delivery attempted, not delivered", "投递未成功", _D, _S.DELIVERY_FAILED, None),
    ("EMI", "Delivered", "已妥投", _D, _S.DELIVERED, None),
    ("EDX", "Import terminated", "进口终止", _D, _S.TERMINATED, "import_terminated"),
)  # fmt: skip

CATALOGUE: dict[str, EventCode] = {
    code: EventCode(code, en, zh, leg, status, detail, rank)
    for rank, (code, en, zh, leg, status, detail) in enumerate(_TABLE, start=1)
}

#: Status labels for people: (English, Simplified Chinese).
STATUS_LABELS: dict[Status, tuple[str, str]] = {
    Status.INFO_RECEIVED: (
        "Announced by the sender's post, not scanned yet",
        "已收到电子信息，尚未收寄扫描",
    ),
    Status.ACCEPTED: ("Posted", "已收寄"),
    Status.IN_TRANSIT: ("In transit", "运输中"),
    Status.CUSTOMS_EXPORT: ("At export customs", "出口海关处理中"),
    Status.CUSTOMS_IMPORT: ("At import customs", "进口海关处理中"),
    Status.OUT_FOR_DELIVERY: ("Out for delivery", "派送中"),
    Status.AWAITING_PICKUP: ("Waiting for collection", "待领取"),
    Status.DELIVERY_FAILED: ("Delivery attempted", "投递未成功"),
    Status.DELIVERED: ("Delivered", "已妥投"),
    Status.TERMINATED: ("Stopped", "已终止"),
    Status.RETURNING: ("Being returned to sender", "退回中"),
    Status.RETURNED: ("Returned to sender", "已退回寄件人"),
    Status.UNKNOWN: ("Status unknown", "状态未知"),
}  # fmt: skip


#: The codes whose action (or reason) can say that the item goes back to its sender
#: (docs/standards/events.md §3, "Return journeys"): a failed delivery, customs' hold, the end
#: of the import.
RETURN_CODES = frozenset({"EMH", "EME", "EDX"})

#: What a return says, as one clause of an action or reason text, normalised (`_clauses`). The
#: UPU's numeric action codes are not known to the project (docs/standards/events.md §7), so
#: the texts decide, by exact lookup of a whole clause and never by a substring: "Refused by
#: addressee, returned to sender" is a return; "not returned to sender" is not.
RETURN_PHRASES = frozenset({
    "returned to sender", "return to sender", "returned to the sender", "return to the sender",
    "being returned to sender", "to be returned to sender", "sent back to sender",
    "returned to origin", "return to origin", "retour à l'expéditeur", "renvoyé à l'expéditeur",
    "退回", "退回寄件人", "退回原寄地", "退回原寄件人", "已退回", "退件", "退回发件人",
})  # fmt: skip

_CLAUSE_BREAKS = re.compile(r"[,;:.()\[\]，；：。（）、/|]+| - | – | — ")


def _clauses(text: str) -> list[str]:
    return [" ".join(part.split()).casefold() for part in _CLAUSE_BREAKS.split(text)]


def says_return(*texts: str | None) -> bool:
    """Whether one of an event's action or reason texts says the item goes back to its sender."""
    return any(clause in RETURN_PHRASES for text in texts if text for clause in _clauses(text))


def describe(code: str) -> EventCode | None:
    """The catalogue entry of a code, or None for a code we do not know."""
    return CATALOGUE.get(code.strip().upper())


def status_of(code: str) -> Status:
    entry = describe(code)
    return entry.status if entry else Status.UNKNOWN


def unlisted_label(code: str, lang: Lang = "en") -> str:
    """The public label of a code not in the catalogue. Never the operator's free text, which
    may name people or places (it is a private field, shown with proof or a key)."""
    return f"其他事件（代码 {code}）" if lang == "zh" else f"Other event (code {code})"


def status_label(status: Status, lang: Lang = "en") -> str:
    en, zh = STATUS_LABELS[status]
    return zh if lang == "zh" else en


def dedupe_key(
    code: str, occurred_local: datetime, office_code: str | None, office_name: str | None
) -> str:
    """The identity of an event within one item (docs/standards/events.md §4).

    Time truncated to the minute (many sources print minutes only); office name trimmed and
    case-folded. Hashed to a fixed width so it indexes compactly.
    """
    office = (office_code or "").strip().upper() or " ".join((office_name or "").split()).casefold()
    minute = occurred_local.isoformat(timespec="minutes")  # truncates: seconds never count
    text = f"{code.strip().upper()}|{minute}|{office}"
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


# Not frozen: a frozen dataclass of this width costs ten times as much to build, and a bulk
# import builds a million. Treat it as a value all the same: change it only with `replace`.
@dataclass(slots=True)
class Event:
    """One scan of one item, as reported, with its times kept honest.

    `occurred_local` is the office's wall-clock time, naive, exactly as given. `utc_offset_min`
    is known from the source or derived from the office's country, or None; `occurred_utc` is
    derived from it only when it is known.
    """

    code: str
    occurred_local: datetime
    utc_offset_min: int | None = None
    office_code: str | None = None
    office_name: str | None = None
    country: str | None = None
    next_office_code: str | None = None
    reason_code: str | None = None
    reason_text: str | None = None
    action_code: str | None = None
    action_text: str | None = None
    retention_code: str | None = None
    retention_text: str | None = None
    signatory: str | None = None
    description: str | None = None
    source: str | None = None
    # An operator event (docs/import.md): the profile that read it, the rule that mapped its
    # text (None: unmapped), its public labels and its effect (`domain.operator.Effect`). Kept
    # before `ingested_at`: the store reads rows into an Event by position.
    profile: str | None = None
    rule: str | None = None
    label_en: str | None = None
    label_zh: str | None = None
    effect: str | None = None
    ingested_at: datetime | None = None
    raw: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def occurred_utc(self) -> datetime | None:
        if self.utc_offset_min is None:
            return None
        return (self.occurred_local - timedelta(minutes=self.utc_offset_min)).replace(tzinfo=UTC)

    @property
    def entry(self) -> EventCode | None:
        return CATALOGUE.get(self.code)

    @property
    def status(self) -> Status:
        entry = CATALOGUE.get(self.code)
        return entry.status if entry else Status.UNKNOWN

    @property
    def detail(self) -> str | None:
        entry = CATALOGUE.get(self.code)
        return entry.detail if entry else None

    def label(self, lang: Lang = "en") -> str:
        """The canonical label; for a code not in the catalogue, `unlisted_label`; for an
        operator event, its profile's (docs/import.md)."""
        if self.effect is not None:
            return public_label(self.label_en, self.label_zh, lang)
        entry = CATALOGUE.get(self.code)
        if entry:
            return entry.label(lang)
        return unlisted_label(self.code, lang)

    @property
    def key(self) -> str:
        if self.profile is not None:
            # An event read through a profile is its text, not the code a rule gave it: a
            # changed rule (`emstrack sources remap`) keeps the key, and a feed read again
            # finds its events.
            text = " ".join((self.description or "").casefold().split())
            return dedupe_key(f"~{text}", self.occurred_local, self.office_code, self.office_name)
        return dedupe_key(self.code, self.occurred_local, self.office_code, self.office_name)


_MERGEABLE = tuple(
    f.name for f in fields(Event) if f.name not in ("code", "occurred_local", "ingested_at", "raw")
)


def merge(stored: Event, newcomer: Event) -> Event:
    """A duplicate adds detail only: fill the stored event's empty fields from the newcomer."""
    changes = {
        name: getattr(newcomer, name)
        for name in _MERGEABLE
        if getattr(stored, name) in (None, "") and getattr(newcomer, name) not in (None, "")
    }
    return replace(stored, **changes) if changes else stored
