"""The response-time promise the bot tells a customer after filing (GET /api/v1/sla/promise)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.config import Settings
from portal.database import Database
from portal.sla.models import SlaPolicy
from tests.portal import factories as f

URL = "/api/v1/sla/promise"


def test_without_a_policy_the_settings_default_is_promised(
    client: TestClient, bot_headers: dict[str, str]
) -> None:
    response = client.get(URL, params={"type": "repair", "tier": "normal"}, headers=bot_headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "ticket_type": "repair",
        "tier": "normal",
        "urgency": "normal",
        "policy": "default",
        "response_minutes": 10,
        "business_hours": True,
        "text_zh": "10 分钟内响应（按工作时间计算）",
        "text_en": "a response within 10 minutes (business hours)",
    }


def test_the_most_specific_active_policy_decides(
    client: TestClient, db: Database, bot_headers: dict[str, str]
) -> None:
    with db.session() as s:
        s.add_all(
            [
                SlaPolicy(
                    name="维修",
                    ticket_type="repair",
                    response_minutes=30,
                    arrival_minutes=240,
                    resolution_minutes=1440,
                ),
                SlaPolicy(
                    name="VIP 维修",
                    ticket_type="repair",
                    customer_tier="vip",
                    response_minutes=120,
                    arrival_minutes=120,
                    resolution_minutes=480,
                    business_hours=False,
                ),
                SlaPolicy(
                    name="VIP 维修（停用）",
                    ticket_type="repair",
                    customer_tier="vip",
                    urgency="normal",
                    response_minutes=5,
                    arrival_minutes=60,
                    resolution_minutes=240,
                    active=False,
                ),
                SlaPolicy(
                    name="安装",
                    ticket_type="installation",
                    response_minutes=2880,
                    arrival_minutes=0,
                    resolution_minutes=0,
                ),
            ]
        )
    vip = client.get(URL, params={"type": "repair", "tier": "vip"}, headers=bot_headers).json()
    assert (vip["policy"], vip["response_minutes"]) == ("VIP 维修", 120)
    assert vip["text_zh"] == "2 小时内响应" and vip["text_en"] == "a response within 2 hours"
    normal = client.get(URL, params={"type": "repair"}, headers=bot_headers).json()
    assert (normal["policy"], normal["text_zh"]) == ("维修", "30 分钟内响应（按工作时间计算）")
    install = client.get(URL, params={"type": "installation"}, headers=bot_headers).json()
    assert install["text_zh"] == "2 天内响应（按工作时间计算）"


def test_a_policy_without_a_response_deadline_promises_no_number(
    client: TestClient, db: Database, bot_headers: dict[str, str]
) -> None:
    with db.session() as s:
        s.add(
            SlaPolicy(
                name="咨询",
                ticket_type="consultation",
                response_minutes=0,
                arrival_minutes=0,
                resolution_minutes=0,
            )
        )
    body = client.get(URL, params={"type": "consultation"}, headers=bot_headers).json()
    assert body["response_minutes"] == 0 and body["text_zh"] == "第一时间响应"


def test_bad_values_are_refused_and_customers_cannot_read_it(
    client: TestClient, db: Database, settings: Settings, bot_headers: dict[str, str]
) -> None:
    bad = client.get(URL, params={"type": "teleport", "tier": "gold"}, headers=bot_headers)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} >= {"type", "tier"}
    assert client.get(URL).status_code == 401
    with db.session() as s:
        customer = f.bearer(settings, f.customer(s))
        agent = f.headers_for(s, settings, "agent")
    assert client.get(URL, headers=customer).status_code == 403
    assert client.get(URL, headers=agent).status_code == 200
