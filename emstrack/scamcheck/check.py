"""The checker: a message (and its sender) in, a verdict with reasons and advice out.

Pure logic: the database is reached only through the `lookup` function handed in (the
`Tracker`'s `lookup_many`); without one, tracking numbers are judged by their check digit alone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from emstrack import brand
from emstrack.domain import s10
from emstrack.domain.events import Status, status_label
from emstrack.domain.lang import Lang
from emstrack.lookup import Outcome, TrackingResult
from emstrack.scamcheck import asks, links, numbers, phrases, sender
from emstrack.scamcheck.asks import Kind
from emstrack.scamcheck.domains import official
from emstrack.scamcheck.reasons import Reason

MAX_TEXT = 5000
LIKELY_SCAM_AT, SUSPICIOUS_AT = 4, 2

Lookup = Callable[[Sequence[str]], Sequence[TrackingResult]]


class Verdict(StrEnum):
    LIKELY_SCAM = "likely_scam"
    SUSPICIOUS = "suspicious"
    NO_RED_FLAGS = "no_red_flags"


#: The verdict's title and its one sentence, in English and Chinese: what a page, a bot or an
#: app shows first. `no_red_flags` never reassures: finding no sign proves nothing.
HEADLINES: dict[Verdict, tuple[tuple[str, str], tuple[str, str]]] = {
    Verdict.LIKELY_SCAM: (
        ("This is very likely a scam.", "Do not open its links, do not pay and do not reply."),
        ("这很可能是诈骗信息。", "请勿打开其中的链接，不要付款，也不要回复。"),
    ),
    Verdict.SUSPICIOUS: (
        (
            "This message looks suspicious.",
            "Do not act on it through the message: track the item here by its number, and ask "
            "the post through its official hotline.",
        ),
        ("这条信息可疑。", "请勿按信息操作：在本站输入单号自行查询，或拨打官方客服热线核实。"),
    ),
    Verdict.NO_RED_FLAGS: (
        (
            "We found none of the usual signs of a scam.",
            "That does not prove the message is genuine: track the item here by its number, "
            "never through a link.",
        ),
        (
            "我们没有发现常见的诈骗迹象。",
            "但这并不能证明信息是真的：请在本站输入单号查询，切勿通过链接查询。",
        ),
    ),
}

ADVICE: dict[str, tuple[str, str]] = {
    "track_here": (
        "Track the item yourself: type its number on this site rather than opening a link.",
        "请自行查询：在本站输入单号，不要打开信息中的链接。",
    ),
    # {hotline}: the operator's hotlines in a sentence (`Brand.hotline_words`).
    "call_hotline": (
        "When in doubt, call {hotline}.",
        "如有疑问，请拨打 {hotline}。",
    ),
    "never_pay_via_links": (
        "Never pay, or give card details or codes, through a link in a message.",
        "切勿通过信息中的链接付款，或提供银行卡信息、验证码。",
    ),
    "customs_never_call": (
        "Customs and the police never call you about a parcel to ask for money or for a "
        "transfer to a \u201csafe account\u201d; hang up and call the official number yourself.",
        "海关、公安不会因包裹打电话要求您转账或汇入“安全账户”；请挂断电话，自行拨打官方电话核实。",
    ),
    "anti_fraud_hotline": (
        "In China, report a fraud attempt or ask for help on the national anti-fraud hotline "
        "96110.",
        "如遇诈骗或有疑问，请拨打全国反诈专线 96110 咨询或举报。",
    ),
}
#: Advice given in every language, and in Chinese only (96110 is the mainland's hotline: a
#: reader in English gets it where the message is about a call from "customs" or the police).
_ALWAYS = ("track_here", "call_hotline", "never_pay_via_links")
#: The requests that make a delivery message suspicious on their own (a plain "call us" does not).
REQUEST_REASONS = frozenset(
    {
        "payment_request", "fee_with_link", "personal_data", "reschedule_request",
        "card_or_secret", "call_authority", "crime_claim", "attachment_request", "press_key",
        "remote_access", "compensation_offer", "call_unknown_number", "problem_with_link",
        "add_contact", "gift_offer", "activate_link",
    }
)  # fmt: skip
_AUTHORITY_REASONS = frozenset({"call_authority", "crime_claim", "remote_access", "press_key"})


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

    def headline(self, lang: Lang = "en") -> tuple[str, str]:
        """The verdict's title and its one sentence."""
        en, zh = HEADLINES[self.verdict]
        return zh if lang == "zh" else en

    def advice(self, lang: Lang = "en", hotline: str | None = None) -> list[str]:
        """What to do, in `lang`; `hotline` names the operator's hotlines in a sentence
        (`Brand.hotline_words(lang)`; None: the default brand's, China Post EMS)."""
        codes = list(_ALWAYS)
        if any(r.code in _AUTHORITY_REASONS for r in self.reasons):
            codes.append("customs_never_call")
        if lang == "zh" or "customs_never_call" in codes:
            codes.append("anti_fraud_hotline")
        words = hotline if hotline is not None else brand.default().hotline_words(lang)
        return [ADVICE[code][1 if lang == "zh" else 0].format(hotline=words) for code in codes]

    def to_dict(self, lang: Lang = "en", hotline: str | None = None) -> dict[str, Any]:
        title, sentence = self.headline(lang)
        return {
            "verdict": self.verdict.value,
            "headline": title,
            "summary": sentence,
            "reasons": [r.to_dict(lang) for r in self.reasons],
            "advice": self.advice(lang, hotline),
            "tracking_numbers": [n.to_dict(lang) for n in self.numbers],
        }


def check(
    text: str,
    sender_hint: str | None = None,
    *,
    lookup: Lookup | None = None,
    official_domains: Iterable[str] = (),
    hotlines: Sequence[str] = (),
    names: Sequence[str] = (),
) -> CheckResult:
    """Judge a message that claims to come from a post.

    `hotlines` are the operator's published numbers as printed, its main one first
    (`Brand.hotline_numbers`; empty: the default brand's): a request to call one asks nothing
    unusual, and the main one is the number to call about an item really held by customs.
    `names` are the operator's own names (`Brand.names`): a message that speaks as the operator
    ("【北风邮政】…") is read as speaking as it, not as whichever post a word of its name recalls.
    """
    known = official(official_domains)
    hotlines = tuple(hotlines) or brand.default().hotline_numbers
    published = frozenset(re.sub(r"\D", "", n) for n in hotlines)
    text = text[:MAX_TEXT]
    reasons = [links.judge(host, known) for host in links.hosts(links.refanged(text))]
    shown = bool(reasons)
    if claimed := _own_name(text, names) or links.named_operator(text, known):
        # "USPS: …" with a link elsewhere than USPS's own site: the message contradicts itself.
        reasons = [
            Reason("link_not_operators", {"domain": r.params["domain"], "brand": claimed})
            if r.code == "link_unofficial"
            else r
            for r in reasons
        ]
    unofficial_link = any(r.code != "link_official" for r in reasons)
    read = {ask.kind: ask for ask in asks.read(text)}
    if Kind.LINK in read and not shown:  # "[link]", "点击链接": a link we are not shown
        reasons.append(Reason("link_hidden", {"words": read[Kind.LINK].words}))
        unofficial_link = True
        if claimed:
            # "DHL: Your parcel is arriving, track here: [link]": a message that speaks as a
            # post with a link that cannot be checked to be the post's own.
            reasons.append(Reason("link_hidden_operator", {"brand": claimed}))
    asked = _requests(read, unofficial_link, shown and not unofficial_link, published, text)
    reasons += asked
    requests = [r for r in asked if r.code in REQUEST_REASONS]
    if Kind.PRESSURE in read:
        reasons.append(Reason("urgency", {"words": read[Kind.PRESSURE].words}))
    said = phrases.normalised(text)
    held = phrases.mentions(said, phrases.HELD)
    found, number_reasons = _numbers(text, lookup, held, hotlines[0])
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
    # What the post's own advice says: a message that asks for money, details, a click to keep
    # the delivery or a call about customs is suspicious whatever else it says, and a scam
    # when it also links elsewhere than the operator's site or presses for time.
    if requests and verdict is Verdict.NO_RED_FLAGS:
        verdict = Verdict.SUSPICIOUS
    if requests and verdict is Verdict.SUSPICIOUS and (unofficial_link or Kind.PRESSURE in read):
        verdict = Verdict.LIKELY_SCAM
    return CheckResult(verdict, reasons, found)


#: What makes a call-back request a lure: a problem with the item, a loss, an offer, a hurry.
_TROUBLE = frozenset({Kind.PROBLEM, Kind.LOST, Kind.COMPENSATION, Kind.PRESSURE})
#: Hotlines the posts and couriers publish (China's 5-digit service numbers; USPS, Royal Mail,
#: Parcelforce, Australia Post, NZ Post, Canada Post, An Post, Hongkong Post, Chunghwa Post; 400
#: and 800 numbers are anyone's): a message that asks you to call one of these asks nothing
#: unusual.
HOTLINES = frozenset(
    {
        "11183", "11185", "95338", "95311", "95554", "95546", "95543", "950616", "95500",
        "18002758777", "03457740740", "08457740740", "03448000888", "137678", "131318",
        "18662977678", "8662977678", "03448004466", "0800501501", "18666076301", "29212222",
        "0800700365", "017057600", "4008111111",
    }
)  # fmt: skip
_CJK = re.compile("[\u3400-\u9fff]")
_PHONE = re.compile(r"\+?\d[\d \-()]{3,}\d")


def _own_name(text: str, names: Sequence[str]) -> str | None:
    """The operator's own name when the message speaks as it, read where `links.named_operator`
    reads a sender's name: the first line's opening and the message's end."""
    folded = unicodedata.normalize("NFKC", text[:2000]).strip()
    first = folded.splitlines()[0] if folded else ""
    window = (first[:48] + " " + folded[-24:]).lower()
    words = " ".join(re.findall(r"[a-z0-9]+", window))
    for name in names:
        wanted = name.lower()
        if _CJK.search(wanted):
            if wanted in window:
                return name
        elif re.search(rf"(?<![a-z0-9]){re.escape(' '.join(wanted.split()))}(?![a-z0-9])", words):
            return name
    return None


def _published(number: str, published: frozenset[str]) -> bool:
    """A hotline the post publishes, also when written with its country's code ("+44 344 800
    4466" is Parcelforce's 0344 800 4466)."""
    digits = re.sub(r"\D", "", number)
    forms = {digits}
    if number.lstrip().startswith("+") or digits.startswith("00"):
        bare = digits[2:] if digits.startswith("00") else digits
        forms |= {bare[k:] for k in (1, 2, 3)} | {"0" + bare[k:] for k in (1, 2, 3)}
    return any(form in HOTLINES or form in published for form in forms)


def _hotline_only(words: str, published: frozenset[str] = frozenset()) -> bool:
    """True when every number a call request gives is a published hotline (ours among them);
    a request that gives none ("请速致电客服") points to a number elsewhere in the message, or
    to a masked one."""
    numbers = _PHONE.findall(words)
    if not numbers:  # "请速致电客服" names a number to call; "contact us" names none
        return not _CJK.search(words)
    return all(_published(n, published) for n in numbers)


def _every_number_published(text: str, call: str, published: frozenset[str]) -> bool:
    """True when the message gives telephone numbers and every one is a published hotline: a
    call request that names none, or a number of the message's own in another sentence, is
    not a call to the post."""
    found = [*_PHONE.findall(call), *asks.PHONE_LIKE.findall(numbers.without_numbers(text))]
    return bool(found) and all(_published(n, published) for n in found)


def _requests(
    read: dict[Kind, asks.Ask],
    unofficial_link: bool,
    official_only: bool,
    published: frozenset[str],
    text: str,
) -> list[Reason]:
    """The reasons for what the message asks the reader to do (claims of crime included)."""
    found: list[Reason] = []
    if pay := read.get(Kind.PAY):
        code = "fee_with_link" if unofficial_link else "payment_request"
        found.append(Reason(code, {"words": pay.words}))
    call = read.get(Kind.CALL)
    by_hotline = (
        call is not None
        and not unofficial_link
        and _every_number_published(text, call.words, published)
    )
    # An address problem to settle by calling a hotline the post publishes ("单标地址错误…请致电
    # 4008-111-111处理【顺丰速运】") sends the reader where the posts' advice does.
    if (details := read.get(Kind.DETAILS)) and not by_hotline:
        found.append(Reason("personal_data", {"words": details.words}))
    # Rearranging a delivery on the operator's own site (every link official) or by calling a
    # hotline it publishes is what genuine notices offer; through a hidden or foreign link it
    # is the classic smishing request.
    if (again := read.get(Kind.RESCHEDULE)) and not official_only and not by_hotline:
        found.append(Reason("reschedule_request", {"words": again.words}))
    if secret := read.get(Kind.SECRET):
        found.append(Reason("card_or_secret", {"words": secret.words}))
    if add := read.get(Kind.ADD_CONTACT):
        if Kind.AUTHORITY in read or Kind.CRIME in read:
            found.append(Reason("call_authority", {"words": add.words}))
        else:
            found.append(Reason("add_contact", {"words": add.words}))
    if call:
        # The courier, the seller, a hotline the post publishes, a number offered for questions.
        normal = bool({Kind.COURIER, Kind.HELP} & read.keys()) or _hotline_only(
            call.words, published
        )
        if (Kind.AUTHORITY in read or Kind.CRIME in read) and not normal:
            found.append(Reason("call_authority", {"words": call.words}))
        elif not normal and (_TROUBLE & read.keys()):
            # "您有一个包裹未领取，请速致电客服 0xxx…": a call-back about trouble with the item,
            # to a number of the message's own: the post publishes its numbers and does not
            # ask you to call new ones about a held or lost parcel.
            found.append(Reason("call_unknown_number", {"words": call.words}))
        # A call to the courier, the seller or a published hotline is what notices give.
    if reply := read.get(Kind.REPLY):
        found.append(Reason("reply_request", {"words": reply.words}))
    if (problem := read.get(Kind.PROBLEM)) and unofficial_link:
        found.append(Reason("problem_with_link", {"words": problem.words}))
    if crime := read.get(Kind.CRIME):
        found.append(Reason("crime_claim", {"words": crime.words}))
    if attachment := read.get(Kind.ATTACHMENT):
        found.append(Reason("attachment_request", {"words": attachment.words}))
    if key := read.get(Kind.PRESS_KEY):
        found.append(Reason("press_key", {"words": key.words}))
    if remote := read.get(Kind.REMOTE):
        found.append(Reason("remote_access", {"words": remote.words}))
    if gift := read.get(Kind.OFFER):
        found.append(Reason("gift_offer", {"words": gift.words}))
    if activate := read.get(Kind.ACTIVATE):
        found.append(Reason("activate_link", {"words": activate.words}))
    if offer := read.get(Kind.COMPENSATION):
        found.append(Reason("compensation_offer", {"words": offer.words}))
    elif lost := read.get(Kind.LOST):
        found.append(Reason("lost_claim", {"words": lost.words}))
    return found


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
    text: str, lookup: Lookup | None, claims_hold: bool, hotline: str
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
        reasons.append(_on_record(finding, claims_hold, hotline))
    return findings, reasons


def _on_record(finding: NumberFinding, claims_hold: bool, hotline: str) -> Reason:
    number = finding.formatted
    if finding.outcome != Outcome.FOUND.value or finding.status is None:
        return Reason("number_not_on_record", {"number": number})
    if finding.held_by_customs:
        return Reason("customs_hold_real", {"number": number, "hotline": hotline})
    status = finding.status.value
    if claims_hold and finding.status not in (Status.CUSTOMS_IMPORT, Status.DELIVERY_FAILED):
        return Reason("customs_claim_false", {"number": number, "status": status})
    return Reason("number_on_record", {"number": number, "status": status})
