"""Links in a message, each judged against the official domains.

A host is official when its registrable domain is on the list. Otherwise it is a look-alike
when it carries a brand's name (as a word, or a long brand anywhere), imitates one with a
swapped letter or digit, uses letters of other alphabets (or punycode), is a link shortener or a
bare IP address; a host that puts a post's word in front of a site that is no post's
("post.akcapek.com", "postal.example.top") dresses itself as a post; any other link is merely
unofficial.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import unicodedata
from collections.abc import Iterator

from emstrack.scamcheck.domains import Official, has_known_suffix, registrable
from emstrack.scamcheck.reasons import Reason

SHORTENERS = frozenset(
    {
        "bit.ly", "tinyurl.com", "t.co", "is.gd", "goo.gl", "ow.ly", "buff.ly", "cutt.ly",
        "rb.gy", "t.ly", "shorturl.at", "rebrand.ly", "tiny.cc", "s.id", "v.gd", "bl.ink",
        "short.io", "t.cn", "url.cn", "dwz.cn", "suo.im", "qr.net", "lnkd.in", "u.nu",
    }
)  # fmt: skip

# With a scheme, a host may hold any letters (that is how confusables arrive); without one only
# ASCII, so that Chinese text glued to a domain ("点击ems-cn.top补缴") is not taken for it.
_WITH_SCHEME = re.compile(r"https?://([^\s/:?#\"'<>，。；）)]+)", re.I)
_BARE = re.compile(
    r"(?<![a-z0-9@.-])((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z][a-z0-9-]*[a-z0-9])(?![a-z0-9@-])",
    re.I,
)
_IP = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")
# A template's fields ("{{ salesChannel.name }}", "{$order.order_sn}", "${shop.base_url}"), as a
# shop's or a courier's notice templates print them: a field's name is no link (".name" is a
# domain suffix). Only names no host has (capitals, underscores, a call): a domain in braces,
# "{{ evil.top }}", is still judged.
_FIELD = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{\$[^{}]*\}|\$\{[^{}]*\}", re.S)
_NAME_OF_A_FIELD = re.compile(r"[A-Z_(]")

# Without a scheme, "macaupost.zip" named as an attachment ("一个名为“macaupost.zip”的压缩档",
# "the attached file invoice.zip") is a file: the two top-level domains that are also files'
# extensions are read as a file's name when the words just before call them one.
_FILE_SUFFIXES = (".zip", ".mov")
_FILE_WORDS = re.compile(
    r"(?:名为|文件|档案|附件|压缩|檔案|附檔|\b(?:file|attachment|attached|archive|named|called|"
    r"download|open)\b)[^.。\n]{0,12}$",
    re.I,
)


def _a_file(text: str, start: int, host: str) -> bool:
    return (
        host.lower().endswith(_FILE_SUFFIXES)
        and not host.lower().startswith("www.")
        and bool(_FILE_WORDS.search(text, max(0, start - 24), start))
    )


# Letters of other scripts drawn like Latin ones, and digits drawn like letters.
_CONFUSABLE = str.maketrans("аеорсухіјѕԁԛԝһӏοαυνɡɑ", "aeopcyxijsdqwhloauvga")
_DIGIT_AS_LETTER = str.maketrans("0135", "oles")


_DEFANGED = (
    (re.compile(r"\bhxxp(s?)(?=://)", re.I), r"http\1"),
    (re.compile(r"\s?(?:\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\))\s?", re.I), "."),
)


def refanged(text: str) -> str:
    """A text whose "defanged" links ("hxxps://evil[.]top", as warnings print them) are links
    again, so that their hosts are judged like any other."""
    for pattern, replacement in _DEFANGED:
        text = pattern.sub(replacement, text)
    return text


def hosts(text: str) -> Iterator[str]:
    """The host names and addresses linked in `text`, each once, in order."""
    seen: set[str] = set()
    linked: list[range] = []
    for match in _WITH_SCHEME.finditer(text):
        linked.append(range(*match.span(1)))
        yield from _once(match.group(1), seen)
    for match in _IP.finditer(text):
        yield from _once(match.group(1), seen)
    fields = [range(*field.span()) for field in _FIELD.finditer(text)]
    for match in _BARE.finditer(text):
        host = match.group(1)
        # A tail of a link seen above, or a template's field's name.
        inside = any(match.start(1) in span for span in linked) or (
            any(match.start(1) in span for span in fields)
            and bool(_NAME_OF_A_FIELD.search(text, match.start(1), match.end(1) + 1))
        )
        if (
            not inside
            and has_known_suffix(host)
            and not _IP.fullmatch(host)
            and not _a_file(text, match.start(1), host)
        ):
            yield from _once(host, seen)


def _once(host: str, seen: set[str]) -> Iterator[str]:
    host = host.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if host and host not in seen:
        seen.add(host)
        yield host


def judge(host: str, official: Official) -> Reason:
    """What one host tells: official, or which kind of imitation."""
    try:
        ipaddress.ip_address(host)
        return Reason("link_ip_address", {"domain": host})
    except ValueError:
        pass
    decoded = _decode(host)
    if decoded != host or not host.isascii():
        skeleton = unicodedata.normalize("NFKC", decoded).translate(_CONFUSABLE)
        brand = lookalike(skeleton, official) or misspelled(skeleton, official) or skeleton
        shown = host if decoded == host else f"{host} ({decoded})"
        return Reason("link_confusable", {"domain": shown, "brand": brand})
    domain = registrable(host) or host
    if operator := official.operator_of(domain):
        return Reason("link_official", {"domain": domain, "brand": operator})
    if domain in SHORTENERS:
        return Reason("link_shortener", {"domain": domain})
    if carrying := lookalike(host, official):
        return Reason("link_lookalike", {"domain": host, "brand": carrying})
    if imitated := misspelled(domain, official):
        return Reason("link_misspelled", {"domain": host, "brand": imitated})
    if word := post_word(host, domain):
        return Reason("link_post_word", {"domain": host, "word": word})
    return Reason("link_unofficial", {"domain": domain})


#: The words a post's own sites are named by; in front of another site's domain they dress it
#: as a post (the posts' advice: their links are on their own domain, whatever comes before).
POST_WORDS = frozenset({"post", "posts", "postal", "postoffice", "mypost", "youzheng", "邮政"})


def post_word(host: str, domain: str) -> str | None:
    """The post's word a host puts before a registrable domain that is not a post's."""
    prefix = host[: -len(domain)].rstrip(".") if host.endswith(domain) else ""
    for label in prefix.split("."):
        for word in re.split(r"[-_]", label):
            if word in POST_WORDS:
                return word
    return None


#: Names a message gives itself in Chinese, and the brand word each stands for.
CHINESE_NAMES = {
    "中国邮政": "chinapost", "邮政ems": "ems", "ems": "ems", "邮政": "chinapost",
    "顺丰": "sfexpress", "中通": "zto", "圆通": "yto", "韵达": "yundaex", "申通": "sto",
    "极兔": "jtexpress", "京东物流": "jdl", "菜鸟": "cainiao", "丰巢": "fcbox",
    "香港邮政": "hongkongpost", "中华邮政": "chunghwapost", "黑猫": "tcat",
}  # fmt: skip
_NAME_SPACES = re.compile(r"[\s\-_.]+")


def named_operator(text: str, official: Official) -> str | None:
    """The post or courier a message speaks as ("USPS: …", "Royal Mail: your parcel…",
    "【中国邮政】…"), as the operator's name; None when it names none we know.

    Only the message's opening (its first line's first words) and its end (where a Chinese SMS
    puts its 【signature】) are read: a shop's notice that the order "shipped via USPS" speaks
    as the shop, and may well link to the shop's own tracking page.
    """
    folded = unicodedata.normalize("NFKC", text[:2000]).strip()
    first = folded.splitlines()[0] if folded else ""
    lowered = (first[:48] + " " + folded[-24:]).lower()
    words = set(re.findall(r"[a-z0-9]+", lowered))
    compact = _NAME_SPACES.sub("", lowered)
    for brand, operator in official.brands.items():
        if not brand.isalpha():
            continue
        if brand in words or (len(brand) >= 6 and brand in compact):
            return operator
    for name, brand in CHINESE_NAMES.items():
        if name in compact and brand in official.brands:
            return official.brands[brand]
    return None


def _decode(host: str) -> str:
    labels = []
    for label in host.split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError):
                label = label[4:].encode("ascii").decode("punycode")
        labels.append(label)
    return ".".join(labels)


def _words(host: str) -> list[str]:
    return [w for w in re.split(r"[.\-_]", host) if w]


def lookalike(host: str, official: Official) -> str | None:
    """The operator whose brand the host carries, outside that brand's own domain."""
    words = _words(host)
    compact = host.replace("-", "").replace(".", "")
    for brand, operator in official.brands.items():
        if brand in words or any(w.startswith(brand) for w in words if len(brand) >= 4):
            return operator
        if len(brand) >= 6 and brand in compact:
            return operator
    return None


def misspelled(domain: str, official: Official) -> str | None:
    """The operator imitated by a digit for a letter or one changed letter ("usp5", "rnyalmail")."""
    label = domain.split(".")[0]
    if label in official.brands:
        return None
    for brand, operator in official.brands.items():
        if len(brand) < 4:
            continue
        if label.translate(_DIGIT_AS_LETTER) == brand:
            return operator
        if len(brand) >= 5 and _one_edit(label, brand):
            return operator
    return None


def _one_edit(a: str, b: str) -> bool:
    """True when `a` differs from `b` by one substitution, insertion or deletion."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = sorted((a, b), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))
