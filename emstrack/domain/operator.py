"""Operator events: scans an operator's feed reports in its own words, without a UPU code.

A source profile (`emstrack.ingest.profiles`) maps such a text to a public label in English and
Chinese and to one `Effect`, a closed set of what the scan says of the item. Each effect stands
for the catalogue code whose status and journey rank it shares (docs/import.md, "Operator
events"), so the status rules of `domain.status` settle an item whose history mixes UPU and
operator events without knowing the difference. `none` stands for a code outside the catalogue:
such an event is listed and never sets the status.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import Final


class Effect(StrEnum):
    """What an operator event says of the item's progress."""

    NONE = "none"
    ACCEPTED = "accepted"
    ORIGIN_TRANSIT = "origin_transit"
    DEPARTED_ORIGIN = "departed_origin"
    INTERNATIONAL_TRANSIT = "international_transit"
    ARRIVED_DESTINATION = "arrived_destination"
    IMPORT_CUSTOMS = "import_customs"
    DESTINATION_TRANSIT = "destination_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AWAITING_PICKUP = "awaiting_pickup"
    DELIVERY_FAILED = "delivery_failed"
    DELIVERED = "delivered"


#: The code an event with no effect is stored under: not in the catalogue, so it never sets
#: the status (docs/standards/events.md §3).
NO_EFFECT_CODE: Final = "OPR"

#: The catalogue code each effect stands for (its status, leg and rank).
STAND_IN: Final[dict[Effect, str]] = {
    Effect.NONE: NO_EFFECT_CODE,
    Effect.ACCEPTED: "EMA",
    Effect.ORIGIN_TRANSIT: "EMB",
    Effect.DEPARTED_ORIGIN: "EMC",
    Effect.INTERNATIONAL_TRANSIT: "EMJ",
    Effect.ARRIVED_DESTINATION: "EMD",
    Effect.IMPORT_CUSTOMS: "EDB",
    Effect.DESTINATION_TRANSIT: "EDD",
    Effect.OUT_FOR_DELIVERY: "EDG",
    Effect.AWAITING_PICKUP: "EDH",
    Effect.DELIVERY_FAILED: "EMH",
    Effect.DELIVERED: "EMI",
}


def normalise_text(text: str) -> str:
    """An operator's text as rules match it: NFKC (full-width forms folded), case-folded,
    runs of white space made one space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def public_label(label_en: str | None, label_zh: str | None, lang: str) -> str:
    """An operator event's label for the public, in `lang` where the profile gave one."""
    first, second = (label_zh, label_en) if lang == "zh" else (label_en, label_zh)
    return first or second or ("其他事件" if lang == "zh" else "Other event")
