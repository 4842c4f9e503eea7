"""How long to wait, in words: what a refusal tells a person when it says "try again in …".

The same steps as the bots' "too many lookups" (seconds under two minutes, then minutes under
two hours, then hours), each rounded up, so that the wait said is never shorter than the one
asked by `Retry-After`.
"""

from __future__ import annotations

from emstrack.domain.lang import Lang
from emstrack.text.catalogue import translations


def wait(seconds: int, lang: Lang) -> str:
    """`seconds` as "45 seconds", "3 minutes", "5 hours" (or in Chinese), rounded up."""
    _ = translations(lang).gettext
    seconds = max(1, seconds)
    if seconds == 1:
        return _("1 second")
    if seconds < 120:
        return _("%(count)d seconds") % {"count": seconds}
    if seconds < 120 * 60:
        return _("%(count)d minutes") % {"count": -(-seconds // 60)}
    return _("%(count)d hours") % {"count": -(-seconds // 3600)}
