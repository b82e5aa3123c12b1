"""A customer who writes English is answered in English, and a question about an error code
is answered, not filed as a repair; as a tester saw it, on the real stack (portal with its
FAQ index, Rasa with the model of the current bot data, the action server), through the
REST channel.

Seen failing before the fix: What does E21 mean? answered with the Chinese prompts around
the English answer (the bot switched to English only after a second English message), and
E21是什么意思 only offered dishwasher E1 / water heater E2 / washer E21 as buttons.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from portal.stack import Stack
from tests.e2e.chat_harness import Customer, Turn

pytestmark = pytest.mark.e2e

CHINESE = re.compile(r"[\u3400-\u9fff]")
# What the fault report form asks, in either language.
FORM_QUESTIONS = re.compile(
    r"phone|mobile|address|appliance|describe|手机|电话|地址|家电|描述", re.IGNORECASE
)


def _run(stack: Stack, scenario: Callable[[Customer], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with httpx.AsyncClient(timeout=120) as http:
            return await scenario(Customer(http, stack.portal_url))

    return asyncio.run(main())


def _words(turn: Turn) -> str:
    """Everything the customer was shown in the turn: texts and button titles."""
    return " ".join(turn.texts + [b["title"] for r in turn.replies for b in r.buttons])


@pytest.mark.parametrize(
    "question, answer",
    [
        ("What does E21 mean?", "could not drain"),
        # NLU reads this one as a progress question; the ticket action passes it on.
        ("what is E10", "did not fill with water"),
    ],
)
def test_an_english_question_about_a_code_is_answered_in_english(
    stack: Stack, question: str, answer: str
) -> None:
    async def scenario(customer: Customer) -> None:
        turn = await customer.say(question)
        assert turn.status == 200, turn.error
        shown = _words(turn)
        assert answer in shown, turn.texts
        assert "Did that solve your problem?" in shown, turn.texts
        assert not CHINESE.search(shown), turn.texts
        assert not FORM_QUESTIONS.search(turn.last), turn.texts

    _run(stack, scenario)


def test_a_chinese_question_about_a_code_is_answered_in_chinese(stack: Stack) -> None:
    async def scenario(customer: Customer) -> None:
        turn = await customer.say("E21是什么意思")
        assert turn.status == 200, turn.error
        shown = _words(turn)
        assert "排水超时" in shown, turn.texts
        assert "是否解决了您的问题" in shown, turn.texts
        assert not FORM_QUESTIONS.search(turn.last), turn.texts

    _run(stack, scenario)


def test_an_english_fault_report_opens_the_repair_form_in_english(stack: Stack) -> None:
    async def scenario(customer: Customer) -> None:
        turn = await customer.say("my washer shows E21 and won't spin, please send someone")
        assert turn.status == 200, turn.error
        assert FORM_QUESTIONS.search(turn.last), turn.texts
        assert not CHINESE.search(_words(turn)), turn.texts

    _run(stack, scenario)
