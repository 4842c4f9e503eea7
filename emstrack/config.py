"""Settings: one typed object read from `EMSTRACK_*` environment variables, validated at start.

Every setting has a default and a description; `tests/test_docs.py` fails if the README's
configuration table misses one.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMSTRACK_", extra="ignore", frozen=True)

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
    home_country: str = Field(
        default="CN",
        description="Country of the operator running the service: the suffix suggested when a "
        "number's country suffix was left off, and the country of domestic numbers.",
    )
    strict_countries: bool = Field(
        default=False,
        description="Reject S10 numbers whose country suffix is not a known issuer (otherwise a "
        "warning).",
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
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest request body accepted, in bytes; a larger one is refused with `413`.",
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
    secret_key: str = Field(
        default="",
        description="Secret that signs the pages' CSRF tokens. Empty: a random secret per "
        "process (forms then fail across restarts and between several server processes; set "
        "one in production).",
    )
    support_contacts_path: str = Field(
        default="",
        description="CSV file of customer-service contacts per country for the support page "
        "(empty: the packaged `emstrack/data/support_contacts.csv`).",
    )
    official_domains: str = Field(
        default="chinapost.com.cn,ems.com.cn,11183.com.cn",
        description="The operator's own official domains, comma-separated: links to them are "
        "genuine in the scam checker (`/check`), besides the shipped list of major posts and "
        "carriers.",
    )

    @property
    def official_domain_list(self) -> list[str]:
        return [d.strip() for d in self.official_domains.split(",") if d.strip()]

    @field_validator("rate_limit", "rate_limit_key")
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError as exc:
            raise ValueError("must be a rate such as 120/minute or 10/second") from exc
        return value

    @field_validator("home_country")
    @classmethod
    def _upper_country(cls, value: str) -> str:
        value = value.strip().upper()
        if len(value) != 2 or not value.isalpha():
            raise ValueError("must be a two-letter country code such as CN")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
