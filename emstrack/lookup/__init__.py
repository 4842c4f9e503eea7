"""The answer to "where is my item?": one tracking number in, item + status + history out.

The same answer feeds the CLI (`emstrack track`), the JSON API and the pages. When there is
nothing to show, the answer says why: `invalid` (what is wrong, and what was probably meant),
`not_found_yet` (a valid number with no scan so far) or `unknown` (a number we cannot place).

- `model`: the answer (`TrackingResult`, `Outcome`) and its JSON document;
- `fastpath`: the same document built straight from the database's rows, for the API;
- `tracker`: the `Tracker`, which reads through the store's `Database` and answers.
"""

from emstrack.lookup.model import (
    PRIVATE_EVENT_FIELDS,
    Answer,
    Outcome,
    TrackingResult,
    event_to_dict,
)
from emstrack.lookup.tracker import Allowance, Tracker

__all__ = [
    "PRIVATE_EVENT_FIELDS",
    "Allowance",
    "Answer",
    "Outcome",
    "Tracker",
    "TrackingResult",
    "event_to_dict",
]
