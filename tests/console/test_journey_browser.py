"""An agent's journey in Chromium against the whole portal (Rasa faked at the HTTP boundary,
the handoff clock stepped by the test): three offers fill the agent's limit and time out; a
customer waiting in the widget is taken all the same, answered, has the address they gave
put on their ticket (a wrong one first: refused, nothing lost), and is handed back to the
bot after a warning that their last message was not answered."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from portal.config import Settings
from portal.conversations.models import Conversation
from portal.database import Database
from portal.main import create_app
from portal.migrate import upgrade
from portal.tickets.models import Ticket
from tests.app_fixtures import RASA_TOKEN
from tests.console import flow
from tests.conversations.support import BOT, PASSWORD, TrackingRasa, add_agent
from tests.e2e_fixtures import serve

pytestmark = pytest.mark.e2e

OFFER_TIMEOUT = 30.0
ADDRESS = "上海浦东张杨路500号3栋1201室"
PLACED = "上海市浦东新区张杨路500号3栋1201室"


class Clock:
    """The hub's monotonic clock, stepped by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The portal on a free port with one agent (limit 3) and the handoff clock in hand."""
    var = tmp_path_factory.mktemp("console-journey")
    url = f"sqlite:///{var / 'portal.db'}"
    upgrade(url)
    db = Database(url)
    add_agent(db, "wang", max_chats=3)
    add_agent(db, "boss", role="admin")
    db.dispose()
    rasa = TrackingRasa()
    clock = Clock()
    settings = Settings(
        _env_file=None,
        var_dir=var,
        database_url=url,
        secret_key="console-journey",
        bot_service_token=BOT["Authorization"].removeprefix("Bearer "),
        rasa_token=RASA_TOKEN,  # the fake's own, so the health check finds Rasa up
        handoff_tick_s=0.1,  # the clock's rounds run; only the stepped time moves offers on
        handoff_offer_timeout_s=OFFER_TIMEOUT,
        handoff_heartbeat_timeout_s=3600,
        rest_rate_sender_per_min=0,
        rest_rate_ip_per_min=0,
    )
    app = create_app(settings, http_transport=httpx.MockTransport(rasa.handler), clock=clock)
    with serve(app) as base:
        yield {"url": base, "db": url, "clock": clock, "rasa": rasa}


def _conversation(db_url: str, channel: str, sender: str | None = None) -> str:
    db = Database(db_url)
    try:
        with db.session() as session:
            stmt = select(Conversation.public_id).where(Conversation.channel == channel)
            if sender is not None:
                stmt = stmt.where(Conversation.sender_id == sender)
            found = session.scalars(stmt.order_by(Conversation.id.desc())).first()
    finally:
        db.dispose()
    assert found is not None
    return found


def _shot(page: Any, name: str) -> None:
    """With SCREENSHOT_DIR set, the page as it looks now."""
    shots = os.environ.get("SCREENSHOT_DIR")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"{name}.png"))


def _hand_off(base: str, conversation: str) -> None:
    answer = httpx.post(
        f"{base}/api/v1/conversations/{conversation}/handoff",
        json={"reason": "request", "summary": "客户要求人工"},
        headers=BOT,
    )
    assert answer.status_code == 202, answer.text


def test_an_agent_whose_offers_timed_out_takes_answers_edits_and_hands_back(
    portal: dict[str, Any], browser: Any
) -> None:
    base = portal["url"]
    # A supervisor watches (away: no chats are offered to him).
    boss = flow.open_console(browser, base, "boss", PASSWORD)
    boss.locator("[data-testid=status]").select_option("away")
    boss.locator("[data-testid=agent-row] [data-testid=agent-status]").filter(
        has_text="暂离"
    ).wait_for(timeout=flow.TIMEOUT)
    agent = flow.open_console(browser, base, "wang", PASSWORD)

    def queued(conversation: str) -> Any:
        return agent.locator(f'[data-testid=queue-item][data-id="{conversation}"]')

    # Three customers through the REST channel: offered to wang, which fills his limit.
    offered = []
    for n in range(3):
        sender = f"journey-rest-{n}"
        said = httpx.post(
            f"{base}/channels/rest/webhook", json={"sender": sender, "message": "你好"}
        )
        assert said.status_code == 200, said.text
        conversation = _conversation(portal["db"], "rest", sender)
        _hand_off(base, conversation)
        offered.append(conversation)
    for conversation in offered:
        item = queued(conversation)
        item.locator("[data-testid=offered]").wait_for(timeout=flow.TIMEOUT)
    # The supervisor sees who holds them: on the queue, and on wang's row.
    for conversation in offered:
        badge = boss.locator(
            f'[data-testid=queue-item][data-id="{conversation}"] [data-testid=offered-to]'
        )
        badge.filter(has_text="坐席wang").wait_for(timeout=flow.TIMEOUT)
    wang_row = boss.locator("[data-testid=agent-row]").filter(has_text="坐席wang")
    wang_row.locator("[data-testid=agent-offers] a").nth(2).wait_for(timeout=flow.TIMEOUT)
    assert wang_row.locator("[data-testid=agent-load]").inner_text() == "0/3"

    # A customer in the widget waits too: nobody has room to be offered it.
    customer = flow.open_widget(browser, base)
    flow.customer_says(customer, "洗衣机漏水了")
    flow.wait_widget(customer, "bot", "收到：洗衣机漏水了")
    waiting = _conversation(portal["db"], "web")
    _hand_off(base, waiting)
    flow.wait_widget(customer, "system", "正在为您转接人工客服")
    mine = queued(waiting)
    mine.wait_for(timeout=flow.TIMEOUT)
    assert mine.locator("[data-testid=offered]").count() == 0

    # Wang is away from his desk: the offers time out and are withdrawn (not re-offered to
    # him, who let them lapse).
    portal["clock"].advance(OFFER_TIMEOUT + 1)
    for conversation in offered:
        item = queued(conversation)
        item.locator("[data-testid=offered]").wait_for(state="detached", timeout=flow.TIMEOUT)

    # The supervisor sees them gone from wang; the widget customer is his now (room again).
    wang_row.locator(f'[data-testid=agent-offers] a[data-id="{waiting}"]').wait_for(
        timeout=flow.TIMEOUT
    )
    assert wang_row.locator("[data-testid=agent-offers] a").count() == 1
    # Back at his desk he takes the widget customer: offers never counted against his limit.
    mine.locator("[data-testid=queue-accept]").click()
    agent.locator('[data-testid=chat-state][data-state="agent"]').wait_for(timeout=flow.TIMEOUT)
    agent.locator(f'[data-testid=chat-item][data-id="{waiting}"]').wait_for()
    assert agent.locator("[data-testid=chat-error]").is_hidden()
    flow.wait_widget(customer, "system", "为您服务")

    # He answers; the customer gives an address.
    agent.locator("[data-testid=composer]").fill("您好，请问您家的地址是？")
    agent.locator("[data-testid=send]").click()
    flow.wait_widget(customer, "agent", "请问您家的地址是")
    flow.customer_says(customer, f"地址是{ADDRESS}，电话13911112222")
    transcript = agent.locator("[data-testid=transcript]")
    transcript.locator('[data-testid=msg][data-author="customer"]').filter(
        has_text=ADDRESS
    ).wait_for(timeout=flow.TIMEOUT)

    # A ticket from the chat (the form as the agents have it), then its address.
    agent.locator("[data-testid=composer]").fill("好的，我为您登记维修")
    agent.locator("[data-testid=send]").click()
    agent.locator("[data-testid=ticket-panel] summary").click()
    agent.locator("[data-testid=ticket-product]").fill("洗衣机")
    agent.locator("[data-testid=ticket-fault]").fill("洗衣机漏水")
    agent.locator("[data-testid=ticket-phone]").fill("13911112222")
    agent.locator("[data-testid=ticket-submit]").click()
    created = agent.locator("[data-testid=ticket-created]")
    created.wait_for(state="visible", timeout=flow.TIMEOUT)
    number = created.get_attribute("data-number") or ""
    row = agent.locator(f'[data-testid=side-ticket][data-number="{number}"]')
    row.wait_for(timeout=flow.TIMEOUT)
    assert row.locator("[data-testid=side-address]").inner_text() == "—"

    editor = row.locator("[data-testid=visit-edit]")
    editor.locator("summary").click()
    address = editor.locator("[data-testid=visit-address]")
    window = editor.locator("[data-testid=visit-preferred_time]")
    # A slip first: no city, no road. Refused in the console's language, what he typed stays.
    address.fill("张杨路")
    window.fill("明天下午")
    editor.locator("[data-testid=visit-save]").click()
    error = editor.locator("[data-testid=visit-error]")
    error.wait_for(state="visible", timeout=flow.TIMEOUT)
    assert "没能识别出完整地址" in error.inner_text()
    assert "could not be read" not in error.inner_text()
    assert address.get_attribute("aria-invalid") == "true"
    assert address.input_value() == "张杨路" and window.input_value() == "明天下午"
    _shot(agent, "console-visit-refused")
    # Corrected: read into official names and saved, with the window.
    address.fill(ADDRESS)
    editor.locator("[data-testid=visit-save]").click()
    saved = agent.locator(f'[data-testid=side-ticket][data-number="{number}"]')
    saved.locator("[data-testid=side-address]").filter(has_text=PLACED).wait_for(
        timeout=flow.TIMEOUT
    )
    assert "下午" in saved.locator("[data-testid=side-window]").inner_text()
    saved.locator("[data-testid=visit-saved]").wait_for(state="visible")
    note = transcript.locator('[data-testid=note][data-kind="ticket"]').filter(has_text=PLACED)
    note.wait_for()
    # Its head is one line naming the agent (a tester saw it one character per line, and
    # the login name): the notification list's .note rules no longer reach the console.
    head = note.locator(".msg-head span").first
    box = head.bounding_box()
    assert box is not None and box["height"] < 24, box
    assert head.inner_text().endswith(" · 坐席wang"), head.inner_text()
    db = Database(portal["db"])
    try:
        with db.session() as session:
            ticket = session.scalars(select(Ticket).where(Ticket.number == number)).one()
            assert ticket.address == PLACED
            assert (ticket.city, ticket.district) == ("上海市", "浦东新区")
            assert str(ticket.details["preferred_time"]).endswith("13:00-18:00")
    finally:
        db.dispose()

    # The customer writes once more; handing back warns that it is unanswered.
    flow.customer_says(customer, "师傅大概几点到？")
    transcript.locator('[data-testid=msg][data-author="customer"]').filter(
        has_text="师傅大概几点到"
    ).wait_for(timeout=flow.TIMEOUT)
    agent.locator("[data-testid=handback]").click()
    dialog = agent.locator("[data-testid=confirm-dialog]")
    dialog.wait_for(state="visible")
    warning = dialog.locator("[data-testid=confirm-unanswered]")
    assert warning.is_visible()
    # Rasa is up: once the health check has answered, nothing says it is down.
    bot_down = dialog.locator("[data-testid=confirm-bot-down]")
    dialog.locator("[data-testid=confirm-bot-down][data-checked=yes]").wait_for(state="attached")
    assert bot_down.is_hidden()
    assert "师傅大概几点到" in dialog.locator("[data-testid=confirm-quote]").inner_text()
    _shot(agent, "console-handback-warning")
    # Cancel keeps the chat; he answers, and then the warning is gone.
    dialog.locator("[data-testid=confirm-cancel]").click()
    dialog.wait_for(state="hidden")
    assert agent.locator('[data-testid=chat-state][data-state="agent"]').count() == 1
    agent.locator("[data-testid=composer]").fill("师傅会在明天下午 1 点到 6 点之间上门")
    agent.locator("[data-testid=send]").click()
    flow.wait_widget(customer, "agent", "明天下午")
    # Rasa is down now: handing back says the customer will get only its fallback.
    portal["rasa"].up = False
    agent.locator("[data-testid=handback]").click()
    dialog.wait_for(state="visible")
    dialog.locator("[data-testid=confirm-bot-down]").wait_for(state="visible")
    assert warning.is_hidden()
    dialog.locator("[data-testid=confirm-ok]").click()
    agent.locator('[data-testid=chat-state][data-state="bot"]').wait_for(timeout=flow.TIMEOUT)
    portal["rasa"].up = True
    flow.wait_widget(customer, "system", "本次人工服务已结束")

    # The conversation carries on with the bot.
    flow.customer_says(customer, "还有个保修问题")
    flow.wait_widget(customer, "bot", "收到：还有个保修问题")
    # Picked up again after the bot answered: nothing waits for an answer, so handing back
    # warns of nothing (a tester was shown a message the bot had answered as waiting).
    live = agent.locator(f'[data-testid=live-item][data-id="{waiting}"]')
    live.locator("[data-testid=live-pickup]").click(timeout=flow.TIMEOUT)
    agent.locator('[data-testid=chat-state][data-state="agent"]').wait_for(timeout=flow.TIMEOUT)
    transcript.locator('[data-testid=msg][data-author="bot"]').filter(
        has_text="还有个保修问题"
    ).wait_for(timeout=flow.TIMEOUT)
    # Rasa is down now: handing back says the customer will get only its fallback.
    portal["rasa"].up = False
    agent.locator("[data-testid=handback]").click()
    dialog.wait_for(state="visible")
    dialog.locator("[data-testid=confirm-bot-down]").wait_for(state="visible")
    assert warning.is_hidden()
    dialog.locator("[data-testid=confirm-ok]").click()
    agent.locator('[data-testid=chat-state][data-state="bot"]').wait_for(timeout=flow.TIMEOUT)
    portal["rasa"].up = True
    assert _conversation(portal["db"], "web") == waiting
    flow.only_local_requests(agent, base)
