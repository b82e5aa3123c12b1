"""Low-stock alerts (one per fall under the threshold, to whoever refills the location) and
stock counts (盘点调整: one audited adjustment movement, never below zero or what is held),
on both databases, through the flows, the API and the stock page."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from portal.accounts.models import User
from portal.audit.models import AuditRecord
from portal.config import Settings
from portal.database import Database
from portal.dispatch.parts import PartLine
from portal.errors import Invalid
from portal.notifications import flows as notify
from portal.notifications.models import Notification
from portal.parts import flows, service
from portal.parts.models import StockMovement
from portal.security import Principal
from tests.parts.test_stock import assert_ledger_matches
from tests.parts.world import catalogue
from tests.portal import factories as f

DESK = Principal(kind="staff", role="dispatcher", name="desk")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _alerts(s, user: User) -> list[Notification]:  # type: ignore[no-untyped-def]
    return list(
        s.scalars(
            select(Notification)
            .where(
                Notification.recipient == f"user:{user.id}", Notification.template == "low_stock"
            )
            .order_by(Notification.id)
        )
    )


def test_a_fall_under_the_threshold_alerts_once(db: Database) -> None:
    with db.session() as s:
        cat = catalogue(s)
        net, other = f.network(s), f.network(s)
        eng = f.engineer(s, network=net)
        manager = f.user(s, role="network_manager", network=net)
        stranger = f.user(s, role="network_manager", network=other)
        desk = f.user(s, role="dispatcher")
        store = service.network_location(s, network=net)
        pump = cat["WM-PMP-01"]
        customer = f.customer(s)
        tickets = [
            f.ticket(s, customer=customer, actions=("accept", "dispatch"), engineer=eng)
            for _ in range(3)
        ]
        flows.receive(s, location=store, part=pump, quantity=5, principal=DESK)
        service.set_threshold(s, location_id=store.id, part_id=pump.id, min_level=3)

        def hold(i: int, n: int) -> None:
            flows.reserve_lines(
                s, ticket=tickets[i], location=store, lines=[PartLine(pump.code, n)]
            )

        hold(0, 1)  # 4 free: fine
        assert _alerts(s, manager) == []
        hold(1, 2)  # 2 free: under 3
        (alert,) = _alerts(s, manager)
        assert alert.channel == "portal" and alert.payload["available"] == 2
        zh, en = notify.render(alert.template, alert.payload)
        assert "排水泵" in zh and "WM-PMP-01" in zh and "预警值 3" in zh and "Low stock" in en
        hold(2, 1)  # still low: no second alert
        assert len(_alerts(s, manager)) == 1
        assert _alerts(s, stranger) == [] and _alerts(s, desk) == []
        b = service.balance(s, location_id=store.id, part_id=pump.id)
        assert b is not None and b.low and b.low_since is not None

        # Back over the threshold, then under again: a second fall, a second alert.
        flows.release_ticket(s, ticket=tickets[1])
        b = service.balance(s, location_id=store.id, part_id=pump.id)
        assert b is not None and (b.available, b.low, b.low_since) == (3, False, None)
        flows.count_stock(
            s, location=store, part=pump, counted=3, reason="月末盘点：破损一件", principal=DESK
        )
        assert [a.payload["available"] for a in _alerts(s, manager)] == [2, 1]

        # The central warehouse alerts the parts desk when it runs out (default threshold 1);
        # a van, which carries single units, has none by default.
        central = service.central(s)
        van = service.van_location(s, engineer=eng)
        flows.receive(s, location=central, part=pump, quantity=1, principal=DESK)
        flows.transfer(s, source=central, target=van, part=pump, quantity=1, principal=DESK)
        (out,) = _alerts(s, desk)
        assert out.payload["location_id"] == central.id and out.payload["available"] == 0
        # The store falls further (1 free, then 0): still the same fall, no new alert.
        flows.transfer(s, source=store, target=van, part=pump, quantity=1, principal=DESK)
        assert len(_alerts(s, desk)) == 1 and len(_alerts(s, manager)) == 2
        assert_ledger_matches(s)


def test_a_rolled_back_fall_alerts_nobody(db: Database) -> None:
    with db.session() as s:
        cat = catalogue(s)
        net = f.network(s)
        manager = f.user(s, role="network_manager", network=net)
        store = service.network_location(s, network=net)
        lock = cat["WM-LCK-01"]
        service.receive(s, location=store, part=lock, quantity=2, actor="t")
        ticket = f.ticket(s, customer=f.customer(s))
        with pytest.raises(RuntimeError), s.begin_nested():
            service.reserve(
                s, ticket_id=ticket.id, location=store, part=lock, quantity=2, actor="t"
            )
            raise RuntimeError("the request failed after the movement")
        assert flows.alert_low_stock(s) == []
        assert _alerts(s, manager) == []


def test_a_count_adjusts_the_books_within_the_bounds(db: Database) -> None:
    with db.session() as s:
        cat = catalogue(s)
        net = f.network(s)
        eng = f.engineer(s, network=net)
        store = service.network_location(s, network=net)
        board = cat["WM-PCB-01"]
        service.receive(s, location=store, part=board, quantity=5, actor="t")
        ticket = f.ticket(s, customer=f.customer(s), actions=("accept", "dispatch"), engineer=eng)
        service.reserve(s, ticket_id=ticket.id, location=store, part=board, quantity=2, actor="t")

        down = flows.count_stock(
            s, location=store, part=board, counted=3, reason="盘亏两件", principal=DESK
        )
        assert (down.on_hand_before, down.counted, down.delta) == (5, 3, -2)
        assert down.movement is not None and down.movement.kind == "adjust"
        assert (down.movement.on_hand_delta, down.movement.note) == (-2, "盘亏两件")
        b = service.balance(s, location_id=store.id, part_id=board.id)
        assert b is not None and (b.on_hand, b.reserved) == (3, 2)

        # Two are held for a ticket: a count of one is refused, and nothing moves.
        moved = s.scalar(select(StockMovement.id).order_by(StockMovement.id.desc()))
        with pytest.raises(Invalid) as refused:
            flows.count_stock(s, location=store, part=board, counted=1, reason="x", principal=DESK)
        assert refused.value.key == "parts.count_below_reserved"
        assert "预占" in refused.value.message_zh and "held" in refused.value.message_en
        with pytest.raises(Invalid):
            flows.count_stock(s, location=store, part=board, counted=-1, reason="x", principal=DESK)
        with pytest.raises(Invalid):
            flows.count_stock(s, location=store, part=board, counted=4, reason=" ", principal=DESK)
        assert s.scalar(select(StockMovement.id).order_by(StockMovement.id.desc())) == moved

        same = flows.count_stock(
            s, location=store, part=board, counted=3, reason="复盘", principal=DESK
        )
        assert same.delta == 0 and same.movement is None
        up = flows.count_stock(
            s, location=store, part=board, counted=7, reason="找到四件", principal=DESK
        )
        assert up.delta == 4
        b = service.balance(s, location_id=store.id, part_id=board.id)
        assert b is not None and (b.on_hand, b.reserved, b.available) == (7, 2, 5)
        assert_ledger_matches(s)


def test_counts_over_the_api_and_the_stock_page(
    client: TestClient, db: Database, settings: Settings
) -> None:
    with db.session() as s:
        cat = catalogue(s)
        net, other = f.network(s), f.network(s)
        store = service.network_location(s, network=net)
        far = service.network_location(s, network=other)
        pump = cat["WM-PMP-01"]
        service.receive(s, location=store, part=pump, quantity=4, actor="t")
        service.set_threshold(s, location_id=store.id, part_id=pump.id, min_level=3)
        nm = f.user(s, role="network_manager", network=net)
        desk = f.user(s, role="dispatcher")
        h = {
            "nm": f.bearer(settings, nm),
            "fin": f.bearer(settings, f.user(s, role="finance")),
        }
        nm_id, store_id, far_id, pump_id = nm.id, store.id, far.id, pump.id
        desk_name = desk.username

    body = {"location_id": store_id, "part_id": pump_id, "counted": 2, "reason": "月底盘点"}
    assert client.post("/api/v1/parts/counts", json=body, headers=h["fin"]).status_code == 403
    other_store = {**body, "location_id": far_id}
    assert client.post("/api/v1/parts/counts", json=other_store, headers=h["nm"]).status_code == 404
    bad = client.post("/api/v1/parts/counts", json={**body, "reason": ""}, headers=h["nm"])
    assert bad.status_code == 422 and "原因" in bad.json()["message_zh"]
    bad = client.post("/api/v1/parts/counts", json={**body, "counted": -1}, headers=h["nm"])
    assert bad.status_code == 422 and "实盘数量" in bad.json()["message_zh"]
    r = client.post("/api/v1/parts/counts", json=body, headers=h["nm"])
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["on_hand_before"], got["counted"], got["delta"]) == (4, 2, -2)
    assert got["movement"]["kind"] == "adjust" and got["movement"]["note"] == "月底盘点"
    assert got["balance"]["low"] is True and got["balance"]["low_since"] is not None
    with db.session() as s:
        # Audited under the manager's name, and the manager was told the store is low.
        (audit,) = [
            a
            for a in s.scalars(select(AuditRecord).where(AuditRecord.entity == "stock_movements"))
            if a.after and a.after["id"] == got["movement"]["id"]
        ]
        assert audit.actor == f"user:{nm_id}" and audit.after["on_hand_delta"] == -2  # type: ignore[index]
        assert [n.payload["available"] for n in _alerts(s, s.get_one(User, nm_id))] == [2]

    assert (
        client.post("/login", data={"username": desk_name, "password": f.PASSWORD}).status_code
        == 200
    )
    page = client.get("/parts/stock")
    assert (
        'data-testid="low-stock-item"' in page.text
        and 'data-testid="stock-count-form"' in page.text
    )
    token = TOKEN.search(page.text).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": token, "location_id": str(store_id), "part_id": str(pump_id)}
    done = client.post("/parts/stock/count", data={**form, "counted": "6", "reason": "到货补录"})
    assert done.status_code == 200 and "盘点已记录" in done.text and "+4" in done.text
    refused = client.post("/parts/stock/count", data={**form, "counted": "abc", "reason": "x"})
    assert refused.status_code == 200 and "实盘数量" in refused.text
    with db.session() as s:
        b = service.balance(s, location_id=store_id, part_id=pump_id)
        assert b is not None and (b.on_hand, b.low, b.low_since) == (6, False, None)
        assert_ledger_matches(s)
