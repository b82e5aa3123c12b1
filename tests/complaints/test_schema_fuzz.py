"""The complaint routes under schemathesis (as tests/portal/test_schemathesis.py does for every
route, with cases about complaints to find): no 5xx, answers match the published schema."""

from __future__ import annotations

import pytest
from schemathesis import GenerationMode
from schemathesis.schemas import BaseSchema

from portal.complaints import flows
from portal.config import Settings
from portal.database import Database
from portal.security import Principal
from portal.tickets import lifecycle
from tests.complaints.support import completed, rate
from tests.portal import factories as f
from tests.portal.test_schemathesis import _run, api, caller  # noqa: F401

DESK = Principal(kind="staff", role="agent", name="desk")


@pytest.fixture
def auth(db: Database, settings: Settings, caller: str) -> dict[str, str]:  # noqa: F811
    """The caller's header, over a few cases in every status."""
    with db.session() as s:
        wired = lifecycle.consequences_of(s).context.settings
        for score in (1, 2):
            rate(s, completed(s), score, "迟到")
        case = flows.open_complaint(
            s,
            ticket=completed(s),
            source="phone",
            reason="charges",
            description="收费",
            actor="user:1",
            settings=wired,
        )
        for action, note in (("take", ""), ("resolve", "已退款")):
            flows.act(s, complaint=case, action=action, principal=DESK, note=note)
        return f.headers_for(s, settings, caller)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_complaint_routes_hold_their_contract(
    api: BaseSchema,  # noqa: F811
    auth: dict[str, str],
    subtests: pytest.Subtests,
) -> None:
    operations = [
        result.ok() for result in api.get_all_operations() if "/complaints" in result.ok().path
    ]
    assert len(operations) == 4
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            with subtests.test(msg=f"{mode.value} {operation.label}"):
                _run(operation, mode, auth)
