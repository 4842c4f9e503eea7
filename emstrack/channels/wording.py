"""What the bots say, in the chat's language: the sentences of the conversation.

The English text is the message id of the one gettext catalogue (`emstrack.text.catalogue`),
which the pages share; the lookup's own texts (status and event labels, country names, the
problems of a number) are reused where they exist. The answer to a checked message (`Words.check`)
is the checker's own sentences, with the few words around them kept beside it, English and
Chinese side by side, as `scamcheck` keeps its sentences.
"""

from __future__ import annotations

from typing import Final

from emstrack.config import Settings
from emstrack.domain import countries
from emstrack.domain.lang import Lang
from emstrack.domain.problems import Severity
from emstrack.lookup import Outcome, TrackingResult
from emstrack.scamcheck import CheckResult
from emstrack.scamcheck.check import ADVICE
from emstrack.text import problems, waits
from emstrack.text.catalogue import translations
from emstrack.text.headline import headline

#: Numbers looked up per message, as in the scam checker; more are mentioned, not answered.
MAX_NUMBERS: Final = 10

# The words of a command as the user types them: "/name" on Telegram, a plain word on WeChat
# (the conversation reads both on either channel).
_WECHAT_COMMANDS: Final[dict[Lang, dict[str, str]]] = {
    "en": {"subscribe": "subscribe", "unsubscribe": "unsubscribe", "list": "list"},
    "zh": {"subscribe": "订阅", "unsubscribe": "退订", "list": "我的订阅"},
}
# The scam guide's advice (the checker's own sentences): 96110 is named to every WeChat reader.
_GUIDE: Final = (
    "never_pay_via_links",
    "customs_never_call",
    "call_hotline",
    "anti_fraud_hotline",
)
_COLON: Final[dict[Lang, str]] = {"en": ":", "zh": "："}
# How a list of numbers is written: "A, B" and "A or B"; "A、B" and "A 或 B".
_AND: Final[dict[Lang, str]] = {"en": ", ", "zh": "、"}
_OR: Final[dict[Lang, str]] = {"en": " or ", "zh": " 或 "}


#: Reasons shown in a chat, strongest first; the page `/check` shows them all.
MAX_REASONS: Final = 4

# The check's own sentences (verdict, reasons, advice) come from `scamcheck` in either language;
# these are the few words around them, in English and Chinese side by side as `scamcheck` has them.
_CHECK: Final[dict[str, tuple[str, str]]] = {
    "why": ("Why:", "原因："),
    "advice": ("What to do:", "建议："),
    "more": ("Every reason: paste the message on %(url)s", "全部原因：将信息粘贴到 %(url)s 查看"),
}


def N_(message: str) -> str:
    """Mark `message` for the catalogue (babel extracts `N_`); it is translated where used."""
    return message


_SORRY = N_("Sorry, tracking is not available right now; please try again later.")
_WELCOME = N_(
    'Welcome! Send a tracking number (e.g. EE123456785CN) to see where your item is; "help" '
    "for more."
)


def _zh_then_en(message: str) -> str:
    return f"{translations('zh').gettext(message)}\n{message}"


def sorry() -> str:
    """The answer when the look-up itself failed (the database is down): both languages."""
    return _zh_then_en(_SORRY)


def welcome() -> str:
    """The greeting to a new follower of the WeChat account, in both languages."""
    return _zh_then_en(_WELCOME)


#: Up to this many numbers in one answer, each block names the destination post and its link.
HANDOVER_UP_TO = 3


class Words:
    """The sentences of one answer, in one language, for one channel."""

    def __init__(self, lang: Lang, channel: str, settings: Settings) -> None:
        self.lang = lang
        self.telegram = channel == "telegram"
        self.settings = settings
        self._ = translations(lang).gettext

    def _link(self, number: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}/track/{number}"

    def _command(self, name: str) -> str:
        return f"/{name}" if self.telegram else _WECHAT_COMMANDS[self.lang][name]

    def short_help(self) -> str:
        return self._('Send a tracking number such as EE123456785CN. "help" for more.')

    def help(self) -> str:
        sub, unsub = self._command("subscribe"), self._command("unsubscribe")
        return "\n".join(
            (
                self._(
                    "Send a tracking number (e.g. EE123456785CN) to see where your item is; "
                    "up to %(count)d per message."
                )
                % {"count": MAX_NUMBERS},
                self._("%(command)s NUMBER: a message at each change of status") % {"command": sub},
                self._("%(command)s NUMBER: stop them (without a number: all)")
                % {"command": unsub},
                self._("%(command)s: the items you follow") % {"command": self._command("list")},
                self._("Web: %(url)s") % {"url": self.settings.public_url},
            )
        )

    def subscribe_usage(self) -> str:
        return self._(
            "Send %(command)s followed by the tracking number, e.g. %(command)s EE123456785CN."
        ) % {"command": self._command("subscribe")}

    def too_many(self, count: int) -> str:
        return self._(
            "You sent %(count)d numbers; here are the first %(max)d. "
            "Send the others in another message."
        ) % {"count": count, "max": MAX_NUMBERS}

    def slow_down(self, seconds: int) -> str:
        return self._("Too many lookups; please try again in %(wait)s.") % {
            "wait": waits.wait(seconds, self.lang)
        }

    def no_subscriptions(self) -> str:
        return self._("Notifications are not set up on this server.")

    def following_nothing(self) -> str:
        return self._(
            "You follow no items. Send %(command)s NUMBER (e.g. %(command)s EE123456785CN) to "
            "get a message at each change of its status."
        ) % {"command": self._command("subscribe")}

    def following(self, results: list[TrackingResult], more: list[str]) -> str:
        """The items followed: where each of `results` is now, then the `more` by number."""
        count = len(results) + len(more)
        lines = [self._("You follow %(count)d item(s):") % {"count": count}]
        for result in results:
            state = result.shown_state(result.projection())  # a chat is public: no postcodes
            if result.outcome is Outcome.FOUND and state is not None:
                lines.append(f"{result.number.number}: {headline(state, self.lang)}")
            elif result.outcome is Outcome.NOT_FOUND_YET:
                lines.append(f"{result.number.number}: {self._('No scan yet')}")
            else:
                lines.append(f"{result.number.number}: {self._('No record')}")
        if more:
            lines.append(_AND[self.lang].join(more))
        lines.append(
            self._("%(command)s NUMBER: stop one; %(command)s alone: stop all.")
            % {"command": self._command("unsubscribe")}
        )
        return "\n".join(lines)

    def track_prompt(self) -> str:
        """The answer to the menu's "track" button: what to send."""
        return "\n".join(
            (
                self._(
                    "Send the tracking number (e.g. EE123456785CN); up to %(count)d in one message."
                )
                % {"count": MAX_NUMBERS},
                self._(
                    "Received a message about a parcel and not sure it is real? Forward it to "
                    "me and I will check it."
                ),
            )
        )

    def scam_guide(self) -> str:
        """The answer to the menu's "scam guide" button: the security page's advice, in a chat."""
        advice = [ADVICE[code][1 if self.lang == "zh" else 0] for code in _GUIDE]
        hotline = self.settings.brand.hotline_words(self.lang)
        return "\n".join(
            (
                self._("Recognise scam messages"),
                self._("The post never") + _COLON[self.lang],
                "- " + self._("asks for card details, passwords or codes by SMS, e-mail or chat;"),
                "- "
                + self._(
                    "asks you to pay customs duties or delivery fees through a link in a message;"
                ),
                "- "
                + self._(
                    "asks you to install an app or to confirm your address through a link to "
                    "see your item."
                ),
                self._("What to do") + _COLON[self.lang],
                *(f"- {line.format(hotline=hotline)}" for line in advice),
                "- "
                + self._(
                    "Received a message about a parcel and not sure it is real? Forward it to "
                    "me and I will check it."
                ),
            )
        )

    def subscribed(self, created: bool, result: TrackingResult) -> str:
        number = result.number.number
        if created:
            head = self._("Subscribed: you will get a message when %(number)s changes status.")
        else:
            head = self._("You are already subscribed to %(number)s.")
        return head % {"number": number} + "\n" + self.result(result)

    def unsubscribed(self, number: str, ended: bool) -> str:
        if ended:
            return self._("Unsubscribed from %(number)s.") % {"number": number}
        return self._("You were not subscribed to %(number)s.") % {"number": number}

    def unsubscribed_all(self, ended: list[str]) -> str:
        if not ended:
            return self._("You have no subscriptions.")
        return self._("Unsubscribed from %(count)d item(s): %(numbers)s.") % {
            "count": len(ended),
            "numbers": _AND[self.lang].join(ended),
        }

    def result(self, result: TrackingResult, *, handover: bool = True) -> str:
        """One number's block: number, where the item is (`text.headline`), page link; and,
        with `handover`, the destination post's tracking link (left out of an answer about many
        numbers, which must fit WeChat's 2,048 bytes: the page link leads to it)."""
        tn = result.number
        if result.outcome is Outcome.INVALID:
            return self._invalid(result)
        lines = [tn.number]
        state = result.shown_state(result.projection())  # a chat is public: no postcodes
        if result.outcome is Outcome.FOUND and state is not None:
            lines.append(headline(state, self.lang))
            handed = self._handover(result) if handover else None
            if handed:
                lines.append(handed)
        elif result.outcome is Outcome.NOT_FOUND_YET:
            lines.append(
                self._("Valid, no scan yet; first scans often appear 24–%(hours)d h after posting.")
                % {"hours": self.settings.first_scan_grace_hours}
            )
        else:
            lines.append(self._("No record: it may belong to another carrier"))
        lines.append(self._link(tn.number))
        return "\n".join(lines)

    def _handover(self, result: TrackingResult) -> str | None:
        """The destination's post, once the item is in its country: its name and its tracking
        page for the number (its site where it has none)."""
        operator = result.destination_operator
        if operator is None:
            return None
        words = {
            "operator": operator.name(self.lang),
            "country": countries.country_name(operator.country, self.lang) or operator.country,
        }
        link = operator.tracking_link(result.number.number)
        if link:
            return self._("Now with %(operator)s in %(country)s; track it there: %(url)s") % {
                **words,
                "url": link,
            }
        return self._("Now with %(operator)s in %(country)s: %(url)s") % {
            **words,
            "url": operator.site,
        }

    def _invalid(self, result: TrackingResult) -> str:
        tn = result.number
        errors = [p for p in tn.problems if p.severity == Severity.ERROR]
        said = " ".join(problems.text(p, self.lang) for p in errors[:2])
        shown = (tn.number or tn.raw)[:20]  # never echo a long input
        head = self._("%(number)s: not a valid tracking number.") % {"number": shown}
        # A Chinese sentence follows the one before without a space.
        lines = [(head + said if self.lang == "zh" else f"{head} {said}").strip()]
        meant = [s.number for s in tn.suggestions if s.on_record or not s.needs_record][:3]
        if meant:
            numbers = _OR[self.lang].join(meant)
            lines.append(self._("Did you mean %(numbers)s?") % {"numbers": numbers})
            lines.append(self._link(meant[0]))
        return "\n".join(lines)

    def check(self, result: CheckResult, *, cut_to: int = MAX_REASONS) -> str:
        """The check's answer: its headline, the reasons (weighing ones first, at most
        `cut_to`, and the page's address when there are more) and the advice."""
        title, sentence = result.headline(self.lang)
        lines = [title, sentence]
        reasons = sorted(result.reasons, key=lambda r: r.weight <= 0)  # stable: the check's order
        if reasons:
            lines.append(self._check("why"))
            lines.extend(f"- {r.message(self.lang)}" for r in reasons[:cut_to])
            if len(reasons) > cut_to:
                url = f"{self.settings.public_url.rstrip('/')}/check"
                lines.append(self._check("more") % {"url": url})
        # In Chinese the advice names the anti-fraud hotline 96110 besides the operator's own.
        lines.append(self._check("advice"))
        hotline = self.settings.brand.hotline_words(self.lang)
        lines.extend(f"- {line}" for line in result.advice(self.lang, hotline))
        return "\n".join(lines)

    def _check(self, key: str) -> str:
        en, zh = _CHECK[key]
        return zh if self.lang == "zh" else en
