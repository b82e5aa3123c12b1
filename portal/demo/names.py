"""Chinese personal names and mobile numbers, drawn from a seeded generator."""

from __future__ import annotations

import random

# The most common surnames, roughly by frequency (the first ones get picked more).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋"
    "唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈"
)
# fmt: off
GIVEN = (
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳",
    "杰", "娟", "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "华", "飞",
    "玲", "婷", "建国", "建华", "志强", "海燕", "晓明", "晓燕", "文博", "子涵", "欣怡", "浩然",
    "宇轩", "梓萱", "一诺", "雨桐", "俊杰", "佳怡", "思远", "嘉豪", "雅琴", "春梅", "国庆", "立新",
    "红梅", "永刚", "丹", "鹏", "斌", "琳", "凯", "亮", "慧", "颖",
)
# Mobile prefixes of the three carriers.
_PREFIXES = (
    "133", "135", "136", "137", "138", "139", "150", "151", "152", "158",
    "159", "166", "177", "180", "181", "186", "187", "188", "189", "199",
)
# fmt: on


def person_name(rng: random.Random) -> str:
    """A realistic full name such as 王建国."""
    surname = SURNAMES[min(int(rng.expovariate(1 / 12)), len(SURNAMES) - 1)]
    return surname + rng.choice(GIVEN)


def mobile_numbers(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """`count` distinct mobile numbers not in `taken` (which is updated)."""
    out: list[str] = []
    while len(out) < count:
        number = rng.choice(_PREFIXES) + f"{rng.randrange(10**8):08d}"
        if number not in taken:
            taken.add(number)
            out.append(number)
    return out
