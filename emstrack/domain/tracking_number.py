"""What a parsed tracking number is, and how it reads in words: `TrackingNumber`.

`emstrack.domain.s10.parse` makes one from what a person typed; this module holds the result
(its parts, problems and "did you mean" suggestions) and the words that describe it in either
language: the service's label, the issuing country's name, a sentence that explains it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from emstrack.domain import countries, operators
from emstrack.domain.lang import Lang
from emstrack.domain.problems import Problem, Severity

_GROUPED = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")

EMS_PREFIXES = frozenset({"10", "11", "50", "51", "95", "97"})
EXTENDED_PREFIXES = frozenset(
    {"12", "52", "98", "99"}
)  # docs/standards/china-ems.md §2: [L], less certain


def format_grouped(number: str) -> str:
    """ "EE 123 456 785 CN" for a compact S10 number; anything else unchanged."""
    if len(number) != 13 or not _GROUPED.fullmatch(number):
        return number
    return f"{number[:2]} {number[2:5]} {number[5:8]} {number[8:11]} {number[11:]}"


SERVICE_LABELS: dict[str, tuple[str, str]] = {
    "ems": ("EMS (Express Mail Service)", "EMS 特快专递"),
    "parcel": ("Parcel post", "国际包裹"),
    "ecommerce_parcel": ("E-commerce parcel", "电子商务包裹"),
    "registered": ("Registered letter post", "挂号函件"),
    "insured": ("Insured letter post", "保价函件"),
    "letter_tracked": ("Tracked letter post", "可跟踪函件"),
    "m_bag": ("M bag (printed matter)", "M 袋（印刷品专袋）"),
    "ibrs": ("International Business Reply Service", "国际商业回函"),
    "letter_untracked_goods": ("Letter post with goods (customs declaration)", "含物品的平常函件"),
    "domestic": ("Domestic or bilateral use only", "国内或双边专用"),
    "unassigned": ("Unassigned service code", "未分配的业务代码"),
    "reserved": ("Reserved service code (never issued)", "保留业务代码（不签发）"),
    "domestic_ems": ("China EMS domestic", "EMS 国内特快专递"),
}
# A 13-digit number outside the EMS prefixes is "domestic" too, but not in the S10 sense.
_DOMESTIC_UNKNOWN_LABEL = ("China domestic number (carrier unknown)", "国内单号（承运商未知）")

# Explanations of 13-digit numbers by prefix group, (English, Chinese): EMS never as a fact.
_DOMESTIC_TEXT = {
    "ems": (
        "A 13-digit China EMS domestic number (probably EMS; these numbers have no check digit, "
        "so only the length and digits were checked).",
        "13 位中国国内 EMS 单号（很可能是 EMS；此类单号没有校验位，只检查了长度和数字）。",
    ),
    "extended": (
        "A 13-digit China domestic number (possibly EMS, though prefix {prefix} is less certain; "
        "these numbers have no check digit, so only the length and digits were checked).",
        "13 位中国国内单号（可能是 EMS，但前缀 {prefix} 不太确定；只检查了长度和数字）。",
    ),
    "unknown": (
        "A 13-digit China domestic number; prefix {prefix} is not a known EMS prefix, so it may "
        "belong to another carrier such as Yunda (only the length and digits were checked).",
        "13 位中国国内单号；前缀 {prefix} 不是已知的 EMS 前缀，可能属于其他快递公司（如韵达）。",
    ),
}

# Short nouns for explanation sentences ("EMS item issued by China Post (China).").
_NOUNS = {
    "ems": "EMS item",
    "parcel": "Parcel",
    "ecommerce_parcel": "E-commerce parcel",
    "registered": "Registered letter-post item",
    "insured": "Insured letter-post item",
    "letter_tracked": "Tracked letter-post item",
    "m_bag": "M bag",
    "ibrs": "Business reply item",
    "letter_untracked_goods": "Letter-post item with goods",
    "domestic": "Item for domestic or bilateral use",
    "unassigned": "Item with an unassigned service code",
    "reserved": "Item with a reserved service code",
}


class NumberKind(StrEnum):
    S10 = "s10"
    DOMESTIC = "domestic"
    INVALID = "invalid"


class Scope(StrEnum):
    ANY = "any"
    INTERNATIONAL = "international"
    DOMESTIC = "domestic"


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A fully valid S10 number the user may have meant, with a stable `reason` code."""

    number: str
    reason: str
    message: str
    on_record: bool = False
    needs_record: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "formatted": format_grouped(self.number),
            "reason": self.reason,
            "message": self.message,
            "on_record": self.on_record,
        }


@dataclass(frozen=True, slots=True)
class TrackingNumber:
    """The outcome of `parse`: the parts as written, the findings and the suggestions."""

    raw: str
    number: str
    kind: NumberKind
    service_indicator: str | None
    serial: str | None
    check_digit: int | None
    country: str | None
    service: str | None
    problems: tuple[Problem, ...]
    suggestions: tuple[Suggestion, ...]

    @property
    def valid(self) -> bool:
        return all(p.severity != Severity.ERROR for p in self.problems)

    @property
    def formatted(self) -> str:
        return format_grouped(self.number)

    def service_label(self, lang: Lang = "en") -> str | None:
        if self.service is None:
            return None
        labels = SERVICE_LABELS[self.service]
        if self.kind is NumberKind.DOMESTIC and self.service == "domestic":
            labels = _DOMESTIC_UNKNOWN_LABEL
        return labels[1] if lang == "zh" else labels[0]

    def country_name(self, lang: Lang = "en") -> str | None:
        return countries.country_name(self.country, lang)

    @property
    def issuer(self) -> str | None:
        """The operator that issued the number; None when unknown or not attributable."""
        if self.kind is NumberKind.DOMESTIC:
            return "China Post" if self.service == "domestic_ems" else None
        if self.kind is NumberKind.INVALID or self.country is None:
            return None
        country = countries.lookup(self.country)
        return country.operator if country else None

    def issuer_name(self, lang: Lang = "en") -> str | None:
        """`issuer` as a reader of `lang` knows it: in Chinese, the operator's Chinese name from
        the directory of operators (`emstrack.domain.operators`) where it has one."""
        issuer = self.issuer
        if issuer is None or lang != "zh":
            return issuer
        country = "CN" if self.kind is NumberKind.DOMESTIC else self.country
        found = operators.lookup(country)
        return found.name_zh if found and found.name_zh else issuer

    def explanation(self, lang: Lang = "en") -> str:
        zh = lang == "zh"
        if self.kind is NumberKind.DOMESTIC:
            text = _domestic_explanation(self.number[:2], lang)
        elif self.kind is NumberKind.S10 and self.service and self.country:
            text = self._s10_explanation(lang)
        else:
            text = ""
        errors = [p.message for p in self.problems if p.severity == Severity.ERROR]
        if not errors:
            return text
        if not text:
            return errors[0]
        return (
            f"{errors[0]} 其余部分：{text}" if zh else f"{errors[0]} Otherwise it reads as: {text}"
        )

    def _s10_explanation(self, lang: Lang) -> str:
        assert self.service is not None
        assert self.country is not None
        name = self.country_name(lang)
        issuer = self.issuer_name(lang)
        if lang == "zh":
            by = f"，签发地：{name or '未知'}" + (f"（{issuer}）" if issuer else "")
            return f"{SERVICE_LABELS[self.service][1]}{by}。"
        by = f"issued in {name}" if name else f"from an unknown issuing country ({self.country})"
        by = f"issued by {issuer} ({name})" if issuer else by
        return f"{_NOUNS[self.service]} {by}."

    def to_dict(self, lang: Lang = "en") -> dict[str, Any]:
        return {
            "number": self.number,
            "formatted": self.formatted,
            "raw": self.raw,
            "kind": self.kind.value,
            "valid": self.valid,
            "service_indicator": self.service_indicator,
            "serial": self.serial,
            "check_digit": self.check_digit,
            "country": self.country,
            "country_name": self.country_name(lang),
            "service": self.service,
            "service_label": self.service_label(lang),
            "issuer": self.issuer,
            "explanation": self.explanation(lang),
            "problems": [p.to_dict() for p in self.problems],
            "suggestions": [
                s.to_dict() for s in self.suggestions if s.on_record or not s.needs_record
            ],
        }

    def with_known(self, known: Collection[str]) -> TrackingNumber:
        """Mark suggestions found in `known` as on record, first; drop unknown guesses."""
        kept = [
            replace(s, on_record=True) if s.number in known else s
            for s in self.suggestions
            if s.number in known or not s.needs_record
        ]
        kept.sort(key=lambda s: not s.on_record)  # stable: original order within each group
        return replace(self, suggestions=tuple(kept))


def _domestic_explanation(prefix: str, lang: Lang) -> str:
    group = "ems" if prefix in EMS_PREFIXES else "unknown"
    group = "extended" if prefix in EXTENDED_PREFIXES else group
    en, zh = _DOMESTIC_TEXT[group]
    return (zh if lang == "zh" else en).format(prefix=prefix)
