"""What the hub reads in a customer's message without the bot: a request for a person, a bare
rating, the language it is written in, and one-time codes to hide from staff. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from portal.i18n import MESSAGES, Lang

# Whole-message requests for a person, compared trimmed, case-folded, with inner spaces
# collapsed and trailing punctuation dropped. Only whole messages: 人工智能是什么 and
# 客服电话多少 are questions for the bot.
HUMAN_WORDS = frozenset(
    {
        "转人工",
        "人工",
        "人工客服",
        "客服",
        "找真人",
        "真人",
        "转接人工",
        "human",
        "agent",
        "real person",
        "talk to a human",
    }
)
# The payload of the hub's own "talk to a person" button: also what the bot reads as
# request_human, should the message ever reach it.
HUMAN_PAYLOAD = "转人工"

_TRAILING = re.compile(r"[\s.。!！?？~～,，、…]+$")
_SPACES = re.compile(r"\s+")
_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_SCORE = re.compile(r"^([1-5一二两三四五])\s*(?:分|星|颗星|stars?)?(?:好评)?$")
# Words customers answer a rating with, most specific first (不满意 before 满意).
_SCORE_WORDS: tuple[tuple[str, int], ...] = (
    ("非常不满意", 1),
    ("很不满意", 1),
    ("极不满意", 1),
    ("不太满意", 2),
    ("不满意", 2),
    ("非常满意", 5),
    ("很满意", 5),
    ("特别满意", 5),
    ("十分满意", 5),
    ("满意", 4),
    ("一般般", 3),
    ("一般", 3),
    ("还行", 3),
    ("还可以", 3),
    ("很差", 1),
    ("太差了", 1),
    ("太差", 1),
    ("非常差", 1),
    ("差评", 1),
    ("好评", 5),
    ("excellent", 5),
    ("very good", 5),
    ("good", 4),
    ("average", 3),
    ("poor", 2),
    ("bad", 2),
    ("terrible", 1),
    ("very bad", 1),
)
_SCORE_LOOKUP = dict(_SCORE_WORDS)

# A message answers a code question when the message before it asks for the code itself
# (验证码已发送…请把 6 位数字发给我, 验证码不对, Enter the 6-digit code); not one that only
# mentions codes (…也可以用手机验证码查询, 我给这个号码发一条验证码).
_CODE_WORD = re.compile(r"验证码|\bcode\b", re.IGNORECASE)
_CODE_ASK = re.compile(
    r"6\s*位|六位|发给我|不对|过期|输入|回复|6-digit|digits|enter|reply", re.IGNORECASE
)
# Six digits (the portal's codes), maybe spaced or full-width, standing alone: not part of
# a phone number, a ticket number (SR20261123-0007) or a model code.
_CODE = re.compile(
    r"(?<![0-9０-９A-Za-z\-])[0-9０-９](?:[ \-]?[0-9０-９]){5}(?![0-9０-９A-Za-z]|-[0-9０-９])"
)
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
CODE_MASK = "••••••"

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
# Fewer Latin letters than this say nothing of the language (ok, E21, hi).
_ENGLISH_LETTERS = 3


def normalise(text: str) -> str:
    """The message as the hub compares it: trimmed, case-folded, no trailing punctuation."""
    folded = _SPACES.sub(" ", text.translate(_FULL_WIDTH).strip().casefold())
    return _TRAILING.sub("", folded).strip()


# Inside a longer message these still ask for a person (怎么查不到啊，帮我转人工吧), and
# mean nothing else: 人工 alone (人工智能) and 客服 alone (客服电话多少) do not count.
HUMAN_IN_SENTENCE = re.compile(
    r"转人工|转接人工|人工客服|找人工|要人工|接人工|换人工|真人客服|找真人|找个真人|找个人工"
    r"|talk to (?:a |an )?(?:human|person|agent)|real person|human agent",
    re.IGNORECASE,
)


def wants_human(text: str) -> bool:
    """Whether the message asks for a person: the whole message a word of HUMAN_WORDS
    (转人工, 人工, human …), or a sentence holding an unmistakable one (帮我转人工吧)."""
    normal = normalise(text)
    return normal in HUMAN_WORDS or bool(HUMAN_IN_SENTENCE.search(normal))


def ticket_score(text: str) -> int | None:
    """The 1–5 score a bare answer to a rating invitation gives, if it is one."""
    said = normalise(text)
    if not said:
        return None
    found = _SCORE.match(said)
    if found:
        digit = found.group(1)
        return int(digit) if digit.isdigit() else _CN_DIGITS[digit]
    return _SCORE_LOOKUP.get(said)


def is_english(text: str) -> bool:
    """Written in English: Latin words and no Chinese characters."""
    return not _CJK.search(text) and len(_LATIN.findall(text)) >= _ENGLISH_LETTERS


# What says nothing of the language it is written in: ticket numbers, model and fault codes
# (SR20261123-0007, KFR-35GW, E21), e-mail addresses and links.
_NEUTRAL = re.compile(
    r"\S+@\S+|https?://\S+|www\.\S+|\b(?:SR\s*\d{8}[-\s]?\d{4}|[A-Z]{1,4}-?\d+[A-Z]*)\b",
    re.IGNORECASE,
)
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def written_language(text: str) -> Lang | None:
    """The language a customer's message says they write in: "zh" for any Chinese, "en"
    for an English sentence (two English words or more), None for a bare word, a code or a
    number. The bot switches on the same signs (bot/actions/language.py)."""
    if _CJK.search(text):
        return "zh"
    if len(_LATIN_WORD.findall(_NEUTRAL.sub(" ", text))) >= 2:
        return "en"
    return None


def asks_for_code(text: str) -> bool:
    """Whether a bot or system message asks the customer for a one-time code."""
    return bool(_CODE_WORD.search(text) and _CODE_ASK.search(text))


def mask_codes(text: str) -> str:
    """The text with every code-shaped run of digits replaced by dots (a mobile number,
    however spaced, is not a code)."""
    if _MOBILE.fullmatch(re.sub(r"\D", "", text.translate(_FULL_WIDTH))):
        return text
    return _CODE.sub(CODE_MASK, text)


# A ticket's check code as our own messages give it ("校验码 123456", "check code 123456").
_CHECK_CODE = re.compile(r"(校验码|check code)(\s*[:：]?\s*)(\d{6})", re.IGNORECASE)


def mask_check_codes(text: str) -> str:
    """The text with the ticket check codes it gives masked: they are the customer's, and
    staff never need them (they may read the ticket anyway)."""
    return _CHECK_CODE.sub(lambda m: m.group(1) + m.group(2) + CODE_MASK, text)


def codes_in(text: str) -> list[str]:
    """The code-shaped runs of digits in the text, as typed."""
    return _CODE.findall(text)


def mask_known(text: str, codes: Sequence[str]) -> str:
    """The text with each of these codes (as typed) replaced by dots."""
    for code in sorted(set(codes), key=len, reverse=True):
        text = text.replace(code, CODE_MASK)
    return text


# How the hub's own apology starts when the bot gave nothing usable (flows.py), in both
# languages: what load tests and monitors look for.
_APOLOGY_KEYS = ("hub.fallback.sorry", "hub.fallback.unavailable", "hub.fallback.sorry_again")


def is_hub_apology(text: str) -> bool:
    """Whether a reply is the hub answering for a bot that gave nothing usable."""
    starts = tuple(s for key in _APOLOGY_KEYS for s in MESSAGES[key])
    return text.startswith(starts)


# Giving up the wait for a person: back to the assistant.
_LEAVE_QUEUE = re.compile(
    r"取消排队|不排了|不排队|不等了|不想等|等不了|不用人工|不要人工|不用转人工|退出排队|退出|算了|不用了"
    r"|^(?:cancel|stop waiting|never ?mind|quit)\b",
    re.IGNORECASE,
)


def leaves_queue(text: str) -> bool:
    """Whether a queued customer gives up waiting (取消排队, 我不等了, 算了)."""
    return bool(_LEAVE_QUEUE.search(normalise(text)))
