"""Every reason the checker gives: a stable code, its weight, and a sentence in English and Chinese.

Weights add up to the verdict (`verdict.py`): 4 or more is `likely_scam`, 2 or more is
`suspicious`. A weight of 0 is information for the person (an official link, a real status).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emstrack.domain.events import Status, status_label
from emstrack.domain.lang import Lang

STRONG, MEDIUM, WEAK, INFO = 4, 2, 1, 0

#: code → (weight, English, Chinese); `{domain}`, `{brand}`, `{number}`, `{status}` are filled in.
REASONS: dict[str, tuple[int, str, str]] = {
    "link_ip_address": (
        STRONG,
        "The link goes to a bare IP address ({domain}); a post never sends links like that.",
        "链接指向一个纯 IP 地址（{domain}），邮政不会发送这样的链接。",
    ),
    "link_confusable": (
        STRONG,
        "The link {domain} uses letters from other alphabets that look like ordinary ones: a "
        "classic trick to imitate a real address.",
        "链接 {domain} 使用了外形相似的其他文字字母，这是冒充真实网址的常见手法。",
    ),
    "link_lookalike": (
        STRONG,
        "The link {domain} contains the name {brand} but is not an official domain of it: "
        "scammers add words, hyphens or another ending to a real name.",
        "链接 {domain} 含有名称 {brand}，但并不是其官方域名："
        "骗子常在真实名称上加词、加连字符或换后缀。",
    ),
    "link_misspelled": (
        STRONG,
        "The link {domain} imitates {brand} with a swapped letter or digit.",
        "链接 {domain} 通过替换字母或数字冒充 {brand}。",
    ),
    "link_shortener": (
        3,
        "The link is shortened ({domain}), which hides where it really goes; a post links to "
        "its own site.",
        "链接经过缩短（{domain}），隐藏了真实去向；邮政只会链接到自己的官网。",
    ),
    "link_post_word": (
        MEDIUM,
        "The link {domain} puts a post's word (\u201c{word}\u201d) in front of a site that is "
        "no post's: a post's links are on its own domain, whatever comes before it.",
        "链接 {domain} 在一个并非邮政的网站前加上了邮政字样（“{word}”）："
        "邮政的链接只在它自己的域名下，无论前面写着什么。",
    ),
    "link_unofficial": (
        WEAK,
        "The link goes to {domain}, which is not an official domain of any post or carrier we "
        "know.",
        "链接指向 {domain}，它不是我们所知任何邮政或快递公司的官方域名。",
    ),
    "link_official": (
        INFO,
        "The link goes to {domain}, an official domain of {brand}.",
        "链接指向 {domain}，是 {brand} 的官方域名。",
    ),
    "fee_with_link": (
        3,
        "It asks you to pay a fee (delivery, redelivery, customs duty) through a link: the post "
        "never collects money that way.",
        "信息要求通过链接支付费用（运费、重新派送费、关税），邮政从不以这种方式收费。",
    ),
    "payment_request": (
        MEDIUM,
        "It asks you to pay (\u201c{words}\u201d). Posts do not collect fees, duties or taxes "
        "through a message: pay only on the official site that you open yourself, or at the "
        "counter.",
        "信息要求您付款（“{words}”）。邮政不会通过短信或邮件收取费用、关税或税款：请只在您自己打开的"
        "官网或在营业网点付款。",
    ),
    "reschedule_request": (
        MEDIUM,
        "It asks you to act through the message to rearrange, release or keep the delivery "
        "(\u201c{words}\u201d): the classic lure of fake delivery texts. Track the item by its "
        "number on the official site instead.",
        "信息要求您通过它重新安排、领取或保住包裹（“{words}”），这是虚假快递短信的典型诱饵。"
        "请改为在官网输入单号查询。",
    ),
    "reply_request": (
        WEAK,
        "It asks you to reply (\u201c{words}\u201d): a reply tells the sender your number is in "
        "use, and some fake messages need one before their link opens.",
        "信息要求您回复（“{words}”）：回复会让对方确认您的号码有效，有些虚假信息需要回复后链接才能打开。",
    ),
    "activate_link": (
        MEDIUM,
        "It tells you how to make its link work (\u201c{words}\u201d: reply, then open the "
        "message again, or copy the link into a browser): phones do not open links from unknown "
        "senders until you reply, and fake delivery messages ask for exactly that.",
        "信息教您如何让其中的链接生效（“{words}”：先回复，再重新打开短信，或把链接复制到浏览器）："
        "手机对陌生号码的链接在您回复前不会打开，虚假快递信息正是这样诱导您。",
    ),
    "call_authority": (
        STRONG,
        "It asks you to call or contact someone about customs, the police, compensation or a "
        "refund (\u201c{words}\u201d): the \u201ccustoms officer\u201d and \u201crefund\u201d "
        "scams start exactly like this.",
        "信息要求您就海关、公安、理赔或退款事宜致电或联系某人（“{words}”）：冒充海关、快递理赔的诈骗"
        "正是这样开始的。",
    ),
    "crime_claim": (
        STRONG,
        "It claims that your item holds contraband or drugs, or involves the police or a crime "
        "(\u201c{words}\u201d): a post never tells you that by text or phone.",
        "信息声称您的邮件含有违禁品、毒品或涉及公安、犯罪（“{words}”）：邮政绝不会通过短信或电话这样"
        "通知您。",
    ),
    "link_not_operators": (
        MEDIUM,
        "The message speaks as {brand}, but its link goes to {domain}, which is not a domain of "
        "{brand}.",
        "信息自称来自 {brand}，但链接却指向 {domain}，这不是 {brand} 的域名。",
    ),
    "link_hidden_operator": (
        MEDIUM,
        "The message speaks as {brand} and points to a link that is not shown, so nothing shows "
        "that it is {brand}'s own: a post's links go to its own site. Track the item here "
        "instead.",
        "信息自称来自 {brand}，却指向一个未显示的链接，无法确认它属于 {brand}："
        "邮政的链接只指向其官网。请在本站查询邮件。",
    ),
    "attachment_request": (
        3,
        "It asks you to open, download or print an attached file (\u201c{words}\u201d): posts do "
        "not send labels or forms to print; such files carry malware.",
        "信息要求您打开、下载或打印附件（“{words}”）：邮政不会发送需要打印的面单或表格，这类附件常带有"
        "恶意软件。",
    ),
    "press_key": (
        MEDIUM,
        "It is a recorded call that asks you to press a key (\u201c{words}\u201d): posts do not "
        "call about parcels with recorded messages; hang up.",
        "这是要求您按键的语音电话（“{words}”）：邮政不会用语音电话通知包裹事宜，请直接挂断。",
    ),
    "remote_access": (
        STRONG,
        "It asks you to share your screen or install an app for remote help or a meeting "
        "(\u201c{words}\u201d): whoever asks that wants to see your bank codes.",
        "信息要求您共享屏幕或下载远程协助、会议软件（“{words}”）：这样做的人是想看到您的银行验证码。",
    ),
    "compensation_offer": (
        MEDIUM,
        "It offers compensation or a refund (\u201c{words}\u201d): a post settles a claim only "
        "when you file one through its official site or counter, never by calling you first.",
        "信息主动提出理赔或退款（“{words}”）：邮政和快递只会在您通过官方渠道申请后处理理赔，"
        "不会主动联系您赔付。",
    ),
    "lost_claim": (
        MEDIUM,
        "It says the item was lost or damaged (\u201c{words}\u201d): check it by its number on "
        "the official site before you believe it.",
        "信息称邮件丢失或损坏（“{words}”）：请先在官网输入单号核实。",
    ),
    "add_contact": (
        MEDIUM,
        "It asks you to add a contact, scan a code or move to another app (\u201c{words}\u201d): "
        "a post does not handle your item through a personal WeChat, QQ or WhatsApp account.",
        "信息要求您添加联系人、扫码或转到其他应用（“{words}”）："
        "邮政不会通过个人微信、QQ 等账号处理您的邮件。",
    ),
    "gift_offer": (
        MEDIUM,
        "It offers a gift, a prize, a reward or paid work (\u201c{words}\u201d): a post or "
        "courier does not hand out presents, prizes or jobs through a delivery message.",
        "信息提供礼品、奖品、奖励或兼职（“{words}”）：邮政和快递公司不会通过快递信息派发礼品、"
        "奖品或招聘兼职。",
    ),
    "call_unknown_number": (
        MEDIUM,
        "It asks you to call or contact a number or account that it gives itself "
        "(\u201c{words}\u201d): call only the hotline on the operator's official site.",
        "信息要求您拨打或联系它自己给出的号码或账号（“{words}”）：请只拨打官网公布的客服热线。",
    ),
    "problem_with_link": (
        MEDIUM,
        "It says the delivery has a problem (\u201c{words}\u201d) and sends you to a link that "
        "is not the operator's: the usual shape of a fake delivery message.",
        "信息称投递出现问题（“{words}”），并引导您打开非官方链接：这是虚假快递信息的典型套路。",
    ),
    "link_hidden": (
        WEAK,
        "It points to a link that is not shown (\u201c{words}\u201d): judge the message by what it "
        "asks, and never open such a link.",
        "信息指向一个未显示的链接（“{words}”）：请根据其要求判断，切勿打开此类链接。",
    ),
    "card_or_secret": (
        3,
        "It asks for card details, a password or a verification code: never give these to anyone.",
        "信息索要银行卡信息、密码或验证码：请勿向任何人提供。",
    ),
    "personal_data": (
        MEDIUM,
        "It asks you to confirm or update personal details (address, ID) through the message.",
        "信息要求通过该信息确认或更新个人信息（地址、身份证等）。",
    ),
    "urgency": (
        WEAK,
        "It pushes you to act fast or threatens consequences (return, destruction, a deadline): "
        "a common pressure tactic.",
        "信息催促您尽快行动或以退回、销毁、期限相威胁，这是常见的施压手段。",
    ),
    "number_invalid": (
        STRONG,
        "The tracking number {number} in the message is not valid (its check digit is wrong): "
        "scammers invent numbers.",
        "信息中的单号 {number} 无效（校验位错误）：骗子常编造单号。",
    ),
    "number_not_on_record": (
        MEDIUM,
        "The tracking number {number} is valid, but we have no record of it.",
        "单号 {number} 格式有效，但我们没有它的记录。",
    ),
    "number_on_record": (
        INFO,
        "We have the item {number}: its real status is “{status}”.",
        "我们查到了邮件 {number}：其真实状态为“{status}”。",
    ),
    "customs_hold_real": (
        INFO,
        "The item {number} really is held by customs. Act on it only through the official site "
        "that you open yourself, or call {hotline}, never through a link in a message.",
        "邮件 {number} 确实被海关扣留。请只通过您自己打开的官网或拨打 {hotline} 处理，"
        "切勿通过信息中的链接。",
    ),
    "customs_claim_false": (
        3,
        "The message says the item {number} is held or stopped, but our record shows “{status}”.",
        "信息称邮件 {number} 被扣留或滞留，但我们的记录显示为“{status}”。",
    ),
    "sender_phone": (
        MEDIUM,
        "It comes from an ordinary phone number ({sender}); official notices come from short "
        "service numbers.",
        "信息来自普通手机号码（{sender}）；官方通知使用短号码发送。",
    ),
    "sender_webmail": (
        MEDIUM,
        "It comes from a free e-mail address ({sender}); a post writes from its own domain.",
        "信息来自免费邮箱（{sender}）；邮政只使用自己的域名发送邮件。",
    ),
    "sender_lookalike": (
        STRONG,
        "The sender's address {sender} imitates {brand} but is not an official domain.",
        "发件地址 {sender} 冒充 {brand}，但不是官方域名。",
    ),
}


@dataclass(frozen=True, slots=True)
class Reason:
    """One signal that fired, with the values its sentence needs."""

    code: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def weight(self) -> int:
        return REASONS[self.code][0]

    def message(self, lang: Lang = "en") -> str:
        _, en, zh = REASONS[self.code]
        params = dict(self.params)
        if "status" in params:  # kept as the code, said in the reader's language
            params["status"] = status_label(Status(params["status"]), lang)
        return (zh if lang == "zh" else en).format(**params)

    def to_dict(self, lang: Lang = "en") -> dict[str, str]:
        return {"code": self.code, "message": self.message(lang)}
