"""CSRF protection of the page forms: a signed double-submit token.

The token is `nonce.signature`; it is set as an HttpOnly cookie and repeated in a hidden form
field. A POST is accepted only when both agree and the signature is ours, so a cross-site form
(which cannot read or set our cookie) fails, and so does a cookie planted without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from emstrack.errors import InputError

COOKIE = "csrf"


class FormExpired(InputError):
    """A form came back without our token, or with another browser's: answered 403."""

    def __init__(self) -> None:
        super().__init__(
            "form_expired", "This form has expired", "Reload the page and send the form again."
        )


def _sign(secret: bytes, nonce: str) -> str:
    return hmac.new(secret, nonce.encode(), hashlib.sha256).hexdigest()


def new_token(secret: bytes) -> str:
    nonce = secrets.token_hex(16)
    return f"{nonce}.{_sign(secret, nonce)}"


def is_signed(secret: bytes, token: str | None) -> bool:
    nonce, _, signature = (token or "").partition(".")
    return bool(nonce) and hmac.compare_digest(signature, _sign(secret, nonce))


def verify(secret: bytes, cookie: str | None, submitted: str | None) -> bool:
    """True when the form's token equals the cookie's and carries our signature."""
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode()) and is_signed(secret, cookie)
