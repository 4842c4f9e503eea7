"""Settings keep their secrets: `repr`, `str` and logs of a Settings show none of them."""

from __future__ import annotations

import logging

import pytest
from pydantic import SecretStr, ValidationError

from emstrack.config import Settings

SECRETS = {
    "secret_key": "s3cret-key-0123456789abcdef",
    "smtp_password": "smtp-pass-7731",
    "wechat_token": "wx-token-5521",
    "wechat_aes_key": "a" * 43,
    "wechat_app_secret": "wx-app-secret-9912",
    "telegram_bot_token": "123456:tg-token-AAbb",
    "telegram_secret": "tg-webhook-secret-31",
}


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in SECRETS.items():
        monkeypatch.setenv(f"EMSTRACK_{name.upper()}", value)
    monkeypatch.setenv("EMSTRACK_DATABASE_URL", "postgresql+psycopg://app:db-pass-4410@db/app")
    monkeypatch.setenv("EMSTRACK_REDIS_URL", "redis://:redis-pass-8817@cache:6379/0")
    return Settings()


def test_repr_and_str_show_no_secret(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("settings: %r / %s", settings, settings)
    for shown in (repr(settings), str(settings), caplog.text):
        for value in [*SECRETS.values(), "db-pass-4410", "redis-pass-8817"]:
            assert value not in shown
    assert "postgresql+psycopg://app:***@db/app" in repr(settings)


def test_secrets_are_readable_where_they_are_used(settings: Settings) -> None:
    assert settings.secret_key.get_secret_value() == SECRETS["secret_key"]
    assert settings.wechat_aes_keys == ["a" * 43]
    assert settings.database_url == "postgresql+psycopg://app:db-pass-4410@db/app"


def test_a_copy_validates_its_updates(settings: Settings) -> None:
    copied = settings.model_copy(update={"telegram_secret": "other", "stale_after_days": "3"})
    assert isinstance(copied.telegram_secret, SecretStr)
    assert copied.telegram_secret.get_secret_value() == "other"
    assert copied.stale_after_days == 3
    assert copied.secret_key == settings.secret_key
    with pytest.raises(ValidationError):
        settings.model_copy(update={"stale_after_days": 0})


def test_an_empty_secret_is_off() -> None:
    assert not Settings(database_url="sqlite://").telegram_bot_token
