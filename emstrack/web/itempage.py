"""The item page's bytes, made from a lookup's result without a request: for the page's route
(`web.pages`) and for the pages the read model keeps (`web.keptpages`), so that both are drawn
by the same code."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from emstrack.config import Settings
from emstrack.domain.lang import Lang
from emstrack.lookup import Outcome, TrackingResult
from emstrack.text import problems
from emstrack.text.catalogue import translations
from emstrack.web import follow, i18n, itemview
from emstrack.web.html import draw


def status_of(result: TrackingResult) -> int:
    """The page's HTTP status: 200 found, 422 invalid, else 404."""
    return {Outcome.FOUND: 200, Outcome.INVALID: 422}.get(result.outcome, 404)


def draw_item(
    result: TrackingResult,
    lang: Lang,
    settings: Settings,
    path: str,
    here: str,
    *,
    private: bool = False,
    now: datetime | None = None,
    relative: itemview.Relative | None = None,
) -> str:
    """The item page of `result` in `lang` at the address `path` (`here` with its query), its
    relative times reckoned from `now` (or told by `relative`)."""
    t = translations(lang)
    context: dict[str, Any] = {"result": result, "tn": result.number, "private": private}
    # E-mail updates need the secret key that signs their links (emstrack.web.subscribepages).
    context["can_subscribe"] = bool(settings.secret_key.get_secret_value())
    # Copy the number, share the page, follow the item by e-mail or in the chat apps.
    context["share"] = follow.share(result, settings)
    context["follow"] = follow.follow(result, settings, lang)
    if result.outcome is Outcome.FOUND:
        context["view"] = itemview.build(
            result,
            lang,
            t,
            stale_after_days=settings.stale_after_days,
            private=private,
            now=now,
            relative=relative,
        )
        context["earlier"] = [i18n.local_time(i.last_event_at, lang) for i in result.earlier_items]
        item = result.item
        context["can_unlock"] = bool(item and item.postcode_is_proof)
        # A postcode that came only with a duplicate's extra detail proves nothing: say so
        # instead of offering a form that could never be right.
        context["unlock_refused"] = bool(item and item.destination_postcode) and not (
            item and item.postcode_is_proof
        )
        if private and result.item:
            context["postcode"] = result.item.destination_postcode
    else:
        context["problems"] = [
            (problems.part_label(p.part, lang), problems.text(p, lang), p.severity.value)
            for p in result.number.problems
        ]
        context["suggestions"] = [
            s for s in result.number.suggestions if s.on_record or not s.needs_record
        ]
        context["explanation"] = result.number.explanation(lang)
        context["grace_hours"] = settings.first_scan_grace_hours
    return draw("item.html", lang, settings.brand, path, here, **context)
