"""Dependencies of the handlers, as `Annotated` aliases so handlers read like prose."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from emstrack.lookup import Tracker


def _tracker(request: Request) -> Tracker:
    tracker: Tracker = request.app.state.tracker
    return tracker


TrackerDep = Annotated[Tracker, Depends(_tracker)]
