"""Reading products, fault descriptions and phone numbers out of what customers type."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rasa_sdk.executor import CollectingDispatcher

# Canonical product -> words customers use for it. Mirrors the synonyms in
# data/nlu/fault_report.yml; kept here too because free-text answers never pass
# through EntitySynonymMapper.
PRODUCT_WORDS: dict[str, tuple[str, ...]] = {
    "洗衣机": ("洗衣机", "滚筒", "波轮", "洗衣鸡", "洗烘一体"),
    "空调": ("空调", "挂机", "柜机", "空凋"),
    "冰箱": ("冰箱", "冰柜"),
    "热水器": ("热水器", "热水气"),
    "油烟机": ("油烟机", "烟机"),
    "燃气灶": ("燃气灶", "煤气灶", "灶具"),
    "电视": ("电视", "彩电"),
}
# The same in English, as customers write them (washing machine, fridge, aircon …).
PRODUCT_WORDS_EN: dict[str, tuple[str, ...]] = {
    "洗衣机": ("washing machine", "washer", "laundry machine"),
    "空调": ("air conditioner", "air conditioning", "air-conditioner", "aircon", "air con", "a/c"),
    "冰箱": ("refrigerator", "fridge", "freezer"),
    "热水器": ("water heater", "boiler", "hot water"),
    "油烟机": ("range hood", "cooker hood", "extractor hood", "kitchen hood"),
    "燃气灶": ("gas stove", "gas hob", "stove", "cooktop", "hob"),
    "电视": ("television", "tv"),
}

# Model-code prefixes as printed on nameplates (WM-100, KFR-35GW …), for answers that
# give only the model.
MODEL_PREFIXES: dict[str, str] = {
    "WM": "洗衣机",
    "XQG": "洗衣机",
    "XQB": "洗衣机",
    "AC": "空调",
    "KFR": "空调",
    "KF": "空调",
    "RF": "冰箱",
    "BCD": "冰箱",
    "WH": "热水器",
    "JSQ": "热水器",
    "DSZF": "热水器",
    "CXW": "油烟机",
    "RH": "油烟机",
    "JZ": "燃气灶",
    "GS": "燃气灶",
    "TV": "电视",
}

_PRODUCT_LOOKUP = sorted(
    ((word, product) for product, words in PRODUCT_WORDS.items() for word in words),
    key=lambda pair: -len(pair[0]),
)

# Words that say "something is broken / please repair" without saying what is wrong,
# plus filler. Longest first so that 坏了 goes before 坏 and 了.
_VAGUE = sorted(
    [
        "坏掉了",
        "坏掉",
        "坏了",
        "坏",
        "出问题了",
        "出问题",
        "有点问题",
        "有问题",
        "问题",
        "出毛病了",
        "出毛病",
        "有毛病",
        "毛病",
        "出故障了",
        "出故障",
        "故障",
        "不好使了",
        "不好使",
        "不能用了",
        "不能用",
        "用不了了",
        "用不了",
        "报修",
        "维修",
        "修理",
        "修一下",
        "修",
        "上门",
        "师傅",
        "派个",
        "预约",
        "需要",
        "帮我",
        "帮忙",
        "一下",
        "请问",
        "你好",
        "您好",
        "在吗",
        "我的",
        "我家的",
        "我家",
        "家里的",
        "家里",
        "东西",
        "家电",
        "电器",
        "找人",
        "怎么办",
        "咋办",
        "咋整",
        "怎么回事",
        "电话",
        "手机号",
        "手机",
        "号码",
        "好像",
        "似乎",
        "可能",
        "有点",
        "有些",
        "感觉",
        "不太对",
        "不对劲",
        "不正常",
        "情况",
        "看看",
        "看一下",
        "来看看",
        "我们",
        "我",
        "的",
        "了",
        "啊",
        "呀",
        "吧",
        "呢",
        "嘛",
        "哦",
        "嗯",
        "要",
        "想",
        "能",
        "吗",
        "给",
        "个",
        "人",
        "是",
    ],
    key=len,
    reverse=True,
)
_PHONE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_NOT_CONTENT = re.compile(r"[\s\W_]+")
_MOBILE = re.compile(r"1[3-9]\d{9}")


_PRODUCT_LOOKUP_EN = sorted(
    ((word, product) for product, words in PRODUCT_WORDS_EN.items() for word in words),
    key=lambda pair: -len(pair[0]),
)


def normalize_product(text: str) -> str | None:
    """Return the canonical product named in `text` (Chinese or English), or None."""
    for word, product in _PRODUCT_LOOKUP:
        if word in text:
            return product
    lowered = (text or "").lower()
    for word, product in _PRODUCT_LOOKUP_EN:
        if re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", lowered):
            return product
    return None


def product_for_model(model_code: str) -> str | None:
    """The product a model code belongs to, by its prefix (KFR-35GW -> 空调)."""
    prefix = model_code.split("-", 1)[0].upper()
    return MODEL_PREFIXES.get(prefix)


def describes_fault(text: str) -> bool:
    """True if `text` says what is wrong, not merely that something is broken."""
    rest = _PHONE_IN_TEXT.sub("", text)
    for word, _ in _PRODUCT_LOOKUP:
        rest = rest.replace(word, "")
    for word in _VAGUE:
        rest = rest.replace(word, "")
    # Two characters is the shortest real symptom: 漏水, 不转, E4.
    return len(_NOT_CONTENT.sub("", rest)) >= 2


def normalize_phone(text: str) -> str | None:
    """Return the 11-digit mobile number in `text` (spaces, dashes, +86 allowed), else None."""
    digits = re.sub(r"\D", "", text)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if _MOBILE.fullmatch(digits) else None


def phone_slot(value: object, dispatcher: CollectingDispatcher) -> dict[str, str | None]:
    """The phone slot for a form's answer, re-asking with the format when it is not a mobile."""
    phone = normalize_phone(str(value or ""))
    if phone:
        return {"phone": phone}
    dispatcher.utter_message(response="utter_invalid_phone")
    return {"phone": None}
