"""The app (issue 16): the site installed as a progressive web app, and "My items".

- `/app`: the home screen of the installed app, "My items": the numbers this device follows,
  kept in the browser (IndexedDB) by `static/app.js`; nothing about them is sent to the server
  but the lookups themselves (the public batch lookup). Without JavaScript the page is the track
  form and a sentence on what the app needs.
- `/manifest.webmanifest`: the web app manifest, in the page's language, made from the brand
  (`EMSTRACK_BRAND_FILE`): its name, short name and colours, and icons drawn from its logo.
- `/app/icon-192.png`, `/app/icon-512.png`, `/app/icon-maskable-512.png`: the icons, drawn with
  Pillow once per brand at the first request (`_icon`). A PNG logo is scaled into them; an SVG
  logo cannot be drawn without a renderer, so the icons show the shipped parcel mark (the one
  of `static/logo.svg`) in the brand's colours.
- `/sw.js`: the service worker, from the root so that its scope is the whole site, never kept
  by a cache (`no-cache`): `static/sw.js` with its version (a digest of everything the pages'
  bytes depend on, `caching.deploy_tag`, and of the worker itself) and the list of files of the
  app's shell written in.
- `/offline`: what a page asked for offline shows when the worker has no copy of it.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

from babel.support import NullTranslations
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from PIL import Image, ImageDraw
from starlette.exceptions import HTTPException

from emstrack.brand import WHITE, Brand
from emstrack.domain.events import Status
from emstrack.domain.lang import HTML_LANG, Lang
from emstrack.text.catalogue import translations
from emstrack.web import branding, i18n, itemview
from emstrack.web.html import render

router = APIRouter(include_in_schema=False)

_STATIC: Final = Path(__file__).parent / "static"
#: The app's own scripts, besides the worker.
SCRIPTS: Final = (
    "/static/app.js",
    "/static/app-store.js",
    "/static/app-account.js",
    "/static/app-follow.js",
)
#: The icons: (path, size in pixels, purpose).
ICONS: Final = (
    ("/app/icon-192.png", 192, "any"),
    ("/app/icon-512.png", 512, "any"),
    ("/app/icon-maskable-512.png", 512, "maskable"),
)
_SIZES: Final = {192, 512}
#: Drawn at this many times the size, then scaled down: smooth edges.
_OVERSAMPLE: Final = 4
NO_CACHE: Final = "no-cache"
_ICON_CACHE: Final = "public, max-age=86400"
#: The manifest's background, behind the icon while the app starts (the pages' own).
BACKGROUND: Final = "#f4f6f9"


@router.get("/app", response_class=HTMLResponse)
async def app_home(request: Request) -> Response:
    lang = i18n.negotiate(request)
    response = render(request, "app.html", words=app_words(lang), numbers="", scope="")
    response.headers["Cache-Control"] = NO_CACHE
    return response


@router.get("/offline", response_class=HTMLResponse)
async def offline(request: Request) -> Response:
    response = render(request, "offline.html")
    response.headers["Cache-Control"] = NO_CACHE
    return response


@router.get("/manifest.webmanifest")
async def manifest(request: Request) -> Response:
    # The language as a page would have it, but no cookie set: the browser fetches it alone.
    lang = i18n.negotiate(request)
    body = json.dumps(web_manifest(request.app.state.settings.brand, lang), ensure_ascii=False)
    return Response(
        body,
        media_type="application/manifest+json",
        headers={"Cache-Control": NO_CACHE, "Vary": "Accept-Language, Cookie"},
    )


@router.get("/app/icon-maskable-{size}.png")
async def maskable_icon(request: Request, size: int) -> Response:
    return _icon_response(request, size, "maskable")


@router.get("/app/icon-{size}.png")
async def icon(request: Request, size: int) -> Response:
    return _icon_response(request, size, "any")


@router.get("/sw.js")
async def service_worker(request: Request) -> Response:
    script = worker_script(request.app.state.settings.brand, request.app.state.deploy_tag)
    return Response(
        script,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": NO_CACHE, "Service-Worker-Allowed": "/"},
    )


def _icon_response(request: Request, size: int, purpose: Literal["any", "maskable"]) -> Response:
    if size not in _SIZES:
        raise HTTPException(404)
    png = draw_icon(request.app.state.settings.brand, size, purpose)
    return Response(png, media_type="image/png", headers={"Cache-Control": _ICON_CACHE})


def web_manifest(brand: Brand, lang: Lang) -> dict[str, Any]:
    """The web app manifest of `brand` in `lang`."""
    t = translations(lang)
    version = icon_version(brand)
    return {
        "id": "/app",
        "name": brand.name.get(lang),
        "short_name": brand.short_name.get(lang),
        "description": t.gettext("Your items on this device: their status at a glance."),
        "lang": HTML_LANG[lang],
        "dir": "ltr",
        "start_url": "/app",
        "scope": "/",
        "display": "standalone",
        "theme_color": brand.colours.primary,
        "background_color": BACKGROUND,
        "icons": [
            {
                "src": f"{path}?v={version}",
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": purpose,
            }
            for path, size, purpose in ICONS
        ],
    }


@cache
def icon_version(brand: Brand) -> str:
    """A digest of what the icons are drawn from: they change when the brand does."""
    digest = hashlib.sha256(repr(brand.colours).encode())
    if brand.logo is not None:
        digest.update(brand.logo.read_bytes())
    return digest.hexdigest()[:12]


# The shipped logo's mark (static/logo.svg, a 32-unit square): a parcel, its outline in white
# and its top edges and middle seam in the accent colour.
_Line = Sequence[tuple[float, float]]
_OUTLINE: Final[_Line] = [
    (7, 11.5),
    (16, 7),
    (25, 11.5),
    (25, 20.5),
    (16, 25),
    (7, 20.5),
    (7, 11.5),
]
_SEAMS: Final[tuple[_Line, ...]] = ([(7, 11.5), (16, 16), (25, 11.5)], [(16, 16), (16, 25)])
_STROKE: Final = 2.0
_CORNER: Final = 7 / 32


@cache
def draw_icon(brand: Brand, size: int, purpose: Literal["any", "maskable"]) -> bytes:
    """The app's icon as PNG: the logo on the brand's primary colour, `size` pixels square.

    `any`: the logo's rounded square. `maskable`: the whole square filled, the mark inside the
    central circle of 80% that every launcher's mask keeps (the W3C's safe zone).
    """
    big = size * _OVERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    primary = brand.colours.primary
    if purpose == "maskable":
        draw.rectangle((0, 0, big, big), fill=primary)
        inner = big * 0.8
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * _CORNER, fill=primary)
        inner = float(big)
    offset = (big - inner) / 2
    logo = _png_logo(brand)
    if logo is not None:
        side = round(inner * (0.8 if purpose == "any" else 1.0))
        fitted = logo.copy()
        fitted.thumbnail((side, side), Image.Resampling.LANCZOS)
        if fitted.width < side and fitted.height < side:  # a small logo: scaled up
            scale = side / max(fitted.width, fitted.height)
            new_size = (round(fitted.width * scale), round(fitted.height * scale))
            fitted = fitted.resize(new_size, Image.Resampling.LANCZOS)
        at = ((big - fitted.width) // 2, (big - fitted.height) // 2)
        image.alpha_composite(fitted, at)
    else:
        unit = inner / 32

        def points(line: _Line) -> list[tuple[float, float]]:
            return [(offset + x * unit, offset + y * unit) for x, y in line]

        width = round(_STROKE * unit)
        # The seams under the outline, whose corners are round (the logo's round joins).
        for seam in _SEAMS:
            draw.line(points(seam), fill=brand.colours.accent, width=width, joint="curve")
        draw.line(points(_OUTLINE), fill=WHITE, width=width, joint="curve")
        for x, y in points(_OUTLINE):
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=WHITE)
    out = io.BytesIO()
    image.resize((size, size), Image.Resampling.LANCZOS).save(out, format="PNG", optimize=True)
    return out.getvalue()


def _png_logo(brand: Brand) -> Image.Image | None:
    if brand.logo is None or brand.logo.suffix.lower() != ".png":
        return None
    with Image.open(brand.logo) as opened:
        return opened.convert("RGBA")


def shell(brand: Brand) -> list[str]:
    """What the worker keeps from its install on: enough to open the app and say "offline"."""
    assets = branding.assets(brand)
    version = icon_version(brand)
    pages = [f"/{page}?lang={lang}" for page in ("app", "offline") for lang in ("en", "zh")]
    icons = [f"{path}?v={version}" for path, _, _ in ICONS]
    return [*pages, "/static/style.css", assets.css, assets.logo, *SCRIPTS, *icons]


@cache
def worker_script(brand: Brand, deploy_tag: str) -> str:
    """`static/sw.js` with its version and the app's shell written in."""
    source = (_STATIC / "sw.js").read_text(encoding="utf-8")
    version = hashlib.sha256(f"{deploy_tag}\n{source}".encode()).hexdigest()[:16]
    return source.replace('"__VERSION__"', json.dumps(version)).replace(
        '["__SHELL__"]', json.dumps(shell(brand))
    )


def worker_version(script: str) -> str:
    """The version written into a worker's script (for the tests and the docs)."""
    start = script.index("const VERSION = ") + len("const VERSION = ")
    return str(json.loads(script[start : script.index(";", start)]))


def app_words(lang: Lang) -> dict[str, Any]:
    """What `static/app.js` says, in `lang`, and the tone of each status (the item page's)."""
    t = translations(lang)
    return {
        "lang": HTML_LANG[lang],
        "tones": {status.value: itemview.TONE.get(status, "neutral") for status in Status},
        **_words(t),
    }


def _words(t: NullTranslations) -> dict[str, str]:
    _ = t.gettext
    return {
        "not_found_yet": _("No scan yet"),
        "unknown": _("No record: it may belong to another carrier"),
        "remove": _("Remove"),
        "remove_label": _("Remove %(number)s from My items"),
        "removed": _("%(number)s removed."),
        "undo": _("Undo"),
        "last_scan": _("Last scan %(ago)s"),
        "last_updated": _("Last updated %(ago)s"),
        "never_updated": _("Not updated yet"),
        "updating": _("Updating…"),
        "updated": _("Updated."),
        "offline": _("You are offline. These are the answers as they were last updated."),
        "failed": _("Could not update: showing the answers as they were last updated."),
        "added": _("Added: %(numbers)s"),
        "already": _("Already in My items: %(numbers)s"),
        "invalid": _("%(number)s: %(reason)s"),
        "did_you_mean": _("Did you mean %(numbers)s?"),
        "empty_input": _("Please enter a tracking number."),
        "too_many": _("At most %(count)s numbers at a time."),
        "pull": _("Pull down to update"),
        "release": _("Release to update"),
        "following": _("Followed on this device."),
        "follow_added": _("Added to My items on this device."),
        "new_version": _("A new version is ready."),
        "reload": _("Reload"),
        "full_page": _("Full details"),
        "events": _("Events"),
        "email_needed": _("Please enter your e-mail address."),
        "check_mail": _(
            "Check your mail: if this is an address we can write to, a sign-in link is on its"
            " way. It works for %(minutes)s minutes, once."
        ),
        "too_many_requests": _("Too many attempts. Please try again later."),
        "sync_failed": _("That did not work. Please try again in a few minutes."),
        "signed_in": _("You are signed in."),
        "signed_out": _("You are signed out. Your list stays on this device."),
        "list_deleted": _("Your list is deleted from our server. It stays on this device."),
        "push_on": _("Notifications are on for the items of your list."),
        "push_off": _("Notifications are off."),
        "push_denied": _("Notifications are blocked for this site in your browser's settings."),
        "push_failed": _("Notifications could not be turned on in this browser."),
    }
