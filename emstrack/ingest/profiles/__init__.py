"""Source profiles: how one operator's feed turns its own texts into events (docs/import.md).

A profile is a TOML file: column aliases, the time-zone rule of its own country, the personal
data its texts carry, and ordered text rules. A row's texts are matched exactly (normalised,
`domain.operator.normalise_text`) against every rule first, then against each rule's anchored
regular expressions in order; the first rule that matches gives a UPU `event_code` or an
operator event (labels and an `Effect`). A text no rule maps is an operator event all the same,
with effect `none` and its own text, personal data removed, as its label: nothing is dropped.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from emstrack.domain.events import Event
from emstrack.domain.operator import STAND_IN, Effect, normalise_text
from emstrack.domain.times import TimeParseError, parse_offset
from emstrack.errors import InputError

#: The profile used when none is named: today's format, each row with its UPU event code.
DEFAULT = "upu"
_EVENT_CODE = re.compile(r"[A-Z0-9]{2,8}")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class ProfileError(InputError):
    """A profile that cannot be used; the message names the file and the rule or line."""

    def __init__(self, message: str) -> None:
        super().__init__(
            "bad_profile", message, "See docs/import.md for the profile format and an example."
        )


@dataclass(frozen=True, slots=True)
class Rule:
    """One text rule: the texts or patterns it matches and what it makes of them."""

    id: str
    exact: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    event_code: str | None
    effect: Effect | None
    label_en: str | None
    label_zh: str | None


@dataclass(frozen=True, slots=True)
class Match:
    """What a profile makes of a row's texts; `rule` is None for an unmapped text."""

    rule: str | None
    event_code: str | None
    effect: Effect | None
    label_en: str | None
    label_zh: str | None


@dataclass(frozen=True, slots=True)
class Profile:
    """A loaded profile (docs/import.md, "Profiles")."""

    name: str
    title: str
    text: str  # the TOML source, as `emstrack sources show` prints it
    country: str | None = None
    utc_offset_min: int | None = None
    zones: dict[str, str] = field(default_factory=dict)
    zone_pattern: re.Pattern[str] | None = None
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    name_fields: tuple[str, ...] = ()
    postcode: re.Pattern[str] | None = None
    rules: tuple[Rule, ...] = ()
    time_formats: tuple[str, ...] = ()

    def parse_time(self, text: str) -> datetime | None:
        """A local time in one of the feed's own formats (`[time] formats`, `strptime`'s
        codes: "November 24, 2026, 9:30 am"), without an offset; None if none fits.

        A format with both `%H` and `%p` reads a 24-hour clock printed with AM/PM
        (`_mixed_clock`); `TimeParseError` if the two contradict each other ("13:45 AM")."""
        given = " ".join(text.split())
        for form in self.time_formats:
            try:
                local = datetime.strptime(given, form)
            except ValueError:
                continue
            return _mixed_clock(local, given) if "%H" in form and "%p" in form else local
        return None

    @property
    def uses_texts(self) -> bool:
        """Whether rows are read by their texts (every profile but `upu`)."""
        return bool(self.rules) or self.name != DEFAULT

    def rename(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record with each aliased column under its own name (the first alias present)."""
        if not self.columns:
            return record
        out = dict(record)
        lowered = {str(k).strip().lower(): k for k in record}
        for name, aliases in self.columns.items():
            if out.get(name) not in (None, ""):
                continue
            for alias in aliases:
                key = lowered.get(alias)
                if key is not None and record[key] not in (None, ""):
                    out[name] = record[key]
                    break
        return out

    def has_column(self, name: str, names: list[str]) -> bool:
        return name in names or any(a in names for a in self.columns.get(name, ()))

    def match(self, *texts: str | None) -> Match:
        """The first rule for the row's texts: exact matches of any text first, then patterns."""
        normal = [normalise_text(t) for t in texts if t and t.strip()]
        for rule in self.rules:
            if any(t in rule.exact for t in normal):
                return _match(rule)
        for rule in self.rules:
            for pattern in rule.patterns:
                if any(pattern.fullmatch(t) for t in normal):
                    return _match(rule)
        return Match(None, None, Effect.NONE, None, None)

    def offset_at(self, local: datetime, office_name: str | None, region: str | None) -> int | None:
        """The UTC offset of a local time by the profile's rule; None when it cannot be known."""
        if self.utc_offset_min is not None:
            return self.utc_offset_min
        key = (region or "").strip().upper()
        if not key and office_name and self.zone_pattern is not None:
            found = self.zone_pattern.search(office_name.upper())
            key = found.group(1) if found else ""
        zone = self.zones.get(key)
        if zone is None:
            return None  # unknown: never guessed as UTC
        delta = ZoneInfo(zone).utcoffset(local)
        return None if delta is None else int(delta.total_seconds() // 60)

    def remap(self, event: Event) -> Event | None:
        """An unmapped event of this profile as the current rules read it; None if unchanged.

        The stored `description` joins the row's texts with " / " (`records`): each part is
        matched, and the whole."""
        if event.rule is not None or event.effect != Effect.NONE.value:
            return None
        text = event.description or ""
        found = self.match(text, *text.split(" / "))
        if found.rule is None:
            return None
        if found.event_code is not None:
            code, effect, en, zh = found.event_code, None, None, None
        else:
            effect = found.effect or Effect.NONE
            code, en, zh = STAND_IN[effect], found.label_en, found.label_zh
        return replace(
            event,
            code=code,
            rule=found.rule,
            effect=effect.value if effect else None,
            label_en=en,
            label_zh=zh,
        )


_MERIDIEM = re.compile(r"(?<![a-z])([ap])m(?![a-z])", re.IGNORECASE)


def _mixed_clock(local: datetime, given: str) -> datetime:
    """The time a feed means by an hour printed with AM/PM that may be on a 24-hour clock.

    `strptime` ignores `%p` beside `%H`. Hours 1 to 12 read as a 12-hour clock does ("01:45 PM"
    is 13:45, "12:10 AM" 00:10); 13 to 23 with PM and 00 with AM are as printed, the AM/PM
    redundant; 13 to 23 with AM, or 00 with PM, contradict themselves and are refused, never
    guessed (docs/import.md, "upu-names")."""
    found = _MERIDIEM.findall(given)
    if not found:  # pragma: no cover - strptime matched a %p, so AM or PM is there
        return local
    pm = found[-1].lower() == "p"
    hour = local.hour
    if (hour > 12 and not pm) or (hour == 0 and pm):
        clock = f"{hour:02d}:{local.minute:02d}"
        raise TimeParseError(
            f"{given!r}: {clock} is a 24-hour time, which contradicts {'PM' if pm else 'AM'}; "
            f"write {clock} without AM/PM, or the hour the feed meant"
        )
    if hour <= 12:
        hour = hour % 12 + (12 if pm else 0)
    return local.replace(hour=hour)


def _match(rule: Rule) -> Match:
    return Match(rule.id, rule.event_code, rule.effect, rule.label_en, rule.label_zh)


def builtin_names() -> list[str]:
    """The names of the profiles shipped in the package, sorted."""
    root = resources.files(__package__)
    return sorted(p.name.removesuffix(".toml") for p in root.iterdir() if p.name.endswith(".toml"))


def load(name_or_path: str) -> Profile:
    """A built-in profile by name, or a profile file by path (anything ending in `.toml`)."""
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        path = Path(name_or_path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProfileError(f"{path}: cannot be read ({exc}).") from None
        return parse(text, str(path))
    return builtin(name_or_path)


@cache
def builtin(name: str) -> Profile:
    """A profile shipped in the package, by name; never a file (what the API may choose)."""
    if name not in builtin_names():
        raise ProfileError(
            f"no profile named {name!r}; built in: {', '.join(builtin_names())} "
            "(or give the path of a .toml file)."
        )
    text = (resources.files(__package__) / f"{name}.toml").read_text(encoding="utf-8")
    return parse(text, f"{name}.toml")


def parse(text: str, where: str) -> Profile:
    """A profile from its TOML text; `ProfileError` names `where` and the line or rule."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{where}: not valid TOML ({exc}).") from None
    try:
        return _build(doc, text, where)
    except (KeyError, TypeError, ValueError) as exc:
        raise ProfileError(f"{where}: {exc}") from None


def _text(doc: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise ValueError(f"{where} needs {key!r}")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key!r} must be non-empty text")
    return value.strip()


def _texts(doc: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = doc.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"{where}: {key!r} must be a list of non-empty texts")
    return tuple(value)


def _build(doc: dict[str, Any], text: str, where: str) -> Profile:
    name = _text(doc, "name", "the profile", required=True) or ""
    if not _NAME.fullmatch(name):
        raise ValueError(f"'name' must be lower-case letters, digits, '-' or '_', got {name!r}")
    title = _text(doc, "title", "the profile") or name
    time = doc.get("time", {})
    country = _text(time, "country", "[time]")
    offset = None
    if (given := _text(time, "utc_offset", "[time]")) is not None:
        try:
            offset = parse_offset(given)
        except TimeParseError as exc:
            raise ValueError(f"[time] utc_offset: {exc}") from None
    zones = dict(time.get("zones", {}))
    for key, zone in zones.items():
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"[time.zones] {key}: no time zone named {zone!r}") from None
    zone_pattern = _regex(time, "zone_pattern", "[time]")
    columns = {
        str(k): tuple(a.strip().lower() for a in _texts(doc.get("columns", {}), k, "[columns]"))
        for k in doc.get("columns", {})
    }
    privacy = doc.get("privacy", {})
    rules = []
    seen: set[str] = set()
    for number, entry in enumerate(doc.get("rule", []), start=1):
        rule = _rule(entry, f"rule {number}")
        if rule.id in seen:
            raise ValueError(f"rule {number} ({rule.id}): the id is used by an earlier rule")
        seen.add(rule.id)
        rules.append(rule)
    return Profile(
        name=name,
        title=title,
        text=text,
        country=country.upper() if country else None,
        utc_offset_min=offset,
        zones={k.upper(): v for k, v in zones.items()},
        zone_pattern=zone_pattern,
        columns=columns,
        name_fields=_texts(privacy, "name_fields", "[privacy]"),
        postcode=_regex(privacy, "postcode", "[privacy]"),
        rules=tuple(rules),
        time_formats=_texts(time, "formats", "[time]"),
    )


def _regex(doc: dict[str, Any], key: str, where: str) -> re.Pattern[str] | None:
    given = _text(doc, key, where)
    if given is None:
        return None
    try:
        return re.compile(given)
    except re.error as exc:
        raise ValueError(f"{where} {key}: not a regular expression ({exc})") from None


def _rule(entry: dict[str, Any], where: str) -> Rule:
    rule_id = _text(entry, "id", where, required=True) or ""
    where = f"{where} ({rule_id})"
    if not _NAME.fullmatch(rule_id):
        raise ValueError(f"{where}: 'id' must be lower-case letters, digits, '-' or '_'")
    exact = tuple(normalise_text(t) for t in _texts(entry, "match", where))
    patterns = []
    for pattern in _texts(entry, "pattern", where):
        try:
            # Anchored: a pattern matches the whole normalised text, never a part of it.
            patterns.append(re.compile(unicodedata.normalize("NFKC", pattern), re.IGNORECASE))
        except re.error as exc:
            raise ValueError(f"{where}: pattern {pattern!r} is not valid ({exc})") from None
    if not exact and not patterns:
        raise ValueError(f"{where} needs 'match' or 'pattern'")
    code = _text(entry, "event_code", where)
    effect_name = _text(entry, "effect", where)
    if (code is None) == (effect_name is None):
        raise ValueError(f"{where} needs exactly one of 'event_code' and 'effect'")
    effect = None
    en = zh = None
    if code is not None:
        code = code.upper()
        if not _EVENT_CODE.fullmatch(code):
            raise ValueError(f"{where}: 'event_code' {code!r} is not a UPU event code")
    else:
        try:
            effect = Effect(effect_name or "")
        except ValueError:
            choices = ", ".join(e.value for e in Effect)
            raise ValueError(f"{where}: effect {effect_name!r} is not one of {choices}") from None
        en = _text(entry, "en", where, required=True)
        zh = _text(entry, "zh", where, required=True)
    return Rule(rule_id, exact, tuple(patterns), code, effect, en, zh)
