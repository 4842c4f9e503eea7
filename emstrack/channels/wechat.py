"""WeChat Official Account callbacks: signatures, message XML, passive replies, AES envelopes.

Pure protocol, no web framework: the route hands in the query parameters and the raw body and
gets back an `Incoming` message or a `WeChatError` with a stable `code`. See spec channels §1.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import string
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import defusedxml.ElementTree as SafeET
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException

from emstrack.errors import EmstrackError

#: The body to answer when there is nothing to reply (spec §1.4).
SUCCESS = b"success"

#: Largest request body we parse; real callbacks are well under 2 KiB.
MAX_BYTES = 64 * 1024

#: WeChat refuses a text message longer than this many bytes of UTF-8.
MAX_TEXT_BYTES = 2048

_MESSAGES = {
    "bad_signature": "The WeChat signature does not match this request.",
    "bad_xml": "The body is not a WeChat message.",
    "too_large": "The body is larger than any WeChat message.",
    "bad_encryption": "The encrypted message cannot be decrypted with our EncodingAESKey.",
    "wrong_app_id": "The encrypted message was sealed for another AppID.",
}


class WeChatError(EmstrackError):
    """A callback we refuse: `code` is one of bad_signature, bad_xml, too_large,
    bad_encryption, wrong_app_id."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code, message or _MESSAGES.get(code, "Invalid WeChat callback."))


def _sha1_sorted(*parts: str) -> str:
    # Query parameters are attacker-controlled: a lone surrogate must not raise here.
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8", "surrogatepass")).hexdigest()


def _same(expected: str, given: str) -> bool:
    # compare_digest refuses non-ASCII str, so compare bytes.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def check_signature(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """Whether `signature` is the SHA-1 of token, timestamp and nonce sorted (spec §1.1)."""
    return _same(_sha1_sorted(token, timestamp, nonce), signature)


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """The `msg_signature` of an encrypted message: SHA-1 over the four values sorted."""
    return _sha1_sorted(token, timestamp, nonce, encrypt)


@dataclass(frozen=True)
class Incoming:
    """One message or event pushed by WeChat (spec §1.2)."""

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    content: str | None = None
    msg_id: str | None = None
    event: str | None = None
    event_key: str | None = None

    @property
    def dedupe_key(self) -> str:
        """The key WeChat's retries share: MsgId for messages, sender and time for events."""
        if self.msg_type != "event" and self.msg_id:
            return f"msg:{self.msg_id}"
        # Events carry no MsgId; neither do a few odd message types, which get the same rule.
        kind = "event" if self.msg_type == "event" else "msg"
        return f"{kind}:{self.from_user}:{self.create_time}"


def _parse_xml(body: bytes, max_bytes: int) -> ET.Element:
    """The root `<xml>` element of `body`; no DTD, entity or external reference is honoured."""
    if len(body) > max_bytes:
        raise WeChatError("too_large", f"The body has {len(body)} bytes; at most {max_bytes}.")
    try:
        # Decoding first makes expat ignore any encoding="…" declaration: WeChat sends UTF-8.
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise WeChatError("bad_xml", "The body is not UTF-8.") from None
    try:
        root = SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise WeChatError("bad_xml", f"The body is not well-formed XML: {exc}") from None
    if root.tag != "xml":
        raise WeChatError("bad_xml", f"The root element is <{root.tag[:40]}>, not <xml>.")
    return root


def _text(root: ET.Element, name: str, *, strip: bool = True) -> str | None:
    element = root.find(name)
    if element is None:
        return None
    text = element.text or ""
    return text.strip() if strip else text


def _required(root: ET.Element, name: str) -> str:
    value = _text(root, name)
    if not value:
        raise WeChatError("bad_xml", f"The message has no {name}.")
    return value


_DIGITS = re.compile(r"[0-9]{1,20}")


def parse_message(body: bytes, *, max_bytes: int = MAX_BYTES) -> Incoming:
    """The message in a plaintext callback body (or a decrypted one), or WeChatError."""
    root = _parse_xml(body, max_bytes)
    create_time = _required(root, "CreateTime")
    if not _DIGITS.fullmatch(create_time):
        raise WeChatError("bad_xml", f"CreateTime {create_time[:40]!r} is not a unix time.")
    msg_type = _required(root, "MsgType").lower()
    event = _text(root, "Event")
    if msg_type == "event" and not event:
        raise WeChatError("bad_xml", "The event message has no Event.")
    return Incoming(
        to_user=_required(root, "ToUserName"),
        from_user=_required(root, "FromUserName"),
        create_time=int(create_time),
        msg_type=msg_type,
        content=_text(root, "Content", strip=False),  # what the user typed, spaces and all
        msg_id=_text(root, "MsgId") or None,
        event=event.lower() if event else None,
        event_key=_text(root, "EventKey") or None,
    )


# Characters XML 1.0 allows (§2.2); everything else, lone surrogates included, is dropped.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _cdata(value: str) -> str:
    # "]]>" would end the section early: end it after "]]" and open a new one before ">".
    return "<![CDATA[" + _NOT_XML.sub("", value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _truncate(content: str, limit: int = MAX_TEXT_BYTES) -> str:
    encoded = content.encode()
    if len(encoded) <= limit:
        return content
    ellipsis = "…"
    # "ignore" drops only the partial character the byte cut may leave at the end.
    head = encoded[: limit - len(ellipsis.encode())].decode(errors="ignore")
    return head + ellipsis


def text_reply(incoming: Incoming, content: str, *, now: int) -> bytes:
    """The passive text reply to `incoming` (spec §1.3), at most 2048 bytes of content."""
    content = _truncate(_NOT_XML.sub("", content))
    return (
        "<xml>"
        f"<ToUserName>{_cdata(incoming.from_user)}</ToUserName>"
        f"<FromUserName>{_cdata(incoming.to_user)}</FromUserName>"
        f"<CreateTime>{int(now)}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{_cdata(content)}</Content>"
        "</xml>"
    ).encode()


_BLOCK = 32  # WeChat pads to 32 bytes, not to the AES block size of 16
_RANDOM_ALPHABET = string.ascii_letters + string.digits


def _aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise ValueError(
            f"An EncodingAESKey has 43 characters; this one has {len(encoding_aes_key)}."
        )
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        raise ValueError(
            "An EncodingAESKey holds only the characters A-Z, a-z, 0-9, + and /."
        ) from None
    return key


class Crypto:
    """The AES mode of spec §1.5 for one account, with the current and the previous key."""

    def __init__(self, token: str, encoding_aes_keys: Sequence[str], app_id: str) -> None:
        if isinstance(encoding_aes_keys, str):
            # A str is a Sequence[str] too; one key alone would be read as 43 one-letter keys.
            raise ValueError("Pass the EncodingAESKeys as a list: [current, previous].")
        if not encoding_aes_keys:
            raise ValueError("At least one EncodingAESKey is needed for encrypted mode.")
        if not token or not app_id:
            raise ValueError("Encrypted mode needs the account's Token and AppID.")
        self._token = token
        self._keys = [_aes_key(key) for key in encoding_aes_keys]
        self._app_id = app_id.encode()

    def _cipher(self, key_index: int) -> Cipher[modes.CBC]:
        key = self._keys[key_index]
        return Cipher(algorithms.AES(key), modes.CBC(key[:16]))

    def _unpack(self, key_index: int, data: bytes) -> tuple[bytes, bytes] | None:
        """The XML and AppID in `data` opened with one key, or None if the layout is wrong."""
        decryptor = self._cipher(key_index).decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= _BLOCK or plain[-pad:] != bytes([pad]) * pad:
            return None
        plain = plain[:-pad]
        length = int.from_bytes(plain[16:20], "big")
        if len(plain) < 20 or 20 + length > len(plain):
            return None
        return plain[20 : 20 + length], plain[20 + length :]

    def decrypt(self, encrypt: str) -> tuple[bytes, int]:
        """The XML inside `encrypt` and the index of the key that opened it."""
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise WeChatError("bad_encryption", "The Encrypt value is not base64.") from None
        if not data or len(data) % 16:
            raise WeChatError("bad_encryption", "The Encrypt value is not whole AES blocks.")
        other_app = False
        for index in range(len(self._keys)):
            unpacked = self._unpack(index, data)
            if unpacked is None:
                continue
            xml, app_id = unpacked
            if app_id == self._app_id:
                return xml, index
            other_app = True
        if other_app:
            raise WeChatError("wrong_app_id")
        raise WeChatError("bad_encryption")

    def encrypt(self, xml: bytes, *, key_index: int = 0, random16: bytes | None = None) -> str:
        """The Encrypt value for `xml` under key `key_index`; `random16` only for tests."""
        if random16 is None:
            random16 = "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(16)).encode()
        if len(random16) != 16:
            raise ValueError("The random prefix has exactly 16 bytes.")
        body = random16 + len(xml).to_bytes(4, "big") + xml + self._app_id
        pad = _BLOCK - len(body) % _BLOCK
        body += bytes([pad]) * pad
        encryptor = self._cipher(key_index).encryptor()
        return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode()

    def open_envelope(
        self,
        body: bytes,
        *,
        msg_signature: str,
        timestamp: str,
        nonce: str,
        max_bytes: int = MAX_BYTES,
    ) -> tuple[Incoming, int]:
        """The message in an encrypted callback and the key index to reply with."""
        root = _parse_xml(body, max_bytes)
        encrypt = _required(root, "Encrypt")
        # The signature first: never run the decryption on a body nobody signed.
        if not _same(self.sign(timestamp, nonce, encrypt), msg_signature):
            raise WeChatError("bad_signature", "The msg_signature does not match the body.")
        xml, key_index = self.decrypt(encrypt)
        return parse_message(xml, max_bytes=max_bytes), key_index

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """The msg_signature of `encrypt` with this account's Token."""
        return msg_signature(self._token, timestamp, nonce, encrypt)

    def seal_reply(self, xml: bytes, *, timestamp: str, nonce: str, key_index: int = 0) -> bytes:
        """The encrypted envelope around a passive reply (spec §1.5)."""
        encrypt = self.encrypt(xml, key_index=key_index)
        return (
            "<xml>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<MsgSignature>{self.sign(timestamp, nonce, encrypt)}</MsgSignature>"
            f"<TimeStamp>{escape(_NOT_XML.sub('', timestamp))}</TimeStamp>"
            f"<Nonce>{_cdata(nonce)}</Nonce>"
            "</xml>"
        ).encode()
