"""The app under another operator's brand (issue 16 point 1): its manifest names that
operator and takes its colours, and its icons are drawn from its logo: a PNG logo scaled into
them, an SVG logo (which would need a renderer) replaced by the parcel mark in its colours.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from brands import NAME_EN, NAME_ZH, PRIMARY, write_brand
from PIL import Image
from webclient import ServeApp

from emstrack.web import pwa

#: The PNG logo: a square of one colour no icon of the shipped mark has.
LOGO_COLOUR = (17, 170, 85)


def _png_logo(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGBA", (64, 64), (*LOGO_COLOUR, 255)).save(folder / "logo.png")


@pytest.fixture
def svg_brand(serve_app: ServeApp, tmp_path: Path) -> Iterator[httpx.Client]:
    with serve_app(brand_file=str(write_brand(tmp_path / "svg"))) as http:
        yield http


@pytest.fixture
def png_brand(serve_app: ServeApp, tmp_path: Path) -> Iterator[httpx.Client]:
    path = write_brand(tmp_path / "png")
    _png_logo(path.parent)
    path.write_text(path.read_text().replace('logo = "northwind.svg"', 'logo = "logo.png"'))
    with serve_app(brand_file=str(path)) as http:
        yield http


def _icon(client: httpx.Client, purpose: str) -> Image.Image:
    manifest = client.get("/manifest.webmanifest").json()
    (src,) = [
        i["src"] for i in manifest["icons"] if i["purpose"] == purpose and "512" in i["sizes"]
    ]
    answer = client.get(src)
    assert answer.status_code == 200
    return Image.open(io.BytesIO(answer.content)).convert("RGBA")


def _px(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    pixel = image.getpixel((x, y))
    assert isinstance(pixel, tuple)
    return pixel


def _colour(hex_colour: str) -> tuple[int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


def test_the_manifest_is_the_operators(svg_brand: httpx.Client) -> None:
    assert svg_brand.get("/manifest.webmanifest?lang=en").json()["name"] == NAME_EN
    zh = svg_brand.get("/manifest.webmanifest?lang=zh").json()
    assert (zh["name"], zh["short_name"], zh["lang"]) == (NAME_ZH, "北风", "zh-Hans")
    assert zh["theme_color"] == PRIMARY
    page = svg_brand.get("/app", headers={"Accept": "text/html"}).text
    assert f'<meta name="theme-color" content="{PRIMARY}">' in page


def test_an_svg_logo_gives_the_parcel_mark_in_the_brands_colours(svg_brand: httpx.Client) -> None:
    icon = _icon(svg_brand, "maskable")
    assert _px(icon, 4, 4)[:3] == _colour(PRIMARY)
    # The mark's white outline crosses the middle column.
    column = {_px(icon, 256, y)[:3] for y in range(0, 512, 2)}
    assert (255, 255, 255) in column


def test_a_png_logo_is_scaled_into_the_icons(png_brand: httpx.Client) -> None:
    maskable = _icon(png_brand, "maskable")
    assert _px(maskable, 256, 256)[:3] == LOGO_COLOUR  # the logo in the middle
    assert _px(maskable, 4, 4)[:3] == _colour(PRIMARY)  # the brand's colour around it
    plain = _icon(png_brand, "any")
    assert _px(plain, 256, 256)[:3] == LOGO_COLOUR
    assert _px(plain, 0, 0)[3] == 0  # the rounded square's corner


def test_the_icons_follow_the_brand(svg_brand: httpx.Client, png_brand: httpx.Client) -> None:
    """Another logo is another icon address (`?v=`), so that a browser never keeps the old."""
    first = svg_brand.get("/manifest.webmanifest").json()["icons"][0]["src"]
    second = png_brand.get("/manifest.webmanifest").json()["icons"][0]["src"]
    assert first != second
    assert first.split("?")[0] == second.split("?")[0] == pwa.ICONS[0][0]


def test_no_icon_of_another_size(svg_brand: httpx.Client) -> None:
    assert svg_brand.get("/app/icon-64.png").status_code == 404
    assert svg_brand.get("/app/icon-maskable-192.png").status_code == 200
