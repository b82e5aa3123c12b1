"""The pages' forms and query strings, fuzzed (issue 18: "schemathesis … over the page routes'
forms: 0 5xx"). Schemathesis reads /openapi.json, which the pages are not in, so the fields
each page route declares are read from the app itself and filled by Hypothesis: text of any
kind, numbers past every column, dates that do not exist, files that are not images. Every
page is called as a caller its policy lets in, with the session's CSRF token; nothing may
answer 5xx.

Bounded in `make test` (five cases per route, derandomised, SQLite: about a minute). The larger
budget, on both databases, is the same test with two settings:

    PAGE_FUZZ_EXAMPLES=50 PAGE_FUZZ_DATABASES=sqlite,postgresql \
        .venv/bin/python -m pytest tests/security/test_page_forms_fuzz.py
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.config import Settings
from portal.database import Database
from portal.ids import MAX_ID
from tests.portal import factories as f
from tests.security.routes import RouteInfo, routes
from tests.security.test_access_generated import (  # noqa: F401 (fixtures)
    SELF_SERVICE,
    Callers,
    allowed_roles,
    app,
    callers,
)
from tests.selfservice.support import csrf, sign_in

EXAMPLES = int(os.environ.get("PAGE_FUZZ_EXAMPLES", "5"))
DATABASES = os.environ.get("PAGE_FUZZ_DATABASES", "sqlite").split(",")
# Values people (and attackers) type that random text rarely reaches.
ODD = [
    "",
    " ",
    "0",
    "-1",
    "1",
    "2",
    str(MAX_ID),
    str(2**63),
    "9" * 5000,
    "1e309",
    "NaN",
    "-0.0",
    "2026-02-30",
    "2026-13-45T25:61",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../etc/passwd",
    "上海市浦东新区张江路88号",
    "\u0000",
    "١٢",
    "²",
    "SR20260101-0001",
]
VALUE = st.one_of(st.sampled_from(ODD), st.text(max_size=60), st.integers().map(str))
FILE = st.tuples(
    st.sampled_from(["a.jpg", "b.png", "c.txt", "../x.jpg", "", "很长" * 100 + ".jpg"]),
    st.binary(max_size=256),
    st.sampled_from(["image/jpeg", "image/png", "text/plain", "application/octet-stream"]),
)


def _fields(route: RouteInfo) -> list[tuple[str, bool, bool]]:
    """The route's form fields: (name, is a list, is a file)."""
    out = []
    for dependant in route.dependants():
        for param in dependant.body_params:
            annotation = str(param.field_info.annotation)
            out.append((param.alias, "list" in annotation, "UploadFile" in annotation))
    return out


def _queries(route: RouteInfo) -> list[str]:
    return [p.alias for d in route.dependants() for p in d.query_params]


def _path(route: RouteInfo, draw: Any) -> str:
    path = route.path
    for param in route.dependant.path_params:
        value = draw(st.one_of(st.sampled_from(["1", "2", "3", str(MAX_ID)]), VALUE))
        value = quote(value, safe="") or "x"  # as a browser would send it
        path = path.replace("{" + param.name + "}", value)
    return path


@st.composite
def requests(draw: Any, route: RouteInfo) -> dict[str, Any]:
    """One request to `route`: its path, query and form filled from the strategies."""
    data: dict[str, Any] = {}
    files: list[tuple[str, Any]] = []
    for name, is_list, is_file in _fields(route):
        if draw(st.booleans()) and draw(st.booleans()):
            continue  # a field left out, as a hand-made form would
        if is_file:
            files += [(name, f) for f in draw(st.lists(FILE, max_size=2))]
        elif is_list:
            data[name] = draw(st.lists(VALUE, max_size=3))
        else:
            data[name] = draw(VALUE)
    # A field the page does not declare (pages that read the form themselves read these).
    data[draw(st.text(min_size=1, max_size=12))] = draw(VALUE)
    query = {name: draw(VALUE) for name in _queries(route) if draw(st.booleans())}
    return {"path": _path(route, draw), "data": data, "files": files, "params": query}


@pytest.fixture
def world(db: Database, settings: Settings) -> str:
    """A few rows worth finding by id: tickets in several states (one customer's), a chat, an
    engineer. Returns the customer's phone."""
    with db.session() as s:
        net = f.network(s)
        eng = f.engineer(s, network=net)
        customer = f.customer(s)
        for actions in ((), ("accept",), ("accept", "dispatch", "engineer_accept")):
            ticket = f.ticket(s, customer=customer, actions=actions, engineer=eng)
            f.comment(s, ticket=ticket)
        f.conversation(s)
        return str(customer.phone)


@pytest.fixture
def customer_page(app: FastAPI, db: Database, world: str) -> Iterator[tuple[TestClient, str]]:  # noqa: F811
    """The world's customer signed in to /my, and the session's CSRF token."""
    # Not entered: the app's lifespan is the `client` fixture's, already running.
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    sign_in(client, db, world)
    yield client, csrf(client, "/my")
    client.close()


def _caller(route: RouteInfo, signed_in: Callers) -> str | None:
    if SELF_SERVICE.match(route.path) and not route.path.startswith("/my/login"):
        return "customer"
    allowed = allowed_roles(route)
    if allowed is None:  # public
        return "admin"
    for role in ("admin", *sorted(allowed)):
        if role in allowed and role in signed_in.pages:
            return role
    return None


def _fuzz(route: RouteInfo, client: TestClient, csrf: str) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(request=requests(route))
    def check(request: dict[str, Any]) -> None:
        response = client.request(
            route.method,
            request["path"],
            params=request["params"],
            data=request["data"] if route.method != "GET" else None,
            files=request["files"] or None if route.method != "GET" else None,
            headers={"X-CSRF-Token": csrf},
            follow_redirects=False,
        )
        assert response.status_code < 500, (route.label, request, response.text[:300])

    check()


SKIP = {
    "POST /logout",  # ends the session the rest of the run needs
    "POST /my/logout",
}


@pytest.mark.parametrize("database_url", DATABASES, indirect=True)
def test_no_page_answers_5xx_whatever_its_form_holds(
    app: FastAPI,  # noqa: F811
    callers: Callers,  # noqa: F811
    customer_page: tuple[TestClient, str],
    subtests: pytest.Subtests,
) -> None:
    pages = [
        r
        for r in routes(app)
        if not r.in_schema
        and r.label not in SKIP
        and (r.method != "GET" or _queries(r) or r.dependant.path_params)
    ]
    assert len(pages) > 60
    for route in pages:
        caller = _caller(route, callers)
        assert caller is not None, f"{route.label}: no caller signs in to this page"
        if caller == "customer":
            client, token = customer_page
        else:
            client, token = callers.pages[caller], callers.csrf.get(caller, "")
        with subtests.test(msg=f"{route.label} as {caller}"):
            _fuzz(route, client, token)


def test_a_nul_character_is_bad_input_on_both_databases(
    callers: Callers,  # noqa: F811
    customer_page: tuple[TestClient, str],
) -> None:
    """PostgreSQL refuses NUL in text (SQLite stores it): found by the fuzz above as 500s on
    every page that looks text up. It is the caller's mistake, said in both languages."""
    admin, token = callers.pages["admin"], callers.csrf["admin"]
    for response in (
        admin.get("/tickets", params={"status": "\x00"}),
        admin.get("/customers", params={"q": "a\x00b"}),
        admin.post(
            "/tickets/%00/actions", data={"action": "accept"}, headers={"X-CSRF-Token": token}
        ),
        callers.pages["anonymous"].post("/login", data={"username": "\x00", "password": "x"}),
    ):
        assert response.status_code < 500, response.text
        if response.status_code == 422:
            assert "NUL" in response.json()["message_zh"] and "NUL" in response.json()["message_en"]
