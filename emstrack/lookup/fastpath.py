"""The API's fast path: a found item's JSON document straight from the database's rows.

What `Tracker.lookup(...).to_dict(...)` does through an `Event` per row, in one pass over the
rows of `store.events.history_rows`: the order of `status.order_events`, the status of
`status.state_of`, the fields of `model.event_to_dict`. The same bytes, made faster; the tests
compare the two on every history of the demo.

Columns are found by name in the store's `HISTORY_EVENT_FIELDS`, once, at import: a change of
the query's column order changes the indexes, not the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from emstrack.domain import places
from emstrack.domain.events import CATALOGUE, TERMINAL, Event, Status
from emstrack.domain.lang import Lang
from emstrack.domain.operator import NO_EFFECT_CODE, public_label
from emstrack.domain.status import ItemState, return_journey
from emstrack.domain.tracking_number import TrackingNumber
from emstrack.lookup.model import (
    PRIVATE_EVENT_FIELDS,
    Outcome,
    cached_country_name,
    code_texts,
    document,
    iso_seconds,
    offset_texts,
    split_current,
)
from emstrack.store.events import HISTORY_EVENT_FIELDS, events_from_rows
from emstrack.store.items import ItemRow
from emstrack.text.headline import headline

_CODE = HISTORY_EVENT_FIELDS.index("code")
_LOCAL = HISTORY_EVENT_FIELDS.index("occurred_local")
_OFFSET = HISTORY_EVENT_FIELDS.index("utc_offset_min")
_OFFICE = HISTORY_EVENT_FIELDS.index("office_code")
_COUNTRY = HISTORY_EVENT_FIELDS.index("country")
#: An operator event's effect and labels (`model.event_to_dict`).
_OPERATOR = itemgetter(
    *(HISTORY_EVENT_FIELDS.index(name) for name in ("effect", "label_en", "label_zh"))
)
#: A row's `status.Facts`: what the return rules read.
_FACTS = itemgetter(
    *(
        HISTORY_EVENT_FIELDS.index(name)
        for name in ("code", "country", "office_code", "office_name", "reason_text", "action_text")
    )
)
#: A row's values of `places.FIELDS`, in that order: what a projection takes.
_PLACES = itemgetter(*(HISTORY_EVENT_FIELDS.index(name) for name in places.FIELDS))
#: (field, column) of the personal fields, shown only when private.
_PRIVATE = tuple((name, HISTORY_EVENT_FIELDS.index(name)) for name in PRIVATE_EVENT_FIELDS)

#: The catalogue rank `status.order_events` gives a code outside the catalogue: after all.
_UNKNOWN_RANK = len(CATALOGUE) + 1
_first = itemgetter(0)


def found_document(
    tn: TrackingNumber,
    item_rows: list[ItemRow],
    rows: Sequence[Sequence[Any]],
    lang: Lang,
    private: bool,
) -> dict[str, Any] | None:
    """`TrackingResult.to_dict` of a found item, from the rows of `history_rows`.

    None when two events share `order_events`' short key: their order needs the full one.
    """
    code_at, local_at, offset_at, office_at, country_at = _CODE, _LOCAL, _OFFSET, _OFFICE, _COUNTRY
    current, earlier = split_current(item_rows)
    keyed = []
    for row in rows:
        raw = row[local_at]
        if isinstance(raw, str):
            local = datetime.fromisoformat(raw)
            # SQLite's text, `YYYY-MM-DD HH:MM:SS[.ffffff]`, holds the answer's local time in
            # its first 19 characters: cheaper to cut out than to format the datetime again.
            if len(raw) >= 19 and raw[10] == " ":
                local_text = raw[:10] + "T" + raw[11:19]
            else:
                local_text = iso_seconds(local)
        else:
            local, local_text = raw, iso_seconds(raw)
        offset = row[offset_at]
        texts = None if offset is None else offset_texts(offset)
        # Naive UTC, or the wall time when the offset is unknown, as in `status.sort_key`.
        when = local if texts is None else local - texts[2]
        entry = CATALOGUE.get(row[code_at])
        key = (when, entry.rank if entry else _UNKNOWN_RANK)
        keyed.append((key, entry, local_text, texts, row))
    if len(set(map(_first, keyed))) < len(keyed):
        return None
    keyed.sort(key=_first, reverse=True)  # newest first

    # `TrackingResult.origin_country` and `destination_country`.
    origin = current.origin_country or None
    if not origin:
        for _, _, _, _, row in reversed(keyed):
            if row[country_at] or row[office_at]:
                origin = row[country_at] or (row[office_at] or "")[:2] or None
                break
    destination = current.destination_country or None
    if not destination:
        for _, entry, _, _, row in keyed:
            if entry and entry.leg == "destination" and (row[country_at] or row[office_at]):
                destination = row[country_at] or (row[office_at] or "")[:2] or None
                break

    # `TrackingResult.projection`: the public sees places without postcodes.
    projection = (
        None if private else places.Projection(origin, destination, current.destination_postcode)
    )
    shown = None if projection is None else projection.fields
    docs = []
    for (when, _), _, local_text, texts, row in keyed:
        code = row[code_at]
        if texts is None:
            iso_offset = offset_label = utc = None
        else:
            iso_offset, offset_label, _ = texts
            # `iso_seconds`, inlined: this runs for every event of every answer.
            utc = (
                when.isoformat() if not when.microsecond else when.isoformat(timespec="seconds")
            ) + "Z"
        label, status, detail, known = code_texts(code, lang)
        effect, label_en, label_zh = _OPERATOR(row)
        if effect is not None:
            label = public_label(label_en, label_zh, lang)
            code, known = NO_EFFECT_CODE, False  # no UPU code (`model.event_to_dict`)
        p = _PLACES(row) if shown is None else shown(_PLACES(row))
        doc: dict[str, Any] = {
            "code": code,
            "label": label,
            "status": status,
            "detail": detail,
            "local_time": local_text,
            "utc_offset": iso_offset,
            "utc_offset_label": offset_label,
            "utc_time": utc,
            "office_code": p[0],
            "office_name": p[1],
            "country": p[2],
            "country_name": cached_country_name(p[2], lang),
            "next_office_code": p[3],
            "reason_code": p[4],
            "reason_text": p[5],
            "action_code": p[6],
            "action_text": p[7],
            "retention_code": p[8],
            "retention_text": p[9],
            "known_code": known,
        }
        if private:
            for name, at in _PRIVATE:
                doc[name] = row[at]
        docs.append(doc)

    # `state_of`: a return journey; else the newest terminal event, else the newest of a known
    # code, sets the status.
    turn = return_journey([_FACTS(row) for *_, row in reversed(keyed)])
    # The status's entry, and the indexes in `keyed` of its event and of a return's cause.
    setter = None
    event_at: int | None = None
    cause_at: int | None = None
    if turn is None:
        for i, (_, entry, _, _, _) in enumerate(keyed):
            if entry is None:
                continue
            if entry.status in TERMINAL:
                setter, event_at = entry, i
                break
            if setter is None:
                setter, event_at = entry, i
    if turn is not None:
        status_ = Status.RETURNING if turn[1] is None else Status.RETURNED
        status_detail = None
        last = len(keyed) - 1
        cause_at = last - turn[0]
        if turn[1] is None:
            event_at = next(i for i, k in enumerate(keyed) if k[1] is not None)
        else:
            event_at = last - turn[1]
    elif setter is not None:
        status_, status_detail = setter.status, setter.detail
    else:
        status_, status_detail = (Status.UNKNOWN if keyed else Status.INFO_RECEIVED), None

    # `TrackingResult.shown_state`: the headline's events, built from their rows only.
    def shown_event(i: int | None) -> Event | None:
        if i is None:
            return None
        (event,) = events_from_rows([keyed[i][4]])
        return event if projection is None else projection.event(event)

    state = ItemState(
        status=status_,
        detail=status_detail,
        event=shown_event(event_at),
        latest=shown_event(0) if keyed else None,
        delivered=status_ is Status.DELIVERED,
        terminal=status_ in TERMINAL,
        cause=shown_event(cause_at),
    )

    # The newest event's times: `_iso` and `utc_text` give the same texts as the event's fields.
    latest = (docs[0]["local_time"], docs[0]["utc_time"]) if docs else (None, None)
    return document(
        tn,
        Outcome.FOUND,
        status_,
        status_detail,
        headline(state, lang),
        None,
        current,
        docs,
        earlier,
        (origin, destination),
        latest,
        lang,
        private,
    )
