"""Who sees a customer's full phone number (issue 18, finding 10): each role through the JSON
API and the pages, against the table in portal/privacy/masking.py and docs/security.md."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.accounts.models import User
from portal.config import Settings
from portal.conversations.models import Conversation, Message
from portal.database import Database
from portal.tickets import lifecycle
from portal.tickets.models import Ticket
from tests.field.support import log_in
from tests.portal import factories as f

PHONE = "13812348000"
MASKED = "138****8000"
OTHER_PHONE = "13912347777"
OTHER_MASKED = "139****7777"
DONE = ("accept", "dispatch", "engineer_accept", "depart", "arrive", "complete")


@dataclass
class World:
    headers: dict[str, dict[str, str]]
    users: dict[str, str]  # role -> username for the pages
    new: str
    open: str
    done: str
    held: str
    customer_id: int
    other_customer_id: int


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    with db.session() as s:
        net = f.network(s)
        eng = f.engineer(s, network=net)
        customer = f.customer(s, phone_=PHONE, name="王女士")
        new = f.ticket(s, customer=customer)
        open_ = f.ticket(s, customer=customer, actions=("accept", "dispatch"), engineer=eng)
        done = f.ticket(s, customer=customer, actions=DONE, engineer=eng)
        other = f.customer(s, phone_=OTHER_PHONE, name="陈先生")
        held = f.ticket(s, customer=other, actions=("accept",))
        users = {
            role: f.user(s, role=role, network=net if role == "network_manager" else None)
            for role in ("admin", "agent", "dispatcher", "network_manager", "finance")
        }
        holder = f.user(s, role="agent")
        worker = f.user(s, role="agent")
        # The worker acted on the open ticket (an urge taken on the phone with the customer).
        lifecycle.apply(s, ticket=open_, action="urge", actor=f"user:{worker.id}")
        # The holder is chatting with the other customer right now.
        f.conversation(s, customer_id=other.id, agent_id=holder.id, state="agent")
        eng_user = s.get_one(User, eng.user_id)
        headers = {role: f.bearer(settings, u) for role, u in users.items()}
        headers["holder"] = f.bearer(settings, holder)
        headers["worker"] = f.bearer(settings, worker)
        headers["engineer"] = f.bearer(settings, eng_user)
        headers["customer"] = f.bearer(settings, customer)
        headers["bot"] = f.bearer(settings, "bot")
        names = {role: u.username for role, u in users.items()}
        names["engineer"] = eng_user.username
        return World(
            headers=headers,
            users=names,
            new=new.number,
            open=open_.number,
            done=done.number,
            held=held.number,
            customer_id=customer.id,
            other_customer_id=other.id,
        )


def _phone(client: TestClient, world: World, who: str, number: str) -> str | None:
    response = client.get(f"/api/v1/tickets/{number}", headers=world.headers[who])
    if response.status_code != 200:
        return None
    phone: str = response.json()["phone"]
    return phone


# (who, ticket, what they see): full, masked, or None (not theirs to see at all)
CASES = [
    ("admin", "new", PHONE),
    ("admin", "done", PHONE),
    ("agent", "new", PHONE),  # the desk's intake queue: confirming it means calling
    ("agent", "open", MASKED),  # someone else's work
    ("agent", "done", MASKED),
    ("worker", "open", PHONE),  # they work it
    ("holder", "held", OTHER_PHONE),  # they hold the customer's chat
    ("holder", "open", MASKED),
    ("dispatcher", "open", PHONE),
    ("dispatcher", "done", MASKED),  # after completion no one arranges a visit
    ("network_manager", "open", MASKED),
    ("network_manager", "done", MASKED),
    ("finance", "new", MASKED),
    ("finance", "done", MASKED),
    ("engineer", "open", PHONE),  # their own open job
    ("engineer", "done", MASKED),  # until completion only
    ("customer", "done", PHONE),  # their own number
]


def test_each_role_sees_the_number_only_when_its_work_needs_it(
    client: TestClient, world: World
) -> None:
    numbers = {"new": world.new, "open": world.open, "done": world.done, "held": world.held}
    seen = {(who, which): _phone(client, world, who, numbers[which]) for who, which, _ in CASES}
    assert seen == {(who, which): expected for who, which, expected in CASES}


def test_lists_mask_for_roles_that_do_not_need_the_number(client: TestClient, world: World) -> None:
    for who in ("finance", "network_manager"):
        listed = client.get("/api/v1/tickets?page_size=50", headers=world.headers[who])
        assert listed.status_code == 200, listed.text
        phones = {t["phone"] for t in listed.json()["items"]}
        assert phones and phones <= {MASKED, OTHER_MASKED}, (who, phones)


def test_customer_records_mask_unless_the_caller_works_with_the_customer(
    client: TestClient, world: World
) -> None:
    def record(who: str, customer_id: int) -> dict[str, object]:
        response = client.get(f"/api/v1/customers/{customer_id}", headers=world.headers[who])
        assert response.status_code == 200, response.text
        body: dict[str, object] = response.json()
        return body

    assert record("admin", world.customer_id)["phone"] == PHONE
    held = record("holder", world.other_customer_id)
    assert held["phone"] == OTHER_PHONE and held["phones"] == [OTHER_PHONE]
    # An agent with no chat or work with this customer: a new ticket is on the desk's queue,
    # so the desk may call; the other customer has none and nobody else's chat.
    assert record("worker", world.other_customer_id)["phone"] == OTHER_MASKED
    assert record("customer", world.customer_id)["phone"] == PHONE


def test_the_end_of_a_chat_ends_the_agents_view(
    client: TestClient, world: World, db: Database
) -> None:
    assert _phone(client, world, "holder", world.held) == OTHER_PHONE
    with db.session() as s:
        for conversation in s.scalars(select(Conversation)):
            conversation.state = "closed"
    assert _phone(client, world, "holder", world.held) == OTHER_MASKED


def test_staff_pages_print_the_number_as_the_role_allows(client: TestClient, world: World) -> None:
    log_in(client, world.users["finance"], "/tickets")
    page = client.get("/tickets")
    assert page.status_code == 200
    assert MASKED in page.text and PHONE not in page.text
    detail = client.get(f"/tickets/{world.done}")
    assert detail.status_code == 200
    assert MASKED in detail.text and PHONE not in detail.text


def test_admin_pages_print_the_full_number(client: TestClient, world: World) -> None:
    log_in(client, world.users["admin"], "/tickets")
    assert PHONE in client.get(f"/tickets/{world.done}").text
    assert PHONE in client.get(f"/customers/{world.customer_id}").text


def test_the_engineer_calls_only_until_completion(
    client: TestClient, world: World, db: Database
) -> None:
    log_in(client, world.users["engineer"], "/field")
    job = client.get(f"/field/jobs/{world.open}")
    assert job.status_code == 200
    assert f'href="tel:{PHONE}"' in job.text
    today = client.get("/field")
    assert f'href="tel:{PHONE}"' in today.text

    finished = client.get(f"/field/jobs/{world.done}")
    assert finished.status_code == 200
    assert PHONE not in finished.text and "tel:" not in finished.text
    assert MASKED in finished.text

    # The open job completed: from then on its number is hidden as well.
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == world.open)).one()
        for action in ("engineer_accept", "depart", "arrive", "complete"):
            lifecycle.apply(s, ticket=ticket, action=action, actor="system:test")
    again = client.get(f"/field/jobs/{world.open}")
    assert PHONE not in again.text and "tel:" not in again.text


def test_a_transcript_shows_numbers_only_to_the_agent_holding_the_chat(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        customer = f.customer(s, phone_=PHONE)
        holder, watcher = f.user(s, role="agent"), f.user(s, role="agent")
        chat = f.conversation(s, customer_id=customer.id, agent_id=holder.id, state="agent")
        s.add(
            Message(
                conversation_id=chat.id,
                direction="in",
                author="customer",
                text=f"我的电话是{PHONE}",
            )
        )
        headers = {"holder": f.bearer(settings, holder), "watcher": f.bearer(settings, watcher)}
        public_id = chat.public_id

    def texts(who: str) -> list[str]:
        response = client.get(f"/api/v1/console/conversations/{public_id}", headers=headers[who])
        assert response.status_code == 200, response.text
        return [m["text"] for m in response.json()["messages"]]

    assert texts("holder") == [f"我的电话是{PHONE}"]
    assert texts("watcher") == [f"我的电话是{MASKED}"]


def test_numbers_typed_into_a_ticket_follow_the_same_rule(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        net = f.network(s)
        eng = f.engineer(s, network=net)
        customer = f.customer(s, phone_=PHONE)
        ticket = f.ticket(
            s,
            customer=customer,
            actions=DONE,
            engineer=eng,
            fault_description=f"不加热，回电{PHONE}",
        )
        f.comment(s, ticket=ticket, body=f"客户说打{PHONE}找她")
        finance, admin = f.user(s, role="finance"), f.user(s, role="admin")
        eng_user = s.get_one(User, eng.user_id)
        number = ticket.number
        headers = {"finance": f.bearer(settings, finance), "admin": f.bearer(settings, admin)}

    def seen(who: str) -> tuple[str, list[str]]:
        one = client.get(f"/api/v1/tickets/{number}", headers=headers[who]).json()
        notes = client.get(f"/api/v1/tickets/{number}/comments", headers=headers[who]).json()
        return one["fault_description"], [n["body"] for n in notes]

    assert seen("admin") == (f"不加热，回电{PHONE}", [f"客户说打{PHONE}找她"])
    assert seen("finance") == (f"不加热，回电{MASKED}", [f"客户说打{MASKED}找她"])

    log_in(client, finance.username, "/tickets")
    page = client.get(f"/tickets/{number}")
    assert page.status_code == 200
    assert PHONE not in page.text and f"回电{MASKED}" in page.text
    assert PHONE not in client.get("/tickets").text

    engineer = TestClient(client.app)
    log_in(engineer, eng_user.username, "/field")
    job = engineer.get(f"/field/jobs/{number}")  # completed: the number is hidden everywhere
    assert job.status_code == 200 and PHONE not in job.text
