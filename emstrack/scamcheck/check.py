"""The checker: a message (and its sender) in, a verdict with reasons and advice out.

Pure logic: the database is reached only through the `lookup` function handed in (the
`Tracker`'s `lookup_many`); without one, tracking numbers are judged by their check digit alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from emstrack.domain import s10
from emstrack.domain.events import Status, status_label
from emstrack.domain.lang import Lang
from emstrack.lookup import Outcome, TrackingResult
from emstrack.scamcheck import links, numbers, phrases, sender
from emstrack.scamcheck.domains import official
from emstrack.scamcheck.reasons import Reason

MAX_TEXT = 5000
LIKELY_SCAM_AT, SUSPICIOUS_AT = 4, 2

Lookup = Callable[[Sequence[str]], Sequence[TrackingResult]]


class Verdict(StrEnum):
    LIKELY_SCAM = "likely_scam"
    SUSPICIOUS = "suspicious"
    NO_RED_FLAGS = "no_red_flags"


ADVICE: dict[str, tuple[str, str]] = {
    "track_here": (
        "Track the item yourself: type its number on this site rather than opening a link.",
        "请自行查询：在本站输入单号，不要打开信息中的链接。",
    ),
    "call_hotline": (
        "When in doubt, call the EMS hotline 11183 (China Post 11185).",
        "如有疑问，请拨打 EMS 客服热线 11183（中国邮政 11185）。",
    ),
    "never_pay_via_links": (
        "Never pay, or give card details or codes, through a link in a message.",
        "切勿通过信息中的链接付款，或提供银行卡信息、验证码。",
    ),
}


@dataclass(frozen=True, slots=True)
class NumberFinding:
    """A tracking number quoted in the message, and what we know of it."""

    number: str
    formatted: str
    outcome: str  # an `Outcome`, or "valid" when nothing was looked up
    status: Status | None = None
    status_detail: str | None = None

    @property
    def held_by_customs(self) -> bool:
        return self.status is Status.CUSTOMS_IMPORT and self.status_detail == "held"

    def to_dict(self, lang: Lang = "en") -> dict[str, Any]:
        return {
            "number": self.number,
            "formatted": self.formatted,
            "outcome": self.outcome,
            "status": self.status.value if self.status else None,
            "status_detail": self.status_detail,
            "status_label": status_label(self.status, lang) if self.status else None,
            "held_by_customs": self.held_by_customs,
        }


@dataclass(frozen=True, slots=True)
class CheckResult:
    verdict: Verdict
    reasons: list[Reason] = field(default_factory=list)
    numbers: list[NumberFinding] = field(default_factory=list)

    @property
    def score(self) -> int:
        return sum(r.weight for r in self.reasons)

    def advice(self, lang: Lang = "en") -> list[str]:
        return [zh if lang == "zh" else en for en, zh in ADVICE.values()]

    def to_dict(self, lang: Lang = "en") -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "reasons": [r.to_dict(lang) for r in self.reasons],
            "advice": self.advice(lang),
            "tracking_numbers": [n.to_dict(lang) for n in self.numbers],
        }


def check(
    text: str,
    sender_hint: str | None = None,
    *,
    lookup: Lookup | None = None,
    official_domains: Iterable[str] = (),
) -> CheckResult:
    """Judge a message that claims to come from a post."""
    known = official(official_domains)
    text = text[:MAX_TEXT]
    said = phrases.normalised(text)
    reasons = [links.judge(host, known) for host in links.hosts(text)]
    unofficial_link = any(r.code != "link_official" for r in reasons)
    if phrases.mentions(said, phrases.FEE):
        reasons.append(Reason("fee_with_link" if unofficial_link else "payment_request"))
    if phrases.mentions(said, phrases.CARD_OR_SECRET):
        reasons.append(Reason("card_or_secret"))
    if phrases.mentions(said, phrases.PERSONAL):
        reasons.append(Reason("personal_data"))
    if phrases.mentions(said, phrases.URGENCY):
        reasons.append(Reason("urgency"))
    found, number_reasons = _numbers(text, lookup, phrases.mentions(said, phrases.HELD))
    reasons += number_reasons
    if sender_hint and (signal := sender.judge(sender_hint, known)):
        reasons.append(signal)
    reasons = _unique(reasons)
    score = sum(r.weight for r in reasons)
    verdict = (
        Verdict.LIKELY_SCAM
        if score >= LIKELY_SCAM_AT
        else Verdict.SUSPICIOUS
        if score >= SUSPICIOUS_AT
        else Verdict.NO_RED_FLAGS
    )
    return CheckResult(verdict, reasons, found)


def _unique(reasons: list[Reason]) -> list[Reason]:
    # The same signal twice (two links to one shortener) counts once; strongest first.
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], Reason] = {}
    for reason in reasons:
        seen.setdefault((reason.code, tuple(sorted(reason.params.items()))), reason)
    weighted: dict[str, Reason] = {}
    for reason in seen.values():
        weighted.setdefault(reason.code, reason)
    extra = [r for r in seen.values() if weighted[r.code] is not r and r.weight == 0]
    return sorted([*weighted.values(), *extra], key=lambda r: -r.weight)


def _numbers(
    text: str, lookup: Lookup | None, claims_hold: bool
) -> tuple[list[NumberFinding], list[Reason]]:
    parsed = [s10.parse(raw) for raw in numbers.candidates(text)]
    findings: list[NumberFinding] = []
    reasons: list[Reason] = []
    valid = [tn for tn in parsed if tn.valid]
    for tn in parsed:
        if not tn.valid:
            shown = tn.formatted or tn.raw
            findings.append(NumberFinding(tn.number, shown, Outcome.INVALID.value))
            if numbers.bad_check_digit(tn):
                reasons.append(Reason("number_invalid", {"number": shown}))
    if lookup is None:
        findings += [NumberFinding(tn.number, tn.formatted, "valid") for tn in valid]
        return findings, reasons
    for result in lookup([tn.number for tn in valid]):
        finding = NumberFinding(
            result.number.number,
            result.number.formatted,
            result.outcome.value,
            result.status,
            result.state.detail if result.state else None,
        )
        findings.append(finding)
        reasons.append(_on_record(finding, claims_hold))
    return findings, reasons


def _on_record(finding: NumberFinding, claims_hold: bool) -> Reason:
    number = finding.formatted
    if finding.outcome != Outcome.FOUND.value or finding.status is None:
        return Reason("number_not_on_record", {"number": number})
    if finding.held_by_customs:
        return Reason("customs_hold_real", {"number": number})
    status = finding.status.value
    if claims_hold and finding.status not in (Status.CUSTOMS_IMPORT, Status.DELIVERY_FAILED):
        return Reason("customs_claim_false", {"number": number, "status": status})
    return Reason("number_on_record", {"number": number, "status": status})
