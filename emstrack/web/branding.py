"""The operator's brand on the pages: its colours as a small style sheet, its logo, its words.

`emstrack.brand` reads the brand file (`EMSTRACK_BRAND_FILE`); here the pages get it. The colours
go into `/brand.css`, a style sheet of CSS custom properties made from the brand, rather than
into an inline `<style>`, which the security policy forbids (`web.security`). The logo, when the
brand names one, is served at `/brand/logo.svg` or `/brand/logo.png`; otherwise the pages show
the shipped `/static/logo.svg`. Both addresses carry a hash of what they serve, so that a
browser may keep them for a day and still sees a new brand at once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from emstrack.brand import LOGO_TYPES, Brand, BrandView
from emstrack.domain.lang import Lang

router = APIRouter(include_in_schema=False)

_CACHE = "public, max-age=86400"


@dataclass(frozen=True, slots=True)
class Assets:
    """The addresses of the brand's style sheet and logo, and the logo's media type."""

    css: str
    logo: str
    logo_type: str


def _brand(request: Request) -> Brand:
    brand: Brand = request.app.state.settings.brand
    return brand


def _css(brand: Brand) -> str:
    c = brand.colours
    return (
        "/* The operator's colours, from its brand file (EMSTRACK_BRAND_FILE). */\n"
        f":root {{ --brand: {c.primary}; --brand-2: {c.link}; --accent: {c.accent}; "
        f"--on-brand: {c.text_on_primary}; }}\n"
    )


def _logo_bytes(brand: Brand) -> bytes | None:
    return brand.logo.read_bytes() if brand.logo else None


@cache
def assets(brand: Brand) -> Assets:
    css = _css(brand).encode()
    css_url = f"/brand.css?v={hashlib.sha256(css).hexdigest()[:12]}"
    logo = _logo_bytes(brand)
    if brand.logo is None or logo is None:
        return Assets(css_url, "/static/logo.svg", "image/svg+xml")
    suffix = brand.logo.suffix.lower()
    version = hashlib.sha256(logo).hexdigest()[:12]
    return Assets(css_url, f"/brand/logo{suffix}?v={version}", LOGO_TYPES[suffix])


def context(request: Request, lang: Lang) -> dict[str, Any]:
    """What every page's layout needs of the brand: `brand` (its words in `lang`) and `assets`."""
    return layout(_brand(request), lang)


def layout(brand: Brand, lang: Lang) -> dict[str, Any]:
    """`context` of `brand` (`web.html` keeps it per brand and language)."""
    view: BrandView = brand.view(lang)
    # theme_color: the browser's bar and the installed app's title bar (web/pwa.py).
    return {"brand": view, "brand_assets": assets(brand), "theme_color": brand.colours.primary}


@router.get("/brand.css")
async def brand_css(request: Request) -> Response:
    return Response(
        _css(_brand(request)),
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": _CACHE},
    )


@router.get("/brand/logo{suffix}")
async def brand_logo(request: Request, suffix: str) -> Response:
    brand = _brand(request)
    if brand.logo is None or brand.logo.suffix.lower() != suffix:
        raise HTTPException(404)
    return Response(
        brand.logo.read_bytes(),
        media_type=LOGO_TYPES[suffix],
        headers={"Cache-Control": _CACHE},
    )
