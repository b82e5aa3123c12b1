"""Properties of a turn's shape (portal.conversations.safety), over any replies the bot may
send: one to three messages, no text twice, none the same as the message before the turn,
no button lost."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from portal.conversations.safety import Draft, from_rasa, looped, shape

TEXTS = st.sampled_from(["", "请问是什么产品？", "好的", "再确认一下：好的", "收到", "a\nb"])
BUTTONS = st.lists(
    st.sampled_from([("洗衣机", "/p1"), ("空调", "/p2"), ("是", "/affirm"), ("转人工", "转人工")]),
    max_size=3,
)
DRAFTS = st.lists(
    st.builds(
        Draft,
        author=st.sampled_from(["bot", "system"]),
        text=TEXTS,
        buttons=BUTTONS.map(tuple),
        image=st.sampled_from([None, None, "https://x/1.png"]),
    ),
    max_size=12,
)


def lead(text: str) -> str:
    return f"再确认一下：{text}"


@given(DRAFTS, st.one_of(st.none(), TEXTS))
def test_any_replies_become_one_to_three_distinct_messages(
    drafts: list[Draft], previous: str | None
) -> None:
    shaped = shape(drafts, previous=previous, lead=lead).drafts
    given_any = [d for d in drafts if not d.empty]
    assert (1 <= len(shaped) <= 3) if given_any else shaped == []
    texts = [d.text for d in shaped if d.text]
    assert len(texts) == len(set(texts))
    # Never the same message twice in a row: the turn's first is not the one seen last.
    assert not previous or not shaped or shaped[0].text != previous
    payloads = {p for d in given_any for _t, p in d.buttons}
    assert payloads == {p for d in shaped for _t, p in d.buttons}
    assert all(not d.empty for d in shaped)


def test_the_circuit_breaker_is_a_loop() -> None:
    same = [{"text": "抱歉，我没太明白您的意思"}] * 10
    assert looped(same)
    assert looped([{"text": "a"}, {"text": "b"}, {"text": "a"}, {"text": "a"}])
    assert not looped([{"text": "a"}, {"text": "a"}, {"text": "b"}])
    assert not looped([])


def test_rasa_replies_without_anything_to_show_are_dropped() -> None:
    drafts = from_rasa([{"text": ""}, {"buttons": "nonsense"}, {"text": "好", "buttons": [1]}])
    assert drafts == [Draft(author="bot", text="好")]
