"""Who may read and change what, role by role, endpoint by endpoint.

A caller who may not see a record must not learn that it exists: the answer on someone
else's ticket, customer or asset is exactly the answer on one that does not exist (404, or
the role's 403 where the route refuses the role outright), and nothing changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.assets.models import Asset
from portal.config import Settings
from portal.customers.models import Customer
from portal.database import Database
from portal.tickets.models import Ticket, TicketAttachment, TicketComment, TicketEvent
from tests.portal import factories as f

ROLES = ("adm", "agt", "dsp", "fin", "bot", "eng", "nm", "cus", "ke")
ROLE_NAMES = {
    "adm": "admin",
    "agt": "agent",
    "dsp": "dispatcher",
    "fin": "finance",
    "bot": "bot",
    "eng": "engineer",
    "nm": "network_manager",
    "cus": "customer",
    "ke": "knowledge_editor",
}


def _table(text: str) -> dict[str, dict[str, str]]:
    lines = [line.split() for line in text.strip().splitlines()]
    header, rows = lines[0][1:], lines[1:]
    out = {}
    for row in rows:
        cells = row[-len(header) :]
        out[" ".join(row[: -len(header)])] = dict(zip(header, cells, strict=True))
    return out


# Which records each caller may see ("all": every one). Tickets: "own" is customer C1's,
# dispatched to the calling engineer in network N1 (the calling manager's); "colleague" is
# C2's, dispatched to another engineer of N1; "foreign" is C2's, in network N2. Customers and
# assets: "own" is C1 (the calling customer) and C1's unit, "other" is C2 and C2's unit.
SEES = _table(
    """
    kind       adm  agt  dsp  fin  bot  eng  nm             cus  ke
    tickets    all  all  all  all  -    own  own,colleague  own  -
    customers  all  all  all  -    -    -    -              own  -
    assets     all  all  all  -    -    all  all            own  -
    """
)
ALL = {"tickets": "own,colleague,foreign", "customers": "own,other", "assets": "own,other"}


def _sees(kind: str, role: str) -> list[str]:
    cell = SEES[kind][role]
    return (ALL[kind] if cell == "all" else cell).split(",")


# "seen/unseen": the answer on a record the caller may see / on one they may not see, which
# must also be the answer on one that does not exist. "-": the caller sees no such record.
TICKET_ROUTES = _table(
    """
    route                      adm     agt     dsp     fin     bot     eng     nm      cus     ke
    GET   {t}                  200/404 200/404 200/404 200/404 -/403   200/404 200/404 200/404 -/403
    PATCH {t}                  200/404 200/404 200/404 403/403 -/403   403/403 403/403 403/403 -/403
    POST  {t}/transitions      200/404 200/404 200/404 403/404 -/403   403/404 403/404 200/404 -/403
    GET   {t}/stages           200/404 200/404 200/404 200/404 -/403   200/404 200/404 403/403 -/403
    GET   {t}/timeline         200/404 200/404 200/404 200/404 -/403   200/404 200/404 200/404 -/403
    GET   {t}/comments         200/404 200/404 200/404 200/404 -/403   200/404 200/404 200/404 -/403
    POST  {t}/comments         201/404 201/404 201/404 201/404 -/403   201/404 201/404 201/404 -/403
    GET   {t}/attachments      200/404 200/404 200/404 200/404 -/403   200/404 200/404 200/404 -/403
    POST  {t}/attachments      201/404 201/404 201/404 201/404 -/403   201/404 201/404 201/404 -/403
    GET   {t}/attachments/{a}  200/404 200/404 200/404 200/404 -/403   200/404 200/404 200/404 -/403
    """
)

OTHER_ROUTES = _table(
    """
    route                     adm     agt     dsp     fin     bot     eng     nm      cus     ke
    GET /customers/{c}        200/404 200/404 200/404 -/403   -/403   -/403   -/403   200/404 -/403
    PATCH /customers/{c}      200/404 200/404 200/404 -/403   -/403   -/403   -/403   403/403 -/403
    GET /assets/{a}           200/404 200/404 200/404 -/403   -/403   200/404 200/404 200/404 -/403
    GET /assets/{a}/history   200/404 200/404 200/404 -/403   -/403   200/404 200/404 200/404 -/403
    """
)

MISSING_TICKET = "SR19990101-9999"
MISSING_ID = 2_000_000_000

# What each writing route sends; the transition is a harmless marker (催单).
BODIES: dict[str, dict[str, Any]] = {
    "PATCH {t}": {"json": {"district": "黄浦区"}},
    "POST {t}/transitions": {"json": {"action": "urge"}},
    "POST {t}/comments": {"json": {"body": "请尽快上门", "internal": False}},
    "POST {t}/attachments": {"files": {"file": ("photo.png", f.PNG, "image/png")}},
    "PATCH /customers/{c}": {"json": {"name": "改过的名字"}},
}


@dataclass
class World:
    """Two networks, three engineers, two customers, three tickets, and a caller per role."""

    headers: dict[str, dict[str, str]]
    tickets: dict[str, str]  # own / colleague / foreign -> number
    ticket_ids: dict[str, int]
    attachments: dict[str, int]  # the same keys -> an attachment of that ticket
    customers: dict[str, int]  # own / other
    assets: dict[str, int]
    engineers: dict[str, int]  # own / colleague / foreign
    networks: dict[str, int]  # own / foreign


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    """The records and callers every access test uses."""
    with db.session() as s:
        n1, n2 = f.network(s), f.network(s, city="北京")
        e1, e1b, e2 = (
            f.engineer(s, network=n1),
            f.engineer(s, network=n1),
            f.engineer(s, network=n2),
        )
        c1, c2 = f.customer(s), f.customer(s)
        a1 = s.scalars(select(Asset).where(Asset.customer_id == c1.id)).one()
        a2 = s.scalars(select(Asset).where(Asset.customer_id == c2.id)).one()
        moved = ("accept", "dispatch")
        tickets = {
            "own": f.ticket(
                s, customer=c1, actions=moved, engineer=e1, serial_number=a1.serial_number
            ),
            "colleague": f.ticket(
                s, customer=c2, actions=moved, engineer=e1b, serial_number=a2.serial_number
            ),
            "foreign": f.ticket(
                s, customer=c2, actions=moved, engineer=e2, serial_number=a2.serial_number
            ),
        }
        attachments = {
            k: f.attachment(s, ticket=t, root=settings.uploads_path).id for k, t in tickets.items()
        }
        users = {
            role: f.user(s, role=ROLE_NAMES[role], network=n1 if role == "nm" else None)
            for role in ("adm", "agt", "dsp", "fin", "nm", "ke")
        }
        headers = {role: f.bearer(settings, u) for role, u in users.items()}
        headers["bot"] = f.bearer(settings, "bot")
        headers["eng"] = f.bearer(settings, s.get_one(User, e1.user_id))
        headers["cus"] = f.bearer(settings, c1)
        return World(
            headers=headers,
            tickets={k: t.number for k, t in tickets.items()},
            ticket_ids={k: t.id for k, t in tickets.items()},
            attachments=attachments,
            customers={"own": c1.id, "other": c2.id},
            assets={"own": a1.id, "other": a2.id},
            engineers={"own": e1.id, "colleague": e1b.id, "foreign": e2.id},
            networks={"own": n1.id, "foreign": n2.id},
        )


def _snapshot(db: Database) -> tuple[Any, ...]:
    """Everything a refused request must leave as it was."""
    with db.session() as s:
        tickets = s.execute(
            select(
                Ticket.id, Ticket.status, Ticket.district, Ticket.updated_at, Ticket.escalated
            ).order_by(Ticket.id)
        ).all()
        customers = s.execute(select(Customer.id, Customer.name).order_by(Customer.id)).all()
        counts = [
            s.scalar(select(func.count()).select_from(model))
            for model in (TicketEvent, TicketComment, TicketAttachment)
        ]
        return (tuple(tickets), tuple(customers), tuple(counts))


def _expected(cell: str, *, seen: bool) -> str:
    seen_code, unseen_code = cell.split("/")
    return seen_code if seen else unseen_code


def _call(client: TestClient, route: str, path: str, headers: dict[str, str]) -> Any:
    method = route.split()[0]
    return client.request(method, "/api/v1" + path, headers=headers, **BODIES.get(route, {}))


def _ticket_path(route: str, ref: str, attachment_id: int) -> str:
    template = route.split()[1]
    return "/tickets/" + template.replace("{t}", ref).replace("{a}", str(attachment_id))


@pytest.mark.parametrize("route", list(TICKET_ROUTES))
def test_ticket_routes(route: str, client: TestClient, db: Database, world: World) -> None:
    observed: dict[str, dict[str, str]] = {}
    expected: dict[str, dict[str, str]] = {}
    for role in ROLES:
        visible = _sees("tickets", role)
        missing = _call(
            client,
            route,
            _ticket_path(route, MISSING_TICKET, world.attachments["own"]),
            world.headers[role],
        )
        for which, ref in world.tickets.items():
            before = _snapshot(db)
            response = _call(
                client,
                route,
                _ticket_path(route, ref, world.attachments[which]),
                world.headers[role],
            )
            seen = which in visible
            observed[f"{role} {which}"] = {"status": str(response.status_code)}
            expected[f"{role} {which}"] = {
                "status": _expected(TICKET_ROUTES[route][role], seen=seen)
            }
            if not seen:
                # Indistinguishable from a ticket that does not exist, and nothing changed.
                assert response.json() == missing.json(), (role, which)
                assert _snapshot(db) == before, (role, which)
            elif response.status_code >= 400:
                assert _snapshot(db) == before, (role, which)
        observed[f"{role} missing"] = {"status": str(missing.status_code)}
        expected[f"{role} missing"] = {"status": _expected(TICKET_ROUTES[route][role], seen=False)}
    assert observed == expected


@pytest.mark.parametrize("route", list(OTHER_ROUTES))
def test_customer_and_asset_routes(
    route: str, client: TestClient, db: Database, world: World
) -> None:
    kind, ids = ("customers", world.customers) if "{c}" in route else ("assets", world.assets)
    observed: dict[str, str] = {}
    expected: dict[str, str] = {}
    for role in ROLES:
        visible = _sees(kind, role)
        template = route.split()[1]
        missing = _call(
            client, route, template.format(c=MISSING_ID, a=MISSING_ID), world.headers[role]
        )
        for which, record_id in ids.items():
            before = _snapshot(db)
            response = _call(
                client, route, template.format(c=record_id, a=record_id), world.headers[role]
            )
            seen = which in visible
            observed[f"{role} {which}"] = str(response.status_code)
            expected[f"{role} {which}"] = _expected(OTHER_ROUTES[route][role], seen=seen)
            if not seen:
                assert response.json() == missing.json(), (role, which)
            if response.status_code >= 400:
                assert _snapshot(db) == before, (role, which)
        observed[f"{role} missing"] = str(missing.status_code)
        expected[f"{role} missing"] = _expected(OTHER_ROUTES[route][role], seen=False)
    assert observed == expected


def test_a_customer_cannot_reach_another_ticket_s_file_through_their_own(
    client: TestClient, world: World
) -> None:
    own, foreign = world.tickets["own"], world.attachments["foreign"]
    response = client.get(
        f"/api/v1/tickets/{own}/attachments/{foreign}", headers=world.headers["cus"]
    )
    assert response.status_code == 404
    assert response.json()["message_en"] == "Attachment not found"


# ---------------------------------------------------------------- lists


@pytest.mark.parametrize("role", ROLES)
def test_ticket_list_shows_only_visible_tickets(
    role: str, client: TestClient, world: World
) -> None:
    expected = {world.tickets[w] for w in _sees("tickets", role) if w != "-"}
    # Filters can narrow what a caller sees, never widen it.
    attempts = [
        {},
        {"customer_id": world.customers["other"]},
        {"network_id": world.networks["foreign"]},
        {"engineer_id": world.engineers["foreign"]},
        {"engineer_id": world.engineers["colleague"]},
        {"page_size": 200},
    ]
    for params in attempts:
        response = client.get("/api/v1/tickets", params=params, headers=world.headers[role])
        if role in ("ke", "bot"):  # neither reads the ticket list
            assert response.status_code == 403
            continue
        assert response.status_code == 200, response.text
        page = response.json()
        numbers = {t["number"] for t in page["items"]}
        assert numbers <= expected, (params, numbers - expected)
        assert page["total"] == len(numbers)
        if not params or params == {"page_size": 200}:
            assert numbers == expected


@pytest.mark.parametrize("role", ROLES)
def test_asset_history_lists_only_visible_tickets(
    role: str, client: TestClient, world: World
) -> None:
    visible = {world.tickets[w] for w in _sees("tickets", role) if w != "-"}
    for which in _sees("assets", role):
        if which == "-":
            continue
        response = client.get(
            f"/api/v1/assets/{world.assets[which]}/history", headers=world.headers[role]
        )
        assert response.status_code == 200
        numbers = {t["number"] for t in response.json()["items"]}
        on_asset = {"own": {"own"}, "other": {"colleague", "foreign"}}[which]
        assert numbers == visible & {world.tickets[w] for w in on_asset}, (which, numbers)
        assert response.json()["total"] == len(numbers)


LIST_ROUTES = _table(
    """
    route                adm  agt  dsp  fin  bot  eng  nm   cus  ke
    GET   /customers     2    2    2    403  403  403  403  403  403
    GET   /assets        2    2    2    403  403  2    2    1    403
    GET   /networks      2    2    2    2    403  403  1    403  403
    GET   /engineers     3    3    3    3    403  403  2    403  403
    GET   /audit         ok   403  403  403  403  403  403  403  403
    """
)


@pytest.mark.parametrize("route", list(LIST_ROUTES))
def test_other_lists(route: str, client: TestClient, world: World) -> None:
    """Each cell: how many rows come back, or the refusal ("ok": any number)."""
    observed, expected = {}, {}
    for role in ROLES:
        response = client.get("/api/v1" + route.split()[1], headers=world.headers[role])
        cell = LIST_ROUTES[route][role]
        expected[role] = cell
        if response.status_code != 200:
            observed[role] = str(response.status_code)
            continue
        body = response.json()
        rows = body["items"] if isinstance(body, dict) else body
        observed[role] = "ok" if cell == "ok" else str(len(rows))
    assert observed == expected


def test_a_customer_lists_only_their_own_assets_whatever_they_ask(
    client: TestClient, world: World
) -> None:
    for params in ({}, {"customer_id": world.customers["other"]}):
        response = client.get("/api/v1/assets", params=params, headers=world.headers["cus"])
        assert [a["id"] for a in response.json()] == [world.assets["own"]]


def test_a_network_manager_sees_only_their_network(client: TestClient, world: World) -> None:
    headers = world.headers["nm"]
    networks = client.get("/api/v1/networks", headers=headers).json()
    assert [n["id"] for n in networks] == [world.networks["own"]]
    foreign = client.get(
        "/api/v1/engineers", params={"network_id": world.networks["foreign"]}, headers=headers
    ).json()
    assert {e["id"] for e in foreign} == {world.engineers["own"], world.engineers["colleague"]}


# ---------------------------------------------------------------- anonymous and bad tokens

# The routes portal/api.py lists as public (everything else under /api/v1 needs a caller).
PUBLIC = {
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/customer-auth/code"),
    ("POST", "/api/v1/customer-auth/verify"),
    ("GET", "/api/v1/ticket-templates"),
}


def _api_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every JSON route under /api/v1, as the app's OpenAPI document lists them."""
    paths = client.get("/openapi.json").json()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        if path.startswith("/api/v1")
        for method in operations
    ]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
    ],
    ids=["none", "forged", "basic"],
)
def test_anonymous_gets_401_everywhere_but_the_public_routes(
    headers: dict[str, str], client: TestClient, world: World, db: Database
) -> None:
    routes = _api_routes(client)
    assert len(routes) > 20 and set(routes) >= PUBLIC
    before = _snapshot(db)
    observed = {}
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        response = client.request(method, _concrete(path), headers=headers)
        observed[f"{method} {path}"] = response.status_code
        if response.status_code == 401:
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["message_zh"] == "请先登录"
    assert observed == dict.fromkeys(observed, 401)
    assert _snapshot(db) == before
    assert client.get("/api/v1/ticket-templates").status_code == 200


def test_tokens_of_gone_callers_stop_working(
    client: TestClient, db: Database, settings: Settings, world: World
) -> None:
    with db.session() as s:
        ghost = f.user(s, role="admin")
        ghost_headers = f.bearer(settings, ghost)
        leaving = f.customer(s, with_asset=False)
        customer_headers = f.bearer(settings, leaving)
    assert client.get("/api/v1/tickets", headers=ghost_headers).status_code == 200
    assert client.get("/api/v1/tickets", headers=customer_headers).status_code == 200
    with db.session() as s:
        s.get_one(User, ghost.id).is_active = False
        s.delete(s.get_one(Customer, leaving.id).addresses[0])
        s.delete(s.get_one(Customer, leaving.id))
    assert client.get("/api/v1/tickets", headers=ghost_headers).status_code == 401
    assert client.get("/api/v1/tickets", headers=customer_headers).status_code == 401
    # A token signed with another key is worth nothing.
    other = settings.model_copy(update={"secret_key": "someone-else"})
    with db.session() as s:
        admin = s.scalars(select(User).where(User.role == "admin", User.is_active)).first()
        assert admin is not None
        assert client.get("/api/v1/tickets", headers=f.bearer(other, admin)).status_code == 401
