"""The parts API and pages, role by role: the parts desk moves stock anywhere, a network
manager only their network's, an engineer sees their van and works their own tickets."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from portal.accounts.models import User
from portal.config import Settings
from portal.database import Database
from portal.parts import service
from tests.parts.world import catalogue, rate_card
from tests.portal import factories as f

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _world(db: Database, settings: Settings) -> dict[str, object]:
    with db.session() as s:
        cat = catalogue(s)
        rate_card(s)
        net, other = f.network(s), f.network(s)
        eng = f.engineer(s, network=net)
        customer = f.customer(s)
        ticket = f.ticket(
            s,
            customer=customer,
            actions=("accept", "dispatch", "engineer_accept", "depart", "arrive"),
            engineer=eng,
        )
        central = service.central(s)
        store = service.network_location(s, network=net)
        far = service.network_location(s, network=other)
        desk = f.user(s, role="dispatcher")
        nm = f.user(s, role="network_manager", network=net)
        return {
            "desk": f.bearer(settings, desk),
            "desk_user": desk.username,
            "nm": f.bearer(settings, nm),
            "eng": f.bearer(settings, s.get_one(User, eng.user_id)),
            "eng_user": s.get_one(User, eng.user_id).username,
            "fin": f.bearer(settings, f.user(s, role="finance")),
            "ticket": ticket.number,
            "customer": f.bearer(settings, customer),
            "central": central.id,
            "store": store.id,
            "far": far.id,
            "pcb": cat["WM-PCB-01"].id,
        }


def test_parts_api_by_role(client: TestClient, db: Database, settings: Settings) -> None:
    w = _world(db, settings)
    desk, nm, eng = w["desk"], w["nm"], w["eng"]
    new = {
        "code": "AC-CAP-01",
        "name": "压缩机电容",
        "category": "空调",
        "unit_cost": "12.00",
        "unit_price": "30.00",
    }
    assert client.post("/api/v1/parts/catalogue", json=new, headers=nm).status_code == 403  # type: ignore[arg-type]
    assert client.post("/api/v1/parts/catalogue", json=new, headers=desk).status_code == 201  # type: ignore[arg-type]
    assert client.post("/api/v1/parts/catalogue", json=new, headers=desk).status_code == 409  # type: ignore[arg-type]
    got = {"location_id": w["central"], "part_id": w["pcb"], "quantity": 10}
    assert client.post("/api/v1/parts/receipts", json=got, headers=desk).status_code == 201  # type: ignore[arg-type]
    # A network manager may not touch another network's (or the central) stock: 404.
    assert (
        client.post(
            "/api/v1/parts/receipts", json={**got, "location_id": w["far"]}, headers=nm
        ).status_code
        == 404
    )  # type: ignore[arg-type]
    assert (
        client.post(
            "/api/v1/parts/receipts",
            json={**got, "location_id": w["store"], "quantity": 1},
            headers=nm,
        ).status_code
        == 201
    )  # type: ignore[arg-type]
    move = {
        "source_location_id": w["central"],
        "target_location_id": w["store"],
        "part_id": w["pcb"],
        "quantity": 20,
    }
    r = client.post("/api/v1/parts/transfers", json=move, headers=desk)  # type: ignore[arg-type]
    assert r.status_code == 409 and "库存不足" in r.json()["message_zh"]
    assert (
        client.post(
            "/api/v1/parts/transfers", json={**move, "quantity": 2}, headers=desk
        ).status_code
        == 201
    )  # type: ignore[arg-type]
    stock = client.get("/api/v1/parts/stock", headers=nm).json()  # type: ignore[arg-type]
    assert [(b["location_id"], b["on_hand"]) for b in stock] == [(w["store"], 3)]
    assert len(client.get("/api/v1/parts/stock", headers=desk).json()) == 2  # type: ignore[arg-type]
    assert client.get("/api/v1/parts/stock", headers=eng).status_code == 403  # type: ignore[arg-type]
    # The engineer on site needs five boards: three held, two on order, the ticket waits.
    ask = {"lines": [{"part_code": "WM-PCB-01", "quantity": 5}]}
    r = client.post(f"/api/v1/parts/tickets/{w['ticket']}/requests", json=ask, headers=eng)  # type: ignore[arg-type]
    assert r.status_code == 200, r.text
    assert r.json()["ticket_status"] == "waiting_parts"
    assert [x["quantity"] for x in r.json()["shortages"]] == [2]
    # No asset on file: out of warranty, so the engineer quotes while the ticket waits.
    quote = client.post(f"/api/v1/settlement/tickets/{w['ticket']}/quotes", headers=eng).json()  # type: ignore[arg-type]
    assert quote["payer"] == "customer" and quote["lines"][-1]["amount"] == "1300.00"
    (order,) = client.get("/api/v1/parts/shortages?status=open", headers=nm).json()  # type: ignore[arg-type]
    assert client.post(f"/api/v1/parts/shortages/{order['id']}/ship", headers=nm).status_code == 403  # type: ignore[arg-type]
    shipped = client.post(f"/api/v1/parts/shortages/{order['id']}/ship", headers=desk)  # type: ignore[arg-type]
    assert shipped.json()["status"] == "fulfilled"
    ticket = client.get(f"/api/v1/tickets/{w['ticket']}", headers=desk).json()  # type: ignore[arg-type]
    assert ticket["status"] == "accepted"
    assert client.post(f"/api/v1/parts/tickets/{w['ticket']}/issue", headers=eng).json() == {
        "count": 2
    }  # type: ignore[arg-type]
    van = client.get("/api/v1/parts/van", headers=eng).json()  # type: ignore[arg-type]
    assert [(b["part_code"], b["on_hand"], b["reserved"]) for b in van["stock"]] == [
        ("WM-PCB-01", 5, 5)
    ]
    assert client.get("/api/v1/parts/van", headers=nm).status_code == 404  # type: ignore[arg-type]
    # The customer accepts the quote before parts go in; they answer after the parts came.
    refused = client.post(f"/api/v1/parts/tickets/{w['ticket']}/consumption", json={}, headers=eng)  # type: ignore[arg-type]
    assert refused.status_code == 409 and refused.json()["error"] == "fees.quote_required"
    answer = f"/api/v1/settlement/quotes/{quote['id']}/decision"
    assert client.post(answer, json={"accept": True}, headers=eng).status_code == 403  # type: ignore[arg-type]
    assert (
        client.post(answer, json={"accept": True}, headers=w["customer"]).json()["status"]
        == "accepted"
    )  # type: ignore[arg-type]
    used = client.post(
        f"/api/v1/parts/tickets/{w['ticket']}/consumption",
        json={"lines": [{"part_code": "WM-PCB-01", "quantity": 4}]},
        headers=eng,  # type: ignore[arg-type]
    )
    assert used.json() == {"count": 4}
    (ret,) = client.get("/api/v1/parts/returns", headers=eng).json()  # type: ignore[arg-type]
    assert ret["status"] == "awaiting" and ret["quantity"] == 4
    step = f"/api/v1/parts/returns/{ret['id']}"
    assert client.post(step, json={"step": "receive"}, headers=eng).status_code == 403  # type: ignore[arg-type]
    assert (
        client.post(step, json={"step": "ship", "tracking": "SF1"}, headers=eng).json()["status"]
        == "shipped"
    )  # type: ignore[arg-type]
    assert client.post(step, json={"step": "receive"}, headers=desk).json()["status"] == "received"  # type: ignore[arg-type]
    history = client.get(f"/api/v1/parts/movements?part_id={w['pcb']}", headers=desk).json()  # type: ignore[arg-type]
    kinds = {m["kind"] for m in history}
    assert {"receive", "transfer", "reserve", "issue", "consume", "return_defective"} <= kinds
    limit = {"location_id": w["store"], "part_id": w["pcb"], "min_level": 5}
    assert client.post("/api/v1/parts/thresholds", json=limit, headers=nm).json()["low"] is True  # type: ignore[arg-type]
    assert [
        a["location_id"] for a in client.get("/api/v1/parts/alerts", headers=w["fin"]).json()
    ] == [w["store"]]  # type: ignore[arg-type]


def test_parts_pages(client: TestClient, db: Database, settings: Settings) -> None:
    w = _world(db, settings)
    desk = w["desk"]
    client.post(
        "/api/v1/parts/receipts",
        json={"location_id": w["store"], "part_id": w["pcb"], "quantity": 1},
        headers=desk,
    )  # type: ignore[arg-type]
    client.post(
        f"/api/v1/parts/tickets/{w['ticket']}/requests",
        json={"lines": [{"part_code": "WM-PCB-01", "quantity": 2}]},
        headers=desk,
    )  # type: ignore[arg-type]
    assert (
        client.post("/login", data={"username": w["desk_user"], "password": f.PASSWORD}).status_code
        == 200
    )
    stock = client.get("/parts/stock")
    assert (
        stock.status_code == 200
        and 'data-testid="stock-row"' in stock.text
        and "电脑板" in stock.text
    )
    assert "预占" in client.get("/parts/movements").text
    page = client.get("/parts/shortages")
    assert w["ticket"] in page.text  # type: ignore[operator]
    order = re.search(r'action="/parts/shortages/(\d+)/fulfil"', page.text).group(1)  # type: ignore[union-attr]
    token = TOKEN.search(page.text).group(1)  # type: ignore[union-attr]
    done = client.post(f"/parts/shortages/{order}/fulfil", data={"csrf_token": token})
    assert done.status_code == 200 and "库存仍不足" in done.text  # nothing free at the store
    client.post("/logout", data={"csrf_token": token})
    assert (
        client.post("/login", data={"username": w["eng_user"], "password": f.PASSWORD}).status_code
        == 200
    )
    van = client.get("/parts/van")
    assert (
        van.status_code == 200 and 'name="viewport"' in van.text and 'data-testid="van"' in van.text
    )
    assert client.get("/parts/stock").status_code == 403
