"""PortalClient against a fake portal over real HTTP."""

from __future__ import annotations

import pytest
from fake_portal import CODE

from actions.portal_client import (
    HandoffOutcome,
    PortalClient,
    PortalConflict,
    PortalError,
    PortalNotFound,
    PortalProofRequired,
    PortalRejected,
    PortalThrottled,
    PortalUnavailable,
)

REPORT = {
    "product": "洗衣机",
    "fault_description": "不转了",
    "phone": "13800138000",
    "conversation_id": "c1",
}


def test_creates_ticket_with_contract_headers_and_body(portal) -> None:
    ticket = PortalClient.from_env().create_repair_ticket(**REPORT, idempotency_key="k1")

    assert ticket.number == "SR20261123-0001"
    assert ticket.status_label == "待受理"
    assert ticket.check_code == "246001"
    [request] = portal.requests
    assert request["path"] == "/api/v1/bot/conversations/c1/tickets"
    assert request["headers"]["authorization"] == "Bearer test-token"
    assert request["headers"]["idempotency-key"] == "k1"
    # The chat is in the route; the bot names no channel, chat or customer in the body.
    assert request["body"] == {
        "type": "repair",
        "product": "洗衣机",
        "fault_description": "不转了",
        "phone": "13800138000",
    }


def test_every_call_names_the_conversation_it_acts_for(portal) -> None:
    client = PortalClient.from_env()
    with pytest.raises(PortalError, match="conversation"):
        client.create_ticket({"phone": "13800138000"}, idempotency_key="k", conversation_id="")
    with pytest.raises(PortalError, match="conversation"):
        client.kb_search("保修多久", conversation_id="")
    assert portal.requests == []


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
    portal.forced = (
        422,
        {
            "message": "invalid",
            "errors": [
                {"field": "phone", "message_zh": "手机号格式不正确", "message_en": "bad phone"}
            ],
        },
    )
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


# --- the bot's customer routes, knowledge base, handoff, SLA promise ----------------------


def test_bound_customer_and_their_tickets(portal) -> None:
    portal.bind("conv-1")
    portal.add_ticket("SR20261120-0031", "13800138000", status="departed", engineer_name="王师傅")
    client = PortalClient.from_env()
    profile = client.bound_customer("conv-1")
    assert profile is not None and profile.name == "张女士"
    assert profile.addresses[0].text.startswith("上海市") and profile.units[0].product == "洗衣机"
    [ticket] = client.customer_tickets("conv-1")
    assert ticket.status_label == "已出发" and ticket.engineer_name == "王师傅"
    assert client.bound_customer("someone-else") is None
    assert client.customer_tickets("someone-else") is None


def test_lookup_without_the_check_code_is_withheld_and_needs_the_matching_phone(portal) -> None:
    portal.add_ticket("SR20261120-0031", "13800138000")
    client = PortalClient.from_env()
    withheld = client.lookup_ticket("sr202611200031", phone="13800138000", conversation_id="c")
    assert withheld is not None and not withheld.fully_proven
    assert withheld.status == withheld.status_label == withheld.engineer_name == ""
    assert portal.requests[0]["path"] == "/api/v1/bot/conversations/c/tickets/lookup"
    assert portal.requests[0]["body"] == {"number": "sr202611200031", "phone": "13800138000"}
    wrong = client.lookup_ticket(
        "SR20261120-0031", phone="13900000000", conversation_id="c", check_code="135790"
    )
    assert wrong is None
    coded = client.lookup_ticket(
        "SR20261120-0031", phone="13800138000", conversation_id="c", check_code="135790"
    )
    assert coded is not None and coded.fully_proven and coded.number == "SR20261120-0031"
    assert portal.requests[-1]["body"]["check_code"] == "135790"


def test_number_and_phone_cannot_cancel_but_the_check_code_can(portal) -> None:
    portal.add_ticket("SR20261118-0101", "13800138000", status="accepted")
    client = PortalClient.from_env()
    with pytest.raises(PortalProofRequired) as caught:
        client.ticket_action("SR20261118-0101", "cancel", phone="13800138000", conversation_id="c")
    assert "校验码" in caught.value.message_zh
    done = client.ticket_action(
        "SR20261118-0101",
        "cancel",
        phone="13800138000",
        conversation_id="c",
        check_code="135790",
    )
    assert done.status == "cancelled" and done.proven_by == "check_code"


def test_refused_action_carries_the_portals_reason_and_is_not_retried(portal) -> None:
    portal.add_ticket("SR20261118-0102", "13800138000", status="arrived")
    with pytest.raises(PortalConflict) as caught:
        PortalClient.from_env().ticket_action(
            "SR20261118-0102",
            "cancel",
            phone="13800138000",
            conversation_id="c",
            check_code="135790",
        )
    assert "已到场" in caught.value.message_zh
    assert len(portal.requests) == 1


def test_missing_knowledge_base_and_handoff_endpoints(portal) -> None:
    client = PortalClient.from_env()
    assert client.kb_search("保修多久", conversation_id="c1") is None  # 404: no FAQ loaded
    with pytest.raises(PortalNotFound):
        client.handoff("conv-1", reason="request", summary="诉求：要求人工")
    assert client.sla_promise(conversation_id="c1") is None


def test_knowledge_base_search_and_handoff_contracts(portal) -> None:
    portal.kb = {
        "band": "answer",
        "results": [
            {
                "id": "w1",
                "question": "保修多久？",
                "answer": "整机一年",
                "score": 0.9,
                "band": "answer",
            }
        ],
    }
    portal.handoff_status = 202
    portal.sla_promise = {"response_minutes": 15}
    client = PortalClient.from_env()
    result = client.kb_search("保修多久", product="空调", conversation_id="c1")
    assert result is not None and result.band == "answer" and result.hits[0].answer == "整机一年"
    assert portal.requests[-1]["query"] == {"q": "保修多久", "k": "5", "product": "空调"}
    client.kb_feedback(entry_id="w1", helpful=True, query="保修多久", conversation_id="c1")
    assert portal.kb_feedback == [
        {"entry_id": "w1", "helpful": True, "query": "保修多久", "conversation_id": "c1"}
    ]
    client.handoff("conv/1", reason="complaint", summary="诉求：投诉")
    assert portal.requests[-1]["path"] == "/api/v1/bot/conversations/conv%2F1/handoff"
    assert portal.handoffs == [
        {"conversation": "conv/1", "reason": "complaint", "summary": "诉求：投诉"}
    ]
    assert client.sla_promise(conversation_id="c1", ticket_type="repair") == "15 分钟内响应"


def test_handoff_names_the_product_for_routing_when_known(portal) -> None:
    portal.handoff_status = 202
    PortalClient.from_env().handoff(
        "c1", reason="request", summary="诉求：报修", product_line="空调"
    )
    assert portal.handoffs == [
        {"conversation": "c1", "reason": "request", "summary": "诉求：报修", "product_line": "空调"}
    ]


def test_handoff_returns_what_the_hub_did(portal) -> None:
    portal.handoff_status = 202
    client = PortalClient.from_env()
    queued = client.handoff("c1", reason="request", summary="诉求：要求人工")
    assert queued == HandoffOutcome(state="waiting", queued=True, on_duty=True, position=1)
    portal.handoff_result = {"state": "bot", "queued": False, "on_duty": False, "position": None}
    off = client.handoff("c1", reason="request", summary="诉求：要求人工")
    assert (off.state, off.queued, off.on_duty, off.position) == ("bot", False, False, None)


def test_sla_promise_reads_the_portals_words_first(portal) -> None:
    portal.sla_promise = {
        "response_minutes": 10,
        "business_hours": True,
        "text_zh": "10 分钟内响应（按工作时间计算）",
        "text_en": "...",
    }
    assert (
        PortalClient.from_env().sla_promise(conversation_id="c1")
        == "10 分钟内响应（按工作时间计算）"
    )
    # The tier is the bound customer's, which the portal knows from the chat.
    assert portal.requests[-1]["route"] == "GET /sla/promise"
    assert portal.requests[-1]["query"] == {"type": "repair"}


def test_one_time_code_binds_the_conversation(portal) -> None:
    portal.add_ticket("SR20261120-0031", "13800138000", customer="c7")
    client = PortalClient.from_env()
    assert client.request_bind_code("conv/9", phone="13800138000") == 300
    assert portal.requests[-1]["path"] == "/api/v1/bot/conversations/conv%2F9/code"
    with pytest.raises(PortalThrottled) as caught:
        client.request_bind_code("conv/9", phone="13800138000")
    assert "1分钟" in caught.value.message_zh
    assert client.verify_bind_code("conv/9", phone="13800138000", code="000000") is None
    assert client.bound_customer("conv/9") is None
    profile = client.verify_bind_code("conv/9", phone="13800138000", code=CODE)
    assert profile is not None and profile.phone == "13800138000"
    assert portal.bound["conv/9"][0] == "c7"
    # Never retried: a second text would be refused, a second check would count as a miss.
    assert [r["path"].rsplit("/", 1)[1] for r in portal.requests] == [
        "code",
        "code",
        "verify",
        "customer",
        "verify",
    ]
