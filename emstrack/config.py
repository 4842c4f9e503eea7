"""Settings: one typed object read from `EMSTRACK_*` environment variables, validated at start.

Every setting has a default and a description; `tests/test_docs.py` fails if the table in
docs/configuration.md misses one.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any, Literal, Self

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from emstrack.brand import Brand
from emstrack.brand import load as load_brand

#: The password of `scheme://user:password@host` in a URL (database, Redis), for `repr`.
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


class Settings(BaseSettings):
    # hide_input_in_errors: a refused value may be a secret (a VAPID private key, a password);
    # the messages name the setting and what it must be, never what was given.
    model_config = SettingsConfigDict(
        env_prefix="EMSTRACK_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    database_url: str = Field(
        default="sqlite:///emstrack.db",
        description="SQLAlchemy URL of the database: a SQLite file (default `emstrack.db` in the "
        "current directory) or `postgresql+psycopg://user@host/db`.",
    )
    auto_migrate: bool = Field(
        default=True,
        description="Apply database migrations at start where it is safe: always on SQLite, and "
        "on PostgreSQL only to an empty database. Otherwise run `emstrack db upgrade`.",
    )
    database_replica_urls: str = Field(
        default="",
        description="Comma-separated SQLAlchemy URLs of PostgreSQL hot standbys of the database: "
        "public lookups read from one of them, everything else from the primary "
        "(docs/scale.md); empty: every read goes to the primary.",
    )
    database_replica_max_lag: float = Field(
        default=5.0,
        ge=0,
        description="Seconds a replica may lag behind the primary and still answer public "
        "lookups; an operator's key that wrote reads from the primary for this long (plus "
        "the check interval) after its write.",
    )
    database_replica_check_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How long a replica's measured lag is trusted before it is measured again.",
    )
    database_replica_retry_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long a replica that failed (down, refused, not a standby) is left out "
        "before it is tried again; meanwhile the primary answers.",
    )
    home_country: str = Field(
        default="CN",
        description="Country of the operator running the service: the suffix suggested when a "
        "number's country suffix was left off, and the country of domestic numbers.",
    )
    strict_countries: bool = Field(
        default=False,
        description="Reject S10 numbers whose country suffix is not a known issuer (otherwise a "
        "warning). A suffix no country has (XX, ZZ) is always rejected; this setting decides for "
        "the codes people write for another (UK for GB, EL for GR).",
    )
    reuse_after_days: int = Field(
        default=365,
        ge=30,
        description="An event this many days after an item's last event (or before its first) "
        "starts a new item with the same number (UPU S10 allows reuse after 12 months).",
    )
    first_scan_grace_hours: int = Field(
        default=48,
        ge=1,
        description="How long after posting a valid number may show no scan before it is odd; "
        "used in the `not_found_yet` advice.",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=30000,
        ge=0,
        description="How long a request of the web server waits for SQLite's write lock, in "
        "milliseconds, before it is answered `503 database_unavailable`.",
    )
    import_batch_size: int = Field(
        default=5000,
        ge=1,
        le=100_000,
        description="Events written per transaction by `emstrack import`.",
    )
    redis_url: str = Field(
        default="",
        description="Redis URL (`redis://127.0.0.1:6379/0`) where rate-limit counters are kept, "
        "so that several server processes share them; empty: in the memory of each process.",
    )
    rate_limit: str = Field(
        default="120/minute",
        description="Lookups allowed per client address without a key; a batch counts one per "
        "number.",
    )
    rate_limit_key: str = Field(
        default="1200/minute",
        description="Requests allowed per API key; a batch lookup counts one per number.",
    )
    rate_limit_chat: str = Field(
        default="120/minute",
        description="Lookups allowed per chat user of the WeChat and Telegram bots (an OpenID, a "
        "Telegram user); each number in a message counts one.",
    )
    rate_limit_channel: str = Field(
        default="1200/minute",
        description="Lookups allowed per chat channel (WeChat, Telegram) from all its users "
        "together; each number in a message counts one.",
    )
    rate_limit_postcode: str = Field(
        default="5/hour",
        description="Tries of the postcode that unlocks an item's personal details, right or "
        "wrong, per client address and number.",
    )
    rate_limit_postcode_failures: str = Field(
        default="10/day",
        description="Wrong postcodes per number from all addresses together; then the unlock of "
        "that number is refused to everyone until the window ends.",
    )
    rate_limit_ipv6_prefix: int = Field(
        default=64,
        ge=16,
        le=128,
        description="Length of the IPv6 network counted as one client by the per-address limits "
        "(a home or a server usually has a whole /64); IPv4 clients count per address.",
    )
    trusted_proxies: str = Field(
        default="",
        description="Addresses or networks of the reverse proxies in front of the server, "
        "comma-separated (`127.0.0.1,10.0.0.0/8`): only from them are `X-Forwarded-For` and "
        "`X-Forwarded-Proto` believed. Empty: from none.",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest request body accepted, in bytes; a larger one is refused with `413`.",
    )
    header_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Time a client has to send a request's headers (`emstrack serve`); a slower "
        "connection is closed.",
    )
    keep_alive_seconds: int = Field(
        default=5,
        ge=1,
        description="How long `emstrack serve` keeps an idle connection open for a next request.",
    )
    ingest_max_events: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Most events accepted by one `POST /api/v1/events` request.",
    )
    stale_after_days: int = Field(
        default=10,
        ge=1,
        description="Days without a new scan after which the page calls an item's tracking "
        "stale and says when to contact customer service.",
    )
    cache_max_age: int = Field(
        default=60,
        ge=0,
        description="Seconds a reverse proxy, CDN or browser may reuse a found item's public "
        "answer or page (`Cache-Control: public, max-age`); a new scan changes its `ETag` "
        "at once, and a page's relative times (`3 hours ago`) are reckoned to the minute.",
    )
    cache_stale_while_revalidate: int = Field(
        default=30,
        ge=0,
        description="Seconds past `EMSTRACK_CACHE_MAX_AGE` a cache may still serve a public "
        "answer while it revalidates it (`stale-while-revalidate`).",
    )
    keep_public_answers: bool = Field(
        default=True,
        description="Keep each found item's public JSON answer, in English and Chinese, in the "
        "read model, made when its scans are written, so that a lookup sends it as it is "
        "instead of making it (docs/performance.md), for about 3.5 kB more per item on "
        "PostgreSQL (compressed) and 17 kB on SQLite (measured on items of 15 scans). Off: "
        "the writers keep none, and `emstrack db refresh-answers` removes those kept. The item "
        "pages: `EMSTRACK_KEEP_ITEM_PAGES`.",
    )
    keep_item_pages: Literal["viewed", "all", "off"] = Field(
        default="viewed",
        description="Keep found items' pages in English and Chinese in the read model, drawn by "
        "the page keeper of `emstrack worker` / `serve --worker` and sent with their relative "
        "times filled in (docs/performance.md): such a page costs about half a JSON lookup "
        "instead of two to five, for about 2 ms of a worker's core each time it is drawn and "
        "6.8 kB per item on PostgreSQL (6.3 kB on SQLite). `viewed`: the page of an item viewed "
        "since its last change (its first view after a change is drawn, and has it kept); "
        "`all`: every found item's page after every change (worth it only where pages are "
        "viewed more than two or three times per change: docs/deploy.md); `off`: none, and "
        "`emstrack db refresh-answers` removes those kept.",
    )
    cache_not_found_max_age: int = Field(
        default=15,
        ge=0,
        description="Seconds a cache may reuse a public answer that found no item (not found "
        "yet, unknown, invalid): short, since a first scan may arrive at any moment.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="Secret that signs the links in notifications, and from which webhook "
        "signing secrets are derived. Empty: no subscriptions. Set a long random string in "
        "production; `make run` makes one in `.emstrack-secret`.",
    )
    support_contacts_path: str = Field(
        default="",
        description="CSV file of customer-service contacts per country for the support page "
        "(empty: the packaged `emstrack/data/support_contacts.csv`).",
    )
    brand_file: str = Field(
        default="",
        description="TOML file of the operator's brand: name, short name, logo, colours, "
        "hotlines by country, official domains and footer (its format: docs/configuration.md). "
        "Empty: the packaged `emstrack/data/brand.toml` (China Post EMS).",
    )
    official_domains: str = Field(
        default="",
        description="More official domains of the operator, comma-separated: links to them are "
        "genuine in the scam checker (`/check`), besides the brand file's `official_domains` and "
        "the shipped list of major posts and carriers.",
    )

    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The address people reach the service at: links in notifications, e-mails "
        "and chat replies point here.",
    )
    # --- notifications (subscriptions, outbox, worker)
    notify_quiet_hours: str = Field(
        default="22:00-07:00",
        description="Hours (`HH:MM-HH:MM`, in the recipient's time zone) in which e-mail, chat "
        "and web push notices wait until the end; empty: no quiet hours. Webhooks are never held.",
    )
    notify_timezone: str = Field(
        default="Asia/Shanghai",
        description="The recipient's time zone for quiet hours when the subscription names none.",
    )
    notify_max_age_hours: int = Field(
        default=72,
        ge=1,
        description="A status change whose event is older than this when it is stored is not "
        "news: no notice is sent for it (a backlog import does not flood subscribers).",
    )
    notify_max_attempts: int = Field(
        default=8,
        ge=1,
        le=50,
        description="Delivery attempts of a notice before it goes to the dead letters "
        "(`emstrack outbox list --state dead`, `emstrack outbox retry`).",
    )
    notify_retry_seconds: int = Field(
        default=30,
        ge=1,
        description="The first retry's delay; each further retry waits twice as long (with "
        "random jitter), up to six hours.",
    )
    notify_lease_seconds: int = Field(
        default=120,
        ge=5,
        description="How long a worker holds a notice it is delivering; a worker that dies "
        "leaves its notices to the others after this.",
    )
    notify_webhook_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="Deadline of one webhook delivery, all steps together: resolving the "
        "host, connecting, sending and reading the answer.",
    )
    notify_allow_private_urls: bool = Field(
        default=False,
        description="Allow webhooks to loopback and private addresses (refused by default: a "
        "webhook must not reach into the operator's own network).",
    )
    smtp_host: str = Field(
        default="",
        description="SMTP server for e-mail notices; empty: e-mails are printed on the "
        "worker's console (for development).",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP server port.")
    smtp_security: str = Field(
        default="starttls",
        pattern="^(starttls|tls|none)$",
        description="`starttls` (port 587), `tls` (implicit TLS, port 465) or `none` (a relay "
        "on the same machine only).",
    )
    smtp_username: str = Field(default="", description="SMTP login; empty: no login.")
    smtp_password: SecretStr = Field(
        default=SecretStr(""), description="SMTP password (never logged)."
    )
    mail_from: str = Field(
        default="emstrack <noreply@localhost>",
        description="The From of e-mail notices.",
    )
    # --- chat channels
    wechat_token: SecretStr = Field(
        default=SecretStr(""),
        description="WeChat Official Account server Token; empty: `/channels/wechat` is off.",
    )
    wechat_aes_key: SecretStr = Field(
        default=SecretStr(""),
        description="WeChat EncodingAESKey (43 characters) for the compatible and secure modes; "
        "`NEW,OLD` keeps the previous key working while WeChat switches.",
    )
    wechat_app_id: str = Field(default="", description="WeChat AppID (needed with the AES key).")
    wechat_app_secret: SecretStr = Field(
        default=SecretStr(""),
        description="WeChat AppSecret: lets the worker push status changes to subscribers "
        "through the customer-service message API.",
    )
    wechat_max_clock_skew_seconds: int = Field(
        default=300,
        ge=0,
        description="Messages to `/channels/wechat` whose signed timestamp is further than this "
        "from the server's clock are refused (a captured request cannot be replayed later); 0: "
        "not checked.",
    )
    wechat_api_base: str = Field(
        default="https://api.weixin.qq.com",
        description="Base URL of the WeChat API (tests point it at a local stand-in).",
    )
    wechat_qr_url: str = Field(
        default="",
        description="What the WeChat Official Account's QR code holds (an `https://` or `http://` "
        "address such as `http://weixin.qq.com/r/…`, read from the code in 公众号设置); with the "
        "Token set, the item page shows it as a QR code to follow the account.",
    )
    wechat_account_name: str = Field(
        default="",
        description="The Official Account's name or WeChat ID, shown beside its QR code for "
        "people who search for it instead of scanning.",
    )
    telegram_bot_token: SecretStr = Field(
        default=SecretStr(""),
        description="Telegram bot token from @BotFather; empty: the Telegram bot is off.",
    )
    telegram_secret: SecretStr = Field(
        default=SecretStr(""),
        description="Secret token Telegram sends with every webhook call "
        "(`X-Telegram-Bot-Api-Secret-Token`); required for `/channels/telegram`.",
    )
    telegram_api_base: str = Field(
        default="https://api.telegram.org",
        description="Base URL of the Telegram Bot API (tests point it at a local stand-in).",
    )
    telegram_bot_username: str = Field(
        default="",
        description="The Telegram bot's username (5 to 32 of `A-Z a-z 0-9 _`, an `@` before it "
        "is dropped); with the bot token set, the item page offers "
        "`https://t.me/USERNAME?start=NUMBER` to follow the item in Telegram.",
    )
    # --- web push (the app's notifications; `emstrack webpush keys` makes the key pair)
    webpush_public_key: str = Field(
        default="",
        description="The VAPID public key of web push (base64url of the uncompressed P-256 "
        "point, as `emstrack webpush keys` prints it); empty: no push notifications.",
    )
    webpush_private_key: SecretStr = Field(
        default=SecretStr(""),
        description="The VAPID private key that goes with `EMSTRACK_WEBPUSH_PUBLIC_KEY` "
        "(base64url of the 32-byte P-256 scalar): keep it secret; never logged.",
    )
    webpush_subject: str = Field(
        default="",
        description="Who push services may contact about this server's pushes: a `mailto:` "
        "address or an `https:` page; required with the keys.",
    )
    webpush_ttl_seconds: int = Field(
        default=86400,
        ge=0,
        le=2419200,
        description="How long a push service keeps a notice for a device that is offline, in "
        "seconds (at most four weeks); 0: delivered now or never.",
    )

    # --- the app's optional sign-in (issue 16): e-mail links, sessions, "my items" on the server
    app_sign_in_link_minutes: int = Field(
        default=30,
        ge=1,
        le=1440,
        description="How long an e-mailed sign-in link to the app works, in minutes (once).",
    )
    app_session_days: int = Field(
        default=180,
        ge=1,
        le=3650,
        description="How long the app's sign-in cookie lasts, in days; signing out, or out "
        "everywhere, ends it sooner.",
    )
    app_max_items: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description="Most items one signed-in person's list may hold in the app.",
    )
    app_mail_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="Deadline of sending one sign-in mail to the SMTP server; the mail goes out "
        "directly (not through the outbox), so that the address is never stored.",
    )

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy with `update` applied and validated like the environment's values.

        pydantic's own copy does not validate: a plain string given for a secret would stand
        where a `SecretStr` is expected, and a bad value would pass unchecked.
        """
        copied = super().model_copy(deep=deep)
        return type(self).model_validate({**dict(copied), **(update or {})})

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Secrets show as '**********' (SecretStr); a password in a URL is masked too.
        for name, value in super().__repr_args__():
            if isinstance(value, str) and "://" in value:
                value = _URL_PASSWORD.sub(r"\1***@", value)
            yield name, value

    @property
    def wechat_aes_keys(self) -> list[str]:
        keys = self.wechat_aes_key.get_secret_value()
        return [k.strip() for k in keys.split(",") if k.strip()]

    @property
    def official_domain_list(self) -> list[str]:
        """The brand's official domains and those of `EMSTRACK_OFFICIAL_DOMAINS`."""
        extra = [d.strip() for d in self.official_domains.split(",") if d.strip()]
        return list(dict.fromkeys([*self.brand.official_domains, *extra]))

    @property
    def brand(self) -> Brand:
        """The operator's brand (`EMSTRACK_BRAND_FILE`, else China Post EMS), read once."""
        return load_brand(self.brand_file)

    @field_validator("brand_file")
    @classmethod
    def _brand(cls, value: str) -> str:
        load_brand(value)  # a bad file stops the start, its error naming the file and the key
        return value.strip()

    @field_validator("rate_limit", "rate_limit_key", "rate_limit_chat", "rate_limit_channel")
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError as exc:
            raise ValueError("must be a rate such as 120/minute or 10/second") from exc
        return value

    @property
    def trusted_proxy_networks(self) -> list[IPv4Network | IPv6Network]:
        parts = [p.strip() for p in self.trusted_proxies.split(",")]
        return [ip_network(p, strict=False) for p in parts if p]

    @field_validator("rate_limit_postcode", "rate_limit_postcode_failures")
    @classmethod
    def _postcode_rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError as exc:
            raise ValueError("must be a rate such as 5/hour or 10/day") from exc
        return value

    @field_validator("telegram_bot_username")
    @classmethod
    def _bot_username(cls, value: str) -> str:
        name = value.strip().removeprefix("@")
        if name and not re.fullmatch(r"[A-Za-z0-9_]{5,32}", name):
            raise ValueError("must be a Telegram username: 5 to 32 of A-Z a-z 0-9 _")
        return name

    @field_validator("wechat_qr_url")
    @classmethod
    def _qr_url(cls, value: str) -> str:
        url = value.strip()
        if url and not re.fullmatch(r"https?://[^\s<>\"']{1,500}", url):
            raise ValueError("must be the http(s) address the account's QR code holds")
        return url

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for part in value.split(","):
            try:
                if part.strip():
                    ip_network(part.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"{part.strip()!r} is not an address or a network such as 10.0.0.0/8"
                ) from exc
        return value

    @field_validator("notify_quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        from emstrack.domain.quiet import parse_quiet_hours

        parse_quiet_hours(value)
        return value.strip()

    @field_validator("notify_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as Asia/Shanghai") from exc
        return value

    @field_validator("webpush_public_key")
    @classmethod
    def _webpush_public(cls, value: str) -> str:
        value = value.strip()
        if value and vapid_public_key(value) is None:
            raise ValueError(
                "EMSTRACK_WEBPUSH_PUBLIC_KEY must be a P-256 public key in base64url (65 bytes, "
                "uncompressed), as `emstrack webpush keys` prints it"
            )
        return value

    @field_validator("webpush_private_key")
    @classmethod
    def _webpush_private(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value().strip()
        if raw and vapid_private_key(raw) is None:
            # Never echoed: the message names the setting, not its value.
            raise ValueError(
                "EMSTRACK_WEBPUSH_PRIVATE_KEY must be a P-256 private key in base64url (32 "
                "bytes), as `emstrack webpush keys` prints it"
            )
        return SecretStr(raw)

    @field_validator("webpush_subject")
    @classmethod
    def _webpush_subject(cls, value: str) -> str:
        value = value.strip()
        found = re.fullmatch(r"mailto:[^\s@/]+@([^\s@/?]+)|https://([^\s/?#@]+)\S*", value)
        if value and not found:
            raise ValueError(
                "EMSTRACK_WEBPUSH_SUBJECT must be a mailto: address (mailto:ops@example.org) or "
                "an https: page"
            )
        host = found.group(1) or found.group(2) if found else ""
        if value and ("." not in host.strip(".") or host.lower().endswith("localhost")):
            # Apple's push service refuses a subject at localhost (403 BadJwtToken).
            raise ValueError(
                "EMSTRACK_WEBPUSH_SUBJECT must name a real domain where push services can reach "
                "the operator, not localhost"
            )
        return value

    @model_validator(mode="after")
    def _webpush_complete(self) -> Self:
        public = self.webpush_public_key
        private = self.webpush_private_key.get_secret_value()
        if not (public or private or self.webpush_subject):
            return self
        if not (public and private and self.webpush_subject):
            raise ValueError(
                "web push needs all three of EMSTRACK_WEBPUSH_PUBLIC_KEY, "
                "EMSTRACK_WEBPUSH_PRIVATE_KEY and EMSTRACK_WEBPUSH_SUBJECT (or none)"
            )
        key = vapid_private_key(private)
        assert key is not None  # checked by its field's validator
        if _public_bytes(key.public_key()) != unb64url(public):
            raise ValueError(
                "EMSTRACK_WEBPUSH_PUBLIC_KEY is not the public key of "
                "EMSTRACK_WEBPUSH_PRIVATE_KEY: set both from one `emstrack webpush keys`"
            )
        return self

    @property
    def webpush_enabled(self) -> bool:
        """Whether web push is configured (the three settings, checked at start)."""
        return bool(self.webpush_public_key)

    @field_validator("home_country")
    @classmethod
    def _upper_country(cls, value: str) -> str:
        value = value.strip().upper()
        if len(value) != 2 or not value.isalpha():
            raise ValueError("must be a two-letter country code such as CN")
        return value


_URLSAFE = str.maketrans("-_", "+/")


def unb64url(text: str) -> bytes | None:
    """Base64url with or without padding (the web's usual spelling of keys), or None."""
    padded = (text + "=" * (-len(text) % 4)).translate(_URLSAFE)
    try:
        return base64.b64decode(padded, validate=True)
    except (ValueError, binascii.Error):
        return None


def _public_bytes(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def vapid_public_key(text: str) -> ec.EllipticCurvePublicKey | None:
    """A P-256 public key from base64url of its 65-byte uncompressed point, or None."""
    raw = unb64url(text.strip())
    if raw is None or len(raw) != 65 or raw[0] != 4:
        return None
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:  # not a point of the curve
        return None


def vapid_private_key(text: str) -> ec.EllipticCurvePrivateKey | None:
    """A P-256 private key from base64url of its 32-byte scalar, or None."""
    raw = unb64url(text.strip())
    if raw is None or len(raw) != 32:
        return None
    try:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError:  # 0, or not below the curve's order
        return None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
