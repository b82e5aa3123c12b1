"""The complaint JSON routes: record a case, act on it, list and read it within one's scope;
bad input is a 422 naming the field in Chinese and English."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.config import Settings
from portal.database import Database
from portal.networks.models import ServiceNetwork
from tests.complaints.support import completed
from tests.portal import factories as f
from tests.sla.support import make_crew


def test_record_act_and_read_within_scope(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        crew, elsewhere = make_crew(s), make_crew(s)
        number = completed(s, crew=crew).number
        agent = f.headers_for(s, settings, "agent")
        ours = f.headers_for(
            s, settings, "network_manager", network=s.get_one(ServiceNetwork, crew.network_id)
        )
        theirs = f.headers_for(
            s, settings, "network_manager", network=s.get_one(ServiceNetwork, elsewhere.network_id)
        )
    body = {
        "ticket_number": number,
        "source": "wechat",
        "reason": "no_show",
        "description": "约好上午来，一直没人",
    }
    made = client.post("/api/v1/complaints", json=body, headers=agent)
    assert made.status_code == 201, made.text
    case = made.json()
    assert (case["status"], case["source"], case["ticket_number"]) == ("open", "wechat", number)
    assert case["network_id"] == crew.network_id and case["overdue"] is False

    unknown = client.post(
        "/api/v1/complaints", json={**body, "ticket_number": "SR19990101-0001"}, headers=agent
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "complaint_ticket"
    assert "不存在" in unknown.json()["message_zh"]
    assert client.post("/api/v1/complaints", json=body, headers=ours).status_code == 403

    url = f"/api/v1/complaints/{case['id']}"
    early = client.post(f"{url}/actions", json={"action": "resolve", "note": "x"}, headers=agent)
    assert early.status_code == 409 and "待处理" in early.json()["message_zh"]
    assert client.post(f"{url}/actions", json={"action": "take"}, headers=agent).status_code == 200
    done = client.post(
        f"{url}/actions", json={"action": "resolve", "note": "改约次日上午，已上门"}, headers=agent
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert [e["action"] for e in done.json()["events"]] == ["open", "take", "resolve"]

    assert client.get(url, headers=ours).json()["outcome"] == "改约次日上午，已上门"
    assert client.get(url, headers=theirs).status_code == 404
    assert client.get("/api/v1/complaints", headers=theirs).json() == {"items": [], "total": 0}
    listed = client.get("/api/v1/complaints?status=resolved", headers=ours).json()
    assert [c["id"] for c in listed["items"]] == [case["id"]] and listed["total"] == 1
