"""Schemathesis in stateful mode: sequences of calls whose ids come from earlier answers
(links inferred from the published schema: create a ticket, then read, comment, quote it...).

Same world, schema and checks as tests/portal/test_schemathesis.py, plus the stateful
checks: a deleted resource stays gone (use_after_free) and a created one can be read back
(ensure_resource_availability). Bounded: a few dozen short scenarios, SQLite only (it is
about the HTTP contract; the access and flow tests cover both databases).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import ensure_resource_availability, use_after_free

from tests.portal.test_schemathesis import CHECKS, api, auth  # noqa: F401 (fixtures)

STATEFUL_CHECKS = [*CHECKS, use_after_free, ensure_resource_availability]
SCENARIOS = 60
STEPS = 8


@pytest.fixture
def caller() -> str:
    """An admin: every operation is open to it, so chains reach deep."""
    return "admin"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_chains_of_calls_never_break_the_contract(
    api: BaseSchema,  # noqa: F811
    auth: dict[str, str],  # noqa: F811
) -> None:
    base = api.as_state_machine()
    linked: Counter[str] = Counter()
    statuses: Counter[int] = Counter()

    class Machine(base):  # type: ignore[misc, valid-type]
        def step(self, input: Any) -> Any:
            if input.transition is not None:
                linked[input.case.operation.label] += 1
            return super().step(input)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": auth}

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            statuses[response.status_code] += 1

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(
                response,
                checks=STATEFUL_CHECKS,
                transport_kwargs=kwargs or None,
                recorder=getattr(self, "recorder", None),
            )

    Machine.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=True,  # the same scenarios every run: a failure is reproducible
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # The run really chained calls: some ids came from earlier answers, and those worked.
    assert sum(linked.values()) >= 10, linked
    assert statuses[200] + statuses[201] > 0 and not any(s >= 500 for s in statuses)
