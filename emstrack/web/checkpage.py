"""The page `/check`: paste a message, learn whether it is really from the post.

The form is a POST, so that the message never lands in a URL, a log or the browser's history;
it is guarded by the CSRF token as the postcode form is. Nothing is stored unless the person
ticks "Report this message".
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from emstrack import scamcheck
from emstrack.lookup import Tracker
from emstrack.scamcheck import reports
from emstrack.store.database import Database
from emstrack.web import i18n
from emstrack.web.api.check import lookup_cost, run_check
from emstrack.web.deps import Caller, charge, client_address
from emstrack.web.html import render, require_same_site

router = APIRouter(include_in_schema=False)

#: CSS class of the verdict box.
TONE = {
    scamcheck.Verdict.LIKELY_SCAM: "problem",
    scamcheck.Verdict.SUSPICIOUS: "warning",
    scamcheck.Verdict.NO_RED_FLAGS: "neutral",
}


def _page(request: Request, status: int = 200, **context: Any) -> Response:
    response = render(request, "check.html", status, **context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/check", response_class=HTMLResponse)
async def check_form(request: Request) -> Response:
    return _page(request, text="", sender="", max_text=scamcheck.MAX_TEXT)


@router.post("/check", response_class=HTMLResponse)
async def check_message(
    request: Request,
    text: Annotated[str, Form(max_length=scamcheck.MAX_TEXT)] = "",
    sender: Annotated[str, Form(max_length=200)] = "",
    report: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    require_same_site(request)
    context: dict[str, Any] = {"text": text, "sender": sender, "max_text": scamcheck.MAX_TEXT}
    if not text.strip():
        return _page(request, 400, empty=True, **context)
    charge(request, Caller(client_address(request)), lookup_cost(text))
    tracker: Tracker = request.app.state.tracker
    result = await run_in_threadpool(run_check, tracker, text, sender or None)
    reported = bool(report)
    if reported:
        db: Database = request.app.state.db
        await run_in_threadpool(reports.keep, db, text, sender or None, result)
    lang = i18n.negotiate(request)
    headline, summary = result.headline(lang)
    return _page(
        request,
        result=result,
        verdict=result.verdict.value,
        headline=headline,
        summary=summary,
        tone=TONE[result.verdict],
        reasons=[(r.code, r.message(lang), r.weight) for r in result.reasons],
        advice=result.advice(lang, tracker.settings.brand.hotline_words(lang)),
        numbers=[n.to_dict(lang) for n in result.numbers],
        reported=reported,
        **context,
    )
