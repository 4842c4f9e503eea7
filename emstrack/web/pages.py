"""The server-rendered Track & Trace pages: home, results, support, security.

Everything works without JavaScript. Lookups are GET (shareable, no state change). The track
box is POSTed, because people paste whole messages into it ("EMS: your parcel EE…CN is held at
customs, pay …"): numbers alone are sent on to their GET page (303), while a message is answered
there and then with the numbers it quotes tracked and an offer to check it for a scam (a POST to
`/check` carrying the text), so that a message's text never lands in a URL, a log, a heading or
a title. The other POST is the postcode proof that unlocks personal details, guarded by a CSRF
token and the limits of `emstrack.web.unlock`. Personal data is never logged and never put in a
URL.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from babel.support import NullTranslations
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from emstrack import scamcheck
from emstrack.channels.conversation import Reading, find_numbers, reading
from emstrack.domain import countries, s10
from emstrack.domain.lang import Lang, match
from emstrack.domain.problems import Severity
from emstrack.domain.tracking_number import Scope, TrackingNumber
from emstrack.lookup import Allowance, Outcome, Tracker, TrackingResult
from emstrack.store.answers import AnswerRow
from emstrack.text import problems
from emstrack.text.catalogue import translations
from emstrack.text.headline import headline as sentence
from emstrack.web import caching, contacts, i18n, itempage, itemview, keptpages, unlock
from emstrack.web.deps import Caller, allowance, charge, client_address, lookups
from emstrack.web.html import render, require_same_site, respond

MAX_NUMBERS = 50
#: Longer than any number typed with its spaces and dashes ("EE 123 456 785 CN" is 17).
_LONGEST_NUMBER = 40
_STATIC = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)
#: The item page alone, the site's busiest page: the app puts it right after the JSON lookup,
#: so that a request for it is not matched against every route of the API and the other pages
#: first (a tenth of a page's time went to that).
item_router = APIRouter(include_in_schema=False)


def install(app: FastAPI) -> None:
    """Add the pages and their static files to `app`."""
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    app.include_router(router)


def _tracker(request: Request) -> Tracker:
    tracker: Tracker = request.app.state.tracker
    return tracker


#: A number of the other kind than the one chosen: a person means the number, not the choice.
_OTHER_KIND = frozenset({"domestic_in_international_scope", "international_in_domestic_scope"})


def _lookup_forgiving(
    tracker: Tracker, numbers: list[str], scope: Scope, left: Allowance
) -> list[TrackingResult]:
    results = tracker.lookup_many(numbers, scope, allowance=left)
    for i, result in enumerate(results):
        errors = {p.code for p in result.number.problems if p.severity == "error"}
        if errors and errors <= _OTHER_KIND:
            results[i] = tracker.lookup(numbers[i], Scope.ANY, allowance=left)
    return results


async def _lookup_many(request: Request, numbers: list[str], scope: Scope) -> list[TrackingResult]:
    # The same limit per client address as the API's lookups: a page is no way around it.
    caller = Caller(client_address(request))
    charge(request, caller, cost=len(numbers))
    left = allowance(request, caller)
    tracker = lookups(request, caller)  # public: on a replica where one is configured
    if tracker.local_reads:
        return _lookup_forgiving(tracker, numbers, scope, left)
    if len(numbers) == 1:
        # PostgreSQL: a valid number's read on the event loop, as the API's (`store.aio`).
        found = await tracker.lookup_async(numbers[0], scope)
        if found is not None:
            return [found]
    return await run_in_threadpool(_lookup_forgiving, tracker, numbers, scope, left)


def _scope(value: str | None) -> Scope:
    try:
        return Scope(value) if value else Scope.ANY
    except ValueError:
        return Scope.ANY


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    return render(request, "home.html", numbers="", scope="international")


@dataclass(frozen=True, slots=True)
class _Box:
    """What was put in the track box: the numbers to look up, and whether it was a message."""

    numbers: list[str]
    #: More than numbers: a message someone received, worth checking for a scam.
    message: bool


def _read_box(text: str, official_domains: list[str]) -> _Box:
    """The numbers of the track box, read as the bots read a chat message (`reading`,
    `find_numbers`). Numbers alone, however typed, are kept as typed, mistakes and all (each
    gets its "did you mean"); a short note ("EE123456785CN is late") gives its numbers; a
    message gives the numbers it quotes, and is offered the scam check. A text in between (a
    question, or in the first person) is a message only when its words carry a sign of a scam.
    """
    text = text[: scamcheck.MAX_TEXT]
    entries = s10.split_entries(text)
    if not entries:
        return _Box([], message=False)
    found = find_numbers(text)
    level = reading(text)
    if level is Reading.SHORT:
        probe = scamcheck.check(text, None, official_domains=official_domains)
        level = Reading.PLAIN if probe.verdict is scamcheck.Verdict.NO_RED_FLAGS else level
    if level is Reading.PLAIN:
        return _Box(found or entries, message=False)
    return _Box(found, message=True)


def _numbers_url(numbers: list[str], scope: str) -> str:
    """The shareable page of `numbers`: the item's page for one, the summary for several."""
    query = f"scope={quote(scope)}" if scope else ""
    if len(numbers) == 1:
        target = f"/track/{quote(s10.normalise(numbers[0]) or numbers[0], safe='')}"
        return f"{target}?{query}" if query else target
    listed = ",".join(quote(s10.normalise(n) or n, safe="") for n in numbers[:MAX_NUMBERS])
    return f"/track?n={listed}" + (f"&{query}" if query else "")


def _box(request: Request, text: str) -> _Box:
    return _read_box(text, request.app.state.settings.official_domain_list)


@router.get("/track", response_class=HTMLResponse)
async def track(request: Request, n: str | None = None, scope: str = "") -> Response:
    if n is None:
        # The language switch of a page answered to the box's POST: its words are not here.
        return RedirectResponse("/", status_code=303)
    box = _box(request, n)
    if box.message:
        # A message in a URL (an old form, a link): sent on at once to a URL of its numbers
        # alone, or to the check; the text goes no further.
        target = _numbers_url(box.numbers, scope) if box.numbers else "/check"
        return RedirectResponse(target, status_code=303)
    numbers = box.numbers
    if not numbers:
        return render(request, "home.html", 400, numbers="", scope=scope, empty=True)
    if len(numbers) == 1:
        return RedirectResponse(_numbers_url(numbers, scope), status_code=303)
    too_many = len(numbers) > MAX_NUMBERS
    rows = await _rows(request, numbers[:MAX_NUMBERS], scope)
    page = render(
        request, "many.html", rows=rows, too_many=too_many, numbers=n, scope=scope or "any"
    )
    # Several items: shared briefly (a first scan of any of them may come any minute).
    return _public(request, page, None, caching.public(request.app.state.settings, found=False))


@router.post("/track", response_class=HTMLResponse)
async def track_box(
    request: Request,
    n: Annotated[str, Form()] = "",
    scope: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """The track box: numbers go on to their GET page; a message is answered here (no-store),
    its numbers tracked and the check offered, the text carried only in the offer's POST form."""
    text = n[: scamcheck.MAX_TEXT]
    box = _box(request, text)
    if not box.numbers and not box.message:
        return render(request, "home.html", 400, numbers="", scope=scope, empty=True)
    if not box.message:
        return RedirectResponse(_numbers_url(box.numbers, scope), status_code=303)
    numbers = box.numbers[:MAX_NUMBERS]
    rows = await _rows(request, numbers, scope) if numbers else []
    response = render(
        request,
        "pasted.html",
        rows=rows,
        too_many=len(box.numbers) > MAX_NUMBERS,
        text=text,
        numbers=", ".join(numbers),
        scope=scope or "any",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


async def _rows(request: Request, numbers: list[str], scope: str) -> list[dict[str, Any]]:
    results = await _lookup_many(request, numbers, _scope(scope))
    lang = i18n.negotiate(request)
    t = translations(lang)
    return [_summary(result, lang, t) for result in results]


def _summary(result: TrackingResult, lang: Lang, t: NullTranslations) -> dict[str, Any]:
    state = result.state
    row: dict[str, Any] = {
        "number": result.number.number or result.number.raw,
        "formatted": result.number.formatted or result.number.raw,
        "outcome": result.outcome.value,
        "tone": "neutral",
    }
    if result.outcome is Outcome.FOUND and state:
        event = state.event
        row["text"] = itemview.headline(
            state.status, state.detail, event.country if event else None, lang, t
        )
        row["tone"] = itemview.TONE.get(state.status, "neutral")
        # The one sentence the item page, the API and the bots say (no postcodes: public).
        shown = result.shown_state(result.projection())
        row["facts"] = sentence(shown, lang) if shown else ""
        latest = result.events[0] if result.events else None
        row["when"] = i18n.local_time(latest.occurred_local, lang) if latest else ""
    elif result.outcome is Outcome.INVALID:
        errors = [p for p in result.number.problems if p.severity == Severity.ERROR]
        row["text"] = problems.text(errors[0], lang) if errors else ""
        row["tone"] = "problem"
    elif result.outcome is Outcome.NOT_FOUND_YET:
        row["text"] = t.gettext("No scan yet")
    else:
        row["text"] = t.gettext("No record: it may belong to another carrier")
    return row


async def item_page(request: Request) -> Response:
    """`GET /track/{number}`: a plain route, without FastAPI's parameter resolution (a fifth
    of a kept page's time); `item` does the work."""
    return await item(request, request.path_params["number"], request.query_params.get("scope", ""))


item_router.add_route("/track/{number}", item_page, methods=["GET"], include_in_schema=False)


async def item(request: Request, number: str, scope: str = "") -> Response:
    if len(number) > _LONGEST_NUMBER:
        # A message in the path: on to its numbers, never a heading made of its text.
        box = _box(request, number)
        if box.message:
            target = _numbers_url(box.numbers, scope) if box.numbers else "/check"
            return RedirectResponse(target, status_code=303)
    # Cacheable (`web.caching`), the same bytes for everyone: a found item's page is tagged by
    # the deploy, the address asked, the item's version, the language and the minute its
    # relative times are reckoned to, and a request holding that tag is answered 304 before
    # anything is drawn; any other page is tagged by its bytes.
    settings = request.app.state.settings
    clock = caching.page_clock()
    kept: keptpages.PageRender | None = request.app.state.kept_pages
    if kept is not None and not request.url.query:
        # The number's page as the read model keeps it (`web.keptpages`), where it keeps one
        # of this deploy for the item's version; else drawn from the same read.
        lang = i18n.negotiate(request)
        tracker, tn, read = await _read_one(request, number[:200], f"page_{lang}")
        if isinstance(read, AnswerRow) and tn.number == number:
            cache_control = caching.public(settings, found=True)
            kept_tag = _page_tag(request, read.validator, lang, clock)
            if caching.matches(request, kept_tag):
                return caching.not_modified(kept_tag, cache_control, caching.PAGE_VARY)
            page = read.page(lang, kept.stamp)
            if page is None:
                # None of this deploy for this version: have the keeper make it, for the next
                # viewers (`keptpages.Misses`).
                request.app.state.page_misses.note(number, read.version)
            elif (body := keptpages.fill(page, lang, clock)) is not None:
                return _public(request, HTMLResponse(body), kept_tag, cache_control)
        result = tracker.result_of(tn, read)
    else:
        (result,) = await _lookup_many(request, [number[:200]], _scope(scope))
    cache_control = caching.public(settings, found=result.outcome is Outcome.FOUND)
    tag = None
    if result.outcome is Outcome.FOUND and result.version is not None:
        tag = _page_tag(request, result.version, i18n.negotiate(request), clock)
        if caching.matches(request, tag):
            return caching.not_modified(tag, cache_control, caching.PAGE_VARY)
    return _public(request, _item_page(request, result, now=clock), tag, cache_control)


def _page_tag(request: Request, version: str, lang: Lang, clock: datetime) -> str:
    parts = (request.app.state.deploy_tag, "page", str(request.url), version)
    return caching.etag(*parts, lang, clock.isoformat())


async def _read_one(
    request: Request, number: str, want: str
) -> tuple[Tracker, TrackingNumber, AnswerRow | TrackingResult | None]:
    """The public read of one number, with what `want` names (`Tracker.read`), charged as a
    lookup; and the tracker that read it."""
    caller = Caller(client_address(request))
    charge(request, caller)
    left = allowance(request, caller)
    tracker = lookups(request, caller)  # public: on a replica where one is configured
    if not tracker.local_reads:
        # PostgreSQL: a valid number's read on the event loop, as the API's (`store.aio`).
        found = await tracker.read_async(number, Scope.ANY, want)
        if found is None:
            found = await run_in_threadpool(
                partial(tracker.read, number, Scope.ANY, want, allowance=left)
            )
    else:
        found = tracker.read(number, Scope.ANY, want, allowance=left)
    return (tracker, *found)


def _public(request: Request, page: Response, tag: str | None, cache_control: str) -> Response:
    """`page` with the caching headers of a public page (`web.caching`), tagged by `tag` or
    else by its bytes, or `304` when the request holds that tag; `private, no-store` when it
    sets a cookie (a language chosen by `?lang=`: this browser's answer)."""
    if "set-cookie" in page.headers:
        return caching.mark(page, None, caching.PRIVATE, caching.PAGE_VARY)
    if tag is None:
        tag = caching.body_etag(bytes(page.body))
        if caching.matches(request, tag):
            return caching.not_modified(tag, cache_control, caching.PAGE_VARY)
    return caching.mark(page, tag, cache_control, caching.PAGE_VARY)


def _item_page(
    request: Request,
    result: TrackingResult,
    *,
    private: bool = False,
    now: datetime | None = None,
) -> Response:
    lang = i18n.negotiate(request)
    path = request.url.path
    here = path + (f"?{request.url.query}" if request.url.query else "")
    settings = request.app.state.settings
    body = itempage.draw_item(result, lang, settings, path, here, private=private, now=now)
    response = respond(request, body, itempage.status_of(result))
    if private:
        response.headers["Cache-Control"] = caching.PRIVATE
    return response


def _postcode(value: str | None) -> str:
    return "".join((value or "").split()).replace("-", "").upper()


@router.post("/track/{number}/details", response_class=HTMLResponse)
async def details(
    request: Request,
    number: str,
    postcode: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    require_same_site(request)
    (result,) = await _lookup_many(request, [number[:200]], Scope.ANY)
    if result.item and result.item.destination_postcode and not result.item.postcode_is_proof:
        response = _item_page(request, result)
        response.status_code = 403
        return response
    expected = result.item.destination_postcode if result.item else None
    # Counted before the comparison: past a limit nobody learns whether a postcode was right.
    attempt = unlock.count_try(
        request.app.state.limiter,
        request.app.state.settings,
        client_address(request),
        result.number.number or result.number.raw,
    )
    given, wanted = _postcode(postcode).encode(), _postcode(expected).encode()
    if not wanted or not hmac.compare_digest(given, wanted):
        return _with_wrong_postcode(request, result)
    attempt.succeeded()
    return _item_page(request, result, private=True)


def _with_wrong_postcode(request: Request, result: TrackingResult) -> Response:
    response = _item_page(request, result)
    body = bytes(response.body).replace(b"<!--wrong-postcode-->", _wrong_note(request))
    return HTMLResponse(body, status_code=403, headers={"Cache-Control": caching.PRIVATE})


def _wrong_note(request: Request) -> bytes:
    t = translations(i18n.negotiate(request))
    text = t.gettext("That postcode does not match. Please check it and try again.")
    return f'<p class="form-error" role="alert">{text}</p>'.encode()


@router.get("/support", response_class=HTMLResponse)
async def support(request: Request) -> Response:
    lang = i18n.negotiate(request)
    directory = [
        (c, countries.country_name(c.country, lang) or c.country, itemview.flag(c.country))
        for c in contacts.load(request.app.state.settings.support_contacts_path)
    ]
    return render(request, "support.html", directory=directory)


@router.get("/security", response_class=HTMLResponse)
async def security(request: Request) -> Response:
    return render(request, "security.html")


@router.get("/lang/{code}")
async def language(request: Request, code: str, next: str = "/") -> Response:
    """The language switch: remember the choice and go back where the viewer was."""
    lang = match(code) or i18n.DEFAULT
    # Only a path on this site: never an open redirect.
    target = (
        next if next.startswith("/") and not next.startswith("//") and "\\" not in next else "/"
    )
    target = re.sub(r"([?&])lang=[^&]*&?", r"\1", target).rstrip("?&") or "/"
    response = RedirectResponse(target, status_code=303)
    i18n.remember(request, response, lang)
    return response
