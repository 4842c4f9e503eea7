"""What a message asks the reader to do, and what it claims: the checker's main evidence.

The post's own advice judges a delivery message by its request: a post or courier does not ask,
in a text or an e-mail, for a fee, duty or tax, for an address or personal details, for a click
to rearrange, release or keep a delivery, or for a call to a "customs officer", and it never
tells you that your parcel holds drugs or interests the police. A statement of fact (delivered,
out for delivery, a pickup code, "collect it within 18 days") asks for none of these, and a
sentence that warns ("we will never ask for your card details") is read as the warning it is.

The text is read sentence by sentence, lower-cased, with full-width forms folded (NFKC) and
traditional Chinese converted to simplified (OpenCC's `tw2sp`, which also maps Taiwan's and Hong
Kong's words: 連結 → 链接, 簡訊 → 短信), so that one table serves both scripts. Each table is a
list of regular expressions; an `Ask` records which one matched and the words it matched, so a
reason can quote them and the reports can count them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from opencc import OpenCC


class Kind(StrEnum):
    PAY = "pay"  # a fee, duty, tax, postage, redelivery or storage charge
    DETAILS = "details"  # confirm or update an address, personal or identity details
    RESCHEDULE = "reschedule"  # rearrange, release, collect or keep the item through the message
    CALL = "call"  # call, reply, press a key, add a contact
    AUTHORITY = "authority"  # a call or contact about customs, police, a claim or a refund
    CRIME = "crime"  # the item holds contraband or drugs, or the police are involved
    SECRET = "secret"  # card details, a password, a one-time code
    PRESSURE = "pressure"  # a deadline or a threat: return, destruction, "last chance"
    LINK = "link"  # the message points to a link it does not show ("[link]", "点击链接")
    ATTACHMENT = "attachment"  # open, download or print an attached file (a label, a form)
    COMPENSATION = "compensation"  # an offer of compensation or a refund for a lost item
    LOST = "lost"  # the item is said to be lost or damaged
    PRESS_KEY = "press_key"  # a recorded call: "press 9", "按9号键"
    REMOTE = "remote"  # share the screen, install a remote-control or meeting app
    PROBLEM = "problem"  # the item is said to be stopped: on hold, undeliverable, abnormal
    COURIER = "courier"  # the person to call is the courier or postman (a normal thing to give)
    REPLY = "reply"  # "reply Y", "回复1": the reply confirms the number or activates a link
    ADD_CONTACT = "add_contact"  # add a WeChat/QQ friend, scan a QR code, message on WhatsApp
    HELP = "help"  # a number offered for questions ("Any questions? Call …"), not a request
    OFFER = "offer"  # a gift, prize, reward or paid work offered unasked ("免费赠送", "兼职日赚")
    ACTIVATE = "activate"  # reply, then reopen the message so that its link works (the iMessage
    # trick: a link from an unknown sender opens only once the reader has replied)


@dataclass(frozen=True, slots=True)
class Ask:
    kind: Kind
    words: str  # what matched, as normalised


_CJK = re.compile("[\u3400-\u9fff\uf900-\ufaff]")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_KEEP_APART = "\u2060"  # a word joiner: OpenCC reads no phrase across it


@cache
def _to_simplified() -> OpenCC:
    return OpenCC("tw2sp")


def normalise(text: str) -> str:
    """Full-width folded, lower-cased, one space between words, Chinese in simplified script."""
    text = unicodedata.normalize("NFKC", text).lower()
    if _CJK.search(text):
        # Taiwan's 快取 ("cache") would turn "请尽快取件" into "请尽缓存件": keep the two apart.
        text = _to_simplified().convert(text.replace("快取", _KEEP_APART.join("快取")))
        text = text.replace(_KEEP_APART, "")
    return _SPACES.sub(" ", text)


# A sentence ends at . ! ? followed by a space, or at Chinese punctuation, or a line break: not
# inside "£1.99" or "royalmail.com".
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|[。！？；;\n]+|(?<=[!?])")


def sentences(normalised: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(normalised) if s and s.strip()]


# NFKC folds the full-width comma to ",": "[^，。]" in the tables reads across commas and stops at
# the full stop, as it has since the tables were written (scams put commas inside the words a
# pattern reads: "请点击，下方链接重新预约"). Clauses, where they matter, are cut by `_clause`.


def _rx(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


#: To deliver, in the words of the mainland (派送, 投递, 配送), Hong Kong (派遞, read 派递 once
#: converted) and the posts (递送): one family, so that "未能成功派遞" reads as "无法派送".
_DELIVER = "派送|投递|配送|派递|递送"


# A sentence that warns against scams rather than asking anything: its requests are not asked.
WARNING = _rx(
    r"\b(?:never|will not|won't|would not|do not|does not|don't|doesn't|shall not)\b[^.]{0,30}?\b(?:ask|request|send you|call you|text you|e-?mail you|contact you|reach out to you|get in touch with you|message you|require|charge you|collect)",
    r"^(?:please )?(?:do not|don't|never)\b",
    r"\b(?:scam|scams|scammers?|fraudsters?|phishing|smishing|beware)\b",
    # "DHL is aware of fraudulent e-mails and fake documents…": fraudulent messages named, not
    # "fraudulent activity" (the phishing mail's own pretext).
    r"\bfraudulent (?:e-?mails?|messages?|texts?|sms|calls?|websites?|sites?|links?|documents?|invoices?)\b"
    r"|\b(?:be|is|are|stay) aware of (?:fake|fraudulent|bogus|suspicious|phishing|scam)\b",
    r"\b(?:report it|forward (?:it|the message|suspicious)|7726|action ?fraud)",
    r"(?:不会|绝不|决不|从不|从来不|并不会|不曾)[^。]{0,14}?(?:要求|索要|索取|发送|致电|以|通过|让|收取|询问)",
    r"切勿|请勿|谨防|警惕|提防|慎防|警觉|防骗|骗子|反诈|举报|不要轻信|不要点击|不要向",
    r"(?:防范|防止|是|为|属于|电信|网络|谨防|警惕)诈骗|诈骗(?:分子|份子|短信|电话|信息|行为|手段|话术|套路|团伙)",
)

TABLES: dict[Kind, tuple[re.Pattern[str], ...]] = {
    Kind.PAY: _rx(
        # English: a verb of paying, or a charge said to be due.
        # Not "you won't have to pay anything on delivery", "nothing to pay".
        r"(?<!n't have to )(?<!not have to )(?<!n't need to )(?<!not need to )(?<!no need to )"
        r"(?<!nothing to )\b(?:pay|repay|settle|cover)\b(?! (?:attention|a visit))",
        r"\b(?:make|complete|confirm|submit|finali[sz]e) (?:a |the |your )?(?:small )?(?:payment|settlement)",
        r"\bsettlement of\b",
        r"\bpayment (?:is |was )?(?:required|due|needed|pending|outstanding|owed|has not been|not received|failed|declined)",
        r"\b(?:fee|fees|charge|charges|duty|duties|tax|taxes|postage|cost|costs|balance|amount|vat|toll)\b[^.]{0,30}?\b(?:is |are |still |remains? )*(?:due|owed|outstanding|unpaid|payable|pending|required|to be paid|must be paid|has not been paid|have not been paid|not been paid|not paid)\b",
        r"\b(?:unpaid|outstanding|pending|additional|extra|small|nominal|remaining) (?:delivery |shipping |customs |import |postage |redelivery |handling )?(?:fee|fees|charge|charges|duty|duties|tax|taxes|postage|payment|balance|amount|shipping)\b",
        r"\b(?:redelivery|re-delivery|customs|import|storage|handling|processing|clearance|release|warehouse|address correction|rescheduling) (?:fee|fees|charge|charges|cost|duty|duties|tax)\b",
        r"[£$€¥] ?\d+(?:[.,]\d{1,2})?\b[^.]{0,40}?\b(?:fee|charge|duty|postage|due|owed|payment)",
        r"\b(?:fee|charge|duty|tax|postage|shipping cost|payment) of (?:only |just )?(?:[£$€¥]|usd|gbp|aud|cad|eur|nzd|hkd) ?\d",
        # Chinese: a verb of paying, or a charge said to be owed.
        r"(?<!超时)(?<!超过)(?<!逾期)(?<!无需)(?<!不需)(?<!无须)(?<!不用)(?<!已)(?<!免)(?<!已完成)(?<!已经完成)(?:补缴|补交|补款|补税|补费|缴纳|交纳|缴付|缴费|缴税|交税|缴清|结清|付清|支付(?!宝|方式|方法|时间|状态|信息)|(?<!到)付款(?!方式|方法|时间|状态|信息)|转账|汇款)",
        r"(?:税款|税费|关税|运费|邮费|手续费|保管费|仓储费|滞纳金|清关费|派送费|费用|包装费|罚款)[^。]{0,8}?(?:未付|未缴|待付|待缴|未结|欠|需付|需缴|需要|需)",
        r"(?:未付|未缴|待付|待缴|欠缴|欠费)[^，。]{0,6}?(?:税|费|款)",
        # A charge said to be taken automatically unless cancelled (the "百万保障", membership
        # and subscription lures that follow a fake delivery text).
        r"(?:自动)?扣费|(?:自动)?扣款|自动续费|续费|免密支付",
        r"百万保障",
    ),
    Kind.DETAILS: _rx(
        r"\b(?:confirm|update|verify|validate|complete|provide|re-?enter|correct|submit|fill in|fill out|enter|reconfirm) (?:your |the |a |our )?(?:full |correct |valid |current |home |delivery |shipping |postal |street |recipient'?s? |receiving )*(?:address|details|information|info|personal|identity|id|data|postcode|post code|zip|zip code|contact details|location)\b",
        r"\b(?:address|postcode|zip code|house number)\b[^.]{0,25}?\b(?:is |was |were )?(?:incomplete|incorrect|invalid|missing|wrong|not complete|not correct|not right|not detailed|not specific|unclear|insufficient|inaccurate|not found|not valid|unavailable|unknown|error)",
        # "…address is not detailed, and needs to be updated": a detail said to need updating,
        # however many words name the item in between ("the address of your package logistics
        # tail number 5892 is not detailed, and needs to be updated").
        r"(?<!\bno )(?<!\bno further )(?<!\bno more )\b(?:address|details|information|info|postcode|zip code)\b[^.]{0,80}?(?<!not )(?<!n't )(?<!never )\b(?:needs?|has|have|must|is required) (?:to )?be (?:updated|confirmed|verified|corrected|completed|re-?entered|provided|re-?confirmed)\b",
        r"\byour (?:full )?(?:name|address|country|cell number|phone number|mobile number|date of birth|occupation)\s*:",
        # "Delivery Exception Address Update Required": the update asked for, as a noun.
        r"^(?!.*\bno\b).*\b(?:address|delivery details|shipping details) (?:update|confirmation|verification|correction|validation) (?:is )?(?:required|needed|necessary|requested)\b",
        r"\b(?:verify|validate|confirm|reactivate|unlock|restore) (?:your |the )?(?:account|login)\b",
        r"\b(?:could not|couldn't|unable to|failed to|cannot|can't) (?:verify|confirm|find|locate|validate) (?:the |your )?(?:given |provided |delivery |shipping |recipient'?s? )?address",
        r"\b(?:incomplete|incorrect|invalid|wrong|insufficient|inaccurate|missing|unclear|unknown|unconfirmed) (?:delivery |shipping |street |recipient |house )?(?:address|postcode|zip code|house number|address information|details)",
        # "suspended … due to a missing home number", "due to lack of address details".
        r"\b(?:lack of|missing|no|without (?:a |the )?) ?(?:a |the |your )?(?:full |complete |valid )?(?:address details|address information|home number|house number|street number|apartment number|unit number|flat number|door number)\b",
        r"(?:地址|门牌|收件信息|收货信息|收件人信息|联系方式)[^，。]{0,6}?(?:不详|不全|不完整|有误|错误|异常|无效|不正确|模糊|不清|缺失|不符|不明)",
        # "请在下面的表格输入新的领件地址": to enter or give an address is to update it.
        # Not a notice's heading of what follows ("您的发货确认信息如下"): the shipment's
        # confirmation, shown, not asked for.
        rf"(?:更新|完善|补充|填写|输入|提供|确认|核实|修改|更正|提交|重新填写|核对|验证)(?:您的|你的|一下|新的)?(?:收货|收件|领件|{_DELIVER}|正确的|详细|完整)?(?:地址|信息|资料|数据|身份|个人信息)(?!(?<=发货确认信息)如下|(?<=订单确认信息)如下)",
        r"(?:进行|完成|需要|需|请)[^，。]{0,4}?(?:实名认证|身份验证)|身份证号|身份证照片|身份证正反面",
    ),
    Kind.RESCHEDULE: _rx(
        r"\b(?:reschedul|re-schedul|rearrang|re-arrang|rebook|re-book|redeliver|re-deliver)\w*+(?! (?:fee|charge|cost|payment))",
        r"\b(?:choose|select|pick|book|arrange|schedule|set) (?:a |your |the )?(?:new |another |preferred |convenient )(?:delivery|slot|time|date|day)",
        r"\barrange (?:a |your |the )?(?:re-?)?delivery\b",
        r"\b(?:release|unlock|unfreeze|claim|recover|reclaim) (?:your |the |this )?(?:parcel|package|item|shipment|order)",
        r"\bfollow (?:the |these |our )?instructions\b",
        # "confirm your delivery preferences here: …", "Please confirm: …": the delivery kept
        # waiting on a click.
        r"\b(?:confirm|set|update|choose|select|manage) (?:your |the )?(?:delivery|shipping|shipment) (?:preferences?|details|options|instructions|time|date|slot)\b(?=[^.]{0,20}?(?:\bhere\b|\bbelow\b|weblink|\blink\b|:))",
        r"\bconfirm\b(?: (?:here|now|below|it|delivery|receipt))?\s*:?\s*weblink",
        r"\bto (?:receive|get|collect|claim) (?:your |the )?(?:parcel|package|item|shipment|delivery|order)\b[^.]{0,30}?\b(?:click|tap|visit|follow|go to|open)\b",
        r"\b(?:click|tap|visit|follow|open|go to)\b[^.]{0,25}?\b(?:link|url|here|below)\b[^.]{0,40}?\bto (?:re|confirm|pay|update|release|arrange|avoid|schedule|receive|claim|get|collect|verify|complete|continue|proceed)",
        rf"(?:申请|预约)[^，。]{{0,4}}?(?:重新|二次|再次)?(?:{_DELIVER}|送货)",
        rf"(?:重新|二次|再次)(?:{_DELIVER})[^。]{{0,6}}?(?:请|需|点击|申请|预约|登录)",
        rf"(?:重新|另行)安排(?:{_DELIVER}|送货|时间)",
        r"(?:点击|点开|打开|进入|访问|登录|登入)[^，。]{0,10}?(?:链接|网址|网站|网页|页面|官网|以下|下方)[^。]{0,20}?(?:领取|获取|签收|处理|办理|操作|激活|申请|预约|更新|填写|确认(?!(?:您|你)?(?:已经|已)?(?:收到|收货))|查看详情|恢复)",
        r"领取(?:赔偿|理赔|退款|补偿)",
        # "Kindly assume ownership and confirm for delivery here": the item kept waiting on a
        # confirmation through the message.
        r"\bconfirm (?:it |them |this )?for (?:delivery|shipping|dispatch|redelivery)\b",
        # "Your package is waiting for you to set delivery preferences": the delivery kept
        # waiting on the reader's step (collecting it where it waits is no such step).
        r"\bwaiting for you to (?:set|update|provide|verify) (?:your |the )?(?:delivery|shipping|address|details|information|preferences)\b",
    ),
    Kind.CALL: _rx(
        r"\b(?:call|phone|ring|dial|contact|whatsapp|text us|text back)\b[^.]{0,30}?\+?\d[\d \-()]{6,}\d",
        r"\b(?:call|phone|ring|contact) (?:us|our (?:agent|office|team|customer service|department)|customer service|the (?:number|agent|officer|courier|department))\b",
        r"(?:致电|拨打|回电|回拨|速电|电联|打电话)(?:[^，。]{0,12}?\+?\d[\d\- ]{3,}\d)?",
        r"(?:联系|咨询)(?:客服|专员|我们|工作人员|负责人|快递员)?[^，。]{0,6}?(?:电话|热线)?[:：]?\s?\+?\d[\d\- ]{6,}",
        r"人工客服",
        r"(?:请|需|需要|务必)[^，。]{0,4}?(?:联系|联络|咨询|致电|拨打|回电|转接|接通)",
        r"(?:转接|接通|转到)[^，。]{0,6}?(?:海关|公安|警方|民警|检察|法院|专员|工作人员)",
        r"(?:服务|客服|咨询|查询)(?:电话|热线)[:：]?\s?\+?\d[\d\- ]{5,}\d",
    ),
    Kind.AUTHORITY: _rx(
        r"\b(?:customs officer|customs agent|customs department|border force|police|officer|investigat|court|warrant|refund|compensation|reimburse)\w*\b",
        r"海关|公安|警方|警察|民警|检察|法院|理赔|赔偿|赔付|退款|退费|补偿",
    ),
    Kind.CRIME: _rx(
        r"\b(?:illegal|illicit|prohibited|contraband|drugs?|narcotics?|cocaine|heroin|money laundering|counterfeit (?:goods|items)|arrest|warrant|criminal|smuggl)\w*",
        # "Customs found three fake passports inside": forged papers, the English of 假护照.
        r"\b(?:found|contain(?:s|ed|ing)?|inside|detected|discovered|seized|hidden)\b[^.]{0,40}?\b(?:fake|forged|counterfeit|falsified) (?:passports?|id cards?|identity cards?|ids|bank cards?|credit cards?)\b"
        r"|\b(?:fake|forged|counterfeit|falsified) (?:passports?|id cards?|identity cards?|ids|bank cards?|credit cards?)\b[^.]{0,40}?\b(?:(?:was|were) (?:found|detected|discovered|seized)|inside)\b",
        r"违禁品|违禁物品|违法物品|毒品|洗钱|涉嫌|涉案|走私|通缉|冻结|刑事|立案|拘留|假护照|护照.{0,4}(?:违规|违法)",
    ),
    Kind.SECRET: _rx(
        r"\b(?:(?<!calling )card number|card details|credit card|debit card|bank card|cvv|cvc|expiry date|password|bank account|login details)\b",
        # A code asked for, not one given to show at the counter ("OTP: 4821. Show this code
        # in-store", "your pickup PIN is 1234").
        r"\b(?:pin code|pin number|verification code|one-time code|one time code|otp|security code|passcode)\b(?!\s*(?:[:=#]|is\b)?\s*(?:\d|field\b))",
        r"银行卡|信用卡|卡号|安全码|网银|cvv",
        r"(?:提供|输入|告知|发送|填写|回复|告诉|报给?|说出|念)[^，。]{0,6}?(?<!取件)(?<!取货)(?<!提货)(?<!开箱)(?:验证码|密码|动态码|校验码|有效期)",
    ),
    Kind.PRESSURE: _rx(
        r"\bwithin (?:the next )?(?:\d+|one|two|three|four|five|six|seven|ten|twelve|fourteen|(?:twenty|forty)[- ](?:four|eight))(?: \(\d+\))? ?(?:hours?|hrs?|h|days?|business days|working days)\b",
        r"\b(?:in|next) (?:24|48|72|12) ?(?:hours?|hrs?|h)\b",
        r"\b(?:immediately|urgent|urgently|asap|as soon as possible|final notice|last notice|final warning|final attempt|last attempt|last chance|today only|expires?|expiring|deadline|act now|right away|before it is too late)\b",
        r"\b(?:avoid|prevent)\b[^.]{0,30}?\breturn",
        r"(?:以免|避免|否则)[^，。]{0,10}?(?:退回|退件|销毁|作废)",
        r"\b(?:will|shall|may) be (?:returned|destroyed|disposed|discarded|cancelled|canceled|sent back|auctioned|confiscated|seized|held|suspended|deleted)\b",
        r"\b(?:return(?:ed)? to (?:the )?sender|legal action|penalt(?:y|ies)|(?:go|goes|sent|send) back to (?:the )?sender)\b",
        r"\d+ ?(?:小时|个小时|天|日|个工作日)内|立即|马上|尽快|立刻|速速|请速|最后通知|最后一次|逾期|否则|紧急|限时|过期|作废|销毁|退回|罚款|法律责任|冻结",
    ),
    Kind.LINK: _rx(
        r"[\[<({（【](?:link|url|website|web address|link removed|redacted|removed|hyperlink|网址|链接|连结)[\]>)}）】]",
        r"\bhxxps?://|\blink removed\b|\blink redacted\b",
        r"\[\.\]|\(\.\)",
        r"\b(?:www\.)?x{3,}\.[a-z]{2,}",
        r"(?:点击|点开|打开|进入|访问|复制)[^，。]{0,6}?(?:链接|网址|下方|以下)",
        r"点此|点这里|戳这里|戳链接|按(?:此|以下|下方|这个)?(?:链接|网址)",
        r"\b(?:click|tap|follow|visit|open) (?:on )?(?:the |this |our )?(?:link|url|button)\b",
    ),
    Kind.ATTACHMENT: _rx(
        r"\b(?:attached|attachment|enclosed)\b[^.]{0,60}?\b(?:label|form|invoice|receipt|document|file|notice|details|waybill)",
        r"\b(?:download|open|print|fill in|fill out|complete|review)\b[^.]{0,40}?\b(?:the |your )?(?:attached|attachment|enclosed)",
        r"\b(?:label|form|invoice|waybill|receipt|information|details|document)\b[^.]{0,30}?\b(?:is |are )?(?:attached|enclosed)",
        r"\bprint (?:out )?(?:your |the |this )?(?:shipping |delivery |shipment )?label",
        r"\bprint (?:it|this|them|it out)\b",
        # Not the label of a return the reader asked for ("scan the barcode at a PostNL point to
        # print your return label").
        r"\b(?:print|download)\b[^.]{0,30}?\b(?:receipt|reciept|(?<!return )label|invoice|waybill|form)\b",
        r"\b(?:in|see|open|check) (?:the |this |our )?(?:e-?mail )?attach(?:ment|ed file)s?\b",
        r"\b(?:invoice|label|receipt|waybill|form|document)\b[^.]{0,30}?\b(?:download|downloaded)\b|\bdownload\b[^.]{0,30}?\b(?:invoice|label|receipt|waybill|form|document)\b",
        r"(?:下载|打开|查看|填写|打印)[^，。]{0,6}?附件|附件[^，。]{0,6}?(?:面单|单据|表格|文件)",
    ),
    Kind.PROBLEM: _rx(
        r"\b(?:on hold|held|suspended|undeliverable|undelivered|could not be delivered|couldn't be delivered|cannot be delivered|can't be delivered|unable to (?:deliver|be delivered)|not able to deliver|delivery (?:failed|attempt failed|was unsuccessful|problem|issue)|failed (?:delivery|to deliver)|unsuccessful delivery|missed (?:delivery|you)|pending (?:delivery|shipment)|stopped|stuck|detained|returned to (?:our )?(?:warehouse|depot|sender))\b",
        rf"(?:无法|未能|不能)(?:成功)?(?:{_DELIVER}|送达)|(?:{_DELIVER})(?:失败|不成功|未成功)",
        # … and a parcel said to be delivered to someone else ("被快递员误投", "被驿站误签收",
        # "被冒领") or a pickup code said to have failed ("快递柜故障，取件码失效").
        r"异常|签收失败|滞留|拦截|卡住|被扣|扣留|扣押|冻结|暂扣|未领取|无人签收|未签收|误投|错投|投错|误签|错签|冒领|"
        r"(?:取件码|提货码|验证码|快递柜|柜子)[^，。]{0,4}?(?:失效|故障|过期)",
    ),
    Kind.COURIER: _rx(
        r"\b(?:courier|driver|postman|postwoman|postie|delivery agent)\b",
        # Not the courier said to have delivered the parcel to someone else ("被快递员误投"): the
        # number to call is then the message's own.
        r"(?:快递员|投递员|派件员|配送员|派送员|快递小哥|送货员|邮递员|驿站|卖家|买家|商家|店家|物业|门卫|收发室)"
        r"(?!误投|误签|错投|投错|错签|冒领)",
        r"\b(?:seller|retailer|store|shop|merchant|property staff|concierge|reception)\b",
    ),
    Kind.HELP: _rx(
        r"\b(?:any (?:issues|problems|concerns)|feel free to|if you have (?:any )?(?:issues|problems|concerns)|any questions|if you have (?:any )?questions|questions\?|for (?:more )?(?:information|help|assistance|details)|need (?:any )?help|can we help|help cent(?:re|er))",
        r"(?:若|如|如果)有(?:任何)?(?:疑问|问题)|如有疑问|如有问题|如需帮助|如需咨询|如有任何问题|有任何疑问|如有需要",
    ),
    Kind.REPLY: _rx(
        r"\b(?:reply|answer|respond)(?: with)? (?:\"?y\"?|yes|\d)\b|\brepl(?:y|ying) (?:to )?this (?:message|text|sms)\b",
        # Not the opt-out every commercial text carries ("回复TD退订", "拒收请回复R").
        r"(?<!退订)(?<!拒收)(?<!拒收请)回复\s?(?!td|t退|r拒|n退)[0-9a-z是否](?![^，。]{0,3}?(?:退订|拒收))",
    ),
    Kind.ADD_CONTACT: _rx(
        r"(?:加|添加|加入)[^，。]{0,6}?(?:微信|qq|好友|line|whatsapp|telegram)|添加(?:客服|专员)|微信号|qq号|\b(?:add|message|text) (?:us|me) on (?:whatsapp|wechat|telegram|line)\b",
        # Scanning a code is a lure; scanning one at the locker or counter to take the parcel
        # ("扫码取件", "扫码开柜") is how pickup works.
        r"扫(?:描)?(?:码|二维码)(?![^，。]{0,4}?(?:取件|取货|开柜|开箱|签收|寄件))",
    ),
    Kind.COMPENSATION: _rx(
        r"\b(?:compensation|compensate|reimburse\w*|refund(?:ed|s)?|claim (?:form|payment)|double (?:the )?(?:refund|compensation))\b",
        r"理赔|赔付|赔偿|补偿|赔款|退还(?:运费|货款)|双倍|三倍|退费",
        r"(?:为|给|帮|替|向)您[^，。]{0,4}?退款|退款[^，。]{0,6}?(?:到账|链接|流程|操作|专员)|(?<!办理)(?<!申请)(?<!处理)(?<!与卖家)退款(?![^。]{0,12}?(?:卖家|商家|店家))",
    ),
    Kind.LOST: _rx(
        r"\b(?:parcel|package|item|shipment|order)\b[^.]{0,30}?\b(?:was |has been |is |got )?(?:lost|damaged|missing|destroyed)\b",
        r"(?:丢失|遗失|丢了|丢件|损坏|破损|受损|被冲走|泡坏|泡毁|弄丢|烧毁)",
    ),
    Kind.PRESS_KEY: _rx(
        r"\bpress (?:\d|one|nine|zero|the \w+ key)\b",
        r"(?:请|详情|咨询|查询|人工)?按\s?[0-9一二三九零]\s?[号键]?|转人工|人工台|人工服务",
    ),
    Kind.OFFER: _rx(
        # "We found a parcel from March owed to you. Kindly assume ownership": an unclaimed
        # parcel offered to whoever answers.
        r"\b(?:parcel|package|item|shipment)s?\b[^.]{0,30}?\bowed to you\b|\bassume ownership\b|\bunclaimed (?:parcel|package|item|shipment)s?\b",
        r"\b(?:you(?:'ve| have) (?:been selected|won)|(?:claim|receive|collect) (?:your |a |the )?(?:free )?(?:reward|prize|gift|bonus)|free gift|(?:loyalty|customer) reward|(?:part-time|paid) (?:job|work)|work from home)\b",
        r"赠送|免费(?:领取|领|送|获得)|奖品|中奖|抽奖|(?:领取|领|送)[^，。]{0,4}?(?:电饭煲|保温杯|雨伞|礼物|大礼包)|兼职|日赚|日结|刷单|返利|佣金",
    ),
    Kind.REMOTE: _rx(
        r"\b(?:screen ?shar\w*|share (?:your|the) screen|remote (?:access|control|desktop|assistance)|anydesk|teamviewer|quick ?support)\b",
        r"屏幕共享|共享屏幕|远程(?:指导|操作|协助|控制|会议)|会议号|下载(?:[^，。]{0,6}?)(?:会议|app|软件|应用)|腾讯会议|钉钉会议|zoom",
    ),
    Kind.ACTIVATE: _rx(
        r"\b(?:re-?open|open (?:it|this|the (?:message|text|sms)) again|come back to)\b[^.]{0,30}?\b(?:message|text|sms|link|it)\b",
        r"\b(?:activate|enable) (?:the |this )?link\b|\bcopy (?:the |this )?link\b[^.]{0,30}?\b(?:browser|safari|chrome)\b|\b(?:leave|keep) the link open\b",
        r"重新打开[^，。]{0,6}?(?:短信|信息|消息|链接)|(?:激活|启用)[^，。]{0,4}?链接|复制[^，。]{0,6}?链接[^，。]{0,10}?浏览器",
    ),
}

#: The kinds the reader is asked to do something by (the others are claims or context).
REQUESTS = frozenset(
    {
        Kind.PAY, Kind.DETAILS, Kind.RESCHEDULE, Kind.CALL, Kind.SECRET, Kind.ATTACHMENT,
        Kind.PRESS_KEY, Kind.REMOTE, Kind.ADD_CONTACT, Kind.OFFER, Kind.ACTIVATE,
    }
)  # fmt: skip


# A clause that states a charge for later ("超过18小时需支付保管费", "a fee applies after 7 days")
# is the locker's or the office's policy, not a request to pay now.
POLICY = re.compile(
    r"(?:超过|超出|超时|逾期|过期)[^，,]{0,8}?(?:小时|天|日|分钟)|\bafter \d+ (?:days?|hours?)\b|"
    r"\b(?:if|when) (?:it is )?not (?:collected|picked up)\b|"
    # "how to pay a customs charge, please refer to our website": where to learn, not a bill.
    r"\b(?:how|ways?|where) (?:to|you can|do i|can i) pay\b|"
    # A shop's word that it goes on once the order's payment has come ("直到确认收到你的付款再继续
    # 处理", "once we receive your payment"): the order's payment acknowledged, no fee asked.
    r"^(?!.*(?:税|费|转|汇|缴|\d)).*(?<![未没])确认收到[^，。]{0,4}?(?:付款|款项|货款)"
)
# A refund the shop promises when the goods are out of stock ("如缺货会通知退款") is its policy,
# no refund offered for a lost parcel, and no call about one.
OUT_OF_STOCK = re.compile(
    r"^(?!.*(?:理赔|赔偿|赔付|双倍|三倍|补偿|客服|联系|qq|微信|办理|\b(?:compensation|claim|contact)\b))"
    r".*(?:如|若|如果)[^，。]{0,4}?(?:缺货|断货|无货|售罄)"
)
# A clause about avoiding a loss ("为避免鲜活商品损坏，请尽快取件") claims no loss.
AVOIDING = re.compile(r"避免|以免|防止|\b(?:avoid|prevent)")
# A deadline to collect the item where it waits ("请于3个工作天内领取", "请尽快取件以免逾期退回",
# "collect it within 18 days or it goes back to the sender") is the office's or the locker's rule,
# a statement of fact; it presses only when the sentence also sends the reader online (a link, a
# click, an update, a payment): "请在24小时内点击链接领取，否则退回".
COLLECTING = re.compile(
    r"取件|取货|提货|领取|领件|自取|到店|未取|未领|\b(?:collect|collected|collection|pick ?up|picked up)\b"
)
ACTING_ONLINE = re.compile(
    r"点击|点开|登录|登入|更新|填写|支付|缴|付款|确认|"
    r"\b(?:click|tap|visit|online|update|confirm|verify|pay|payment|fee)\b"
)
ONLINE = re.compile(rf"weblink|链接|网址|网站|\blink\b|{ACTING_ONLINE.pattern}")
# A redelivery the courier states it will make ("We will attempt redelivery tomorrow", "it will
# be redelivered on Monday") is news, not a request to rearrange anything.
STATED = re.compile(
    r"\b(?:we|we'll|we will|driver|courier|carrier|it|they)\b[^.]{0,12}?\b(?:will|shall|'ll) "
    r"(?:attempt|try|make|re-?attempt)\b|\bwill be (?:re-?delivered|rescheduled)\b|"
    # "Our team will contact you shortly to reschedule": the sender's step, not the reader's.
    r"\b(?:we|our (?:\w+ )?team|team|driver|courier|they)\b"
    r"(?![^.]*\b(?:reply|click|tap|link|weblink|visit)\b)[^.]{0,12}?\b(?:will|shall|'ll)\b "
    r"(?:contact|call|text|e-?mail|message|reach) you\b|"
    r"\b(?:redelivery|re-delivery) (?:is|was|has been|will be) (?:scheduled|attempted|made|booked)\b|"
    r"\bautomatic(?:ally)? (?:re-?deliver|re-?schedul)|"
    # "将于明日再次配送": the courier's own redelivery.
    rf"(?:将|会)(?:于|在)?[^，。]{{0,6}}?(?:再次|重新|二次)(?:{_DELIVER})"
)
# A fee to be paid where the item is collected or in the operator's own app ("需支付0.5元保管费
# 后取件，请在丰巢小程序中操作", "pay at the counter") is paid where the posts' advice says to pay:
# it is no payment through the message, unless the sentence also sends the reader to a link.
PAY_IN_PERSON = re.compile(
    r"(?:取件|取货|提货|到店|柜台|网点|营业厅|营业部|窗口|门市|现场|收货(?!地址|信息|人)|收到货|签收)(?:时|前|后)?"
    r"[^，。]{0,8}?(?:支付|缴|付款)|"
    # Cash is paid to a person, never through a link ("收到貨時以現金付款", "货到付款").
    r"(?:以|用)?现金(?:支付|付款)|货到付款|\bpay (?:in|by|with) cash\b|"
    r"(?:支付|缴|付款)[^，。]{0,8}?后(?:取件|取货|提货|领取)|"
    r"(?:小程序|公众号|官方app|官方应用)[^，。]{0,4}?(?:中|内|里|上)?[^，。]{0,4}?(?:支付|缴费|付款|操作)|"
    r"\bpay (?:at|on) (?:the )?(?:counter|collection|pick ?up|delivery|the door|the post office)\b|"
    r"\bpay\b[^.]{0,60}?\b(?:at|in) (?:the |your |any )?(?:local |nearest )?post office\b|"
    r"\bcash on delivery\b"
)
# An address problem sent to the courier ("地址不详，请联系快递员138…确认地址", "please call the
# driver") is how couriers settle it; sent to a link or a contact, it is the smishing lure.
TO_THE_COURIER = re.compile(
    r"(?:联系|致电|拨打|电联|告知|回复)[^，。]{0,4}?(?:快递员|派件员|派送员|配送员|投递员|快递小哥|邮递员|送货员)|"
    r"\b(?:call|contact|phone|ring|text) (?:the |your )?(?:courier|driver|postman|postie|shipper|sender|seller|retailer|merchant)\b"
)
_ONLINE_LINK = re.compile(r"weblink|链接|网址|点击|点开|\b(?:click|tap|link|visit)\b")
#: The clauses in which a kind's match does not count.
# A time the sender gives itself ("our team will aim to reply within 4 working days") presses
# nobody.
OWN_TIME = re.compile(
    r"\b(?:we|we'll|our (?:\w+ ){0,3}team|team)\b[^.]{0,20}?\b(?:will|shall|'ll|aim to|try to)\b"
    r"[^.]{0,15}?\b(?:reply|respond|answer|get back|be in touch|process|deal with)\b"
)
# "退款将在1-3个工作日内原路退回", "我们会在48小时内为您安排发货": the shop's own time, in a sentence
# that asks no payment, click, call or contact anywhere (read on the whole sentence).
SHOP_OWN_TIME = re.compile(
    r"^(?!.*(?:缴|付|费|税|点击|链接|联系|致电|电话|来电|专员|客服|赔|回复|weblink))"
    r".*\d+(?:-\d+)?个?(?:小时|天|日|工作日|工作天)内[^，。]{0,6}?(?:到账|原路|为您安排发货|安排发货|发货)"
)
# Rearranging on the operator's own site or app, named in words and not linked ("请登录顺丰官网
# 或致电95338预约再次派送", "rebook on our app"), is what genuine notices offer.
OWN_CHANNEL = re.compile(
    r"^(?!.*(?:weblink|链接|网址|点击|\d{5}|\b(?:click|tap|link|here|below)\b)).*"
    r"(?:官网|官方(?:网站|app|应用)|\b(?:official (?:website|site|app)|our (?:website|app|mobile app))\b"
    r"|\b(?:in|on|via|through|use) the (?!official\b)[a-z]+ app\b"
    # "请登录京东APP修改收货地址": the operator's app, named. Not an official account to follow
    # ("请关注“邮政快递服务中心”公众号…"): anyone can open one under a post's name.
    r"|登录[^，。]{0,10}?(?:app|客户端)|[\u4e00-\u9fff]{2,8}app(?:中|内|里|上))"
)
# A change of address the reader may want, to ask the seller's or the operator's service for
# ("如需修改地址请联系在线客服", "if you need to change your address, contact us"), is offered, not
# asked: not when the sentence sends the reader to a link, a number, a reply or a chat contact,
# nor when it claims a problem with the address or asks for papers.
OFFERED = re.compile(
    r"^(?!.*(?:\d{3}|回复|回电|微信|qq|链接|网址|不详|不全|不完整|有误|错误|身份|证件|"
    r"\b(?:repl\w*|text us|whatsapp|wechat|telegram|link|here|weblink|incomplete|incorrect|"
    r"invalid|wrong|missing|id|passport)\b))"
    r"(?:.*[，,])?\s*(?:(?:如需|如果需要|若需|如要|如您需要|如果您需要|若您需要)(?:修改|更改|变更)"
    r"[^，。]{0,6}?(?:地址|收货信息)[^。]{0,4}?(?:联系|咨询|告知)[^，。]{0,4}?(?:在线)?(?:客服|我们|卖家|商家)"
    r"|if you (?:need|want|wish|would like|'d like) to (?:change|amend|edit) (?:your |the )?"
    r"(?:delivery |shipping )?address\b[^.]{0,20}?\b(?:contact|call|email|e-mail) (?:us|our|customer))"
)
# A delivery code shown or told to the courier at the door ("share the OTP with the delivery
# agent only after you receive the order", as shops' couriers in India ask) is handed over in
# person; asked for by reply, call or link, it is the scam's request.
AT_THE_DOOR = re.compile(
    r"^(?!.*(?:weblink|链接|\b(?:repl\w*|call\w*|text us|click\w*|tap|link|send\w*|enter|submit)\b))"
    r".*\b(?:share|show|give|tell)\b[^.]{0,25}?\b(?:otp|code|pin)\b[^.]{0,30}?"
    r"\b(?:delivery (?:associate|agent|executive|partner|person|boy|driver)|courier|driver|postman)\b"
)
# An invoice to view or download from the shop's own store or the reader's account ("download
# your invoice on our store") is no attachment: not a label or a form to print, fill in or send
# back, and not behind a link.
ON_OWN_SITE = re.compile(
    r"^(?!.*(?:\battach|weblink|\blink\b|\bfill|\breturn|\bsend|e-?mail|\bprint|\bform\b|\blabel))"
    r".*\b(?:download|view|see)\b[^.]{0,20}?\b(?:invoices?|receipts?)\b[^.]{0,20}?"
    r"\b(?:on|from|in|via|at|under) (?:our|the|your) (?:online |customer |user )?"
    r"(?:store|shop|website|web ?site|site|account)\b"
)
# A window the shop gives for a complaint ("If anything is wrong with your order, please contact us
# within 14 days") presses nobody, when the sentence sends the reader to no link.
COMPLAINT_WINDOW = re.compile(
    r"^(?=.*\b(?:contact|let|tell|notify|email|e-mail|reach) us\b)"
    r"(?!.*\b(?:pay|fee|charge|update|confirm|verify|address|details|card|reply|returned|destroyed|"
    r"disposed|cancell?ed|suspended|held|sender|auction\w*|removed|otherwise|refund\w*)\b)"
    r".*(?:\bif (?:anything|something) (?:is|was|seems|looks) (?:wrong|missing|damaged|not right)\b|"
    r"\bif (?:there (?:is|are|was)|you have|you find|you notice) (?:a |an |any )?"
    r"(?:problems?|issues?|questions?|concerns?|damage|faults?|defects?)\b)"
)
# A charge that may come ("customs duties may apply to international orders", "are payable by the
# recipient on delivery"): news of a charge, not a bill, in a quiet message (see `_QUIET`) whose
# sentence asks no payment now, in advance or by card.
CHARGE_MAY_COME = re.compile(
    r"^(?!.*\b(?:settle|now|today|advance|pre-?pay|card|online|apple ?pay|google ?pay|transfer)\b)"
    r".*(?:\bmay (?:apply|be (?:charged|payable|due))\b"
    r"|\b(?:payable|paid)\b[^.]{0,30}?\b(?:on|upon|at) (?:delivery|collection)\b)"
)
# A refund under way for a return or a cancelled order ("Your refund of £24.99 will be processed
# within 5-7 working days", "orders not collected … will be cancelled and refunded") is news, in a
# message that links nowhere and names no claim, call or compensation.
REFUND_UNDER_WAY = re.compile(
    r"^(?!.*(?:\b(?:claim|call|contact|verify|details|card|bank|double|compensat\w*|click|tap)\b"
    r"|理赔|赔偿|赔付|双倍|三倍|联系|客服|微信|qq|支付宝|备用金|银行|链接|召回|质量问题"
    r"|支付(?!方式)|缴|手续费|\b(?:pay|fee|fees)\b))"
    r".*(?:\brefund\b[^.]{0,40}?\b(?:will be|has been|have been|was|is being) (?:processed|issued|credited)\b"
    r"|\b(?:cancelled|canceled) and refunded\b|\boriginal (?:payment method|form of payment)\b"
    # "Pick up by Friday or it will be returned for a refund": the locker's rule.
    r"|\breturned for a (?:full )?refund\b"
    # "退款将在1-3个工作日内原路退回": back the way it was paid, as shops' refunds go.
    r"|原路(?:退回|返回|退还)|退回原路|\boriginal route\b|退款[^，。]{0,12}?到账|退款完成|已退款"
    # "款项将于7-14个工作天退回原付款信用卡", "逾期未取将退回卖家并退款".
    r"|退回原(?:付款)?(?:信用卡|账户|帐户|银行卡|支付方式|付款方式)"
    r"|(?:退回卖家|退回商家|取消订单|订单取消|已取消)[^，。]{0,4}?退款)"
)
_NOT_IN_CLAUSE = {
    Kind.PAY: POLICY,
    Kind.LOST: AVOIDING,
    Kind.RESCHEDULE: re.compile(f"{STATED.pattern}|{OWN_CHANNEL.pattern}"),
    Kind.PRESSURE: OWN_TIME,
    Kind.SECRET: AT_THE_DOOR,
    Kind.COMPENSATION: OUT_OF_STOCK,
    Kind.AUTHORITY: OUT_OF_STOCK,
}
_CLAUSE_END = re.compile(r"[，,、]")


def _clause(sentence: str, at: int) -> str:
    start = max((m.end() for m in _CLAUSE_END.finditer(sentence, 0, at)), default=0)
    end = _CLAUSE_END.search(sentence, at)
    return sentence[start : end.start() if end else len(sentence)]


# A transfer or an app payment is no payment in person, whatever else the sentence says ("签收前请
# 转账到支付宝", "pay the duty via Cash App").
_REMOTE_PAYMENT = re.compile(
    r"转账|汇款|转入|转数快|支付宝|微信|银行卡|网银|扫码|\bfps\b|"
    r"\b(?:cash ?app|online|transfer|paypal|venmo|zelle|gift ?cards?|bitcoin|crypto)\b"
)


# The way a refund goes back ("to the card you paid with", "your Visa ending 4242", "原付款信用卡"):
# read as its route, not as a card or a payment.
_REFUND_ROUTE = re.compile(
    r"\b(?:the |your )?(?:original )?(?:card|payment method|form of payment|account) "
    r"(?:you paid with|you used|used (?:to pay|for (?:the|your) (?:order|purchase)))\b"
    r"|\b(?:the |your )?original (?:payment method|form of payment|card)\b"
    r"|\byour (?:visa|mastercard|amex|card|debit card|credit card) ending(?: in)? \d{4}\b"
    r"|原(?:付款|支付)?(?:信用卡|银行卡|账户|帐户|支付方式|付款方式)"
)
_PAPERS_OR_PAYMENT = re.compile(
    r"身份|证件|证号|支付|缴|付款|费|税|\b(?:id|passport|pay|payment|fee|charge|duty|tax)\b"
)
#: What a refund under way speaks of without asking it: the money, the card it goes back to, the
#: days it takes.
_REFUND_WORDS = frozenset({Kind.COMPENSATION, Kind.AUTHORITY, Kind.PRESSURE})
#: A quiet message, the only kind whose news of a refund, a charge or a window for complaints is
#: read as news: it asks for no reply, call, contact, code, card or transfer anywhere, gives no
#: telephone number and links nowhere. A scam must ask for something; a quiet message cannot.
_ASKS_BACK = re.compile(
    r"\b(?:repl\w*|call\w*|phone|dial|ring|text us|whatsapp|wechat|telegram|bank|card|details|"
    r"verify|confirm|claim|password|transfer|account number|sort code|agent|officer|contact us|"
    r"settle)\b|"
    # A code asked for, not one given ("Pickup code: 123456", "your collection code is 4821").
    r"(?<!pickup )(?<!pick-up )(?<!collection )(?<!locker )(?<!parcel )"
    r"\b(?:code|otp|pin)\b(?!\s*(?:[:=#]|is\b)?\s*\d)|回复|致电|拨打|来电|电话|银行|卡号|验证|代码|密码|安全码|转账|汇款|"
    r"分期|激活|输入|联系|客服|专员|微信|qq|支付宝|备用金|理赔|赔偿|赔付"
)
#: A line offered for questions ("如有疑问请联系客服", "Questions? Just reply to this email"), with
#: no number, chat contact, code, card or link of its own, keeps a message quiet: it asks the
#: reader for nothing.
_QUESTIONS = r"如有疑问|如有问题|若有疑问|若有问题|如有任何问题|\bif you have (?:any )?questions\b"
_HELP_ONLY = re.compile(
    rf"^(?=.*(?:{_QUESTIONS}|"
    r"\bquestions\?|\bany questions\b|^(?:just )?reply to this (?:e-?mail|message)\W*$))"
    r"(?!.*(?:\d{5}|微信|qq|whatsapp|wechat|telegram|验证码|代码|银行|卡号|支付宝|转账|理赔|赔|"
    r"weblink|\blink\b|\b(?:code|otp|card|bank|transfer|claim|details|confirm|verify|pay)\b))"
)
_HELP_CLAUSE = re.compile(rf"[,，]?\s*(?:{_QUESTIONS})[^,，。.]*")
#: A telephone number as messages write them: with a country code, a leading 0, China's 11-digit
#: mobiles and 400/800 numbers, or digits grouped as phone numbers are ("202-555-0143"). A
#: waybill's run of digits ("688532824006") is none.
PHONE_LIKE = re.compile(
    r"(?<![A-Za-z0-9+])(?:\+\d[\d \-()]{6,}\d|0\d[\d \-()]{5,}\d|1[3-9]\d{9}|[48]00[\d \-]{6,}\d"
    r"|\(?\d{3}\)?[ .\-]\d{3}[ .\-]\d{4})(?![A-Za-z0-9])"
)
_DOMAIN_LIKE = re.compile(r"\b[a-z0-9-]+\.[a-z]{2,}\b")


def _in_person(sentence: str) -> bool:
    return (
        bool(PAY_IN_PERSON.search(sentence))
        and not _ONLINE_LINK.search(sentence)
        and not _REMOTE_PAYMENT.search(sentence)
    )


def is_warning(sentence: str) -> bool:
    return any(p.search(sentence) for p in WARNING)


# A link's own letters are no words of the message ("usps-redeliver.top" asks nothing): links are
# judged by `links`, and read here as a neutral word.
_URL = re.compile(
    # A link that ends a sentence leaves it its full stop ("…at https://x.com/t. If anything…").
    r"(?:https?|hxxps?)://\S*[^\s.,;:!?)\]]|\b(?:[a-z0-9-]+\.)+(?:com|net|org|top|info|xyz|cn|hk|tw|uk|co|io|me|cc|vip|shop|site|online|link|app)(?:/\S*[^\s.,;:!?)\]])?",
    re.I,
)


# A template's field ("{{expires}}", "${trackingUrl}", "{$order.sn}", "%{url}") holds a value to
# come: its name is no word of the message ("valid until {{expires}}" presses nobody).
# Only a name or an expression is blanked ("{{ order.name | upper }}"): words in braces ("{{Pay
# the £2.99 fee}}") are read as the message's own.
_FIELD = re.compile(
    r"\{\{\{?\s*([a-z0-9_.$>:()'\"\[\]-]+(?: ?\| ?[a-z0-9_.()'\":-]+)*)\s*\}?\}\}"
    r"|\$\{\s*([a-z0-9_.$>|:()'\"\[\]-]+)\s*\}|\{\$([a-z0-9_.$>|:()'\"\[\]-]+)\}"
    r"|%\{([a-z0-9_.]+)\}"
)


def _fields_blank(text: str) -> str:
    return _FIELD.sub(lambda m: m.group(0) if "weblink" in m.group(0) else " field ", text)


# A link the page that quotes the message replaced by words of its own ("Visit (the name of the
# scam site) to reschedule", "[malicious URL]", "（诈骗链接）") is a link we are not shown, and its
# words ("scam") are the page's, not the message's: read as "[link]".
_PLACEHOLDER = re.compile(
    r"[\[(<{（【]\s*(?:the |a |an )?(?:(?:name|address) of (?:the |a |an )?)?"
    r"(?:(?:scam|scammer's|scammers'|fake|malicious|suspicious|fraudulent|phishing|bogus|dodgy|"
    r"spoof|spoofed|bad) )+(?:link|url|website|web ?site|site|web address|domain|"
    r"hyperlink|web link)(?: (?:removed|redacted|omitted|deleted|here|address))?\s*[\])>}）】]"
    r"|[\[(（【](?:诈骗|钓鱼|虚假|假冒|可疑|恶意)(?:链接|网址|网站|连结)[\])）】]"
)


def read(text: str) -> list[Ask]:
    """Every kind the message asks or claims, once each, with the words of its first match.

    `text` is the message as received; warning sentences are left out.
    """
    found: dict[Kind, Ask] = {}
    said = _fields_blank(_URL.sub(" weblink ", _PLACEHOLDER.sub("[link]", normalise(text))))
    said = _REFUND_ROUTE.sub(
        lambda m: "原路" if _CJK.search(m.group(0)) else " original route ", said
    )
    read_out = [s for s in sentences(said) if not is_warning(s)]
    # A message that has the reader act online anywhere ("…将于明日退回。确认取件: …") turns its
    # collection deadline into pressure.
    acts_online = any(ACTING_ONLINE.search(s) and not _in_person(s) for s in read_out)
    # A message that shows or hides a link anywhere sends no one to the operator's own channel.
    linked = any(_ONLINE_LINK.search(s) or _DOMAIN_LIKE.search(s) for s in read_out)
    # … and one that asks for a reply, a call or bank details anywhere is no refund notice.
    asks_back = any(_ASKS_BACK.search(s) and not _HELP_ONLY.search(s) for s in read_out)
    phone = any(PHONE_LIKE.search(s) for s in read_out)
    quiet = not linked and not asks_back and not phone
    for sentence in read_out:
        in_person = _in_person(sentence)
        # Paying in person when collecting sends nobody online.
        deadline = (
            bool(COLLECTING.search(sentence))
            and not acts_online
            and (in_person or not ONLINE.search(sentence))
        )
        courier = bool(TO_THE_COURIER.search(sentence))
        # The operator's app named for an address to correct, in a message that links nowhere,
        # and asks no papers and no payment in that sentence.
        own = (
            not linked
            and bool(OWN_CHANNEL.search(sentence))
            and not _PAPERS_OR_PAYMENT.search(sentence)
        )
        offered = bool(OFFERED.search(sentence))
        # The line offered for questions is no part of the refund's news.
        refund_news = quiet and bool(REFUND_UNDER_WAY.search(_HELP_CLAUSE.sub("", sentence)))
        for kind, patterns in TABLES.items():
            if kind in found or (kind is Kind.PRESSURE and deadline):
                continue
            if kind is Kind.PAY and in_person:
                continue
            if kind is Kind.ATTACHMENT and ON_OWN_SITE.search(sentence):
                continue
            if kind is Kind.PRESSURE and SHOP_OWN_TIME.search(sentence):
                continue
            if (
                kind is Kind.PRESSURE
                and not phone
                and COMPLAINT_WINDOW.search(sentence)
                and not _ONLINE_LINK.search(sentence)
            ):
                continue
            if refund_news and kind in _REFUND_WORDS:
                continue
            if kind is Kind.PAY and quiet and CHARGE_MAY_COME.search(sentence):
                continue
            if (
                kind is Kind.DETAILS
                and (courier or own or offered)
                and not _ONLINE_LINK.search(sentence)
            ):
                continue
            for pattern in patterns:
                for match in pattern.finditer(sentence):
                    unless = _NOT_IN_CLAUSE.get(kind)
                    if unless and unless.search(_clause(sentence, match.start())):
                        continue
                    found[kind] = Ask(kind, match.group(0).strip())
                    break
                if kind in found:
                    break
    return list(found.values())
