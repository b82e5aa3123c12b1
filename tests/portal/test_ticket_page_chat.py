"""A tester found a WeChat sender id (the customer's openid) on the staff ticket page: it says
the ticket came from a chat instead."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.database import Database
from tests.page_support import sign_in
from tests.portal import factories as f


def test_the_ticket_page_says_from_a_chat_without_the_sender_id(
    db: Database, client: TestClient
) -> None:
    with db.session() as s:
        chat = f.conversation(s, channel="wechat", sender_id="wechat:oX7c2Lz9openidQ1")
        ticket = f.ticket(s, customer=f.customer(s), channel="wechat")
        ticket.conversation_id = chat.public_id
        f.user(s, role="agent", username="chat-page-agent")
        number, public_id = ticket.number, chat.public_id
    sign_in(client, "chat-page-agent")
    page = client.get(f"/tickets/{number}")
    assert page.status_code == 200
    assert "由在线对话创建" in page.text
    assert public_id not in page.text and "oX7c2Lz9openidQ1" not in page.text
