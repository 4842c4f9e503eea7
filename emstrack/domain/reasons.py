"""Why an item was not delivered or is kept by customs, as a category with words in EN and ZH.

The UPU's numeric lists of non-delivery reasons, actions taken and customs retention reasons are
not known to the project and no number is ever invented (docs/standards/events.md §7). What is
known are the reason *categories*: the six traditional causes of the UPU Convention (*inconnu*,
*refusé*, *en voyage*, *parti*, *non réclamé*, *décédé*), a few practical additions, and the
customs retention reasons whose meaning is standard in customs practice.

`read(code, text)` gives a `Reading` only when a source's own table maps the code, or when the
text *is* one of the standard wordings of a category (English UPU/IPS-style and national
endorsements, the Convention's French, the Chinese ones): whole clauses compared after case,
accents, punctuation and spaces are folded away, never a substring. A text such as "Refused by
addressee, returned to sender" is read as the category and the return; a text with anything
more ("Prohibited article (lithium battery)") is the operator's free text and stays as sent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from emstrack.domain.events import RETURN_PHRASES
from emstrack.domain.lang import Lang


class Reason(StrEnum):
    """A reason category (docs/standards/events.md §7)."""

    # The UPU Convention's traditional reasons for non-delivery.
    UNKNOWN_ADDRESSEE = "unknown_addressee"
    REFUSED = "refused"
    AWAY = "away"
    MOVED = "moved"
    UNCLAIMED = "unclaimed"
    DECEASED = "deceased"
    # Practical additions.
    ADDRESS_INSUFFICIENT = "address_insufficient"
    NO_SUCH_ADDRESS = "no_such_address"
    ABSENT = "absent"
    ABSENT_NOTICE_LEFT = "absent_notice_left"
    HELD_BY_CUSTOMS = "held_by_customs"
    # Customs retention reasons.
    DOCUMENTS_REQUIRED = "documents_required"
    DUTIES_UNPAID = "duties_unpaid"
    DECLARATION_INCOMPLETE = "declaration_incomplete"
    LICENCE_REQUIRED = "licence_required"
    PROHIBITED = "prohibited"
    UNDER_INSPECTION = "under_inspection"


#: Each category's words: (English, Simplified Chinese).
LABELS: Final[dict[Reason, tuple[str, str]]] = {
    Reason.UNKNOWN_ADDRESSEE: ("Addressee unknown", "查无此人"),
    Reason.REFUSED: ("Refused by the addressee", "收件人拒收"),
    Reason.AWAY: ("Addressee away", "收件人外出"),
    Reason.MOVED: ("Addressee has moved, new address unknown", "迁移新址不明"),
    Reason.UNCLAIMED: ("Unclaimed: not collected in time", "逾期无人领取"),
    Reason.DECEASED: ("Addressee deceased", "收件人已故"),
    Reason.ADDRESS_INSUFFICIENT: ("Address incomplete or unclear", "地址不详"),
    Reason.NO_SUCH_ADDRESS: ("No such address", "查无此地址"),
    Reason.ABSENT: ("Addressee absent", "收件人不在"),
    Reason.ABSENT_NOTICE_LEFT: ("Addressee absent, notice left", "收件人不在，已留通知单"),
    Reason.HELD_BY_CUSTOMS: ("Held by customs", "海关扣留"),
    Reason.DOCUMENTS_REQUIRED: ("Documents required (such as an invoice)", "需补充单证（如发票）"),
    Reason.DUTIES_UNPAID: ("Duties and taxes to be paid", "待缴纳关税及税款"),
    Reason.DECLARATION_INCOMPLETE: (
        "Customs declaration incomplete or incorrect",
        "报关单填写不全或有误",
    ),
    Reason.LICENCE_REQUIRED: ("Licence or certificate required", "需提供许可证或证明文件"),
    Reason.PROHIBITED: ("Prohibited or restricted item", "禁止或限制寄递物品"),
    Reason.UNDER_INSPECTION: ("Under customs inspection", "海关查验中"),
}

#: What "returned to sender" reads as, after a reason or alone.
RETURNED: Final[tuple[str, str]] = ("returned to sender", "退回寄件人")

#: The standard wordings of each category, as written; compared folded (`fold`).
WORDINGS: Final[dict[Reason, tuple[str, ...]]] = {
    Reason.UNKNOWN_ADDRESSEE: (
        "Addressee unknown", "Unknown addressee", "Addressee not known", "Not known",
        "Attempted - not known", "Attempted not known", "Addressee unknown at this address",
        "Inconnu", "Destinataire inconnu", "查无此人", "原址查无此人", "收件人不详", "无此收件人",
    ),
    Reason.REFUSED: (
        "Refused", "Refused by addressee", "Refused by the addressee", "Addressee refused",
        "Addressee refused the item", "Delivery refused", "Refusé", "Refusé par le destinataire",
        "拒收", "收件人拒收", "收件人拒绝签收", "拒绝签收",
    ),
    Reason.AWAY: (
        "Addressee away", "Away", "Addressee temporarily away", "Temporarily away",
        "En voyage", "收件人外出", "收件人暂时外出",
    ),
    Reason.MOVED: (
        "Moved", "Addressee moved", "Addressee has moved", "Moved, left no address",
        "Moved left no address", "Addressee moved, no forwarding address",
        "Addressee has moved, no forwarding address", "Moved, no forwarding address",
        "Gone away", "Addressee gone away", "Parti", "Parti sans laisser d'adresse",
        "迁移新址不明", "收件人已迁移", "收件人已搬迁", "搬迁新址不明",
    ),
    Reason.UNCLAIMED: (
        "Unclaimed", "Not claimed", "Not called for", "Not collected",
        "Not collected in time", "Not collected within the time limit",
        "Not collected within the retention period", "Non réclamé", "逾期未领", "逾期未领取",
        "逾期无人领取", "逾期无人招领", "无人领取",
    ),
    Reason.DECEASED: (
        "Deceased", "Addressee deceased", "Addressee is deceased", "Décédé",
        "收件人已故", "收件人死亡",
    ),
    Reason.ADDRESS_INSUFFICIENT: (
        "Insufficient address", "Address insufficient", "Incomplete address",
        "Address incomplete", "Incorrect address", "Wrong address", "Address unclear",
        "Adresse insuffisante", "Adresse incomplète", "地址不详", "地址不全", "地址不详细",
        "收件人地址不详", "地址错误",
    ),
    Reason.NO_SUCH_ADDRESS: (
        "No such address", "No such number", "No such street", "Address does not exist",
        "Non-existent address", "Adresse inexistante", "查无此地址", "地址不存在", "无此地址",
    ),
    Reason.ABSENT: (
        "Addressee absent", "Absent", "Addressee not at home", "Nobody at home",
        "No one at home", "Destinataire absent", "收件人不在", "收件人不在家", "无人在家",
    ),
    Reason.ABSENT_NOTICE_LEFT: (
        "Addressee absent - notice left", "Addressee absent, notice left",
        "Addressee absent notice left", "Absent, notice left", "Notice left", "Avisé",
        "Destinataire absent, avisé", "收件人不在，已留通知单", "已留通知单",
    ),
    Reason.HELD_BY_CUSTOMS: (
        "Held by customs", "Held at customs", "Retained by customs", "Detained by customs",
        "Customs hold", "Retenu en douane", "海关扣留", "海关扣押", "海关暂扣",
    ),
    Reason.DOCUMENTS_REQUIRED: (
        "Awaiting documents", "Awaiting documents from addressee", "Documents missing",
        "Missing documents", "Documents required", "Invoice required", "Invoice missing",
        "Awaiting invoice", "Commercial invoice required", "En attente de documents",
        "Facture requise", "待补充单证", "需补充单证", "缺少单证", "需提供发票", "缺少发票",
    ),
    Reason.DUTIES_UNPAID: (
        "Duties unpaid", "Duties and taxes unpaid", "Awaiting payment of duties",
        "Awaiting payment of duties and taxes", "Awaiting payment of customs duties",
        "Customs duties to be paid", "Duties and taxes to be paid", "Awaiting duty payment",
        "En attente du paiement des droits", "待缴税款", "待缴纳关税", "待缴纳税款",
        "待缴纳关税及税款", "未缴纳税款",
    ),
    Reason.DECLARATION_INCOMPLETE: (
        "Customs declaration incomplete", "Incomplete customs declaration",
        "Export declaration incomplete", "Import declaration incomplete",
        "Customs declaration incorrect", "Incorrect customs declaration",
        "Contents do not match the customs declaration", "Contents do not match declaration",
        "Déclaration en douane incomplète", "报关单填写不全", "申报不全", "申报信息不全",
        "申报不实", "报关单填写不全或有误",
    ),
    Reason.LICENCE_REQUIRED: (
        "Licence required", "License required", "Certificate required",
        "Licence or certificate required", "License or certificate required",
        "Awaiting licence", "Awaiting import licence", "Awaiting licence or certificate",
        "Awaiting import licence or certificate", "Import licence required",
        "Import license required", "Licence requise", "需提供许可证", "需提供许可证或证明文件",
        "缺少许可证", "需提供证明文件",
    ),
    Reason.PROHIBITED: (
        "Prohibited item", "Prohibited article", "Prohibited goods", "Prohibited",
        "Restricted item", "Prohibited or restricted item", "Prohibited or restricted goods",
        "Objet interdit", "Marchandise prohibée", "禁寄物品", "禁止寄递物品", "违禁物品",
        "禁止或限制寄递物品", "禁限寄物品",
    ),
    Reason.UNDER_INSPECTION: (
        "Under inspection", "Under customs inspection", "Customs inspection",
        "Customs inspection in progress", "Customs examination", "Under customs examination",
        "Held for inspection", "En cours de contrôle douanier", "海关查验", "海关查验中",
        "查验中", "海关开箱查验",
    ),
}  # fmt: skip

_COMBINING = re.compile(r"[\u0300-\u036f]")
_NOT_WORD = re.compile(r"[\W_]+")
# Where a text is cut into clauses: the breaks of `events.says_return`, plus a dash.
_CLAUSE_BREAKS = re.compile(r"[,;:.()\[\]，；：。（）、/|]+|\s[-–—]\s")


def fold(text: str) -> str:
    """A wording as compared: width and case folded, accents, punctuation and spaces dropped.
    "Addressee absent - notice left" and "ADDRESSEE ABSENT, NOTICE LEFT" fold alike."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return _NOT_WORD.sub("", _COMBINING.sub("", text))


def _all_wordings() -> list[tuple[Reason, str]]:
    """The standard wordings and the project's own words of each category (what it shows)."""
    return [(r, w) for r, ws in WORDINGS.items() for w in (*ws, *LABELS[r])]


_BY_WORDING: Final[dict[str, Reason]] = {fold(wording): r for r, wording in _all_wordings()}
_RETURN: Final[frozenset[str]] = frozenset(fold(phrase) for phrase in RETURN_PHRASES)


def _check_tables() -> None:
    """No wording stands for two categories, nor for a return (the tables are data: a clash
    would make one meaning silently win)."""
    seen: dict[str, Reason] = {}
    for reason, wording in _all_wordings():
        key = fold(wording)
        if seen.get(key, reason) is not reason or key in _RETURN or not key:
            raise ValueError(f"reason wording {wording!r} is ambiguous")
        seen[key] = reason


_check_tables()


@dataclass(frozen=True, slots=True)
class Reading:
    """What a reason, action or retention pair says: a category, "returned to sender", or
    both ("Refused by addressee, returned to sender")."""

    reason: Reason | None
    returned: bool = False

    def label(self, lang: Lang = "en") -> str:
        i = 1 if lang == "zh" else 0
        back = RETURNED[i]
        if self.reason is None:
            return back if i else back.capitalize()
        words = LABELS[self.reason][i]
        if not self.returned:
            return words
        return f"{words}，{back}" if i else f"{words}; {back}"


def read(
    code: str | None, text: str | None, table: Mapping[str, Reason] | None = None
) -> Reading | None:
    """The category of a (code, text) pair, or None when it has none: the operator's words
    then stay as sent.

    `table` is a source's own mapping of its codes (docs/standards/events.md §7); without one a
    code alone means nothing. A text is read only when the whole of it is one standard wording,
    or a standard wording and "returned to sender" as separate clauses, or only the return.
    """
    if table and code and code.strip() in table:
        return Reading(table[code.strip()])
    if not text or not text.strip():
        return None
    clauses = [c for c in (fold(part) for part in _CLAUSE_BREAKS.split(text)) if c]
    parts = _cover(tuple(clauses))
    if not parts:
        return None
    found = {part for part in parts if part is not None}
    if len(found) > 1:
        return None  # two reasons in one text: not ours to choose
    return Reading(next(iter(found), None), returned=None in parts)


def _cover(clauses: tuple[str, ...]) -> list[Reason | None] | None:
    """The clauses read as consecutive wholes, each a standard wording (its category) or a
    return (None): "Moved, left no address; returned to sender" is `moved` and a return.
    None when some clause belongs to no wording."""
    if not clauses:
        return []
    for end in range(len(clauses), 0, -1):
        head = "".join(clauses[:end])
        if head in _BY_WORDING or head in _RETURN:
            rest = _cover(clauses[end:])
            if rest is not None:
                return [_BY_WORDING.get(head), *rest]
    return None


@dataclass(frozen=True, slots=True)
class Wording:
    """A reason as shown: `text`, and `lang`, the BCP 47 tag of the operator's own words when
    their script tells (None: the reader's own language, or not known)."""

    text: str
    lang: str | None = None


def wording(
    code: str | None,
    text: str | None,
    lang: Lang,
    table: Mapping[str, Reason] | None = None,
) -> Wording | None:
    """A (code, text) pair in the reader's language when it has a category; otherwise the
    operator's text as sent (or its code when it sent no text); None when it sent neither."""
    reading = read(code, text, table)
    if reading is not None:
        return Wording(reading.label(lang))
    if text and text.strip():
        return Wording(text.strip(), script_lang(text))
    if code and code.strip():
        return Wording(code.strip())
    return None


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


def script_lang(text: str) -> str | None:
    """The language of an operator's free text as far as its script tells, for screen
    readers: Chinese (Han characters only), Japanese (kana), Korean (hangul), English (plain
    ASCII letters: the language of the posts' international texts), or None (accented Latin,
    mixed scripts, or no letters: not known)."""
    if _KANA.search(text):
        return "ja"
    if _HANGUL.search(text):
        return "ko"
    han, latin = bool(_HAN.search(text)), bool(_LATIN.search(text))
    if han and not latin:
        return "zh"
    if latin and not han and text.isascii():
        return "en"
    return None
