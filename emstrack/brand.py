"""The operator's own brand: whose official Track & Trace site this is, read from one TOML file.

A post or a consolidator running emstrack names itself here: its name and short name in English
and Chinese, its logo, its colours, its hotlines by country, its official domains (which the scam
checker takes for genuine) and the text of its footer. `EMSTRACK_BRAND_FILE` names the file;
without it the shipped `emstrack/data/brand.toml` (China Post EMS) is used. The format, with a
full example, is in docs/configuration.md ("The brand file").

The file is checked when the settings are read, so a bad one stops the server at start with one
line that names the file and the key (`BrandError`, a `ValueError` as pydantic's validators
raise): an unknown key, a missing name, a colour pair below WCAG AA contrast, a logo that is not
there, a domain that is not a host name.

This module sits just above `domain`: it imports only `domain` (country names) and the standard
library, so that `config`, `text` and everything above may read the brand.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from emstrack.domain.countries import country_name, lookup
from emstrack.domain.lang import Lang

DEFAULT_FILE: Final = Path(__file__).parent / "data" / "brand.toml"

#: Largest logo file accepted, in bytes: it is sent with every page.
MAX_LOGO_BYTES: Final = 256 * 1024
LOGO_TYPES: Final[dict[str, str]] = {".svg": "image/svg+xml", ".png": "image/png"}

#: WCAG 2.2 AA: 4.5:1 for text (1.4.3), 3:1 for parts of the interface such as a focus ring or
#: a logo's strokes (1.4.11).
TEXT_CONTRAST: Final = 4.5
UI_CONTRAST: Final = 3.0
WHITE: Final = "#ffffff"
#: The darkest background links appear on: the pages' footer (`.site-footer` in style.css).
FOOTER_GREY: Final = "#e9edf2"

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_HOST = re.compile(r"(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}")
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-]*[0-9]")
_COUNTRY = re.compile(r"[A-Z]{2}")

_TOP_KEYS: Final = frozenset(
    {
        "name",
        "short_name",
        "logo",
        "colours",
        "hotlines",
        "official_domains",
        "footer_en",
        "footer_zh",
        "site_url",
    }
)
_COLOUR_KEYS: Final = frozenset({"primary", "accent", "text_on_primary", "link"})
_HOTLINE_KEYS: Final = frozenset(
    {"country", "label_en", "label_zh", "number", "hours_en", "hours_zh", "note_en", "note_zh"}
)
# How a list of hotlines is said: "A, B or C"; "A、B 或 C".
_AND: Final[dict[Lang, str]] = {"en": ", ", "zh": "、"}
_OR: Final[dict[Lang, str]] = {"en": " or ", "zh": " 或 "}


class BrandError(ValueError):
    """The brand file cannot be used: the message names the file, the key and what is wrong."""


@dataclass(frozen=True, slots=True)
class Texts:
    """One text in English and in Simplified Chinese."""

    en: str
    zh: str

    def get(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True, slots=True)
class Colours:
    """The brand's colours as `#rrggbb`, each pair that is shown together at AA contrast."""

    primary: str  # the header and buttons; text on white (links, the hotline numbers)
    accent: str  # marks on the primary colour (the logo's strokes, the focus ring)
    text_on_primary: str  # text on the header and on buttons
    link: str  # links and the buttons' hover colour; the primary colour when not given


@dataclass(frozen=True, slots=True)
class Hotline:
    """A customer-service number, in the country where it is dialled."""

    country: str  # ISO 3166-1 alpha-2
    label: Texts  # who answers: "EMS customer service"
    number: str  # as printed: "11183", "+44 20 7946 0000"
    hours: Texts | None = None
    note: Texts | None = None

    @property
    def tel(self) -> str:
        """The `tel:` link of the number: its digits, and `+` when it has one."""
        digits = re.sub(r"\D", "", self.number)
        return f"tel:+{digits}" if self.number.startswith("+") else f"tel:{digits}"

    @property
    def digits(self) -> str:
        return re.sub(r"\D", "", self.number)


@dataclass(frozen=True, slots=True)
class HotlineView:
    """A hotline in one language, as a page shows it."""

    label: str
    number: str
    tel: str
    hours: str | None
    note: str | None
    country: str
    country_name: str


@dataclass(frozen=True, slots=True)
class BrandView:
    """The brand in one language: what the pages' templates show."""

    name: str
    short_name: str
    footer: str
    site_url: str | None
    hotlines: list[HotlineView]
    #: The hotlines grouped by country, the home country (the first hotline's) first.
    groups: list[tuple[str, list[HotlineView]]]
    #: The home country's hotlines: the ones a header, a footer or advice names.
    main: list[HotlineView]
    hotline_words: str


@dataclass(frozen=True, slots=True)
class Brand:
    name: Texts
    short_name: Texts
    logo: Path | None  # None: the shipped logo
    colours: Colours
    hotlines: tuple[Hotline, ...]
    official_domains: tuple[str, ...]
    footer: Texts
    site_url: str | None
    source: Path

    @property
    def main_hotlines(self) -> tuple[Hotline, ...]:
        """The hotlines of the home country: the first hotline's country."""
        home = self.hotlines[0].country
        return tuple(h for h in self.hotlines if h.country == home)

    @property
    def hotline_numbers(self) -> tuple[str, ...]:
        """Every hotline's number as printed, the main one first: numbers the brand publishes."""
        return tuple(h.number for h in self.hotlines)

    @property
    def names(self) -> tuple[str, ...]:
        """The names a message may give the operator, longest first."""
        said = {self.name.en, self.name.zh, self.short_name.en, self.short_name.zh}
        return tuple(sorted(said, key=lambda name: (-len(name), name)))

    def hotline_words(self, lang: Lang) -> str:
        """The home country's hotlines in a sentence: "EMS customer service 11183 or China
        Post service line 11185"."""
        return _listed([f"{h.label.get(lang)} {h.number}" for h in self.main_hotlines], lang)

    def view(self, lang: Lang) -> BrandView:
        views = [_hotline_view(h, lang) for h in self.hotlines]
        groups: dict[str, list[HotlineView]] = {}
        for view in views:
            groups.setdefault(view.country_name, []).append(view)
        home = self.hotlines[0].country
        return BrandView(
            name=self.name.get(lang),
            short_name=self.short_name.get(lang),
            footer=self.footer.get(lang),
            site_url=self.site_url,
            hotlines=views,
            groups=list(groups.items()),
            main=[v for v in views if v.country == home],
            hotline_words=self.hotline_words(lang),
        )


def _hotline_view(hotline: Hotline, lang: Lang) -> HotlineView:
    return HotlineView(
        label=hotline.label.get(lang),
        number=hotline.number,
        tel=hotline.tel,
        hours=hotline.hours.get(lang) if hotline.hours else None,
        note=hotline.note.get(lang) if hotline.note else None,
        country=hotline.country,
        country_name=country_name(hotline.country, lang) or hotline.country,
    )


def _listed(items: list[str], lang: Lang) -> str:
    if len(items) <= 1:
        return "".join(items)
    return _AND[lang].join(items[:-1]) + _OR[lang] + items[-1]


# --- colour contrast (WCAG 2.2, "relative luminance" and "contrast ratio")


def _luminance(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two `#rrggbb` colours, from 1 to 21."""
    a, b = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)


# --- reading and checking the file


class _Reader:
    """Reads the values of one file, each error naming the file and the key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> BrandError:
        return BrandError(f"brand file {self.path}: {key}: {problem}")

    def unknown(self, table: Mapping[str, Any], known: Iterable[str], where: str) -> None:
        extra = sorted(set(table) - set(known))
        if extra:
            expected = ", ".join(sorted(known))
            raise self.fail(f"{where}{extra[0]}", f"unknown key (expected one of: {expected})")

    def text(self, table: Mapping[str, Any], key: str, where: str = "", limit: int = 200) -> str:
        value = table.get(key)
        if value is None:
            raise self.fail(where + key, "missing")
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where + key, "must be a text that is not empty")
        if len(value) > limit:
            raise self.fail(where + key, f"longer than {limit} characters")
        return value.strip()

    def optional(self, table: Mapping[str, Any], key: str, where: str = "") -> str | None:
        return self.text(table, key, where) if key in table else None

    def texts(self, table: Mapping[str, Any], key: str, limit: int) -> Texts:
        value = table.get(key)
        if value is None:
            raise self.fail(key, "missing (a table with `en` and `zh`)")
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table with `en` and `zh`, e.g. {en = …, zh = …}")
        self.unknown(value, ("en", "zh"), f"{key}.")
        return Texts(
            self.text(value, "en", f"{key}.", limit), self.text(value, "zh", f"{key}.", limit)
        )

    def pair(self, table: Mapping[str, Any], stem: str, where: str, limit: int) -> Texts | None:
        """`STEM_en` and `STEM_zh`: both, or neither."""
        en, zh = f"{stem}_en", f"{stem}_zh"
        if en not in table and zh not in table:
            return None
        return Texts(self.text(table, en, where, limit), self.text(table, zh, where, limit))

    def colour(self, table: Mapping[str, Any], key: str) -> str:
        value = self.text(table, key, "colours.")
        if not _COLOUR.fullmatch(value):
            raise self.fail(f"colours.{key}", f"{value!r} is not a colour such as #0a3d62")
        return value.lower()


def _colours(reader: _Reader, table: Any) -> Colours:
    if not isinstance(table, dict):
        raise reader.fail("colours", "missing (a table: primary, accent, text_on_primary)")
    reader.unknown(table, _COLOUR_KEYS, "colours.")
    primary = reader.colour(table, "primary")
    colours = Colours(
        primary=primary,
        accent=reader.colour(table, "accent"),
        text_on_primary=reader.colour(table, "text_on_primary"),
        link=reader.colour(table, "link") if "link" in table else primary,
    )
    pairs = [
        ("colours.text_on_primary", colours.text_on_primary, colours.primary, TEXT_CONTRAST,
         "on colours.primary"),
        ("colours.text_on_primary", colours.text_on_primary, colours.link, TEXT_CONTRAST,
         "on colours.link (a button under the pointer)"),
        ("colours.primary", colours.primary, WHITE, TEXT_CONTRAST, "on white"),
        ("colours.link", colours.link, FOOTER_GREY, TEXT_CONTRAST, "on the footer's grey"),
        ("colours.accent", colours.accent, colours.primary, UI_CONTRAST, "on colours.primary"),
    ]  # fmt: skip
    for key, fore, back, needed, where in pairs:
        ratio = contrast(fore, back)
        if ratio < needed:
            raise reader.fail(
                key,
                f"{fore} {where} ({back}) has a contrast of {ratio:.2f}:1; WCAG AA needs at "
                f"least {needed:g}:1",
            )
    return colours


def _hotlines(reader: _Reader, value: Any) -> tuple[Hotline, ...]:
    if not isinstance(value, list) or not value:
        raise reader.fail("hotlines", "missing (at least one [[hotlines]] table)")
    found: list[Hotline] = []
    for index, table in enumerate(value):
        where = f"hotlines[{index}]."
        if not isinstance(table, dict):
            raise reader.fail(f"hotlines[{index}]", "must be a table")
        reader.unknown(table, _HOTLINE_KEYS, where)
        country = reader.text(table, "country", where).upper()
        if not _COUNTRY.fullmatch(country) or lookup(country) is None:
            raise reader.fail(where + "country", f"{country!r} is not a country code such as GB")
        number = reader.text(table, "number", where, limit=40)
        if not _PHONE.fullmatch(number) or len(re.sub(r"\D", "", number)) < 3:
            raise reader.fail(
                where + "number", f"{number!r} is not a phone number such as +44 20 7946 0000"
            )
        label = Texts(
            reader.text(table, "label_en", where, 80), reader.text(table, "label_zh", where, 80)
        )
        hours = reader.pair(table, "hours", where, 120)
        note = reader.pair(table, "note", where, 300)
        found.append(Hotline(country, label, number, hours, note))
    return tuple(found)


def _domains(reader: _Reader, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise reader.fail("official_domains", 'must be a list such as ["post.example"]')
    domains: list[str] = []
    for index, domain in enumerate(value):
        if not isinstance(domain, str) or not _HOST.fullmatch(domain.strip().lower()):
            raise reader.fail(
                f"official_domains[{index}]",
                f"{domain!r} is not a domain such as post.example (no https://, no path)",
            )
        domains.append(domain.strip().lower())
    return tuple(dict.fromkeys(domains))


def _logo(reader: _Reader, value: Any) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise reader.fail("logo", "must be the path of an SVG or PNG file")
    path = (reader.path.parent / value.strip()).resolve()
    if path.suffix.lower() not in LOGO_TYPES:
        raise reader.fail("logo", f"{value!r} is neither an .svg nor a .png file")
    if not path.is_file():
        raise reader.fail("logo", f"{path} is not there")
    if path.stat().st_size > MAX_LOGO_BYTES:
        raise reader.fail("logo", f"{path} is larger than {MAX_LOGO_BYTES // 1024} KB")
    return path


def _site_url(reader: _Reader, table: Mapping[str, Any]) -> str | None:
    value = reader.optional(table, "site_url")
    if value is not None and not re.fullmatch(r"https://[^\s/?#]+\.[^\s/?#]+(/\S*)?", value):
        raise reader.fail("site_url", f"{value!r} is not an https:// address")
    return value


def parse(path: Path) -> Brand:
    """The brand of the file at `path`, checked; `BrandError` says what is wrong."""
    reader = _Reader(path)
    try:
        with path.open("rb") as f:
            table = tomllib.load(f)
    except FileNotFoundError:
        raise BrandError(f"brand file {path}: not found") from None
    except OSError as exc:
        raise BrandError(f"brand file {path}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise BrandError(f"brand file {path}: not valid TOML ({exc})") from None
    reader.unknown(table, _TOP_KEYS, "")
    footer_en = reader.text(table, "footer_en", limit=500)
    footer_zh = reader.text(table, "footer_zh", limit=500)
    return Brand(
        name=reader.texts(table, "name", 80),
        short_name=reader.texts(table, "short_name", 24),
        logo=_logo(reader, table.get("logo")),
        colours=_colours(reader, table.get("colours")),
        hotlines=_hotlines(reader, table.get("hotlines")),
        official_domains=_domains(reader, table.get("official_domains")),
        footer=Texts(footer_en, footer_zh),
        site_url=_site_url(reader, table),
        source=path,
    )


@lru_cache(maxsize=16)
def _load(path: str) -> Brand:
    return parse(Path(path))


def load(path: str | Path | None = None) -> Brand:
    """The brand of `path` (`EMSTRACK_BRAND_FILE`), read once; empty or None: the default."""
    if path is None or not str(path).strip():
        return default()
    return _load(str(Path(str(path).strip()).expanduser().resolve()))


def default() -> Brand:
    """The shipped brand: China Post EMS."""
    return _load(str(DEFAULT_FILE))
