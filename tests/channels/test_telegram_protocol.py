"""The Telegram Bot API's protocol points: the webhook's secret, updates, long texts."""

from __future__ import annotations

import copy
import itertools
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emstrack.channels.telegram.protocol import (
    TelegramError,
    Update,
    check_secret,
    parse_update,
    split_text,
    valid_secret_token,
)

TOKEN = "7012345678:AAH-sEcReT_bot-token-do-not-leak"

# The example of docs/standards/channels.md §2.1, as Telegram sends it.
SPEC_UPDATE: dict[str, Any] = {
    "update_id": 123456789,
    "message": {
        "message_id": 42,
        "from": {"id": 1111, "is_bot": False, "first_name": "Ana"},
        "chat": {"id": 1111, "type": "private", "first_name": "Ana"},
        "date": 1714037059,
        "text": "EE123456785CN",
    },
}


def units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts."""
    return len(text.encode("utf-16-le")) // 2


def message(update_id: int, text: str, chat_id: int = 1111) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id * 10,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ana"},
            "chat": {"id": chat_id, "type": "private"},
            "date": 1714037059,
            "text": text,
        },
    }


# --- secrets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expected", "header", "accepted"),
    [
        ("s3cret_Token-1", "s3cret_Token-1", True),
        ("s3cret_Token-1", "s3cret_Token-2", False),
        ("s3cret_Token-1", "s3cret_Token-1 ", False),
        ("s3cret_Token-1", None, False),
        ("s3cret_Token-1", "", False),
        ("", "", False),  # no secret configured: nothing gets in
        ("", None, False),
        ("s3cret_Token-1", "s3cret_Tökén-1", False),  # non-ASCII header: no crash
    ],
)
def test_check_secret(expected: str, header: str | None, accepted: bool) -> None:
    assert check_secret(expected, header) is accepted


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("a", True),
        ("Az09_-", True),
        ("x" * 256, True),
        ("x" * 257, False),
        ("", False),
        ("has space", False),
        ("dot.ted", False),
        ("ünïcode", False),
        ("trailing\n", False),
    ],
)
def test_valid_secret_token(value: str, valid: bool) -> None:
    assert valid_secret_token(value) is valid


# --- updates -----------------------------------------------------------------------------------


def test_parse_update_reads_the_spec_example() -> None:
    assert parse_update(SPEC_UPDATE) == Update(
        update_id=123456789,
        chat_id=1111,
        user_id=1111,
        text="EE123456785CN",
        language_code=None,
        message_id=42,
    )


def test_parse_update_reads_an_edited_message_in_a_group() -> None:
    data = {
        "update_id": 7,
        "edited_message": {
            "message_id": 9,
            "from": {"id": 2222, "is_bot": False, "first_name": "Li", "language_code": "zh-hans"},
            "chat": {"id": -1001234567890, "type": "supergroup", "title": "Parcels"},
            "date": 1714037059,
            "edit_date": 1714037100,
            "text": "/track EE123456785CN",
        },
    }
    assert parse_update(data) == Update(
        7, -1001234567890, 2222, "/track EE123456785CN", "zh-hans", 9
    )


@pytest.mark.parametrize(
    "data",
    [
        {"update_id": 8, "callback_query": {"id": "4382", "data": "x"}},
        {"update_id": 8, "my_chat_member": {"chat": {"id": 1}}},
        {"update_id": 8, "message": None},
    ],
)
def test_parse_update_passes_over_other_kinds(data: dict[str, Any]) -> None:
    assert parse_update(data) == Update(8, None, None, None, None, None)


def test_parse_update_of_a_photo_has_no_text() -> None:
    data = message(5, "x")
    del data["message"]["text"]
    data["message"]["photo"] = [{"file_id": "abc", "width": 90, "height": 90}]
    assert parse_update(data).text is None
    assert parse_update(data).chat_id == 1111


def _spec_with(path: tuple[str, ...], value: object) -> dict[str, Any]:
    data = copy.deepcopy(SPEC_UPDATE)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "EE123456785CN",
        123456789,
        {},
        {"message": SPEC_UPDATE["message"]},
        _spec_with(("update_id",), "123456789"),
        _spec_with(("update_id",), True),
        _spec_with(("update_id",), 123456789.0),
        _spec_with(("update_id",), None),
        _spec_with(("message",), []),
        _spec_with(("message",), "hello"),
        _spec_with(("message", "chat"), None),
        _spec_with(("message", "chat"), 1111),
        _spec_with(("message", "chat", "id"), "1111"),
        _spec_with(("message", "chat", "id"), False),
        _spec_with(("message", "from"), "Ana"),
        _spec_with(("message", "from", "id"), 11.5),
        _spec_with(("message", "from", "language_code"), 7),
        _spec_with(("message", "text"), ["EE123456785CN"]),
        _spec_with(("message", "message_id"), "42"),
    ],
)
def test_parse_update_refuses_malformed_input(data: object) -> None:
    with pytest.raises(TelegramError) as caught:
        parse_update(data)
    assert caught.value.code == "bad_update"
    assert not caught.value.retryable


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
# Near-updates: the right keys with arbitrary values reach the deeper checks.
near_updates = st.fixed_dictionaries(
    {"update_id": st.integers() | json_values},
    optional={
        "message": st.fixed_dictionaries(
            {},
            optional={
                "chat": st.fixed_dictionaries({}, optional={"id": json_values}) | json_values,
                "from": st.fixed_dictionaries(
                    {}, optional={"id": json_values, "language_code": json_values}
                )
                | json_values,
                "text": json_values,
                "message_id": json_values,
            },
        )
        | json_values,
        "edited_message": json_values,
    },
)


@given(json_values | near_updates)
def test_parse_update_raises_nothing_but_telegram_error(data: object) -> None:
    try:
        update = parse_update(data)
    except TelegramError as exc:
        codes = [exc.code]
    else:
        codes = []
        assert isinstance(update.update_id, int)
        assert not isinstance(update.update_id, bool)
        assert update.chat_id is None or type(update.chat_id) is int
    assert codes in ([], ["bad_update"])


# --- splitting ---------------------------------------------------------------------------------

# Characters of one, two (emoji outside the BMP) and "wide" (CJK) kinds, and the whitespace
# the splitter cuts at.
_alphabet = st.sampled_from(["a", "Z", "7", "é", "中", "文", "😀", "📦", "\u200d", " ", "\n", "\t"])


def _reassembles(text: str, parts: list[str]) -> bool:
    """Whether `text` is the parts in order with only whitespace between, before and after."""
    pattern = r"\s*" + r"\s*".join(re.escape(part) for part in parts) + r"\s*"
    return re.fullmatch(pattern, text) is not None


@given(st.lists(_alphabet, max_size=300).map("".join), st.integers(min_value=2, max_value=40))
def test_split_text_keeps_everything_but_whitespace_at_cuts(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    for part in parts:
        assert part.strip(), "no empty or blank part"
        assert units(part) <= limit
        part.encode("utf-8")  # no lone surrogate: no pair was cut in two
    assert _reassembles(text, parts)
    assert (parts == []) == (text.strip() == "")


_word = st.text(st.sampled_from(["a", "é", "中", "😀", "-", "."]), min_size=1, max_size=12)


@given(st.lists(_word, min_size=1, max_size=40), st.integers(min_value=24, max_value=60))
def test_split_text_cuts_only_at_line_breaks_when_lines_fit(lines: list[str], limit: int) -> None:
    text = "\n".join(lines)
    parts = split_text(text, limit)
    assert "\n".join(parts) == text
    for part, following in itertools.pairwise(parts):
        # Each part is as long as it can be: the next line would not have fitted.
        assert units(part) + 1 + units(following.split("\n")[0]) > limit


def test_split_text_fills_parts_with_emoji_and_cjk() -> None:
    emoji = split_text("📦" * 5000)
    assert [units(part) for part in emoji] == [4096, 4096, 1808]
    assert "".join(emoji) == "📦" * 5000
    cjk = split_text("中" * 5000)
    assert [len(part) for part in cjk] == [4096, 904]


def test_split_text_prefers_line_breaks_then_spaces() -> None:
    assert split_text("one two\nthree four", 12) == ["one two", "three four"]
    assert split_text("one two three four", 12) == ["one two", "three four"]
    assert split_text("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    # A break just past the limit is as good as one inside it.
    assert split_text("abcd\nefgh", 4) == ["abcd", "efgh"]
    assert split_text("short", 4096) == ["short"]
    assert split_text(" \n\t ") == []
    with pytest.raises(ValueError, match="limit"):
        split_text("x", 1)
