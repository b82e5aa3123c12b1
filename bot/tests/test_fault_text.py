"""How customers' free text is read into product, fault description and phone."""

from __future__ import annotations

import pytest

from actions.fault_text import describes_fault, normalize_phone, normalize_product


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("洗衣机", "洗衣机"),
        ("是滚筒的", "洗衣机"),
        ("波轮的那种", "洗衣机"),
        ("卧室的挂机", "空调"),
        ("柜机", "空调"),
        ("抽油烟机", "油烟机"),
        ("煤气灶", "燃气灶"),
        ("电热水器", "热水器"),
        ("彩电", "电视"),
        ("洗碗机", None),
        ("不知道", None),
    ],
)
def test_normalize_product(text: str, product: str | None) -> None:
    assert normalize_product(text) == product


@pytest.mark.parametrize(
    "text",
    [
        "洗衣机不转了",
        "冰箱漏水咋办",
        "空调不制冷",
        "显示E4",
        "不转了",
        "漏水了咋办",
        "刚买的空调就不制冷，怎么回事",
        "空调不制冷，电话13912345678",
    ],
)
def test_concrete_symptoms_count_as_fault_description(text: str) -> None:
    assert describes_fault(text)


@pytest.mark.parametrize(
    "text",
    [
        "我的洗衣机坏了",
        "空调出问题了，帮我报修",
        "我要报修洗衣机",
        "热水器坏了帮我修一下",
        "坏了",
        "家电坏了",
        "是滚筒的",
        "嗯",
        "13800138000",
        "洗衣机有点问题",
    ],
)
def test_vague_reports_do_not(text: str) -> None:
    assert not describes_fault(text)


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("13800138000", "13800138000"),
        ("我的手机号是15012345678", "15012345678"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("1380013800", None),
        ("138001380000", None),
        ("12345678901", None),
        ("电话是12345", None),
        ("不想给", None),
    ],
)
def test_normalize_phone(text: str, phone: str | None) -> None:
    assert normalize_phone(text) == phone
