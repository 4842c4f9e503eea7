"""What a message asks for, found by phrase tables in English and Chinese.

Matching is on lower-cased text with whitespace collapsed. The tables name things a scam asks
for; a genuine notice may mention a fee or a deadline too, which is why those weigh little alone.
"""

from __future__ import annotations

import re

FEE = (
    "small fee", "redelivery fee", "re-delivery fee", "delivery fee", "shipping fee",
    "customs duty", "customs duties", "customs fee", "import fee", "import duty", "postage due",
    "unpaid postage", "additional postage", "payable", "outstanding", "unpaid", "pay ", "payment",
    "settle", "补缴", "补交", "运费", "关税", "缴费", "缴纳", "支付", "付款", "手续费", "费用",
)  # fmt: skip
CARD_OR_SECRET = (
    "card number", "card details", "credit card", "debit card", "bank card", "cvv", "cvc",
    "expiry date", "password", "pin code", "verification code", "one-time code", "otp",
    "bank account", "login details", "银行卡", "信用卡", "卡号", "验证码", "密码", "安全码",
    "有效期", "网银", "动态码",
)  # fmt: skip
PERSONAL = (
    "date of birth", "social security", "confirm your address", "update your address",
    "update your details", "verify your details", "verify your identity", "confirm your details",
    "confirm your information", "full name and address", "passport number", "身份证",
    "填写地址", "更新地址", "确认地址", "完善地址", "个人信息", "核实信息", "实名", "收货信息",
)  # fmt: skip
URGENCY = (
    "within 24 hours", "within 12 hours", "within 48 hours", "in 24 hours", "immediately",
    "final notice", "last notice", "final attempt", "last chance", "will be returned",
    "will be destroyed", "will be disposed", "account will be", "urgent", "today only",
    "24小时内", "48小时内", "12小时内", "立即", "马上", "尽快", "最后通知", "退回", "销毁",
    "逾期", "否则", "紧急", "限时",
)  # fmt: skip
#: A claim that the item is stopped: compared with the real status of numbers we have.
HELD = (
    "held", "on hold", "detained", "stopped", "customs", "could not be delivered", "suspended",
    "扣留", "滞留", "海关", "无法派送", "暂停", "异常",
)  # fmt: skip

_SPACES = re.compile(r"\s+")


def normalised(text: str) -> str:
    return _SPACES.sub(" ", text.lower()) + " "


def mentions(text: str, table: tuple[str, ...]) -> bool:
    """True when the normalised text contains a phrase of the table."""
    return any(phrase in text for phrase in table)
