"""Reading ticket numbers, serials, addresses, yes/no, corrections, scores and visit times."""

from __future__ import annotations

import pytest

from actions.parsing import (
    corrected_fields,
    find_code,
    find_model_code,
    find_serial,
    find_ticket_number,
    is_no_comment,
    looks_like_address,
    mask_phone,
    parse_score,
    wants_code,
    wants_new_code,
    wants_to_stop,
    yes_or_no,
)
from actions.time_windows import describe

# A Monday morning in Shanghai.


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("SR20261123-0007", "SR20261123-0007"),
        ("sr20261123-0007", "SR20261123-0007"),
        ("SR202611230007", "SR20261123-0007"),
        ("工单号是 sr20261123 0007 谢谢", "SR20261123-0007"),
        ("查一下SR20261123-0007进度", "SR20261123-0007"),
        ("SR2026112-0007", None),
        ("13800138000", None),
    ],
)
def test_ticket_numbers_however_typed(text: str, number: str | None) -> None:
    assert find_ticket_number(text) == number


def test_serials_and_model_codes() -> None:
    assert find_serial("序列号wm20231100042") == "WM20231100042"
    assert find_serial("SR202611230007") is None  # a ticket number, not a serial
    assert find_model_code("空调 kfr-35gw 要装") == "KFR-35GW"
    assert find_model_code("WM-100那款") == "WM-100"


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("上海市浦东新区张江路88号3栋1201室", True),
        ("杭州市西湖区文三路259号", True),
        ("浦东新区世纪大道", True),
        ("家里", False),
        ("上海", False),
        ("不知道", False),
    ],
)
def test_addresses_an_engineer_can_find(text: str, ok: bool) -> None:
    assert looks_like_address(text) is ok


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("对的", True),
        ("是的", True),
        ("确认", True),
        ("没问题", True),
        ("ok", True),
        ("嗯嗯", True),
        ("不对", False),
        ("不是的", False),
        ("错了", False),
        ("没有", False),
        ("明天下午", None),
        ("", None),
    ],
)
def test_yes_or_no(text: str, answer: bool | None) -> None:
    assert yes_or_no(text) is answer


def test_corrections_name_the_field() -> None:
    assert corrected_fields("地址写错了") == ["address"]
    assert corrected_fields("电话不对，应该是13912345678") == ["phone"]
    assert corrected_fields("时间改一下") == ["preferred_time"]
    assert corrected_fields("地址") == []  # no cue: not a correction
    assert corrected_fields("地址", cue_required=False) == ["address"]
    assert wants_to_stop("算了不报了") and not wants_to_stop("不转了")


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("5", 5),
        ("5分", 5),
        ("打4分吧", 4),
        ("五星好评", 5),
        ("非常满意", 5),
        ("一般", 3),
        ("很不满意", 1),
        ("给3颗星", 3),
        ("10分", None),
        ("谢谢", None),
    ],
)
def test_scores(text: str, score: int | None) -> None:
    assert parse_score(text) == score


def test_no_comment() -> None:
    assert is_no_comment("没有") and is_no_comment("不用了") and not is_no_comment("师傅很好")


def test_windows_read_back_for_the_customer() -> None:
    assert describe("2026-11-24 13:00-18:00") == "11月24日（周二）13:00-18:00"
    assert describe("whenever") == "whenever"
    assert describe("2026-11-24 13:00-18:00", "en") == "Tue 24 Nov 13:00-18:00"


@pytest.mark.parametrize(
    "text",
    [
        "不记得单号了",
        "工单号忘了",
        "没有单号",
        "单号找不到了",
        "短信删了不知道工单号",
        "用验证码查",
        "发个验证码吧",
        "手机验证一下",
    ],
)
def test_no_ticket_number_at_hand(text: str) -> None:
    assert wants_code(text)


@pytest.mark.parametrize("text", ["SR20261120-0031", "查进度", "洗衣机坏了", "不知道"])
def test_not_a_wish_for_a_code(text: str) -> None:
    assert not wants_code(text)


def test_short_answers_count_only_as_the_answer_to_the_number_question() -> None:
    assert wants_code("不知道", answer=True) and wants_code("忘了。", answer=True)
    assert not wants_code("不知道怎么用", answer=True)


@pytest.mark.parametrize(
    "text,code",
    [
        ("246810", "246810"),
        ("验证码是 246 810", "246810"),
        ("２４６８１０", "246810"),
        ("收到了，246810", "246810"),
        ("12345", None),
        ("13800138000", None),
        ("123456 654321", None),
    ],
)
def test_the_code_in_what_was_typed(text: str, code: str | None) -> None:
    assert find_code(text) == code


def test_asking_for_another_code_and_masking() -> None:
    assert wants_new_code("没收到") and wants_new_code("能不能重发一下")
    assert not wants_new_code("246810")
    assert mask_phone("13800138000") == "138****8000"


@pytest.mark.parametrize(
    ("text", "question", "visit"),
    [
        ("空调不制冷怎么办", True, False),
        ("为什么冰箱一直响", True, False),
        ("上门费多少钱", True, True),
        ("洗衣机漏水了，派人来修", False, True),
        ("how long is the warranty", True, False),
        ("滚筒不转了", False, False),
    ],
)
def test_questions_and_visit_requests(text: str, question: bool, visit: bool) -> None:
    from actions.parsing import asks_for_visit, is_question

    assert is_question(text) is question
    assert asks_for_visit(text) is visit


@pytest.mark.parametrize(
    ("text", "operation"),
    [
        ("我家热水器那个报修单不要了，帮我撤掉", "cancel"),
        ("能不能催一下", "urge"),
        ("改到周六行吗", None),
        ("改个时间", "reschedule"),
        ("查进度", None),
    ],
)
def test_operations_in_words(text: str, operation: str | None) -> None:
    from actions.parsing import operation_in

    assert operation_in(text) == operation


def test_a_question_that_does_not_answer_the_question_asked() -> None:
    from actions.intake import _off_topic

    assert _off_topic("preferred_time", "等一下，装空调要另外收钱吗")
    assert not _off_topic("preferred_time", "明天下午可以吗")
    assert _off_topic("phone", "手机号一定要给吗")
    assert not _off_topic("phone", "13800138000")
    assert _off_topic("fault_description", "对了，你们保修期一般多久？")
    assert not _off_topic("fault_description", "显示E21怎么办")
    assert _off_topic("address", "师傅来了看完我不修的话要付钱吗")
    from actions.parsing import is_question

    assert is_question("师傅过来看了我最后不修，要给钱不")
