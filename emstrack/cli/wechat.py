"""`emstrack wechat menu show|set|delete`: the Official Account's custom menu, through WeChat's API.

The menu lives at WeChat, not here: `show` reads it back, `set` replaces it (ours by default,
"我的EMS" with 邮件查询, 我的订阅 and 防骗指南; or a JSON file in WeChat's own format, checked
against WeChat's rules before it is sent), `delete` removes it. Each needs the account's AppID and
AppSecret (`EMSTRACK_WECHAT_APP_ID`, `EMSTRACK_WECHAT_APP_SECRET`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.tree import Tree

from emstrack.channels.wechat import menu
from emstrack.channels.wechat.client import WeChatAPI, WeChatAPIError, client_for
from emstrack.cli import _common

app = typer.Typer(help="The WeChat Official Account.", no_args_is_help=True)
menu_app = typer.Typer(
    help="The account's custom menu (the bar under the chat), managed through WeChat's API.",
    no_args_is_help=True,
)
app.add_typer(menu_app, name="menu")


@contextmanager
def _api() -> Iterator[WeChatAPI]:
    api = client_for(_common.settings())
    if api is None:
        _common.fail(
            "WeChat is not configured: set EMSTRACK_WECHAT_APP_ID and EMSTRACK_WECHAT_APP_SECRET "
            "(the account's AppID and AppSecret).",
            2,
        )
    try:
        yield api
    except WeChatAPIError as exc:
        _common.fail(f"WeChat refused: {exc}")
    finally:
        api.close()


@menu_app.command("show")
def show(
    as_json: Annotated[bool, typer.Option("--json", help="Print WeChat's JSON as it is.")] = False,
) -> None:
    """The menu WeChat shows now, and which of its buttons the bot answers."""
    with _api() as api:
        current = api.menu()
    if current is None:
        if as_json:
            _common.out.print_json(data=None)
        else:
            _common.out.print(
                "The account has no custom menu. `emstrack wechat menu set` adds ours."
            )
        return
    if as_json:
        _common.out.print_json(data=current)
        return
    _common.out.print(_tree(current))


@menu_app.command("set")
def set_(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="A menu in WeChat's JSON ({\"button\": [...]}); '-' reads standard input. "
            "Without it: ours.",
            dir_okay=False,
            allow_dash=True,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and print the menu; send nothing.")
    ] = False,
) -> None:
    """Replace the account's menu with ours (我的EMS: 邮件查询, 我的订阅, 防骗指南) or --file's."""
    wanted = _read(file) if file is not None else menu.default_menu(_common.settings())
    found = menu.problems(wanted)
    if found:
        for problem in found:
            _common.err.print(f"[red]{escape(problem)}[/red]", soft_wrap=True)
        _common.fail(f"The menu breaks {len(found)} of WeChat's rules; nothing was sent.", 2)
    for key in menu.unanswered_keys(wanted):
        _common.err.print(
            f"[yellow]Click key {escape(key)!r} is not one the bot answers "
            f"({', '.join(sorted(menu.KEYS))}): a click on it gets the short help.[/yellow]",
            soft_wrap=True,
        )
    if dry_run:
        _common.out.print(_tree(wanted))
        _common.out.print_json(data=wanted)
        return
    with _api() as api:
        api.set_menu(wanted)
    _common.out.print(_tree(wanted))
    _common.out.print(
        "Menu set. WeChat clients show it within minutes; one that cached the old menu may take "
        "up to a day (following the account again shows it at once)."
    )


@menu_app.command("delete")
def delete(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove the account's custom menu (WeChat removes its conditional menus with it)."""
    if not yes and not typer.confirm("Remove the account's menu for every follower?"):
        _common.fail("Nothing removed.", 1)
    with _api() as api:
        api.delete_menu()
    _common.out.print("Menu removed.")


def _read(file: Path) -> Any:
    try:
        text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _common.fail(f"Cannot read {file}: {exc}", 2)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        _common.fail(f"{file} is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.", 2)


def _tree(current: dict[str, Any]) -> Tree:
    tree = Tree("WeChat menu")
    for entry in current.get("button") or []:
        node = tree.add(f"[bold]{escape(str(entry.get('name')))}[/bold]{_action(entry)}")
        for button in entry.get("sub_button") or []:
            node.add(f"{escape(str(button.get('name')))}{_action(button)}")
    return tree


def _action(button: dict[str, Any]) -> str:
    kind = button.get("type")
    if not kind:
        return ""
    if kind == "click":
        key = str(button.get("key"))
        answered = "answered by the bot" if key in menu.KEYS else "not answered by the bot"
        return f"  [dim]click {escape(key)} ({answered})[/dim]"
    target = button.get("url") or button.get("key") or button.get("media_id") or ""
    return f"  [dim]{escape(str(kind))} {escape(str(target))}[/dim]"
