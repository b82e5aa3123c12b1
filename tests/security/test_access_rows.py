"""Rows outside a caller's scope are 404, as rows that do not exist, on every route that
takes such an id (issue 17: "foreign rows are 404 everywhere"), generated from the routes.

A network manager and an engineer of network N1 and customer C1 call every route their
policy lets them call, once with the ids of N2's / C2's rows (a ticket, an engineer, a
network, a customer, an asset) and once with ids that name nothing: the two answers must be
the same (status and, for JSON, body). Both databases: these are the scope queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.accounts.models import User
from portal.assets.models import Asset
from portal.config import Settings
from portal.database import Database
from portal.ids import MAX_ID
from tests.portal import factories as f
from tests.security.routes import RouteInfo, routes
from tests.security.test_access_generated import MISSING_REF, TOKEN, allowed_roles

# The ids a route can carry that name a row with an owner, and how a caller's own/foreign
# row is found in the world below.
ROW_PARAMS = {"ref", "number", "engineer_id", "network_id", "customer_id", "asset_id"}
CALLERS = ("network_manager", "engineer", "customer")


@dataclass
class World:
    """Two networks' rows; a caller of each restricted kind in N1 (customer C1)."""

    foreign: dict[str, str]  # param name -> a value naming someone else's row
    headers: dict[str, dict[str, str]]
    pages: dict[str, TestClient]
    csrf: dict[str, str]


@pytest.fixture
def world(client: TestClient, db: Database, settings: Settings) -> Iterator[World]:
    """Network N1 (the callers') and N2, a ticket each, customers C1 (calling) and C2."""
    app = client.app
    with db.session() as s:
        n1, n2 = f.network(s), f.network(s, city="北京")
        e1, e2 = f.engineer(s, network=n1), f.engineer(s, network=n2)
        c1, c2 = f.customer(s), f.customer(s)
        a2 = s.scalars(select(Asset).where(Asset.customer_id == c2.id)).one()
        moved = ("accept", "dispatch")
        f.ticket(s, customer=c1, actions=moved, engineer=e1)
        theirs = f.ticket(s, customer=c2, actions=moved, engineer=e2)
        manager = f.user(s, role="network_manager", network=n1)
        engineer = s.get_one(User, e1.user_id)
        headers = {
            "network_manager": f.bearer(settings, manager),
            "engineer": f.bearer(settings, engineer),
            "customer": f.bearer(settings, c1),
        }
        foreign = {
            "ref": theirs.number,
            "number": theirs.number,
            "engineer_id": str(e2.id),
            "network_id": str(n2.id),
            "customer_id": str(c2.id),
            "asset_id": str(a2.id),
        }
        names = {"network_manager": manager.username, "engineer": engineer.username}
    pages: dict[str, TestClient] = {}
    csrf: dict[str, str] = {}
    for role, name in names.items():
        page = TestClient(app, raise_server_exceptions=False)
        page.post("/login", data={"username": name, "password": f.PASSWORD})
        token = TOKEN.search(page.get("/tickets").text)
        assert token is not None, role
        pages[role], csrf[role] = page, token.group(1)
    yield World(foreign=foreign, headers=headers, pages=pages, csrf=csrf)
    for page in pages.values():
        page.close()


def _row_params(route: RouteInfo) -> list[str]:
    """The route's owned-row ids (path, and required query ones)."""
    names = [p.name for p in route.dependant.path_params if p.name in ROW_PARAMS]
    names += [
        p.name
        for d in route.dependants()
        for p in d.query_params
        if p.name in ROW_PARAMS and p.field_info.is_required()
    ]
    return names


def _url(route: RouteInfo, values: dict[str, str]) -> str:
    path, query = route.path, []
    for param in route.dependant.path_params:
        if param.name in values:
            path = path.replace("{" + param.name + "}", values[param.name])
        else:
            path = path.replace("{" + param.name + "}", "1")
    for d in route.dependants():
        for p in d.query_params:
            if p.name in values and "{" + p.name + "}" not in route.path:
                query.append(f"{p.name}={values[p.name]}")
            elif p.name == "date" and p.field_info.is_required():
                query.append("date=2026-12-07")
    return path + ("?" + "&".join(query) if query else "")


def _answer(route: RouteInfo, world: World, caller: str, url: str) -> tuple[int, str]:
    if route.in_schema:
        client = next(iter(world.pages.values()))
        response = client.request(
            route.method, url, headers=world.headers[caller], follow_redirects=False
        )
        is_json = response.headers.get("content-type", "").startswith("application/json")
        return response.status_code, response.text if is_json else ""
    page = world.pages[caller]
    response = page.request(
        route.method, url, headers={"X-CSRF-Token": world.csrf[caller]}, follow_redirects=False
    )
    # Pages: the same error page for both (its text names no row; the status says which).
    return response.status_code, ""


def test_someone_else_s_rows_answer_as_missing_ones(app: FastAPI, world: World) -> None:
    checked = 0
    differ: list[str] = []
    for route in routes(app):
        allowed = allowed_roles(route)
        names = _row_params(route)
        if allowed is None or not names:
            continue
        missing = {n: (MISSING_REF if n in ("ref", "number") else str(MAX_ID)) for n in names}
        foreign = {n: world.foreign[n] for n in names}
        every_row = set.intersection(*({r.value for r in p.sees_all} for p in route.policies()))
        for caller in CALLERS:
            if caller not in allowed or (caller == "customer" and not route.in_schema):
                continue
            if caller in every_row:
                continue  # the policy lets this caller see every row (e.g. assets, for the field)
            theirs = _answer(route, world, caller, _url(route, foreign))
            none = _answer(route, world, caller, _url(route, missing))
            checked += 1
            if theirs != none or theirs[0] == 403:
                differ.append(f"{route.label} as {caller}: {theirs[0]} (missing: {none[0]})")
    assert checked > 40
    assert not differ, "\n".join(differ)


@pytest.fixture
def app(client: TestClient) -> FastAPI:
    """The app under test."""
    assert isinstance(client.app, FastAPI)
    return client.app
