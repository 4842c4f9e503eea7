"""WeChat Official Account callbacks: signatures, message XML, passive replies, AES envelopes.

Pure protocol, no web framework: the route hands in the query parameters and the raw body and
gets back an `Incoming` message or a `WeChatError` with a stable `code`. The sections cited (§)
are those of docs/standards/channels.md; the encrypted modes are in `.crypto`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from emstrack.errors import ChannelError

#: The body to answer when there is nothing to reply (§1.4).
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


class WeChatError(ChannelError):
    """A callback we refuse: `code` is one of bad_signature, bad_xml, too_large,
    bad_encryption, wrong_app_id."""

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(code, message or _MESSAGES.get(code, "Invalid WeChat callback."))


def _sha1_sorted(*parts: str) -> str:
    # Query parameters are attacker-controlled: a lone surrogate must not raise here.
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8", "surrogatepass")).hexdigest()


def digests_match(expected: str, given: str) -> bool:
    # compare_digest refuses non-ASCII str, so compare bytes.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def check_signature(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """Whether `signature` is the SHA-1 of token, timestamp and nonce sorted (§1.1)."""
    return digests_match(_sha1_sorted(token, timestamp, nonce), signature)


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """The `msg_signature` of an encrypted message: SHA-1 over the four values sorted."""
    return _sha1_sorted(token, timestamp, nonce, encrypt)


@dataclass(frozen=True)
class Incoming:
    """One message or event pushed by WeChat (§1.2)."""

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


def parse_xml(body: bytes, max_bytes: int) -> ET.Element:
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


def required_text(root: ET.Element, name: str) -> str:
    value = _text(root, name)
    if not value:
        raise WeChatError("bad_xml", f"The message has no {name}.")
    return value


_DIGITS = re.compile(r"[0-9]{1,20}")


def parse_message(body: bytes, *, max_bytes: int = MAX_BYTES) -> Incoming:
    """The message in a plaintext callback body (or a decrypted one), or WeChatError."""
    root = parse_xml(body, max_bytes)
    create_time = required_text(root, "CreateTime")
    if not _DIGITS.fullmatch(create_time):
        raise WeChatError("bad_xml", f"CreateTime {create_time[:40]!r} is not a unix time.")
    msg_type = required_text(root, "MsgType").lower()
    event = _text(root, "Event")
    if msg_type == "event" and not event:
        raise WeChatError("bad_xml", "The event message has no Event.")
    return Incoming(
        to_user=required_text(root, "ToUserName"),
        from_user=required_text(root, "FromUserName"),
        create_time=int(create_time),
        msg_type=msg_type,
        content=_text(root, "Content", strip=False),  # what the user typed, spaces and all
        msg_id=_text(root, "MsgId") or None,
        event=event.lower() if event else None,
        event_key=_text(root, "EventKey") or None,
    )


# Characters the XML 1.0 standard allows (its §2.2); everything else, lone surrogates included,
# is dropped.
NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def cdata(value: str) -> str:
    # "]]>" would end the section early: end it after "]]" and open a new one before ">".
    return "<![CDATA[" + NOT_XML.sub("", value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _truncate(content: str, limit: int = MAX_TEXT_BYTES) -> str:
    encoded = content.encode()
    if len(encoded) <= limit:
        return content
    ellipsis = "…"
    # "ignore" drops only the partial character the byte cut may leave at the end.
    head = encoded[: limit - len(ellipsis.encode())].decode(errors="ignore")
    return head + ellipsis


def text_reply(incoming: Incoming, content: str, *, now: int) -> bytes:
    """The passive text reply to `incoming` (§1.3), at most 2048 bytes of content."""
    content = _truncate(NOT_XML.sub("", content))
    return (
        "<xml>"
        f"<ToUserName>{cdata(incoming.from_user)}</ToUserName>"
        f"<FromUserName>{cdata(incoming.to_user)}</FromUserName>"
        f"<CreateTime>{int(now)}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    ).encode()
