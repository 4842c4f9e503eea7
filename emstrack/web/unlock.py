"""The limits on the postcode proof that unlocks an item's personal details.

A destination postcode is a weak secret: a delivery office serves only a few. So two limits
apply to the tries for a number, and both fail closed (an outage of the counters never means
unlimited tries):

- every try, right or wrong, per client address and number (`EMSTRACK_RATE_LIMIT_POSTCODE`);
- wrong tries per number from all addresses together (`EMSTRACK_RATE_LIMIT_POSTCODE_FAILURES`):
  past it the number cannot be unlocked by anyone until the window ends, so that many addresses
  together cannot run through a delivery office's postcodes.

A try takes its place among the failures before the postcode is compared and gives it back
when it was right: tries made at the same moment cannot slip past the cap together.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from emstrack.config import Settings
from emstrack.errors import LimitError
from emstrack.web.ratelimit import Limiter


class TooManyTries(LimitError):
    """A limit on the postcode tries of `number` is reached; `retry_after` seconds until it
    ends. `item` is the number's page, where the error page leads back."""

    def __init__(self, retry_after: int, number: str) -> None:
        super().__init__(
            "too_many_tries",
            "Too many tries of this number's postcode",
            retry_after,
            f"Please try again in {retry_after} seconds.",
        )
        self.item = f"/track/{quote(number, safe='')}"


@dataclass(frozen=True, slots=True)
class Try:
    """One counted try of the postcode of a number."""

    limiter: Limiter
    failures_key: str
    failures_limit: str

    def succeeded(self) -> None:
        """The postcode was right: the try is not one of the number's failures."""
        self.limiter.refund(self.failures_key, self.failures_limit)


def count_try(limiter: Limiter, settings: Settings, client: str, number: str) -> Try:
    """Count a try at `number`'s postcode from `client` (its limit bucket).

    Raises `TooManyTries`, or `LimitUnavailable` when the counters cannot be reached.
    """
    mine = limiter.check(f"postcode:{client}:{number}", settings.rate_limit_postcode, strict=True)
    if not mine.allowed:
        raise TooManyTries(mine.reset, number)
    key, limit = f"postcode-failures:{number}", settings.rate_limit_postcode_failures
    everyone = limiter.check(key, limit, strict=True)
    if not everyone.allowed:
        raise TooManyTries(everyone.reset, number)
    return Try(limiter, key, limit)
