"""The WeChat menu: `emstrack wechat menu show|set|delete` against the stand-in WeChat API, and the
bot's answers to the menu's clicks through the real callback endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import DELIVERED_TO_DE, Loader, history
from standins import (
    APP_ID,
    APP_SECRET,
    WECHAT_TOKEN,
    FakeWeChat,
    click_event,
    reply_content,
    signed,
    text_message,
)
from typer.testing import CliRunner
from webclient import serve, serve_url

from emstrack.channels.wechat import menu
from emstrack.cli import app as cli
from emstrack.config import Settings
from emstrack.store.database import Database
from emstrack.web.app import create_app

# --- the command ------------------------------------------------------------------------------


@pytest.fixture
def fake() -> FakeWeChat:
    return FakeWeChat()


@pytest.fixture
def wechat(
    runner: CliRunner, fake: FakeWeChat, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CliRunner]:
    """`emstrack` with the account's AppID and AppSecret, its API the stand-in."""
    with serve_url(fake.app()) as url:
        monkeypatch.setenv("EMSTRACK_WECHAT_API_BASE", url)
        monkeypatch.setenv("EMSTRACK_WECHAT_APP_ID", APP_ID)
        monkeypatch.setenv("EMSTRACK_WECHAT_APP_SECRET", APP_SECRET)
        yield runner


def _names(current: dict[str, Any]) -> list[str]:
    return [b["name"] for entry in current["button"] for b in [entry, *entry["sub_button"]]]


def test_set_installs_our_menu_show_reads_it_back_delete_removes_it(
    wechat: CliRunner, fake: FakeWeChat
) -> None:
    done = wechat.invoke(cli, ["wechat", "menu", "set"])
    assert done.exit_code == 0, done.output
    assert fake.menu is not None
    assert _names(fake.menu) == ["我的EMS", "邮件查询", "我的订阅", "防骗指南"]
    keys = [b["key"] for b in fake.menu["button"][0]["sub_button"]]
    assert keys == [menu.TRACK, menu.SUBSCRIPTIONS, menu.SCAM_GUIDE]
    assert "Menu set" in done.stdout

    shown = wechat.invoke(cli, ["wechat", "menu", "show"])
    assert shown.exit_code == 0, shown.output
    for name in ("我的EMS", "邮件查询", "我的订阅", "防骗指南"):
        assert name in shown.stdout
    assert "answered by the bot" in shown.stdout
    as_json = wechat.invoke(cli, ["wechat", "menu", "show", "--json"])
    assert json.loads(as_json.stdout)["button"][0]["name"] == "我的EMS"

    gone = wechat.invoke(cli, ["wechat", "menu", "delete", "--yes"])
    assert gone.exit_code == 0, gone.output
    assert fake.menu is None
    empty = wechat.invoke(cli, ["wechat", "menu", "show"])
    assert empty.exit_code == 0
    assert "no custom menu" in empty.stdout
    assert fake.menu_calls == ["create", "get", "get", "delete", "get"]


def test_delete_asks_first_and_a_no_removes_nothing(wechat: CliRunner, fake: FakeWeChat) -> None:
    fake.menu = {"button": [{"type": "click", "name": "A", "key": "K"}]}
    kept = wechat.invoke(cli, ["wechat", "menu", "delete"], input="n\n")
    assert kept.exit_code == 1
    assert fake.menu is not None
    assert "delete" not in fake.menu_calls


def test_a_menu_file_breaking_wechat_rules_is_named_and_not_sent(
    wechat: CliRunner, fake: FakeWeChat, tmp_path: Path
) -> None:
    path = tmp_path / "menu.json"
    bad = {
        "button": [
            {"name": "我的邮件查询服务", "sub_button": [{"type": "click", "name": "查询"}]},
            {"name": "Web", "type": "view", "url": "javascript:alert(1)"},
            {"name": "X", "type": "teleport", "key": "K"},
        ]
    }
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    result = wechat.invoke(cli, ["wechat", "menu", "set", "--file", str(path)])
    assert result.exit_code == 2
    said = result.stderr
    assert "button[0].name" in said
    assert "24 bytes" in said  # 8 Chinese characters
    assert 'button[0].sub_button[0] (type "click") needs "key"' in said
    assert "button[1].url" in said
    assert "not a web address" in said
    assert "'teleport' is not a WeChat button type" in said
    assert "nothing was sent" in said
    assert fake.menu_calls == []


def test_a_file_that_is_not_json_is_a_clear_error(wechat: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "menu.json"
    path.write_text('{"button": [', encoding="utf-8")
    result = wechat.invoke(cli, ["wechat", "menu", "set", "--file", str(path)])
    assert result.exit_code == 2
    assert "is not JSON" in result.stderr


def test_an_own_menu_from_stdin_is_sent_with_a_warning_for_keys_the_bot_does_not_answer(
    wechat: CliRunner, fake: FakeWeChat
) -> None:
    own = {
        "button": [
            {"type": "click", "name": "查件", "key": menu.TRACK},
            {"type": "click", "name": "优惠", "key": "PROMO_2026"},
            {"type": "view", "name": "官网", "url": "https://www.ems.com.cn/"},
        ]
    }
    result = wechat.invoke(
        cli, ["wechat", "menu", "set", "--file", "-"], input=json.dumps(own, ensure_ascii=False)
    )
    assert result.exit_code == 0, result.output
    assert "PROMO_2026" in result.stderr
    assert "not one the bot answers" in result.stderr
    assert fake.menu == own


def test_dry_run_checks_and_prints_but_sends_nothing(wechat: CliRunner, fake: FakeWeChat) -> None:
    result = wechat.invoke(cli, ["wechat", "menu", "set", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert '"EMSTRACK_SCAM_GUIDE"' in result.stdout
    assert fake.menu_calls == []


def test_a_stale_token_is_renewed_once_and_the_menu_still_set(
    wechat: CliRunner, fake: FakeWeChat
) -> None:
    fake.fail_next.append("40001")  # another process fetched a token: ours is void
    result = wechat.invoke(cli, ["wechat", "menu", "set"])
    assert result.exit_code == 0, result.output
    assert fake.menu is not None
    assert len([t for t in fake.tokens_issued if t != "VOIDED"]) == 2


def test_a_refusal_by_wechat_is_said_with_its_errcode(wechat: CliRunner, fake: FakeWeChat) -> None:
    fake.fail_next.append("48001")  # api unauthorized: an unverified subscription account
    result = wechat.invoke(cli, ["wechat", "menu", "set"])
    assert result.exit_code == 1
    assert "WeChat refused" in result.stderr
    assert "48001" in result.stderr
    assert APP_SECRET not in result.output


def test_without_the_app_id_and_secret_the_command_says_what_to_set(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["wechat", "menu", "show"])
    assert result.exit_code == 2
    assert "EMSTRACK_WECHAT_APP_ID" in result.stderr
    assert "EMSTRACK_WECHAT_APP_SECRET" in result.stderr


def test_the_stand_in_refuses_what_our_check_refuses() -> None:
    """Our check names each rule before WeChat refuses it: both read the same limits."""
    too_long = {"button": [{"name": "一二三四五六", "type": "click", "key": "K"}]}
    assert menu.problems(too_long)
    assert menu.problems({"button": []})
    assert menu.problems({"button": [{"name": "A", "type": "click", "key": "k" * 129}]})
    assert menu.problems([])
    assert menu.problems({"button": "x"})
    assert not menu.problems({"button": [{"name": "一二三四五", "type": "click", "key": "K"}]})


def test_our_default_menu_keeps_wechat_rules_and_links_the_app_only_over_https(
    settings: Settings,
) -> None:
    plain = menu.default_menu(settings.model_copy(update={"public_url": "http://127.0.0.1:8000"}))
    assert not menu.problems(plain)
    assert [b["type"] for b in plain["button"][0]["sub_button"]] == ["click"] * 3
    secure = menu.default_menu(
        settings.model_copy(update={"public_url": "https://track.example.org/"})
    )
    assert not menu.problems(secure)
    assert secure["button"][0]["sub_button"][-1] == {
        "type": "view",
        "name": "网页版",
        "url": "https://track.example.org/app?lang=zh-Hans",
    }


# --- the clicks, through the callback ------------------------------------------------------------


@pytest.fixture
def http(settings: Settings, db: Database) -> Iterator[httpx.Client]:
    wechat_settings = settings.model_copy(
        update={
            "wechat_token": WECHAT_TOKEN,
            "secret_key": "test-secret-key-that-is-long-enough-for-tokens-0123456789",
            "wechat_max_clock_skew_seconds": 0,
        }
    )
    with serve(create_app(wechat_settings, db)) as client:
        yield client


def _click(http: httpx.Client, key: str, at: int, user: str = "oUSER") -> str:
    body = click_event(key, user, at)
    response = http.post("/channels/wechat", params=signed(nonce=f"{at}{user}"), content=body)
    assert response.status_code == 200
    return reply_content(response.content, to_user=user)


def test_the_track_button_says_what_to_send(http: httpx.Client) -> None:
    said = _click(http, menu.TRACK, 1714037300)
    assert "请发送邮件号" in said
    assert "转发给我" in said


def test_my_subscriptions_lists_the_items_followed_with_where_each_is(
    http: httpx.Client, load: Loader
) -> None:
    assert "您还没有订阅邮件" in _click(http, menu.SUBSCRIPTIONS, 1714037301)
    load(*history("EE123456785CN", *DELIVERED_TO_DE))
    for n, number in enumerate(("EE123456785CN", "RR123456785CN")):
        body = text_message(f"订阅 {number}", msg_id=f"77{n}")
        sent = http.post("/channels/wechat", params=signed(nonce=f"sub{n}"), content=body)
        assert "已订阅" in reply_content(sent.content)
    said = _click(http, menu.SUBSCRIPTIONS, 1714037302)
    lines = said.splitlines()
    assert lines[0] == "您订阅了 2 件邮件："
    assert lines[1].startswith("EE123456785CN: ")
    assert "妥投" in lines[1]
    assert lines[2] == "RR123456785CN: 尚无扫描记录"
    assert "退订" in lines[-1]
    # Another user follows nothing, whatever this one does.
    assert "您还没有订阅邮件" in _click(http, menu.SUBSCRIPTIONS, 1714037303, user="oOTHER")
    # The same list when typed, and after unsubscribing one it is gone.
    body = text_message("我的订阅", "781")
    typed = http.post("/channels/wechat", params=signed(nonce="typed"), content=body)
    assert reply_content(typed.content).startswith("您订阅了 2 件邮件")
    stop = text_message("退订 RR123456785CN", msg_id="782")
    http.post("/channels/wechat", params=signed(nonce="stop"), content=stop)
    assert _click(http, menu.SUBSCRIPTIONS, 1714037304).startswith("您订阅了 1 件邮件")


def test_the_scam_guide_gives_the_advice_and_the_anti_fraud_hotline(http: httpx.Client) -> None:
    said = _click(http, menu.SCAM_GUIDE, 1714037305)
    assert said.splitlines()[0] == "识别诈骗信息"
    assert "邮政绝不会：" in said
    assert "96110" in said
    assert "11183" in said  # the operator's hotline (China Post EMS by default)
    assert "转发给我" in said
    assert "{hotline}" not in said


def test_an_unknown_key_gets_the_short_help_and_a_view_click_no_answer(
    http: httpx.Client,
) -> None:
    assert "请发送邮件号" in _click(http, "PROMO_2026", 1714037306)
    view = click_event("https://example.org/", at=1714037307).replace(b"CLICK", b"VIEW")
    response = http.post("/channels/wechat", params=signed(nonce="view"), content=view)
    assert response.content == b"success"


def test_a_click_delivered_twice_is_answered_once(http: httpx.Client) -> None:
    body = click_event(menu.TRACK, at=1714037308)
    first = http.post("/channels/wechat", params=signed(nonce="twice"), content=body)
    assert "请发送邮件号" in reply_content(first.content)
    again = http.post("/channels/wechat", params=signed(nonce="twice2"), content=body)
    assert again.content == b"success"
