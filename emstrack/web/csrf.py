"""Cross-site request forgery: a page's form is accepted only when the browser says it was sent
from this site.

Browsers say where a request comes from in headers a page cannot forge: `Sec-Fetch-Site`
(Fetch Metadata; Chromium since 2019, Firefox since 2021, Safari since 2023) and `Origin`, sent
with every POST by every browser since 2020. A form POST is refused when `Sec-Fetch-Site` is
anything but `same-origin` or `none` (the person typed or bookmarked it), or, without it, when
`Origin` names another host than the one asked (the `Host` header, or the host of
`EMSTRACK_PUBLIC_URL` behind a proxy that rewrites it). A request with neither header is no
browser's, and nobody's else browser can be made to send it: it is accepted.

No token, no cookie: the pages are the same bytes for everyone, so that a shared cache (a CDN, the
reverse proxy) may serve them (`web.caching`). The same rule guards every POST of the pages
(the postcode proof, following by e-mail, the scam check, the confirm and unsubscribe pages, the
app's sign-in).
"""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from emstrack.errors import InputError

#: `Sec-Fetch-Site` values of a request this site's own page (or the person) made.
SAME_SITE = frozenset({"same-origin", "none"})


class CrossSiteForm(InputError):
    """A page's form sent from another site: answered 403."""

    def __init__(self) -> None:
        super().__init__(
            "cross_site_form",
            "This form was sent from another site",
            "Open the page on this site and send the form from there.",
        )


def cross_site(fetch_site: str | None, origin: str | None, own_hosts: Collection[str]) -> bool:
    """Whether a browser says the request comes from another site than `own_hosts`
    (host[:port], lower case)."""
    if fetch_site is not None:
        return fetch_site.strip().lower() not in SAME_SITE
    if origin is None:
        return False
    # "null" (a sandboxed frame, a privacy redirect) names no site: not ours.
    host = urlsplit(origin.strip()).netloc.lower() if origin.strip() != "null" else ""
    return host not in own_hosts
