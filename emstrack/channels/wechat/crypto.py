"""WeChat's encrypted modes ("compatible" and "secure"): AES envelopes around the callbacks and
the passive replies, with the current and the previous EncodingAESKey (docs/standards/channels.md
§1.5).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
from collections.abc import Sequence
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from emstrack.channels.wechat.protocol import (
    MAX_BYTES,
    NOT_XML,
    Incoming,
    WeChatError,
    cdata,
    digests_match,
    msg_signature,
    parse_message,
    parse_xml,
    required_text,
)

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
    """The AES modes of §1.5 for one account, with the current and the previous key."""

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
        root = parse_xml(body, max_bytes)
        encrypt = required_text(root, "Encrypt")
        # The signature first: never run the decryption on a body nobody signed.
        if not digests_match(self.sign(timestamp, nonce, encrypt), msg_signature):
            raise WeChatError("bad_signature", "The msg_signature does not match the body.")
        xml, key_index = self.decrypt(encrypt)
        return parse_message(xml, max_bytes=max_bytes), key_index

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """The msg_signature of `encrypt` with this account's Token."""
        return msg_signature(self._token, timestamp, nonce, encrypt)

    def seal_reply(self, xml: bytes, *, timestamp: str, nonce: str, key_index: int = 0) -> bytes:
        """The encrypted envelope around a passive reply (§1.5)."""
        encrypt = self.encrypt(xml, key_index=key_index)
        return (
            "<xml>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<MsgSignature>{self.sign(timestamp, nonce, encrypt)}</MsgSignature>"
            f"<TimeStamp>{escape(NOT_XML.sub('', timestamp))}</TimeStamp>"
            f"<Nonce>{cdata(nonce)}</Nonce>"
            "</xml>"
        ).encode()
