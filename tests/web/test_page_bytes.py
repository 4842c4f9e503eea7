"""The pages' bytes do not change when their making gets faster (issue 15: the item page's speed).

Every demo scenario and the statuses no demo example has (as in `test_item_truth`), a page
of several numbers and an invalid number, in EN and ZH, are rendered at a fixed instant and
compared, by SHA-256, with the digests in tests/data/item_pages.json, which were taken before
the caching of templates, translations and dates went in (and written again when the forms lost
their per-browser token). Every page is also the same for a browser with cookies of its own,
sets none and is `public`: a shared cache may keep it.

A deliberate change of what the pages show (a template, a catalogue string, a style sheet's
address) changes the digests: check the new pages by eye, then write them again with

    EMSTRACK_WRITE_PAGE_DIGESTS=1 .venv/bin/pytest tests/web/test_page_bytes.py

On a mismatch the page is written to the test's temporary folder, to be compared with the page
of the commit before (same command there).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.dates import format_date, format_time, format_timedelta
from factories import DELIVERED_TO_DE, history
from jinja2 import Environment, select_autoescape
from pydantic import SecretStr
from webclient import serve

from emstrack.config import Settings
from emstrack.demo import load_demo
from emstrack.domain.lang import BABEL_LOCALE, Lang
from emstrack.domain.reasons import Wording
from emstrack.ingest.records import parse_record
from emstrack.ingest.writer import record
from emstrack.store.database import Database
from emstrack.web import caching, i18n
from emstrack.web.app import create_app
from emstrack.web.itemview import ItemView, Row

NOW = datetime(2026, 3, 29, 9, 30, tzinfo=UTC)
#: The statuses no demo example has (as in test_item_truth): out for delivery, a failed delivery
#: with the operator's reason and action, a return with a refusal, and a code nobody knows.
_TO_DE = [(code, "2026-03-" + when[8:], office, country)
          for code, when, office, country in DELIVERED_TO_DE]  # fmt: skip
_BACK = (("EMB", "2026-03-12T10:00", "DEFRAA", "DE"),
         ("EMC", "2026-03-13T22:00", "DEFRAA", "DE"),
         ("EMD", "2026-03-15T07:00", "CNBJSD", "CN"),
         ("EMI", "2026-03-17T15:00", "CNBJSD", "CN"))  # fmt: skip
_FAILED = ("EMH", "2026-03-07T13:00", "DEBERB", "DE")
_REFUSED = {"reason_text": "Refused by addressee", "action_text": "Returned to sender"}
_ABSENT = {"reason_text": "Addressee absent", "action_text": "Notice left; collect within 7 days"}
EXTRA: dict[str, list[dict[str, Any]]] = {
    "EE100000003CN": history("EE100000003CN", *_TO_DE[:9]),
    "EE100000017CN": [*history("EE100000017CN", *_TO_DE[:9]),
                      {**history("EE100000017CN", _FAILED)[0], **_ABSENT}],
    "EE100000025CN": [*history("EE100000025CN", *_TO_DE[:9]),
                      {**history("EE100000025CN", _FAILED)[0], **_REFUSED},
                      *history("EE100000025CN", *_BACK)],
    "EE100000034CN": history("EE100000034CN", ("EML", "2026-03-02T09:00", "CNBJSD", "CN")),
}  # fmt: skip
DIGESTS = Path(__file__).parent.parent / "data" / "item_pages.json"
#: The instant the pages' relative times are reckoned from ("3 days ago").
CLOCK = datetime(2026, 3, 29, 9, 31, tzinfo=UTC)
SECRET = "page-bytes-secret-page-bytes-secret"


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, list[str]]]:
    path: Path = tmp_path_factory.mktemp("bytes") / "t.db"
    settings = Settings(
        database_url=f"sqlite:///{path}", rate_limit="100000/minute", secret_key=SecretStr(SECRET)
    )
    db = Database.open(settings)
    summary = load_demo(db, items=120, seed=3, now=NOW)
    record(db, [parse_record(r, source="test") for rs in EXTRA.values() for r in rs])
    numbers = [summary.examples[scenario] for scenario in sorted(summary.examples)]
    numbers += list(EXTRA)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(caching, "page_clock", lambda now=None: CLOCK)
        with serve(create_app(settings, db)) as http:
            yield http, numbers
    db.close()


def _urls(numbers: list[str]) -> list[str]:
    several = ",".join([*numbers[:6], "EE123456789CN", "RR473124829GB"])
    return [f"/track/{n}" for n in numbers] + [f"/track?n={several}", "/track/EE12345678CN"]


def _render(http: httpx.Client, url: str, lang: str, cookie: str | None = None) -> bytes:
    headers = {"Accept": "text/html", "Accept-Language": "zh-CN" if lang == "zh" else "en"}
    if cookie is not None:
        headers["Cookie"] = cookie
    http.cookies.clear()
    response = http.get(url, headers=headers)
    assert response.status_code in (200, 404, 422), (url, response.status_code)
    # The same bytes for every browser: nothing of its own set, nothing cached only for it.
    assert "set-cookie" not in response.headers, url
    assert response.headers["cache-control"].startswith("public"), url
    return response.content


def test_pages_are_byte_for_byte_the_same(
    pages: tuple[httpx.Client, list[str]], tmp_path: Path
) -> None:
    http, numbers = pages
    seen: dict[str, str] = {}
    bodies: dict[str, bytes] = {}
    for lang in ("en", "zh"):
        for url in _urls(numbers):
            key = f"{lang} {url}"
            body = _render(http, url, lang)
            # A browser with cookies of its own (an old form token, anything) gets the same page.
            assert _render(http, url, lang, cookie="csrf=abc.def; other=1") == body, url
            seen[key] = hashlib.sha256(body).hexdigest()
            bodies[key] = body
    if os.environ.get("EMSTRACK_WRITE_PAGE_DIGESTS"):
        DIGESTS.write_text(json.dumps(seen, indent=1, sort_keys=True) + "\n")
    expected = json.loads(DIGESTS.read_text())
    differ = sorted(k for k in expected.keys() | seen.keys() if expected.get(k) != seen.get(k))
    for index, key in enumerate(differ):
        if key in bodies:
            (tmp_path / f"page-{index}.html").write_bytes(bodies[key])
    assert not differ, f"{len(differ)} pages changed (written to {tmp_path}): {differ[:5]}"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_kept_dates_are_babels(lang: Lang) -> None:
    """`i18n.local_time` and `i18n.ago` keep their answers: the same words as Babel's own."""
    locale = BABEL_LOCALE[lang]
    start = datetime(2025, 12, 28, 0, 0)
    for step in range(0, 60 * 24 * 400, 389):  # every few minutes of 400 days, all hours
        value = start + timedelta(minutes=step, seconds=step % 60)
        day = format_date(value, "medium", locale=locale)
        assert i18n.local_time(value, lang) == f"{day} {format_time(value, 'HH:mm', locale=locale)}"
        aware = value.replace(tzinfo=timezone(timedelta(hours=step % 13)))
        assert i18n.local_time(aware, lang) == i18n.local_time(value, lang)
    for seconds in [*range(0, 7200, 23), *range(0, 400 * 86400, 36007), 45.5, 89.9, 90.0]:
        for delta in (timedelta(seconds=seconds), -timedelta(seconds=seconds)):
            said = format_timedelta(-delta, add_direction=True, locale=locale, threshold=1.1)
            assert i18n.ago(delta, lang) == said
            assert i18n.ago(delta, lang) == said  # and again, from what was kept


#: The timeline's loop as `_found.html` had it before `ItemView.timeline` drew it in Python.
_TIMELINE_LOOP = """\
  {% for row in view.rows %}
    <li class="event tone-{{ row.tone }}">
      <span class="dot" aria-hidden="true"></span>
      <p class="event-label">{{ row.label }}</p>
      <p class="event-place">{{ row.place }}</p>
      <p class="event-time"><time>{{ row.when }}</time> <span class="offset">({{ row.offset }})\
</span>{% if row.ago %} · {{ row.ago }}{% endif %}</p>
      {% for d in row.details %}<p class="event-detail"{% if d.lang %} lang="{{ d.lang }}"\
{% endif %}>{{ d.text }}</p>{% endfor %}
      {% for name, value in row.private %}<p class="event-private"><strong>{{ name }}:</strong> \
{{ value }}</p>{% endfor %}
    </li>
  {% endfor %}
"""


def test_the_timeline_drawn_in_python_is_the_templates() -> None:
    """Every part of a row, the unlocked ones and an operator's own words in another script
    included (the page digests above have neither), with everything that must be escaped."""
    loop = Environment(
        autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True
    ).from_string(_TIMELINE_LOOP)
    rows = [
        Row(
            "Held <by> customs & co",
            "warn",
            "Office \"A\" 'B'",
            "Mar 2, 2026 09:00",
            "UTC+08:00",
            "3 days ago",
            [Wording("地址不详 <x>", "zh-Hans"), Wording("Addressee absent & gone")],
            [("Signed by", "Li <Lei>"), ("Note", "a&b")],
        ),
        Row("Posted", "neutral", "Beijing, China", "Mar 1, 2026 08:00", "UTC+08:00", None, []),
    ]
    view = ItemView(
        headline="", summary="", tone="", steps=[], rows=rows, origin=None, destination=None,
        stale_days=None, advice=[], service=None, issuer=None, last_event_ago=None,
    )  # fmt: skip
    assert str(view.timeline()) == loop.render(view=view)
