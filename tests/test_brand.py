"""The brand file (`emstrack.brand`): the shipped default, a full second brand, and every
refusal, each naming the file and the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from brands import HOTLINE, HOTLINE_TEL, NAME_EN, NAME_ZH, NORTHWIND, PRIMARY, write_brand
from pydantic import ValidationError

from emstrack import brand
from emstrack.brand import BrandError, contrast
from emstrack.config import Settings

ROOT = Path(__file__).parent.parent


def test_the_default_brand_is_china_post_ems() -> None:
    shipped = brand.default()
    assert shipped is brand.load(None) is brand.load("")
    assert (shipped.name.en, shipped.name.zh) == ("China Post EMS", "中国邮政速递物流")
    assert shipped.short_name.get("zh") == "EMS"
    assert [h.number for h in shipped.hotlines] == ["11183", "11185"]
    assert shipped.hotline_numbers == ("11183", "11185")
    assert shipped.official_domains == ("chinapost.com.cn", "ems.com.cn", "11183.com.cn")
    assert shipped.logo is None  # the shipped /static/logo.svg
    assert shipped.site_url == "https://www.ems.com.cn"
    assert shipped.hotline_words("en") == (
        "EMS customer service 11183 or China Post service line 11185"
    )
    assert shipped.hotline_words("zh") == "EMS 客服热线 11183 或 中国邮政服务热线 11185"
    assert shipped.colours.primary == "#0a3d62"


def test_a_second_brand_in_full(tmp_path: Path) -> None:
    found = brand.load(write_brand(tmp_path))
    assert (found.name.en, found.name.zh) == (NAME_EN, NAME_ZH)
    assert found.short_name.get("en") == "Northwind"
    assert found.logo == (tmp_path / "northwind.svg").resolve()
    assert found.colours.primary == PRIMARY
    assert found.colours.link == PRIMARY  # not given: the primary colour
    assert found.official_domains == ("northwind.example", "northwind-post.example")
    assert found.site_url == "https://www.northwind.example"
    assert [h.country for h in found.hotlines] == ["GB", "IE"]
    main = found.hotlines[0]
    assert (main.number, main.tel, main.digits) == (HOTLINE, HOTLINE_TEL, "442079460000")
    assert main.hours is not None
    assert main.hours.get("zh") == "周一至周五 8:00–18:00"
    assert main.note is None
    # The home country is the first hotline's: the footer and the checker's advice name its
    # hotlines; the support page lists them all by country.
    assert found.main_hotlines == (main,)
    assert found.hotline_words("en") == f"Northwind customer service {HOTLINE}"
    view = found.view("zh")
    assert [country for country, _ in view.groups] == ["英国", "爱尔兰"]
    assert view.groups[1][1][0].note == "适用于寄往爱尔兰的邮件。"
    assert view.footer == "北风邮政有限公司，北风港口路 1 号。"


def test_several_hotlines_in_a_sentence(tmp_path: Path) -> None:
    text = NORTHWIND.replace('country = "IE"', 'country = "GB"')
    found = brand.load(write_brand(tmp_path, text))
    assert found.hotline_words("en") == (
        f"Northwind customer service {HOTLINE} or Northwind in Ireland +353 1 555 0100"
    )
    assert " 或 " in found.hotline_words("zh")


def test_the_documented_example_is_a_valid_brand_file(tmp_path: Path) -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = docs.split("## The brand file", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    (tmp_path / "northwind.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "brand.toml").write_text(example, encoding="utf-8")
    found = brand.load(tmp_path / "brand.toml")
    assert found.name.en == "Northwind Post"
    assert len(found.hotlines) == 2


def test_wcag_contrast() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the AA grey


#: A change to the Northwind file, and the key the error must name.
BROKEN = [
    ("missing name", lambda t: t.replace('name = { en = "Northwind Post", zh = "北风邮政" }', ""),
     "name", "missing"),
    ("name without Chinese", lambda t: t.replace(', zh = "北风邮政" }', " }", 1), "name.zh",
     "missing"),
    ("empty name", lambda t: t.replace('en = "Northwind Post"', 'en = " "'), "name.en",
     "not empty"),
    ("short name too long", lambda t: t.replace('en = "Northwind"', f'en = "{"N" * 30}"'),
     "short_name.en", "longer than 24"),
    ("unknown key", lambda t: "colors = 1\n" + t, "colors", "unknown key"),
    ("unknown colour", lambda t: t.replace("[colours]", '[colours]\nbackground = "#ffffff"'),
     "colours.background", "unknown key"),
    ("not a colour", lambda t: t.replace(PRIMARY, "purple"), "colours.primary",
     "not a colour"),
    ("primary too light", lambda t: t.replace(PRIMARY, "#9fc5e8"), "colours.",
     "WCAG AA needs at least 4.5:1"),
    ("text on primary too dark", lambda t: t.replace('text_on_primary = "#ffffff"',
     'text_on_primary = "#333333"'), "colours.text_on_primary", "WCAG AA"),
    ("accent too close", lambda t: t.replace('accent = "#f2c14e"', 'accent = "#6a2a80"'),
     "colours.accent", "at least 3:1"),
    ("link too light", lambda t: t.replace("[colours]", '[colours]\nlink = "#707070"'),
     "colours.link", "footer"),
    ("no colours", lambda t: t.replace("[colours]", "[colours_]"), "colours_", "unknown key"),
    ("no hotline", lambda t: t.split("[[hotlines]]")[0], "hotlines", "missing"),
    ("hotline country", lambda t: t.replace('country = "GB"', 'country = "UK"'),
     "hotlines[0].country", "not a country code"),
    ("hotline number", lambda t: t.replace(HOTLINE, "call us"), "hotlines[0].number",
     "not a phone number"),
    ("hours in one language", lambda t: t.replace('hours_zh = "周一至周五 8:00–18:00"\n', ""),
     "hotlines[0].hours_zh", "missing"),
    ("hotline key", lambda t: t.replace("label_en", "title_en", 1), "hotlines[0].title_en",
     "unknown key"),
    ("domain with scheme", lambda t: t.replace('["northwind.example"', '["https://x.example"'),
     "official_domains[0]", "not a domain"),
    ("domains not a list", lambda t: t.replace(
     'official_domains = ["northwind.example", "Northwind-Post.example"]',
     'official_domains = "northwind.example"'), "official_domains", "must be a list"),
    ("site over http", lambda t: t.replace("https://www.", "http://www."), "site_url",
     "https://"),
    ("logo not there", lambda t: t.replace("northwind.svg", "missing.svg"), "logo",
     "is not there"),
    ("logo of another type", lambda t: t.replace("northwind.svg", "brand.toml"), "logo",
     "neither an .svg nor a .png"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "key", "words"), [b[1:] for b in BROKEN],
                         ids=[b[0] for b in BROKEN])  # fmt: skip
def test_a_bad_brand_file_is_refused_naming_the_file_and_the_key(
    tmp_path: Path, change: object, key: str, words: str
) -> None:
    assert callable(change)
    path = write_brand(tmp_path, change(NORTHWIND))
    with pytest.raises(BrandError) as refused:
        brand.load(path)
    message = str(refused.value)
    assert message.startswith(f"brand file {path.resolve()}: {key}"), message
    assert words in message


def test_a_logo_too_large_is_refused(tmp_path: Path) -> None:
    path = write_brand(tmp_path)
    (tmp_path / "northwind.svg").write_bytes(b"<svg>" + b" " * brand.MAX_LOGO_BYTES + b"</svg>")
    with pytest.raises(BrandError, match=r": logo: .* is larger than 256 KB"):
        brand.load(path)


def test_not_toml_and_not_there(tmp_path: Path) -> None:
    path = write_brand(tmp_path, "name = ")
    with pytest.raises(BrandError, match=r"brand file .*brand.toml: not valid TOML"):
        brand.load(path)
    with pytest.raises(BrandError, match=r"brand file .*nowhere.toml: not found"):
        brand.load(tmp_path / "nowhere.toml")


def test_the_setting_checks_the_file_at_start(tmp_path: Path) -> None:
    path = write_brand(tmp_path, NORTHWIND.replace(PRIMARY, "#9fc5e8"))
    with pytest.raises(ValidationError) as refused:
        Settings(brand_file=str(path))
    assert re.search(r"brand file .*brand.toml: colours\.\w+: #", str(refused.value))


def test_official_domains_are_the_brands_and_the_settings(tmp_path: Path) -> None:
    assert Settings().official_domain_list == ["chinapost.com.cn", "ems.com.cn", "11183.com.cn"]
    settings = Settings(brand_file=str(write_brand(tmp_path)), official_domains="track.example")
    assert settings.brand.name.en == NAME_EN
    # EMSTRACK_OFFICIAL_DOMAINS keeps working: it adds to the brand's domains.
    assert settings.official_domain_list == [
        "northwind.example",
        "northwind-post.example",
        "track.example",
    ]
