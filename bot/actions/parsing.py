"""Reading ticket numbers, serials, model codes, addresses, yes/no, scores and corrections
out of what customers type. Pure functions: the form classes decide what to do with them."""

from __future__ import annotations

import re

# SR20261123-0007, typed as sr20261123-0007, SR202611230007 or with a space.
_TICKET = re.compile(r"(?<![A-Za-z0-9])SR\s*(\d{8})\s*[-－_ ]?\s*(\d{4})(?!\d)", re.IGNORECASE)
# Serials are two or three letters and 9-14 digits (WM20231100042); SR… is a ticket.
_SERIAL = re.compile(r"(?<![A-Za-z0-9])(?!SR)([A-Z]{2,3}\d{9,14})(?![0-9])", re.IGNORECASE)
# Model codes as printed on the nameplate: WM-100, KFR-35GW, AC-150.
_MODEL = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2,4}-\d{2,4}[A-Z]{0,3})(?![A-Za-z0-9])", re.IGNORECASE)

# An address names a place: a district or street word and a number, or a compound.
_PLACE = re.compile(
    r"省|市|区|县|镇|乡|村|路|街|道|巷|弄|号|小区|花园|公寓|大厦|苑|庭|府|湾|城|栋|幢|座|楼|单元|室|层"
)
_MIN_ADDRESS = 6

# Yes and no, as customers answer a confirmation. No first: 不对 contains 对.
_NO = re.compile(r"^不|不对|不是|不正确|不行|不要|不用|不了|错|否|没|别|no\b|nope", re.IGNORECASE)
_YES = re.compile(
    r"^(?:对|是|确认|确定|没错|正确|好|行|可以|嗯|恩|ok|yes|yep|y|提交|没问题|就这样)",
    re.IGNORECASE,
)
_YES_DESPITE_NO = re.compile(r"没问题|没错|没毛病|不错")
# Giving up on the form altogether.
_STOP = re.compile(
    r"算了|不报了|不修了|不装了|不弄了|先不|不用了|不需要了|不要了|取消吧|不办了|退出"
    r"|^取消[了吧啊呀。.!！]*$|取消(?:报修|登记|安装|预约|这个|这次)|不(?:想|用|要)(?:报修|修了|装了|登记|预约)"
    r"|不报修|重新开始|从头开始|重来|只是问问|就问问|随便问问|问问而已|不想弄了"
    r"|不(?:想|用|要)?查了|不想查|不用查|不问了|不想问了|没事了|没事儿了|^没事[了啦]?$"
    r"|^(?:stop|cancel|quit|never ?mind|forget it)\b",
    re.IGNORECASE,
)
# A question rather than a request (空调不制冷怎么办): answered from the knowledge base first.
_QUESTION = re.compile(
    r"怎么办|咋办|咋整|怎么回事|怎么处理|怎么解决|怎么弄|为什么|为啥|什么原因|啥原因|原因是"
    r"|什么意思|啥意思|多久|多长时间|几年|几天|多少钱|收费|要钱|费用|如何|怎样|怎么"
    r"|啥情况|什么情况|咋回事|要不要|需不需要|用不用|还能|可以吗|行吗|一般"
    r"|[要能会是有收给行][^，。,.]{0,6}不[?？。!！~]*$"
    r"|能不能|可不可以|是不是|有没有|正常吗|吗[?？。!！~]*$|[?？]\s*$"
    r"|^(?:how|why|what|is|can|does|do)\b",
    re.IGNORECASE,
)
# Asking for someone to come (派人来修, 上门, 报修): a request, whatever its wording.
_VISIT = re.compile(
    r"派人|派个|派师傅|上门|师傅|报修|维修|来修|修一下|帮我修|给我修|修理|过来|来人|安排|预约"
    r"|\b(?:repair|technician|engineer|send someone|come and fix|fix it)\b",
    re.IGNORECASE,
)

# Which answer a correction is about (地址写错了, 电话不对, 时间改一下).
_CORRECTION_CUE = re.compile(r"错|不对|改|换|更正|重新|重填|不是这个")
_FIELDS = (
    ("address", re.compile(r"地址|住址|门牌|小区")),
    ("phone", re.compile(r"电话|手机|号码|联系方式")),
    ("preferred_time", re.compile(r"时间|日期|哪天|几点|上门时间")),
    ("fault_description", re.compile(r"故障|描述|问题|症状")),
    ("product", re.compile(r"产品|型号|电器|家电|机器")),
)

_SCORE_WORDS = (
    ("非常满意", 5),
    ("很满意", 5),
    ("特别满意", 5),
    ("五星", 5),
    ("满分", 5),
    ("好评", 5),
    ("非常不满意", 1),
    ("很不满意", 1),
    ("太差", 1),
    ("很差", 1),
    ("差评", 1),
    ("一星", 1),
    ("不满意", 2),
    ("两星", 2),
    ("二星", 2),
    ("一般", 3),
    ("还行", 3),
    ("三星", 3),
    ("四星", 4),
    ("满意", 4),
    ("挺好", 4),
    ("不错", 4),
)
_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_NO_COMMENT = re.compile(
    r"^(没有|没|无|不用|不用了|算了|没了|没啥|没什么|不说了|跳过|no|none|nothing)[了啦。.!！]*$",
    re.IGNORECASE,
)


def find_ticket_number(text: str) -> str | None:
    """The first ticket number in `text`, canonical (SR20261123-0007), or None."""
    match = _TICKET.search(text or "")
    return f"SR{match.group(1)}-{match.group(2)}" if match else None


def normalize_ticket_number(value: str) -> str | None:
    """A ticket number typed alone, canonical, or None."""
    return find_ticket_number((value or "").strip())


def find_serial(text: str) -> str | None:
    """A serial number (upper case) in `text`, or None."""
    match = _SERIAL.search(text or "")
    return match.group(1).upper() if match else None


def find_model_code(text: str) -> str | None:
    """A model code (upper case) in `text`, or None."""
    match = _MODEL.search(text or "")
    return match.group(1).upper() if match else None


def looks_like_address(text: str) -> bool:
    """True if `text` could be a street address an engineer can find."""
    compact = re.sub(r"\s+", "", text or "")
    return (
        len(compact) >= _MIN_ADDRESS
        and bool(_PLACE.search(compact))
        and bool(
            re.search(r"\d|[一二三四五六七八九十]+号", compact) or len(_PLACE.findall(compact)) >= 2
        )
    )


def yes_or_no(text: str) -> bool | None:
    """True for a yes, False for a no, None when the answer says neither."""
    compact = re.sub(r"[\s，。,.!！~～]+", "", text or "")
    if not compact:
        return None
    if re.search(r"不是|不对", compact):
        return False
    if _YES_DESPITE_NO.search(compact):
        return True
    if _NO.search(compact):
        return False
    if _YES.search(compact):
        return True
    return None


def wants_to_stop(text: str) -> bool:
    """True if the customer gives up on what the bot is collecting."""
    return bool(_STOP.search(text or ""))


def is_question(text: str) -> bool:
    """True if `text` asks something (…怎么办, 为什么, 多久, 多少钱, …吗？)."""
    return bool(_QUESTION.search((text or "").strip()))


# Installing, not repairing: 帮我约个热水器安装, 装一台空调, install.
_INSTALL = re.compile(r"安装|装一台|装个|装一下|装空调|装热水器|装机|\binstall", re.IGNORECASE)
# Progress words: a question with one of these is about the customer's own ticket.
_PROGRESS = re.compile(
    r"进度|到哪|工单|单子|单号|我的报修|报的修|什么时候来|几点到|几点来|派单|接单|师傅到|出发|催"
    r"|status|my ticket|my repair|update",
    re.IGNORECASE,
)
# Complaint words: a question with one of these is a complaint still.
_COMPLAINT = re.compile(
    r"投诉|太差|垃圾|骗|生气|不满|差评|态度|举报|曝光|退钱|赔|complain", re.IGNORECASE
)


# What to do with one's own ticket, when NLU's intent says nothing about it.
_OPERATION_WORDS = (
    ("cancel", re.compile(r"撤|取消|不要了|不修了|不用来了|别来了|cancel", re.IGNORECASE)),
    ("urge", re.compile(r"催|快点|快一点|怎么还没|还没人|一直没人|hurry", re.IGNORECASE)),
    (
        "reschedule",
        re.compile(r"改(?:到|成|个|一下)?(?:时间|日子|天)|改约|换个时间|reschedule", re.IGNORECASE),
    ),
)


def operation_in(text: str) -> str | None:
    """The ticket operation `text` asks for in words (撤掉 -> cancel), or None."""
    for operation, pattern in _OPERATION_WORDS:
        if pattern.search(text or ""):
            return operation
    return None


def wants_installation(text: str) -> bool:
    """True if `text` asks for an installation (帮我约个热水器安装)."""
    return bool(_INSTALL.search(text or ""))


def about_own_ticket(text: str) -> bool:
    """True if `text` is about the customer's own ticket (进度, 工单, 什么时候来…)."""
    return bool(_PROGRESS.search(text or ""))


def complains(text: str) -> bool:
    """True if `text` carries a complaint (投诉, 态度, 太差…)."""
    return bool(_COMPLAINT.search(text or ""))


def asks_for_visit(text: str) -> bool:
    """True if `text` asks for an engineer (派人来修, 上门, 报修)."""
    return bool(_VISIT.search(text or ""))


def corrected_fields(text: str, *, cue_required: bool = True) -> list[str]:
    """The answers a message says are wrong (地址写错了 -> ["address"]), in form order.

    Without `cue_required` a bare field name counts (the answer to 哪一项需要修改？)."""
    if not text or (cue_required and not _CORRECTION_CUE.search(text)):
        return []
    return [name for name, pattern in _FIELDS if pattern.search(text)]


def parse_score(text: str) -> int | None:
    """A 1-5 rating from 5, 5分, 五星, 非常满意 …; None if there is none."""
    compact = re.sub(r"\s+", "", text or "")
    digits = re.findall(r"(?<![\d.])([1-5])(?:分|星|颗星)?(?![\d.])", compact)
    if len(digits) == 1:
        return int(digits[0])
    match = re.search(r"([一二两三四五])(?:分|星|颗星)", compact)
    if match:
        return _CN_DIGITS[match.group(1)]
    for word, score in _SCORE_WORDS:
        if word in compact:
            return score
    return None


def is_no_comment(text: str) -> bool:
    """True if the customer declines to leave a comment."""
    return bool(_NO_COMMENT.match((text or "").strip()))


# No ticket number at hand (不记得单号了, 没有工单号, 用验证码查): prove the phone instead.
_LOST = r"(?:没有|没|不记得|记不得|记不清|记不住|忘了|忘记|不知道|找不到|查不到|丢了|删了)"
_NUMBER_WORD = r"(?:单号|工单号|订单号|编号|号码|工单|单子)"
_NO_NUMBER = re.compile(
    rf"{_LOST}[^，。,.!！?？]{{0,4}}{_NUMBER_WORD}|{_NUMBER_WORD}[^，。,.!！?？]{{0,3}}{_LOST}"
    r"|验证码|短信验证|手机验证"
)
# The same said in one or two words, as the answer to 请提供工单号.
_NO_NUMBER_ANSWER = re.compile(
    r"^(?:没有|没|不知道|不清楚|忘了|忘记了|不记得|不记得了|记不清了|找不到|找不到了)[了啊呀。.!！~]*$"
)
# Asking for the code again (没收到, 重发, 再发一次).
_RESEND = re.compile(r"没收到|收不到|没有收到|重发|重新发|再发|再来一个|过期了")
_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def wants_code(text: str, *, answer: bool = False) -> bool:
    """True if the customer has no ticket number and would rather prove their phone;
    `answer`: the text answers the ticket-number question, so 不知道 alone counts."""
    compact = re.sub(r"\s+", "", text or "")
    if _NO_NUMBER.search(compact):
        return True
    return answer and bool(_NO_NUMBER_ANSWER.match(compact))


def find_code(text: str) -> str | None:
    """The 6-digit one-time code in `text` (spaces and full-width digits allowed), or None."""
    compact = re.sub(r"[\s-]+", "", (text or "").translate(_FULL_WIDTH_DIGITS))
    found = _CODE.findall(compact)
    return found[0] if len(found) == 1 else None


def wants_new_code(text: str) -> bool:
    """True if the customer did not get the code (or it expired) and wants another."""
    return bool(_RESEND.search(text or ""))


def mask_phone(phone: str) -> str:
    """138****8000: enough for the customer to recognise, not enough to read it off a screen."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else phone
