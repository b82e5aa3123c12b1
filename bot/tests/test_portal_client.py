"""PortalClient against a fake portal over real HTTP."""
from __future__ import annotations

import pytest

from actions.portal_client import (
    PortalClient,
    PortalConflict,
    PortalError,
    PortalRejected,
    PortalUnavailable,
)

REPORT = {
    "product": "洗衣机",
    "fault_description": "不转了",
    "phone": "13800138000",
    "channel": "web",
    "conversation_id": "c1",
}


def test_creates_ticket_with_contract_headers_and_body(portal) -> None:
    ticket = PortalClient.from_env().create_repair_ticket(**REPORT, idempotency_key="k1")

    assert ticket.number == "SR20261123-0001"
    assert ticket.status_label == "待受理"
    [request] = portal.requests
    assert request["path"] == "/api/v1/tickets"
    assert request["headers"]["authorization"] == "Bearer test-token"
    assert request["headers"]["idempotency-key"] == "k1"
    assert request["body"] == {"type": "repair", **REPORT}


def test_same_key_same_body_returns_same_ticket(portal) -> None:
    client = PortalClient.from_env()
    first = client.create_repair_ticket(**REPORT, idempotency_key="k1")
    again = client.create_repair_ticket(**REPORT, idempotency_key="k1")
    assert again == first
    assert len(portal.by_key) == 1


def test_same_key_other_body_is_a_conflict(portal) -> None:
    client = PortalClient.from_env()
    client.create_repair_ticket(**REPORT, idempotency_key="k1")
    with pytest.raises(PortalConflict):
        client.create_repair_ticket(**{**REPORT, "phone": "13912345678"}, idempotency_key="k1")


def test_validation_errors_are_reported_per_field(portal) -> None:
    portal.forced = (422, {"message": "invalid", "errors": [
        {"field": "phone", "message_zh": "手机号格式不正确", "message_en": "bad phone"}]})
    with pytest.raises(PortalRejected) as caught:
        PortalClient.from_env().create_repair_ticket(**REPORT, idempotency_key="k1")
    assert [(e.field, e.message_zh) for e in caught.value.errors] == [("phone", "手机号格式不正确")]


def test_server_errors_are_retried_then_reported(portal) -> None:
    portal.forced = (503, {"message": "maintenance"})
    with pytest.raises(PortalUnavailable):
        PortalClient.from_env().create_repair_ticket(**REPORT, idempotency_key="k1")
    assert len(portal.requests) == 2  # one retry, same key


def test_wrong_token_is_an_error(portal, monkeypatch) -> None:
    monkeypatch.setenv("PORTAL_SERVICE_TOKEN", "wrong")
    with pytest.raises(PortalError, match="401"):
        PortalClient.from_env().create_repair_ticket(**REPORT, idempotency_key="k1")


def test_unreachable_portal(portal_down) -> None:
    client = PortalClient(portal_down, "test-token", connect_timeout=1, retries=0)
    with pytest.raises(PortalUnavailable, match="cannot reach"):
        client.create_repair_ticket(**REPORT, idempotency_key="k1")
