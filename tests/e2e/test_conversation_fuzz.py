"""Seeded random customers through every flow of the real bot: no rule of issue 16 may
break (1-3 replies a turn, never silent, no repeats, 转人工 reaches the queue, every form
can be left, no 5xx).

A short run of the fuzzer in tests/e2e/conversation_fuzz.py against the real stack
(portal, Rasa with the model of the current bot data, the action server); the long run is
benchmarks/conversation_fuzz.py. A failure prints every broken rule with the seed,
the conversation and its transcript: the messages reproduce it.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from portal.stack import Stack
from tests.e2e.chat_harness import Reply, Turn
from tests.e2e.conversation_fuzz import RULES, FormQuestions, fuzz, report, turn_violations

SEED = 16
TURNS = 200
BUDGET_S = 150  # wall time of the walk; the stack's start is the session's


def _turn(sent: str, *texts: str, status: int = 200) -> Turn:
    return Turn(sent, status, [Reply(t) for t in texts], 0.1)


def test_the_rules_catch_what_they_name() -> None:
    """Each rule fires on a turn that breaks it and stays quiet on a good one."""
    forms = FormQuestions()
    ask_phone = "请留下您的手机号，方便售后师傅和您联系。"
    assert forms.asks(ask_phone) and not forms.asks("不客气，很高兴能帮到您！")
    good = _turn("13800138000", "好的，已记下。", "请问师傅上门的地址是？请写到门牌号")
    assert turn_violations(good, _turn("洗衣机漏水", ask_phone), forms) == []
    cases = {
        "http_error": (_turn("嗯", status=500), None),
        "silent": (_turn("5"), None),
        "too_many_replies": (_turn("嗯", "a", "b", "c", "d"), None),
        "repeat_in_turn": (_turn("嗯", "抱歉，我没太明白", "抱歉，我没太明白"), None),
        "repeat_across_turns": (_turn("嗯", ask_phone), _turn("报修", "好的", ask_phone)),
        "form_not_left": (_turn("取消", ask_phone), _turn("报修", ask_phone)),
    }
    for rule, (turn, previous) in cases.items():
        found = [v.partition(":")[0] for v in turn_violations(turn, previous, forms)]
        assert rule in found, (rule, found)
    assert set(cases) | {"handoff_not_queued"} == set(RULES)


@pytest.mark.e2e
def test_seeded_customers_break_no_rule(stack: Stack) -> None:
    started = time.monotonic()
    result = asyncio.run(fuzz(stack.portal_url, seed=SEED, turns=TURNS, max_seconds=BUDGET_S))
    print(report(result), f"\nwall time {time.monotonic() - started:.0f} s")
    assert not result.aborted, result.aborted
    assert result.turns >= 50, f"only {result.turns} turns in {BUDGET_S} s"
    if result.violations:
        pytest.fail(report(result), pytrace=False)
