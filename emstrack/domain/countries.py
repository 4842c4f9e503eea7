"""Issuing countries of S10 numbers: ISO 3166-1 from pycountry, the UPU extras, historic codes.

Whether a code is valid comes from pycountry, never from a hand list (docs/standards/s10.md §7:
hand lists miss real issuers such as MO, GI or JE). The hand tables here only add Chinese names
and the designated operator, for display; a code missing from them is still a valid issuer.

What pycountry cannot know is data with its source, in `emstrack/data/`: the codes the UPU
itself assigns to operators (`s10_upu_country_codes.csv`) and the codes people write for another
(`s10_country_confusions.csv`, UK for GB). The ISO codes are not copied there: a copy would drift
from the maintained package the standard tells us to trust.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import pycountry

from emstrack.domain.lang import Lang


@dataclass(frozen=True, slots=True)
class Country:
    """An issuing country; `kind` is "iso", "upu_extra" (XZ, QM, QN) or "historic"."""

    code: str
    name: str
    name_zh: str | None
    operator: str | None
    kind: str


# code -> (Simplified Chinese name, designated operator that issues S10 numbers under the code).
_DISPLAY: dict[str, tuple[str, str | None]] = {
    "CN": ("中国", "China Post"),
    "HK": ("中国香港", "Hongkong Post"),
    "MO": ("中国澳门", "Macao Post and Telecommunications"),
    "TW": ("中国台湾", "Chunghwa Post"),
    "JP": ("日本", "Japan Post"),
    "KR": ("韩国", "Korea Post"),
    "KP": ("朝鲜", None),
    "MN": ("蒙古", "Mongol Post"),
    "SG": ("新加坡", "Singapore Post"),
    "MY": ("马来西亚", "Pos Malaysia"),
    "TH": ("泰国", "Thailand Post"),
    "VN": ("越南", "Vietnam Post"),
    "PH": ("菲律宾", "PHLPost"),
    "ID": ("印度尼西亚", "Pos Indonesia"),
    "KH": ("柬埔寨", "Cambodia Post"),
    "LA": ("老挝", "Lao Post"),
    "MM": ("缅甸", "Myanma Posts and Telecommunications"),
    "IN": ("印度", "India Post"),
    "PK": ("巴基斯坦", "Pakistan Post"),
    "BD": ("孟加拉国", "Bangladesh Post Office"),
    "LK": ("斯里兰卡", "Sri Lanka Post"),
    "NP": ("尼泊尔", "Nepal Post"),
    "KZ": ("哈萨克斯坦", "Kazpost"),
    "UZ": ("乌兹别克斯坦", "Uzbekistan Post"),
    "RU": ("俄罗斯", "Russian Post"),
    "UA": ("乌克兰", "Ukrposhta"),
    "BY": ("白俄罗斯", "Belpochta"),
    "TR": ("土耳其", "PTT"),
    "IL": ("以色列", "Israel Post"),
    "AE": ("阿联酋", "Emirates Post"),
    "SA": ("沙特阿拉伯", "Saudi Post"),
    "QA": ("卡塔尔", "Qatar Post"),
    "IR": ("伊朗", "Iran Post"),
    "EG": ("埃及", "Egypt Post"),
    "MA": ("摩洛哥", "Barid Al-Maghrib"),
    "NG": ("尼日利亚", "Nigerian Postal Service"),
    "KE": ("肯尼亚", "Posta Kenya"),
    "ET": ("埃塞俄比亚", "Ethiopian Postal Service"),
    "ZA": ("南非", "South African Post Office"),
    "GB": ("英国", "Royal Mail"),
    "JE": ("泽西岛", "Jersey Post"),
    "GG": ("根西岛", "Guernsey Post"),
    "IM": ("马恩岛", "Isle of Man Post Office"),
    "GI": ("直布罗陀", "Royal Gibraltar Post Office"),
    "IE": ("爱尔兰", "An Post"),
    "FR": ("法国", "La Poste"),
    "DE": ("德国", "Deutsche Post"),
    "NL": ("荷兰", "PostNL"),
    "BE": ("比利时", "bpost"),
    "LU": ("卢森堡", "POST Luxembourg"),
    "CH": ("瑞士", "Swiss Post"),
    "AT": ("奥地利", "Österreichische Post"),
    "IT": ("意大利", "Poste Italiane"),
    "ES": ("西班牙", "Correos"),
    "PT": ("葡萄牙", "CTT Correios de Portugal"),
    "SE": ("瑞典", "PostNord Sverige"),
    "DK": ("丹麦", "PostNord Danmark"),
    "NO": ("挪威", "Posten Norge"),
    "FI": ("芬兰", "Posti"),
    "PL": ("波兰", "Poczta Polska"),
    "CZ": ("捷克", "Česká pošta"),
    "SK": ("斯洛伐克", "Slovenská pošta"),
    "HU": ("匈牙利", "Magyar Posta"),
    "RO": ("罗马尼亚", "Poșta Română"),
    "BG": ("保加利亚", "Bulgarian Posts"),
    "GR": ("希腊", "ELTA Hellenic Post"),
    "HR": ("克罗地亚", "Hrvatska pošta"),
    "RS": ("塞尔维亚", "Pošta Srbije"),
    "US": ("美国", "United States Postal Service"),
    "CA": ("加拿大", "Canada Post"),
    "MX": ("墨西哥", "Correos de México"),
    "BR": ("巴西", "Correios"),
    "AR": ("阿根廷", "Correo Argentino"),
    "CL": ("智利", "Correos de Chile"),
    "PE": ("秘鲁", "Serpost"),
    "CO": ("哥伦比亚", "4-72"),
    "AU": ("澳大利亚", "Australia Post"),
    "NZ": ("新西兰", "NZ Post"),
    "AN": ("荷属安的列斯", None),
    "CS": ("塞尔维亚和黑山", None),
    "YU": ("南斯拉夫", None),
    "TP": ("东帝汶", None),
    "XZ": ("科索沃", "Kosovo Post"),
}

# pycountry names that read badly in a sentence; `common_name` already fixes TW, KR, IR, VN, BO.
_NAMES = {
    "RU": "Russia",
    "CD": "DR Congo",
    "FM": "Micronesia",
    "PS": "Palestine",
    "VG": "British Virgin Islands",
    "VI": "US Virgin Islands",
}


def data_rows(name: str) -> list[dict[str, str]]:
    """The rows of a CSV file in `emstrack/data/`, by column name."""
    text = files("emstrack").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


#: UPU operator codes outside ISO 3166-1, each row with its source (docs/standards/s10.md §7);
#: ZZ is deliberately absent: the UPU uses it for office codes only.
UPU_CODES: dict[str, tuple[str, str]] = {
    r["code"]: (r["name"], r["operator"]) for r in data_rows("s10_upu_country_codes.csv")
}

# pycountry maps CS to two withdrawn countries, so one name from it would be a coin toss.
_CS_NAME = "Serbia and Montenegro (or, before 1993, Czechoslovakia)"

#: Codes people write that no post issues under, and the code an S10 number uses instead; the
#: reason for each row is in the data file.
COMMON_MISTAKES: dict[str, str] = {
    r["written"]: r["meant"] for r in data_rows("s10_country_confusions.csv")
}

# QWERTY rows: a key's neighbours are beside it and, the rows being staggered, the two keys
# touching it in the row above and below.
_QWERTY = ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")


def _keyboard() -> dict[str, str]:
    near: dict[str, str] = {}
    for r, row in enumerate(_QWERTY):
        above = _QWERTY[r - 1] if r > 0 else ""
        below = _QWERTY[r + 1] if r < 2 else ""
        for c, key in enumerate(row):
            keys = [row[i] for i in (c - 1, c + 1) if 0 <= i < len(row)]
            keys += [above[i] for i in (c, c + 1) if i < len(above)]
            keys += [below[i] for i in (c - 1, c) if 0 <= i < len(below)]
            near[key] = "".join(keys)
    return near


_NEAR = _keyboard()


def _entry(code: str, name: str, operator: str | None, kind: str) -> Country:
    zh = _DISPLAY.get(code)
    return Country(code, name, zh[0] if zh else None, operator, kind)


@cache
def _table() -> dict[str, Country]:
    table: dict[str, Country] = {}
    for h in pycountry.historic_countries:
        if len(h.alpha_2) == 2 and h.alpha_2 not in table:
            name = _CS_NAME if h.alpha_2 == "CS" else h.name.split(",")[0]
            table[h.alpha_2] = _entry(h.alpha_2, name, None, "historic")
    for c in pycountry.countries:
        name = _NAMES.get(c.alpha_2) or getattr(c, "common_name", None) or c.name
        zh = _DISPLAY.get(c.alpha_2)
        table[c.alpha_2] = _entry(c.alpha_2, name, zh[1] if zh else None, "iso")
    for code, (name, operator) in UPU_CODES.items():
        table[code] = _entry(code, name, operator, "upu_extra")
    return table


@cache
def _current() -> frozenset[str]:
    return frozenset(c.code for c in _table().values() if c.kind != "historic")


def lookup(code: str) -> Country | None:
    """The country for an issuer code (current, UPU extra or historic); None when unknown."""
    return _table().get(code.upper())


def is_current(code: str) -> bool:
    """Whether `code` may issue S10 numbers today: ISO 3166-1 alpha-2 or XZ, QM, QN."""
    return code in _current() or code.upper() in _current()


def is_user_assigned(code: str) -> bool:
    """Whether ISO 3166-1 leaves `code` to its users: AA, QM–QZ, XA–XZ and ZZ.

    The UPU takes a few of them for operators (XZ, QM, QN: `is_current` says so); any other is
    a code no postal operator issues numbers under.
    """
    code = code.upper()
    return code in ("AA", "ZZ") or (code[:1] == "Q" and code[1:] >= "M") or code[:1] == "X"


def near_codes(code: str) -> list[str]:
    """Current codes one keystroke away: one letter replaced by a neighbouring QWERTY key."""
    code = code.upper()
    out: list[str] = []
    for i, letter in enumerate(code):
        for key in _NEAR.get(letter, ""):
            near = code[:i] + key + code[i + 1 :]
            if near not in out and is_current(near):
                out.append(near)
    return out


def country_name(code: str | None, lang: Lang = "en") -> str | None:
    """Display name in English, or in Chinese when one is known."""
    country = lookup(code) if code else None
    if country is None:
        return None
    if lang == "zh" and country.name_zh:
        return country.name_zh
    return country.name
