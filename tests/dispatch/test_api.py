"""The dispatch API end to end: candidates, assign and reassign, network dispatch, reject and
redispatch, automatic dispatch, parts shortages, day plans and routes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.accounts.models import User
from portal.config import Settings
from portal.database import Database
from portal.dispatch import flows
from portal.dispatch.models import DispatchVisit
from portal.dispatch.parts import PartLine, Reservation
from portal.dispatch.scoring import DispatchSettings
from portal.networks.models import Engineer
from portal.tickets.models import Ticket, TicketEvent
from tests.dispatch import helpers as h

DAY = h.DAY.isoformat()


@dataclass
class World:
    """Two Pudong networks (one dispatching automatically), engineers and staff."""

    near: int
    mid: int
    far: int
    other: int  # of the second network
    net: int
    auto_net: int
    headers: dict[str, dict[str, str]]


@pytest.fixture
def world(db: Database, settings: Settings) -> World:
    with db.session() as s:
        net = h.network(s, auto=False)
        auto_net = h.network(s, auto=True)
        near = h.engineer(s, net, at=h.NEAR, name="近师傅")
        mid = h.engineer(s, net, at=h.MID, name="中师傅")
        far = h.engineer(s, net, at=h.FAR, name="远师傅")
        other = h.engineer(s, auto_net, at=h.FAR, name="自动网点师傅")
        staff = {
            "dispatcher": h.user(s, role="dispatcher"),
            "agent": h.user(s, role="agent"),
            "manager": h.user(s, role="network_manager", network_=net),
            "auto_manager": h.user(s, role="network_manager", network_=auto_net),
        }
        for name, eng in (("near", near), ("mid", mid), ("far", far), ("other", other)):
            staff[name] = s.get_one(User, eng.user_id)
        headers = {k: h.bearer(settings, u) for k, u in staff.items()}
        return World(near.id, mid.id, far.id, other.id, net.id, auto_net.id, headers)


def _waiting(db: Database, **fields: object) -> str:
    with db.session() as s:
        return h.ticket(s, h.customer(s), **fields).number


def _status(db: Database, number: str) -> tuple[str, int | None, int | None]:
    with db.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        return t.status, t.network_id, t.engineer_id


def test_candidates_ranked_with_explanations(
    client: TestClient, world: World, db: Database
) -> None:
    number = _waiting(db)
    r = client.get(
        f"/api/v1/dispatch/tickets/{number}/candidates",
        params={"date": DAY},
        headers=world.headers["dispatcher"],
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "accepted" and body["version"] == 2  # create + accept
    assert body["product_category"] == "洗衣机" and body["min_level"] == 1
    ids = [c["engineer_id"] for c in body["candidates"]]
    assert ids[:3] == [world.near, world.mid, world.far]
    assert world.other in ids
    top = body["candidates"][0]
    assert top["rank"] == 1 and top["distance_km"] == pytest.approx(0.71, abs=0.05)
    assert [c["key"] for c in top["components"]] == [
        "distance",
        "load",
        "first_time_fix",
        "sla",
        "tier",
    ]
    assert "公里" in top["explanation_zh"] and "km" in top["explanation_en"]
    assert top["score"] == pytest.approx(sum(c["points"] for c in top["components"]), abs=0.05)

    assert (
        client.get(
            f"/api/v1/dispatch/tickets/{number}/candidates", headers=world.headers["agent"]
        ).status_code
        == 403
    )
    missing = client.get(
        "/api/v1/dispatch/tickets/SR20990101-0001/candidates", headers=world.headers["dispatcher"]
    )
    assert missing.status_code == 404 and "工单" in missing.json()["message_zh"]


def test_assign_then_reassign_with_reason_and_version_checks(
    client: TestClient, world: World, db: Database
) -> None:
    number = _waiting(db)
    url = f"/api/v1/dispatch/tickets/{number}/assign"
    hd = world.headers["dispatcher"]

    assert client.post(url, json={}, headers=hd).status_code == 422
    r = client.post(
        url, json={"engineer_id": world.near, "expected_version": 2, "date": DAY}, headers=hd
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["action"] == "dispatch" and body["status"] == "dispatched"
    assert body["engineer_id"] == world.near and body["network_id"] == world.net
    assert body["visit_date"] == DAY and body["version"] == 3
    assert body["waiting_parts"] is False
    with db.session() as s:
        visit = s.scalars(select(DispatchVisit)).one()
        assert (visit.engineer_id, visit.visit_date.isoformat()) == (world.near, DAY)

    # The second dispatcher saw version 2: too late.
    stale = client.post(url, json={"engineer_id": world.mid, "expected_version": 2}, headers=hd)
    assert stale.status_code == 409
    assert stale.json()["error"] == "dispatch.stale_version"
    assert "刷新" in stale.json()["message_zh"] and "refresh" in stale.json()["message_en"]
    # Without a reason, an assigned ticket is not silently taken away.
    again = client.post(url, json={"engineer_id": world.mid}, headers=hd)
    assert again.status_code == 409 and again.json()["error"] == "dispatch.already_assigned"
    assert "近师傅" in again.json()["message_zh"]
    # Reassign (改派) with a reason.
    moved = client.post(
        url,
        json={
            "engineer_id": world.mid,
            "reason": "客户改约到下午",
            "expected_version": 3,
            "date": DAY,
        },
        headers=hd,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["action"] == "reassign" and moved.json()["engineer_id"] == world.mid
    with db.session() as s:
        ev = s.scalars(select(TicketEvent).order_by(TicketEvent.id.desc())).first()
        assert ev is not None and ev.action == "reassign"
        assert ev.payload["reason"] == "客户改约到下午" and ev.payload["engineer_id"] == world.mid
        assert s.scalars(select(DispatchVisit)).one().engineer_id == world.mid
    # Reassigning to the engineer who already has it makes no sense.
    same = client.post(url, json={"engineer_id": world.mid, "reason": "x"}, headers=hd)
    assert same.status_code == 422 and same.json()["error"] == "dispatch.not_candidate"


def test_engineer_who_is_not_a_candidate_is_refused_with_the_reason(
    client: TestClient, world: World, db: Database
) -> None:
    with db.session() as s:
        net = s.get_one(Engineer, world.near).network
        aircon = h.engineer(s, net, skills={("空调", "repair"): 3}, name="空调师傅").id
    number = _waiting(db)
    r = client.post(
        f"/api/v1/dispatch/tickets/{number}/assign",
        json={"engineer_id": aircon},
        headers=world.headers["dispatcher"],
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "dispatch.not_candidate"
    assert "空调师傅" in r.json()["message_zh"] and "技能" in r.json()["message_zh"]
    assert "lacks the skill" in r.json()["message_en"]
    assert r.json()["errors"][0]["field"] == "engineer_id"
    assert _status(db, number) == ("accepted", None, None)


def test_dispatch_to_a_network_which_then_assigns_its_engineer(
    client: TestClient, world: World, db: Database
) -> None:
    number = _waiting(db)
    url = f"/api/v1/dispatch/tickets/{number}/assign"
    r = client.post(url, json={"network_id": world.net}, headers=world.headers["dispatcher"])
    assert r.status_code == 200, r.text
    assert r.json()["engineer_id"] is None and r.json()["network_id"] == world.net
    assert _status(db, number) == ("dispatched", world.net, None)

    # Another network's manager does not even see it.
    foreign = client.get(
        f"/api/v1/dispatch/tickets/{number}/candidates", headers=world.headers["auto_manager"]
    )
    assert foreign.status_code == 404
    # The network's manager sees only their engineers and names one.
    mine = client.get(
        f"/api/v1/dispatch/tickets/{number}/candidates",
        params={"date": DAY},
        headers=world.headers["manager"],
    )
    assert mine.status_code == 200
    assert [c["engineer_id"] for c in mine.json()["candidates"]] == [
        world.near,
        world.mid,
        world.far,
    ]
    refused = client.post(url, json={"engineer_id": world.other}, headers=world.headers["manager"])
    assert refused.status_code == 422
    done = client.post(
        url, json={"engineer_id": world.mid, "date": DAY}, headers=world.headers["manager"]
    )
    assert done.status_code == 200, done.text
    assert done.json()["action"] == "reassign"
    assert _status(db, number) == ("dispatched", world.net, world.mid)


def test_reject_sends_the_ticket_to_the_next_candidate(
    client: TestClient, world: World, db: Database
) -> None:
    number = _waiting(db)
    hd = world.headers["dispatcher"]
    assert (
        client.post(
            f"/api/v1/dispatch/tickets/{number}/assign",
            json={"engineer_id": world.near, "date": DAY},
            headers=hd,
        ).status_code
        == 200
    )
    url = f"/api/v1/dispatch/tickets/{number}/reject"
    # Only the assigned engineer may reject (others do not see the ticket at all).
    assert client.post(url, json={"reason": "忙"}, headers=world.headers["mid"]).status_code == 404
    assert client.post(url, json={"reason": ""}, headers=world.headers["near"]).status_code == 422
    assert client.post(url, json={"reason": "忙"}, headers=hd).status_code == 403

    r = client.post(url, json={"reason": "车坏了"}, headers=world.headers["near"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rejected_by"] == world.near
    # Only the network with auto-dispatch gets tickets without a person deciding: its engineer
    # (far away, but the best among auto networks) is assigned.
    assert body["auto_assigned"] is True
    assert body["assigned"]["engineer_id"] == world.other
    assert body["status"] == "dispatched"
    assert _status(db, number)[2] == world.other
    with db.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        actions = [e.action for e in t.events]
        assert actions[-2:] == ["engineer_reject", "dispatch"]
        assert t.events[-2].payload["reason"] == "车坏了"
        assert t.events[-1].actor == "service:dispatch"

    # The auto network's engineer rejects too; nobody left in auto networks: offered, not assigned.
    again = client.post(url, json={"reason": "不在本区"}, headers=world.headers["other"])
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["auto_assigned"] is False and body["status"] == "accepted"
    assert body["offer"]["engineer_id"] == world.mid  # near rejected before; mid is next
    cands = client.get(
        f"/api/v1/dispatch/tickets/{number}/candidates", params={"date": DAY}, headers=hd
    ).json()
    assert [c["engineer_id"] for c in cands["candidates"]] == [world.mid, world.far]
    reasons = {e["engineer_id"]: e["reason"] for e in cands["excluded"]}
    assert reasons[world.near] == "rejected" and reasons[world.other] == "rejected"


def test_automatic_dispatch_follows_the_network_setting(db: Database, world: World) -> None:
    with db.session() as s:
        t = h.ticket(s, h.customer(s))
        result = flows.auto_dispatch(s, ticket=t, settings=DispatchSettings(), now=h.NOW)
        assert result.assigned is not None and result.assigned.engineer_id == world.other
        assert t.status == "dispatched"
        # Not waiting any more: a second call does nothing.
        assert (
            flows.auto_dispatch(s, ticket=t, settings=DispatchSettings(), now=h.NOW).assigned
            is None
        )
    with db.session() as s:
        s.get_one(Engineer, world.other).network.auto_dispatch = False
    with db.session() as s:
        t = h.ticket(s, h.customer(s))
        result = flows.auto_dispatch(s, ticket=t, settings=DispatchSettings(), now=h.NOW)
        assert result.assigned is None and result.offer is not None
        assert result.offer.worker.id == world.near
        assert t.status == "accepted"


def test_auto_endpoint(client: TestClient, world: World, db: Database) -> None:
    number = _waiting(db)
    r = client.post(f"/api/v1/dispatch/tickets/{number}/auto", headers=world.headers["dispatcher"])
    assert r.status_code == 200, r.text
    assert r.json()["auto_assigned"] is True
    assert r.json()["assigned"]["engineer_id"] == world.other


class ShortOfEverything:
    """A parts planner that wants a drum belt and has none."""

    def __init__(self) -> None:
        self.reserved: list[int] = []

    def suggest(self, session, *, ticket):  # type: ignore[no-untyped-def]
        return [PartLine(part_code="BELT-01", quantity=1, name="皮带")]

    def reserve(self, session, *, ticket, network_id, lines):  # type: ignore[no-untyped-def]
        self.reserved.append(ticket.id)
        return Reservation(shortages=tuple(lines))


def test_a_parts_shortage_moves_the_ticket_to_waiting_parts(
    client: TestClient, world: World, db: Database
) -> None:
    planner = ShortOfEverything()
    client.app.state.parts_planner = planner  # type: ignore[attr-defined]
    number = _waiting(db)
    r = client.post(
        f"/api/v1/dispatch/tickets/{number}/assign",
        json={"engineer_id": world.near},
        headers=world.headers["dispatcher"],
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["waiting_parts"] is True and body["status"] == "waiting_parts"
    assert body["shortages"] == [{"part_code": "BELT-01", "quantity": 1, "name": "皮带"}]
    with db.session() as s:
        t = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert [e.action for e in t.events][-2:] == ["dispatch", "wait_parts"]
        assert t.events[-1].payload["parts"] == [
            {"part_code": "BELT-01", "quantity": 1, "name": "皮带"}
        ]
        assert planner.reserved == [t.id]


def test_day_plan_dry_run_apply_and_routes(client: TestClient, world: World, db: Database) -> None:
    with db.session() as s:
        numbers = [
            h.ticket(s, h.customer(s, at=spot)).number for spot in (h.NEAR, h.MID, h.FAR, h.HOME)
        ]
        # Keep it to one network: the other dispatches itself.
        s.get_one(Engineer, world.other).on_duty = False
    hd = world.headers["dispatcher"]
    dry = client.post("/api/v1/dispatch/plan", json={"date": DAY}, headers=hd)
    assert dry.status_code == 200, dry.text
    plan = dry.json()
    assert plan["applied"] is False and plan["unassigned"] == []
    assert sorted(a["number"] for a in plan["assignments"]) == sorted(numbers)
    assert all(_status(db, n)[0] == "accepted" for n in numbers)
    # Each customer is served by the engineer living closest (capacity is ample).
    by_number = {a["number"]: a["engineer_id"] for a in plan["assignments"]}
    assert by_number[numbers[0]] == world.near and by_number[numbers[2]] == world.far

    applied = client.post("/api/v1/dispatch/plan", json={"date": DAY, "apply": True}, headers=hd)
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert body["applied"] is True and body["skipped"] == []
    assert {a["number"]: a["engineer_id"] for a in body["assignments"]} == by_number
    assert all(_status(db, n)[0] == "dispatched" for n in numbers)
    with db.session() as s:
        visits = s.scalars(select(DispatchVisit)).all()
        assert len(visits) == 4
        assert all(v.source == "plan" and v.sequence and v.eta for v in visits)

    route = client.get(
        "/api/v1/dispatch/routes", params={"engineer_id": world.near, "date": DAY}, headers=hd
    )
    assert route.status_code == 200, route.text
    visits_ = route.json()["visits"]
    assert [v["sequence"] for v in visits_] == list(range(1, len(visits_) + 1))
    assert visits_ and route.json()["origin_source"] == "home"
    etas = [v["eta"] for v in visits_]
    assert etas == sorted(etas)
    # An engineer sees their own route, not a colleague's; another network's manager neither.
    mine = client.get(
        "/api/v1/dispatch/routes",
        params={"engineer_id": world.near, "date": DAY},
        headers=world.headers["near"],
    )
    assert mine.status_code == 200
    # Another engineer's route, and another network's: foreign rows are 404, as if absent.
    assert (
        client.get(
            "/api/v1/dispatch/routes",
            params={"engineer_id": world.near, "date": DAY},
            headers=world.headers["mid"],
        ).status_code
        == 404
    )
    assert (
        client.get(
            "/api/v1/dispatch/routes",
            params={"engineer_id": world.near, "date": DAY},
            headers=world.headers["auto_manager"],
        ).status_code
        == 404
    )
    # Nothing waits any more.
    empty = client.post("/api/v1/dispatch/plan", json={"date": DAY}, headers=hd).json()
    assert empty["assignments"] == [] and empty["unassigned"] == []


def test_network_manager_plans_only_their_network(
    client: TestClient, world: World, db: Database
) -> None:
    with db.session() as s:
        waiting_here = h.ticket(s, h.customer(s)).number
    hd = world.headers["dispatcher"]
    assert (
        client.post(
            f"/api/v1/dispatch/tickets/{waiting_here}/assign",
            json={"network_id": world.auto_net},
            headers=hd,
        ).status_code
        == 200
    )
    _waiting(db)  # accepted, no network yet: the desk's, not a manager's
    r = client.post(
        "/api/v1/dispatch/plan",
        json={"date": DAY, "apply": True, "network_id": world.net},
        headers=world.headers["auto_manager"],
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["network_id"] == world.auto_net
    assert [a["number"] for a in body["assignments"]] == [waiting_here]
    assert body["assignments"][0]["engineer_id"] == world.other


def test_engineer_reports_position(client: TestClient, world: World, db: Database) -> None:
    url = f"/api/v1/dispatch/engineers/{world.far}/position"
    r = client.put(url, json={"lat": "31.245", "lng": "121.505"}, headers=world.headers["far"])
    assert r.status_code == 200, r.text
    assert (  # another engineer's position: not theirs to see, so not there (404)
        client.put(
            url, json={"lat": "31.2", "lng": "121.5"}, headers=world.headers["near"]
        ).status_code
        == 404
    )
    assert (
        client.put(
            url, json={"lat": "95", "lng": "121.5"}, headers=world.headers["far"]
        ).status_code
        == 422
    )
