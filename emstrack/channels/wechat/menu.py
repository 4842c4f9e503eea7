"""The Official Account's custom menu: what it holds, WeChat's rules for it, what its buttons do.

The menu is the bar under a chat with the account. Ours by default is one entry, "我的EMS", with
three buttons that send a click event to the callback (docs/channels.md, "The WeChat menu"):

- 邮件查询 (`EMSTRACK_TRACK`): the bot says what to send (a number, or a message to check);
- 我的订阅 (`EMSTRACK_SUBSCRIPTIONS`): the items this user follows and where each is now;
- 防骗指南 (`EMSTRACK_SCAM_GUIDE`): the scam guide of the security page, in the chat;

and, when the site has a public https address, a fourth that opens the site's app (a `view`
button: WeChat opens only https pages). `emstrack wechat menu set --file` installs any menu the
operator writes instead, checked here against WeChat's rules first, so that a mistake is named
before WeChat answers with a bare errcode.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from emstrack.channels.conversation import Bot, followed, language
from emstrack.channels.wording import Words
from emstrack.config import Settings

TRACK: Final = "EMSTRACK_TRACK"
SUBSCRIPTIONS: Final = "EMSTRACK_SUBSCRIPTIONS"
SCAM_GUIDE: Final = "EMSTRACK_SCAM_GUIDE"
#: The click keys the bot answers; any other key gets the short help.
KEYS: Final = frozenset({TRACK, SUBSCRIPTIONS, SCAM_GUIDE})

# WeChat's limits (its custom-menu API): 1-3 entries, 1-5 buttons under each; names in bytes
# of UTF-8 (an entry 16, about 4 Chinese characters shown; a button 60); a key 128 bytes, a URL
# 1,024.
MAX_ENTRIES, MAX_BUTTONS = 3, 5
MAX_ENTRY_NAME, MAX_BUTTON_NAME, MAX_KEY, MAX_URL = 16, 60, 128, 1024
# Each button type and the fields it needs.
_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "click": ("key",),
    "scancode_push": ("key",),
    "scancode_waitmsg": ("key",),
    "pic_sysphoto": ("key",),
    "pic_photo_or_album": ("key",),
    "pic_weixin": ("key",),
    "location_select": ("key",),
    "view": ("url",),
    "miniprogram": ("url", "appid", "pagepath"),
    "media_id": ("media_id",),
    "view_limited": ("media_id",),
    "article_id": ("article_id",),
    "article_view_limited": ("article_id",),
}


def default_menu(settings: Settings) -> dict[str, Any]:
    """The menu `emstrack wechat menu set` installs without `--file`."""
    buttons: list[dict[str, Any]] = [
        {"type": "click", "name": "邮件查询", "key": TRACK},
        {"type": "click", "name": "我的订阅", "key": SUBSCRIPTIONS},
        {"type": "click", "name": "防骗指南", "key": SCAM_GUIDE},
    ]
    base = settings.public_url.rstrip("/")
    if urlsplit(base).scheme == "https":
        buttons.append({"type": "view", "name": "网页版", "url": f"{base}/app?lang=zh-Hans"})
    return {"button": [{"name": "我的EMS", "sub_button": buttons}]}


def problems(menu: object) -> list[str]:
    """What WeChat would refuse in `menu`, each naming the button and the rule; [] when none."""
    if not isinstance(menu, Mapping):
        return ['The menu must be a JSON object with "button": a list of 1-3 entries.']
    entries = menu.get("button")
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_ENTRIES:
        return [f'"button" must be a list of 1-{MAX_ENTRIES} entries.']
    found: list[str] = []
    for i, entry in enumerate(entries):
        where = f"button[{i}]"
        if not isinstance(entry, Mapping):
            found.append(f"{where} must be an object.")
            continue
        found.extend(_name(entry, where, MAX_ENTRY_NAME))
        buttons = entry.get("sub_button")
        if buttons in (None, []):
            found.extend(_action(entry, where))
            continue
        if not isinstance(buttons, list) or len(buttons) > MAX_BUTTONS:
            found.append(f"{where}.sub_button must be a list of 1-{MAX_BUTTONS} buttons.")
            continue
        for j, button in enumerate(buttons):
            inner = f"{where}.sub_button[{j}]"
            if not isinstance(button, Mapping):
                found.append(f"{inner} must be an object.")
                continue
            if button.get("sub_button"):
                found.append(f"{inner}: a button under an entry cannot hold buttons itself.")
            found.extend(_name(button, inner, MAX_BUTTON_NAME))
            found.extend(_action(button, inner))
    return found


def unanswered_keys(menu: Mapping[str, Any]) -> list[str]:
    """The click keys of `menu` the bot does not answer (it answers them with its short help)."""
    keys: list[str] = []
    for entry in menu.get("button") or []:
        for button in [entry, *(entry.get("sub_button") or [])]:
            if button.get("type") == "click" and button.get("key") not in KEYS:
                keys.append(str(button.get("key")))
    return keys


def _bytes(value: str) -> int:
    return len(value.encode())


def _name(button: Mapping[str, Any], where: str, limit: int) -> list[str]:
    name = button.get("name")
    if not isinstance(name, str) or not name.strip():
        return [f"{where} needs a name."]
    if _bytes(name) > limit:
        return [f'{where}.name "{name}" is {_bytes(name)} bytes of UTF-8; WeChat allows {limit}.']
    return []


def _action(button: Mapping[str, Any], where: str) -> list[str]:
    kind = button.get("type")
    if kind not in _FIELDS:
        known = ", ".join(_FIELDS)
        return [f"{where}.type {kind!r} is not a WeChat button type ({known})."]
    found = [
        f'{where} (type "{kind}") needs "{field}".'
        for field in _FIELDS[str(kind)]
        if not isinstance(button.get(field), str) or not button[field]
    ]
    key, url = button.get("key"), button.get("url")
    if isinstance(key, str) and _bytes(key) > MAX_KEY:
        found.append(f"{where}.key is {_bytes(key)} bytes; WeChat allows {MAX_KEY}.")
    if isinstance(url, str) and url:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            found.append(f"{where}.url {url[:80]!r} is not a web address (http or https).")
        elif _bytes(url) > MAX_URL:
            found.append(f"{where}.url is {_bytes(url)} bytes; WeChat allows {MAX_URL}.")
    return found


def clicked(bot: Bot, key: str | None, *, user: str) -> str:
    """The bot's answer to a click on the menu button with `key`, from `user` (an OpenID).

    A click event carries no language: the answer is in the channel's (Chinese)."""
    words = Words(language("", "wechat", None), "wechat", bot.settings)
    answers: dict[str, Callable[[], str]] = {
        TRACK: words.track_prompt,
        SUBSCRIPTIONS: lambda: followed(bot, channel="wechat", user=user, words=words),
        SCAM_GUIDE: words.scam_guide,
    }
    answer = answers.get(key or "")
    return answer() if answer is not None else words.short_help()
