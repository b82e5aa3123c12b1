"""Property-based tests of every operation in /openapi.json (schemathesis): whatever is sent,
the portal never answers 5xx and every answer matches the schema it publishes.

The generated run is on SQLite only: it is about the HTTP contract, and the access and flow
tests cover both databases. Bounded (a few examples per operation) so it takes about a
minute. Inputs found by reading the code, which random generation rarely hits, are replayed
on both databases below.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation, BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from portal.config import Settings
from portal.database import Database
from portal.main import create_app
from tests.app_fixtures import FakeRasa
from tests.portal import factories as f

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Examples per operation: valid requests, and requests that break the schema on purpose.
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 5}


@pytest.fixture(params=["admin", "bot"])
def caller(request: pytest.FixtureRequest) -> str:
    """Who calls: an admin (may do everything) or the bot's service account."""
    return str(request.param)


@pytest.fixture
def auth(db: Database, settings: Settings, caller: str) -> dict[str, str]:
    """The caller's Authorization header, over a small world worth finding by id."""
    with db.session() as s:
        net = f.network(s)
        eng = f.engineer(s, network=net)
        for actions in ((), ("accept",), ("accept", "dispatch", "engineer_accept")):
            customer = f.customer(s)
            ticket = f.ticket(s, customer=customer, actions=actions, engineer=eng)
            f.comment(s, ticket=ticket)
            f.attachment(s, ticket=ticket, root=settings.uploads_path)
        f.conversation(s)
        return f.headers_for(s, settings, caller)


@pytest.fixture
def api(auth: dict[str, str], settings: Settings, fake_rasa: FakeRasa) -> Iterator[BaseSchema]:
    """The app's published schema, bound to the app itself."""
    app = create_app(settings, http_transport=httpx.MockTransport(fake_rasa.handler))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    app.state.db.dispose()


def _run(operation: APIOperation, mode: GenerationMode, auth: dict[str, str]) -> None:
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same cases every run: a failure here is reproducible
        database=None,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=auth, checks=CHECKS)

    try:
        check()
    except Unsatisfiable:
        # Nothing to break: an operation with no parameters, or only free-text ones, has no
        # negative cases.
        assert mode is GenerationMode.NEGATIVE


# schemathesis' own pytest loader (`schemathesis.pytest.from_fixture`) does not run under
# pytest 9, so each operation is driven with its Hypothesis strategy, one subtest each.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_no_server_errors_and_answers_match_the_schema(
    api: BaseSchema, auth: dict[str, str], subtests: pytest.Subtests
) -> None:
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 25
    for operation in operations:
        for mode in EXAMPLES:
            with subtests.test(msg=f"{mode.value} {operation.label}"):
                _run(operation, mode, auth)


BIG = 2**63  # past every integer column, and past SQLite's and PostgreSQL's bigint


@pytest.mark.parametrize(
    ("path", "expected", "field"),
    [
        (f"/api/v1/customers/{BIG}", 422, "customer_id"),
        (f"/api/v1/assets/{BIG}", 422, "asset_id"),
        (f"/api/v1/assets/{BIG}/history", 422, "asset_id"),
        (f"/api/v1/tickets/1/attachments/{BIG}", 422, "attachment_id"),
        ("/api/v1/tickets/99999999999", 404, None),  # past int4: PostgreSQL will not compare
        (f"/api/v1/tickets/{'9' * 5000}", 404, None),  # past int()'s 4300-digit limit
        ("/api/v1/tickets/²", 404, None),  # a digit to str.isdigit(), not to int()
        ("/api/v1/tickets/١٢", 404, None),  # Arabic-Indic 12: not our ticket 12
        ("/api/v1/tickets?created_from=2026-01-01T00:00:00", 422, "created_from"),  # no zone
        ("/api/v1/tickets?created_to=2026-01-01", 422, "created_to"),
        ("/api/v1/tickets?created_from=2026-01-01T00:00:00%2B08:00", 200, None),
        ("/api/v1/tickets?q=%25_%5C", 200, None),  # LIKE wildcards are just text
    ],
)
def test_odd_inputs_are_answered_not_crashed_on(
    path: str,
    expected: int,
    field: str | None,
    client: TestClient,
    db: Database,
    settings: Settings,
) -> None:
    with db.session() as s:
        for _ in range(12):
            f.ticket(s, customer=f.customer(s, with_asset=False))
        headers = f.headers_for(s, settings, "admin")
    response = client.get(path, headers=headers)
    assert response.status_code == expected, response.text
    if field is not None:
        assert response.json()["errors"][0]["field"] == field
