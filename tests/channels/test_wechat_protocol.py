"""The WeChat callback protocol and its AES envelopes against the vectors of
docs/standards/channels.md §1, and hostile bodies."""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from emstrack.channels.wechat.crypto import Crypto
from emstrack.channels.wechat.protocol import (
    MAX_TEXT_BYTES,
    SUCCESS,
    Incoming,
    WeChatError,
    check_signature,
    msg_signature,
    parse_message,
    text_reply,
)

TOKEN = "AAAAA"
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OLD_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkj"
APP_ID = "wx1234567890abcdef"
TIMESTAMP, NONCE = "1714037059", "486452656"
PLAINTEXT = (
    b"<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
    b"<FromUserName><![CDATA[oUSER]]></FromUserName><CreateTime>1714037059</CreateTime>"
    b"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[EE123456789CN]]></Content>"
    b"<MsgId>1234567890123456</MsgId></xml>"
)
ENCRYPT = (
    "Q3stYC6hdFzMh9T8HCvyDJUcnX/47jrDVwuFR6QtlUdRExugiHPOQ6S5LYD2mXwpPelWBVtY9bS2TrvZpd5PIE3ejurK"
    "ef5Yk8dcQUJzyjjvrSwRKC+uk79VBOU1omFkkh6nP/bec31RdynPiUmDY0lr8pren/qkgvLqO6KpeBlLpiMvk95rORpa"
    "9PgyLJxdO5BfOjQtTWE4DQJnWDgscFRD0xOes6kj8EIlTPE3lWwZw8+aJLjTR2NkJzHTzDD01vxZJi6mX4vFsJVasHii"
    "sPRsmohOmtFKMlqs11R8Y5zp3wbZQAYDorFqYwjVGj7OiwPfqgQ0jeL3f2Q8WOd9oJOLMKmXpXvDFitkgY4RHnbpSAmS"
    "fC+ek7cVHmpfROuIGuOvtIBBmeN+j+SZCsn0H0B3wZqFCzV2UyAfBT9kDzM="
)
MSG_SIGNATURE = "ed1ec7671064a3486873280bc4b466524c0cb0ee"


def crypto(*keys: str, app_id: str = APP_ID) -> Crypto:
    return Crypto(TOKEN, list(keys or [KEY]), app_id)


def raw_encrypt(body: bytes, key: str = KEY) -> str:
    """AES-CBC straight from `cryptography`, for bodies our own encrypt would never make."""
    key_bytes = base64.b64decode(key + "=")
    encryptor = Cipher(algorithms.AES(key_bytes), modes.CBC(key_bytes[:16])).encryptor()
    return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode()


def envelope(encrypt: str) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    ).encode()


def code_of(call: Callable[[], object]) -> str:
    with pytest.raises(WeChatError) as caught:
        call()
    return caught.value.code


# -- §1.1 signatures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "nonce", "signature"),
    [
        ("1714037059", "486452656", "899cf89e464efb63f54ddac96b0a0a235f53aa78"),
        ("1714036504", "1514711492", "f464b24fc39322e44b38aa78f5edd27bd1441696"),
    ],
)
def test_official_signature_vectors(timestamp: str, nonce: str, signature: str) -> None:
    assert check_signature(TOKEN, signature, timestamp, nonce)
    assert not check_signature("AAAAB", signature, timestamp, nonce)
    assert not check_signature(TOKEN, signature, timestamp, nonce + "1")
    assert not check_signature(TOKEN, signature[:-1] + "x", timestamp, nonce)


@pytest.mark.parametrize("signature", ["", "签名", "\udc80", "0" * 40])
def test_hostile_signature_is_refused_not_raised(signature: str) -> None:
    assert not check_signature(TOKEN, signature, "\ud800", "nonce")


# -- §1.5 AES vector ------------------------------------------------------------------------


def test_aes_vector_decrypts_to_the_plaintext() -> None:
    assert len(PLAINTEXT) == 254
    assert crypto().decrypt(ENCRYPT) == (PLAINTEXT, 0)


def test_aes_vector_encrypts_to_the_encrypt_value() -> None:
    assert crypto().encrypt(PLAINTEXT, random16=b"0123456789abcdef") == ENCRYPT


def test_aes_vector_msg_signature() -> None:
    assert msg_signature(TOKEN, TIMESTAMP, NONCE, ENCRYPT) == MSG_SIGNATURE


def test_open_envelope_of_the_vector() -> None:
    incoming, key_index = crypto().open_envelope(
        envelope(ENCRYPT), msg_signature=MSG_SIGNATURE, timestamp=TIMESTAMP, nonce=NONCE
    )
    assert key_index == 0
    assert incoming == Incoming(
        to_user="gh_0123456789ab",
        from_user="oUSER",
        create_time=1714037059,
        msg_type="text",
        content="EE123456789CN",
        msg_id="1234567890123456",
    )
    assert incoming.dedupe_key == "msg:1234567890123456"


def test_sealed_reply_opens_and_carries_a_valid_signature() -> None:
    box = crypto()
    incoming = parse_message(PLAINTEXT)
    reply = text_reply(incoming, "EE123456789CN: check digit should be 5", now=1714037060)
    sealed = box.seal_reply(reply, timestamp="1714037060", nonce="42", key_index=0)
    opened, key_index = box.open_envelope(
        sealed,
        msg_signature=_element(sealed, "MsgSignature"),
        timestamp=_element(sealed, "TimeStamp"),
        nonce=_element(sealed, "Nonce"),
    )
    assert key_index == 0
    assert (opened.to_user, opened.from_user) == ("oUSER", "gh_0123456789ab")
    assert opened.content == "EE123456789CN: check digit should be 5"


def _element(xml: bytes, name: str) -> str:
    text = xml.decode()
    start = text.index(f"<{name}>") + len(name) + 2
    value = text[start : text.index(f"</{name}>")]
    return value.removeprefix("<![CDATA[").removesuffix("]]>")


def test_previous_key_still_opens_and_is_reported() -> None:
    sealed_with_old = crypto(OLD_KEY).encrypt(PLAINTEXT)
    box = crypto(KEY, OLD_KEY)
    assert box.decrypt(sealed_with_old) == (PLAINTEXT, 1)
    assert box.decrypt(ENCRYPT) == (PLAINTEXT, 0)
    # The reply goes out under the key that worked.
    assert crypto(OLD_KEY).decrypt(box.encrypt(b"<xml/>", key_index=1)) == (b"<xml/>", 0)


def test_unknown_key_is_bad_encryption() -> None:
    assert code_of(lambda: crypto(OLD_KEY).decrypt(ENCRYPT)) == "bad_encryption"


def test_other_app_id_is_refused() -> None:
    assert code_of(lambda: crypto(app_id="wx0000000000000000").decrypt(ENCRYPT)) == "wrong_app_id"


@pytest.mark.parametrize(
    "encrypt",
    [
        pytest.param(
            ENCRYPT[:-30] + ("A" if ENCRYPT[-30] != "A" else "B") + ENCRYPT[-29:],
            id="tail-changed",
        ),
        pytest.param(ENCRYPT[:-24] + "=", id="cut"),
        pytest.param("not base64!", id="not-base64"),
        pytest.param("", id="empty"),
        pytest.param("QUJD", id="not-whole-blocks"),
        pytest.param("密文", id="not-ascii"),
    ],
)
def test_tampered_ciphertext_is_refused(encrypt: str) -> None:
    assert code_of(lambda: crypto().decrypt(encrypt)) in {"bad_encryption", "wrong_app_id"}


@pytest.mark.parametrize("pad", [0, 33, 255])
def test_padding_outside_1_to_32_is_refused(pad: int) -> None:
    # A block-aligned body whose last byte claims an impossible padding length.
    body = b"0123456789abcdef" + (10).to_bytes(4, "big") + b"<xml/>    " + APP_ID.encode()
    body += bytes([7]) * (31 - len(body) % 32) + bytes([pad])
    assert code_of(lambda: crypto().decrypt(raw_encrypt(body))) == "bad_encryption"


def test_inconsistent_padding_bytes_are_refused() -> None:
    body = b"0123456789abcdef" + (6).to_bytes(4, "big") + b"<xml/>" + APP_ID.encode()
    pad = 32 - len(body) % 32
    body += bytes([pad]) * (pad - 1) + bytes([pad - 1 if pad > 1 else 2])
    assert code_of(lambda: crypto().decrypt(raw_encrypt(body))) == "bad_encryption"


def test_length_field_longer_than_the_body_is_refused() -> None:
    plain = b"0123456789abcdef" + (9999).to_bytes(4, "big") + b"<xml/>" + APP_ID.encode()
    plain += bytes([32 - len(plain) % 32]) * (32 - len(plain) % 32)
    assert code_of(lambda: crypto().decrypt(raw_encrypt(plain))) == "bad_encryption"


def test_raw_encrypt_agrees_with_ours() -> None:
    # So the hand-made bodies above fail for the reason they claim, not for a wrong key.
    plain = b"0123456789abcdef" + (6).to_bytes(4, "big") + b"<xml/>" + APP_ID.encode()
    plain += bytes([32 - len(plain) % 32]) * (32 - len(plain) % 32)
    assert crypto().decrypt(raw_encrypt(plain)) == (b"<xml/>", 0)


def test_tampered_middle_is_caught_by_the_signature_only() -> None:
    # CBC carries no MAC: a changed block in the middle decrypts to garbled XML with a sound
    # layout, so msg_signature is what guards integrity.
    tampered = ENCRYPT[:100] + ("A" if ENCRYPT[100] != "A" else "B") + ENCRYPT[101:]
    xml, _ = crypto().decrypt(tampered)
    assert xml != PLAINTEXT
    assert (
        code_of(
            lambda: crypto().open_envelope(
                envelope(tampered), msg_signature=MSG_SIGNATURE, timestamp=TIMESTAMP, nonce=NONCE
            )
        )
        == "bad_signature"
    )


def test_wrong_msg_signature_is_refused_before_decrypting() -> None:
    # A garbage Encrypt with a wrong signature says bad_signature, not bad_encryption.
    assert (
        code_of(
            lambda: crypto().open_envelope(
                envelope("garbage"), msg_signature=MSG_SIGNATURE, timestamp=TIMESTAMP, nonce=NONCE
            )
        )
        == "bad_signature"
    )
    assert (
        code_of(
            lambda: crypto().open_envelope(
                envelope(ENCRYPT), msg_signature=MSG_SIGNATURE, timestamp="1714037060", nonce=NONCE
            )
        )
        == "bad_signature"
    )


def test_envelope_without_encrypt_is_bad_xml() -> None:
    box = crypto()
    with pytest.raises(WeChatError, match="Encrypt") as caught:
        box.open_envelope(PLAINTEXT, msg_signature=MSG_SIGNATURE, timestamp=TIMESTAMP, nonce=NONCE)
    assert caught.value.code == "bad_xml"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([KEY[:-1]], "43 characters"),
        ([KEY + "H"], "43 characters"),
        ([KEY[:-1] + "!"], "A-Z"),
        ([], "At least one"),
        (KEY, "as a list"),
    ],
)
def test_bad_encoding_aes_keys_are_refused(keys: list[str] | str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Crypto(TOKEN, keys, APP_ID)


# -- parsing ------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xml [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol9;</Content><MsgId>1</MsgId></xml>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&x;</Content><MsgId>1</MsgId></xml>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_entity_attacks_are_bad_xml_and_quick(body: bytes) -> None:
    started = time.monotonic()
    assert code_of(lambda: parse_message(body)) == "bad_xml"
    assert time.monotonic() - started < 0.5
    # Inside an encrypted envelope as well.
    sealed = crypto().encrypt(body)
    signature = msg_signature(TOKEN, TIMESTAMP, NONCE, sealed)
    assert (
        code_of(
            lambda: crypto().open_envelope(
                envelope(sealed), msg_signature=signature, timestamp=TIMESTAMP, nonce=NONCE
            )
        )
        == "bad_xml"
    )


def test_over_long_body_is_too_large() -> None:
    body = PLAINTEXT[:-6] + b"<Pad>" + b"x" * 70_000 + b"</Pad></xml>"
    assert code_of(lambda: parse_message(body)) == "too_large"
    assert parse_message(body, max_bytes=100_000).msg_id == "1234567890123456"
    assert code_of(lambda: parse_message(PLAINTEXT, max_bytes=100)) == "too_large"


EVENT = (
    b"<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
    b"<FromUserName><![CDATA[oUSER]]></FromUserName><CreateTime>1714037100</CreateTime>"
    b"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SUBSCRIBE]]></Event>"
    b"<EventKey><![CDATA[qrscene_123]]></EventKey></xml>"
)


def test_subscribe_event_from_a_qr_code() -> None:
    incoming = parse_message(EVENT)
    assert (incoming.msg_type, incoming.event, incoming.event_key) == (
        "event",
        "subscribe",
        "qrscene_123",
    )
    assert (incoming.content, incoming.msg_id) == (None, None)
    assert incoming.dedupe_key == "event:oUSER:1714037100"


def test_multi_line_message_keeps_its_content() -> None:
    body = PLAINTEXT.replace(b"EE123456789CN", "EE123456785CN\n查一下".encode())
    incoming = parse_message(body)
    assert incoming.content == "EE123456785CN\n查一下"


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        (PLAINTEXT.replace(b"<CreateTime>1714037059</CreateTime>", b""), "CreateTime"),
        (PLAINTEXT.replace(b"<MsgType><![CDATA[text]]></MsgType>", b""), "MsgType"),
        (PLAINTEXT.replace(b"<FromUserName><![CDATA[oUSER]]></FromUserName>", b""), "FromUser"),
        (PLAINTEXT.replace(b"gh_0123456789ab", b""), "ToUserName"),
        (EVENT.replace(b"<Event><![CDATA[SUBSCRIBE]]></Event>", b""), "Event"),
    ],
)
def test_missing_element_is_named(body: bytes, missing: str) -> None:
    with pytest.raises(WeChatError, match=missing) as caught:
        parse_message(body)
    assert caught.value.code == "bad_xml"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"success",
        b"{}",
        b"<xml>",
        b"<html><ToUserName>x</ToUserName></html>",
        PLAINTEXT.replace(b"1714037059", b"soon"),
        PLAINTEXT.replace(b"EE123456789CN", "查".encode("gbk")),
        PLAINTEXT.replace(b"EE123456789CN", "查".encode("utf-16")),
        PLAINTEXT.replace(b"EE123456789CN", b"\x01"),
    ],
)
def test_not_a_message_is_bad_xml(body: bytes) -> None:
    assert code_of(lambda: parse_message(body)) == "bad_xml"


@given(st.binary(max_size=2048))
def test_parse_message_raises_only_wechat_errors_on_bytes(body: bytes) -> None:
    with contextlib.suppress(WeChatError):
        parse_message(body)


@given(st.text(max_size=500))
def test_parse_message_raises_only_wechat_errors_on_text_in_a_message(text: str) -> None:
    # Inserted in each field in turn, so the parse reaches past the first element.
    for field in (b"gh_0123456789ab", b"1714037059", b"text", b"EE123456789CN"):
        body = PLAINTEXT.replace(field, text.encode("utf-8", "surrogatepass"), 1)
        with contextlib.suppress(WeChatError):
            parse_message(body)


@given(st.binary(max_size=1024), st.sampled_from([0, 1]))
def test_encrypt_decrypt_round_trip(xml: bytes, key_index: int) -> None:
    box = crypto(KEY, OLD_KEY)
    assert box.decrypt(box.encrypt(xml, key_index=key_index)) == (xml, key_index)


# -- passive replies ----------------------------------------------------------------------

INCOMING = parse_message(PLAINTEXT)


@pytest.mark.parametrize(
    "content",
    [
        "EE123456785CN: delivered",
        "line 1\nline 2",
        "EE123456785CN 已妥投 ✅",
        "a ]]> b ]]]]> c ]]",
        "]]>",
        "",
    ],
)
def test_text_reply_round_trips(content: str) -> None:
    reply = parse_message(text_reply(INCOMING, content, now=1714037060))
    assert reply == Incoming(
        to_user="oUSER",
        from_user="gh_0123456789ab",
        create_time=1714037060,
        msg_type="text",
        content=content,
    )


def test_text_reply_drops_characters_xml_cannot_carry() -> None:
    reply = parse_message(text_reply(INCOMING, "a\x00b\x1bc\ufffed\ud800e\tf", now=1))
    assert reply.content == "abcde\tf"


@pytest.mark.parametrize("unit", ["a", "查", "😀", "é"])
def test_over_long_reply_is_cut_at_a_character_under_2048_bytes(unit: str) -> None:
    content = unit * 3000
    reply = parse_message(text_reply(INCOMING, content, now=1)).content
    assert reply is not None
    assert len(reply.encode()) <= MAX_TEXT_BYTES
    assert reply.endswith("…")
    assert content.startswith(reply[:-1])
    assert len(reply.encode()) > MAX_TEXT_BYTES - 4 - len("…".encode())


def test_reply_of_exactly_2048_bytes_is_not_cut() -> None:
    content = "a" * MAX_TEXT_BYTES
    assert parse_message(text_reply(INCOMING, content, now=1)).content == content


def test_success_is_the_literal_body() -> None:
    assert SUCCESS == b"success"
