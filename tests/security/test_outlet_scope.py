"""A parent network's manager sees the tickets and stock of the 伞下店 under their network;
the outlet's own manager sees only the outlet's; another network's manager neither (issue 23)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from portal.config import Settings
from portal.database import Database
from portal.parts import service as parts
from portal.security import issue_token
from tests.parts.world import catalogue
from tests.portal import factories as f


def test_a_parent_manager_sees_their_outlets_tickets_and_stock(
    db: Database, client: TestClient, settings: Settings
) -> None:
    with db.session() as s:
        cat = catalogue(s)
        parent = f.network(s, name="浦东服务中心")
        outlet = f.network(s, name="川沙伞下店", kind="sub", parent_id=parent.id)
        other = f.network(s, name="徐汇服务中心")
        at_outlet = f.ticket(
            s,
            customer=f.customer(s),
            actions=("accept", "dispatch"),
            engineer=f.engineer(s, network=outlet),
        )
        at_parent = f.ticket(
            s,
            customer=f.customer(s),
            actions=("accept", "dispatch"),
            engineer=f.engineer(s, network=parent),
        )
        store = parts.network_location(s, network=outlet)
        parts.receive(s, location=store, part=cat["WM-PMP-01"], quantity=2, actor="t")
        tokens = {
            name: issue_token(settings, f.user(s, role="network_manager", network=net))
            for name, net in (("parent", parent), ("outlet", outlet), ("other", other))
        }
        numbers = {"outlet": at_outlet.number, "parent": at_parent.number}
        store_id = store.id

    def sees(who: str, ticket: str) -> bool:
        r = client.get(
            f"/api/v1/tickets/{numbers[ticket]}", headers={"Authorization": f"Bearer {tokens[who]}"}
        )
        assert r.status_code in (200, 404), r.text
        return r.status_code == 200

    def stock(who: str) -> set[int]:
        r = client.get("/api/v1/parts/stock", headers={"Authorization": f"Bearer {tokens[who]}"})
        assert r.status_code == 200, r.text
        return {row["location_id"] for row in r.json()}

    assert (sees("parent", "outlet"), sees("parent", "parent")) == (True, True)
    assert (sees("outlet", "outlet"), sees("outlet", "parent")) == (True, False)
    assert (sees("other", "outlet"), sees("other", "parent")) == (False, False)
    assert store_id in stock("parent") and store_id in stock("outlet")
    assert store_id not in stock("other")
