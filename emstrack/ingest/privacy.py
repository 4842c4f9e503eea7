"""Personal data out of an operator's text before the public sees it (docs/import.md).

Operators' texts name postmen and print their phones ("揽投员姓名：张三,联系电话:13800138000").
The public label of an unmapped text drops phone numbers (found by `phonenumbers`, as numbers
of the profile's country or in international form), each declared name field with its value,
and postcodes by the profile's pattern. The full text stays in `description`, for operators.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers

# A declared field is its name and a colon; its value runs to the next separator: comma,
# semicolon, full stop or space.
_VALUE = r"\s*[:：]\s*[^,，;；。\s]*"
_SPACES = re.compile(r"\s{2,}")
_LEFTOVER = re.compile(r"(^[\s,，;；:：]+|[\s,，;；:：]+$|(?<=[,，;；])\s*[,，;；:：]+)")


def scrub(
    text: str,
    *,
    region: str | None,
    name_fields: Iterable[str] = (),
    postcode: re.Pattern[str] | None = None,
) -> str:
    """The text with phone numbers, the declared fields' values and postcodes removed."""
    for name in name_fields:
        text = re.sub(re.escape(name) + _VALUE, " ", text)
    spans = [
        (m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(text, region or "ZZ", leniency=0)
    ]
    for start, end in reversed(spans):
        text = text[:start] + " " + text[end:]
    if postcode is not None:
        text = postcode.sub(" ", text)
    text = _SPACES.sub(" ", text)
    return _LEFTOVER.sub("", text).strip()
