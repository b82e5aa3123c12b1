"""The handoff round trip in two browser contexts: a customer in the widget, an agent in
the console. Shared by the browser test against a faked Rasa and the real-stack test."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from portal.conversations.models import Conversation
from portal.database import Database

WIDGET_MESSAGES = "[data-testid=aftersales-message]"
HOSTILE = '<b>洗衣机</b>漏水了 <img src=x onerror="window.__xss=1">'
AGENT_HOSTILE = '请看<script>window.__xss=2</script><img src=x onerror="window.__xss=3">'
TIMEOUT = 60_000


def widget_messages(page: Any, author: str) -> Any:
    """The widget's messages by one author (locators pierce its shadow root)."""
    return page.locator(f'{WIDGET_MESSAGES}[data-author="{author}"]')


def customer_says(page: Any, text: str) -> None:
    """Type into the widget and send."""
    page.locator("[data-testid=aftersales-input]").fill(text)
    page.locator("[data-testid=aftersales-send]").click()


def wait_widget(page: Any, author: str, text: str, timeout: int = TIMEOUT) -> None:
    """Wait until the customer sees a message by `author` containing `text`."""
    widget_messages(page, author).filter(has_text=text).last.wait_for(timeout=timeout)


def open_widget(browser: Any, url: str) -> Any:
    """A customer on the demo page with the chat open."""
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(url + "/")
    page.locator("[data-testid=aftersales-launcher]").click()
    page.locator("[data-testid=aftersales-input]").wait_for()
    return page


def open_console(browser: Any, url: str, username: str, password: str) -> Any:
    """An agent logged in to the console, its socket connected."""
    # An agent's browser in another zone than the portal's: times must still read in Beijing time.
    page = browser.new_context(
        locale="zh-CN", timezone_id="Europe/London", viewport={"width": 1440, "height": 1000}
    ).new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    page.goto(url + "/login?next=/console")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.locator('[data-testid=console][data-connected="true"]').wait_for(timeout=15_000)
    return page


def latest_web_conversation(db_url: str) -> str:
    """The public id of the newest widget conversation."""
    db = Database(db_url)
    try:
        with db.session() as session:
            found = session.scalars(
                select(Conversation.public_id)
                .where(Conversation.channel == "web")
                .order_by(Conversation.id.desc())
            ).first()
    finally:
        db.dispose()
    assert found is not None, "no widget conversation was stored"
    return found


@dataclass
class Outcome:
    """What the round trip produced, for the caller's own checks."""

    conversation: str
    ticket: str
    marks: dict[str, Any] = field(default_factory=dict)


def round_trip(
    *,
    customer: Any,
    agent: Any,
    conversation: str,
    via: str,
    mark: Callable[[str], Any] = lambda _name: None,
) -> Outcome:
    """From a conversation with the bot to an agent and back, checked from both sides.

    `via` is "queue" (the bot handed off: the agent accepts it from the queue) or "live"
    (the agent picks up a live bot conversation). `mark(name)` is called at "taken" (the
    agent owns the chat, before the customer writes to them) and "ended" (the chat ended,
    before the customer's next message); its results are returned in `marks`.
    """
    marks: dict[str, Any] = {}
    if via == "queue":
        item = agent.locator(f'[data-testid=queue-item][data-id="{conversation}"]')
        item.wait_for(timeout=TIMEOUT)
        item.locator("[data-testid=queue-accept]").click()
    else:
        item = agent.locator(f'[data-testid=live-item][data-id="{conversation}"]')
        item.wait_for(timeout=TIMEOUT)
        item.locator("[data-testid=live-pickup]").click()
    agent.locator('[data-testid=chat-state][data-state="agent"]').wait_for(timeout=TIMEOUT)
    agent.locator(f'[data-testid=chat-item][data-id="{conversation}"]').wait_for()
    wait_widget(customer, "system", "为您服务")
    marks["taken"] = mark("taken")

    # Agent -> customer, through the customer's own channel, with the typing indicator.
    composer = agent.locator("[data-testid=composer]")
    composer.fill("您好，我是人工客服，请问洗衣机有什么问题？")
    customer.locator("[data-testid=aftersales-typing]").wait_for(state="visible", timeout=TIMEOUT)
    agent.locator("[data-testid=send]").click()
    wait_widget(customer, "agent", "请问洗衣机有什么问题")

    # Customer -> agent: the agent sees them typing, then the message as text, never markup.
    customer.locator("[data-testid=aftersales-input]").press_sequentially("洗衣机", delay=20)
    typing = agent.locator("[data-testid=customer-typing]")
    typing.wait_for(state="visible", timeout=TIMEOUT)
    customer_says(customer, HOSTILE)
    transcript = agent.locator("[data-testid=transcript]")
    said = transcript.locator('[data-testid=msg][data-author="customer"]').filter(
        has_text="<b>洗衣机</b>漏水了"
    )
    said.wait_for(timeout=TIMEOUT)
    assert said.locator("[data-testid=msg-text]").inner_text() == HOSTILE
    typing.wait_for(state="hidden", timeout=TIMEOUT)
    assert transcript.locator("img, b").count() == 0
    assert agent.evaluate("window.__xss") is None

    # Agent -> customer: markup the agent pastes is text in the widget (and in the console).
    composer.fill(AGENT_HOSTILE)
    agent.locator("[data-testid=send]").click()
    shown = widget_messages(customer, "agent").filter(has_text="<script>")
    shown.wait_for(timeout=TIMEOUT)
    assert shown.inner_text() == AGENT_HOSTILE
    assert widget_messages(customer, "agent").locator("img, script").count() == 0
    assert customer.evaluate("window.__xss") is None
    mine = transcript.locator('[data-testid=msg][data-author="agent"]').filter(has_text="<script>")
    mine.wait_for(timeout=TIMEOUT)
    assert transcript.locator("img, script").count() == 0
    assert agent.evaluate("window.__xss") is None

    # A quick reply, then a ticket from the conversation through the structured form.
    agent.locator("[data-testid=quick-reply]").first.click()
    agent.locator("[data-testid=send]").click()
    wait_widget(customer, "agent", "很高兴为您服务")
    agent.locator("[data-testid=ticket-panel] summary").click()
    agent.locator("[data-testid=ticket-product]").fill("洗衣机")
    agent.locator("[data-testid=ticket-fault]").fill("洗衣机漏水，底部有积水")
    agent.locator("[data-testid=ticket-phone]").fill("13911112222")
    agent.locator("[data-testid=ticket-submit]").click()
    created = agent.locator("[data-testid=ticket-created]")
    created.wait_for(state="visible", timeout=TIMEOUT)
    ticket = created.get_attribute("data-number") or ""
    assert ticket.startswith("SR"), created.inner_text()
    agent.locator(f'[data-testid=side-ticket][data-number="{ticket}"]').wait_for(timeout=TIMEOUT)
    agent.locator('[data-testid=note][data-kind="ticket"]').filter(has_text=ticket).wait_for()
    # The customer hears of the ticket in the chat (the widget's notification), before the end.
    wait_widget(customer, "system", ticket)

    # Hand the chat back to the bot: confirmed in the page (no warning: the agent answered
    # last); the customer is told, asked for a rating, and has the bot back.
    agent.locator("[data-testid=handback]").click()
    agent.locator("[data-testid=confirm-dialog]").wait_for(state="visible")
    assert agent.locator("[data-testid=confirm-unanswered]").is_hidden()
    agent.locator("[data-testid=confirm-ok]").click()
    agent.locator('[data-testid=chat-state][data-state="bot"]').wait_for(timeout=TIMEOUT)
    wait_widget(customer, "system", "本次人工服务已结束")
    wait_widget(customer, "system", "请为本次人工服务打分")
    marks["ended"] = mark("ended")
    customer.locator("[data-testid=aftersales-quick-reply]", has_text="5 分").click()
    wait_widget(customer, "system", "感谢您的评价")
    return Outcome(conversation=conversation, ticket=ticket, marks=marks)


def only_local_requests(page: Any, base: str) -> None:
    """Every script, style and call the console made went to the portal itself."""
    outside = [u for u in page.requested if not u.startswith((base, "data:", "blob:"))]
    assert outside == [], outside
