"""The standard job library on both databases: lookup by model with the category as fallback,
the labour quota settlement uses, the demo seed, and the API with its scoping."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.assets.models import ProductModel
from portal.config import Settings
from portal.database import Database
from portal.sop import service
from portal.sop.demo import SOPS, seed_sops
from portal.sop.models import StandardJob
from portal.tickets.models import Ticket
from tests.portal import factories as f


def _job(s: Session, code: str, **fields: object) -> StandardJob:
    row = StandardJob(
        code=code,
        title=fields.pop("title", code),
        service_type=fields.pop("service_type", "repair"),
        steps=fields.pop("steps", ["检查", "维修"]),
        safety_notes=fields.pop("safety_notes", ["断电"]),
        standard_parts=fields.pop("standard_parts", []),
        labour_hours=fields.pop("labour_hours", Decimal("1.00")),
        **fields,
    )
    s.add(row)
    s.flush()
    return row


def _ticket_for(s: Session, model: ProductModel, **fields: object) -> Ticket:
    customer = f.customer(s, with_asset=False)
    unit = f.asset(s, customer=customer, address_=customer.addresses[0], model=model)
    return f.ticket(s, customer=customer, serial_number=unit.serial_number, **fields)


def test_model_first_then_category_then_the_default(db: Database) -> None:
    with db.session() as s:
        washers = f.product(s, category="洗衣机", name="滚筒洗衣机")
        wm100 = f.product_model(s, product_=washers)
        wm200 = f.product_model(s, product_=washers)
        _job(s, "CAT", product_category="洗衣机", labour_hours=Decimal("1.25"))
        _job(s, "MODEL", model_id=wm100.id, product_category="洗衣机", labour_hours=Decimal("2"))
        _job(s, "OLD", model_id=wm200.id, product_category="洗衣机", active=False)
        _job(s, "INSTALL", product_category="洗衣机", service_type="installation")

        on_model = _ticket_for(s, wm100)
        found = service.for_ticket(s, ticket=on_model)
        assert (found.match, found.job and found.job.code) == ("model", "MODEL")
        assert service.labour_quota(s, ticket=on_model) == Decimal("2.00")

        # wm200's own SOP is inactive: the category's applies.
        fallback = _ticket_for(s, wm200)
        found = service.for_ticket(s, ticket=fallback)
        assert (found.match, found.job and found.job.code) == ("category", "CAT")
        assert service.labour_quota(s, ticket=fallback) == Decimal("1.25")

        # No asset: the model code, else the product line's category, names the job.
        by_code = f.ticket(s, customer=f.customer(s, with_asset=False), model_code=wm100.code)
        assert service.for_ticket(s, ticket=by_code).match == "model"
        by_line = f.ticket(s, customer=f.customer(s, with_asset=False), product="滚筒洗衣机")
        assert service.for_ticket(s, ticket=by_line).job.code == "CAT"  # type: ignore[union-attr]

        # Nothing for fridges: the flat default of the service type, as Decimal hours.
        fridge = f.ticket(s, customer=f.customer(s, with_asset=False), product="冰箱")
        assert service.for_ticket(s, ticket=fridge).match == "none"
        quota = service.labour_quota(s, ticket=fridge)
        assert isinstance(quota, Decimal) and quota == Decimal("1.00")
        install = f.ticket(s, customer=f.customer(s, with_asset=False), type="installation",
                           product="冰箱", preferred_time="周六")  # fmt: skip
        assert service.labour_quota(s, ticket=install) == Decimal("1.50")
        consult = f.ticket(s, customer=f.customer(s, with_asset=False), type="consultation")
        # A consultation that needs a visit is done as a repair visit.
        assert service.for_ticket(s, ticket=consult).job.code == "CAT"  # type: ignore[union-attr]


def test_seed_sops_is_idempotent_and_links_models(db: Database) -> None:
    with db.session() as s:
        washers = f.product(s, category="洗衣机", name="滚筒洗衣机")
        s.add(
            ProductModel(product_id=washers.id, code="WM-100", name="滚筒 8kg", warranty_months=24)
        )
        s.flush()
        assert seed_sops(s) == len(SOPS)
        assert seed_sops(s) == 0
        specific = s.scalars(select(StandardJob).where(StandardJob.code == "SOP-WM100-RP")).one()
        assert specific.model_id is not None and specific.labour_hours == Decimal("1.50")
        for job in s.scalars(select(StandardJob)):
            assert job.steps and job.safety_notes and job.labour_hours > 0
    with db.session() as s:
        # Without the WM-100 model the model-specific job is left out, the rest go in.
        s.execute(StandardJob.__table__.delete())
        s.execute(ProductModel.__table__.delete().where(ProductModel.code == "WM-100"))
        assert seed_sops(s) == len(SOPS) - 1


@pytest.fixture
def people(db: Database, settings: Settings) -> dict[str, dict[str, str]]:
    with db.session() as s:
        net = f.network(s)
        engineer = f.engineer(s, network=net)
        other = f.engineer(s, network=net)
        washers = f.product(s, category="洗衣机")
        model = f.product_model(s, product_=washers)
        mine = _ticket_for(s, model, actions=("accept", "dispatch"), engineer=engineer)
        theirs = _ticket_for(s, model, actions=("accept", "dispatch"), engineer=other)
        return {
            "headers": {
                "editor": f.headers_for(s, settings, "knowledge_editor"),
                "agent": f.headers_for(s, settings, "agent"),
                "engineer": f.bearer(settings, s.get_one(User, engineer.user_id)),
            },
            "refs": {"mine": mine.number, "theirs": theirs.number, "model": model.code},
        }


def test_the_api(client: TestClient, people: dict[str, dict[str, str]]) -> None:
    hd, refs = people["headers"], people["refs"]
    body = {
        "code": "SOP-T-1",
        "title": "洗衣机通用维修",
        "service_type": "repair",
        "product_category": "洗衣机",
        "steps": ["读取故障码", "更换部件", "试机"],
        "safety_notes": ["断电后拆机"],
        "standard_parts": [{"part_code": "WM-PUMP-01", "name": "排水泵", "quantity": 1}],
        "labour_hours": "1.5",
    }
    assert client.post("/api/v1/sop/jobs", json=body, headers=hd["agent"]).status_code == 403
    made = client.post("/api/v1/sop/jobs", json=body, headers=hd["editor"])
    assert made.status_code == 201, made.text
    assert made.json()["labour_hours"] == "1.50"
    again = client.post("/api/v1/sop/jobs", json=body, headers=hd["editor"])
    assert again.status_code == 409
    neither = {**body, "code": "SOP-T-2", "product_category": ""}
    assert client.post("/api/v1/sop/jobs", json=neither, headers=hd["editor"]).status_code == 422
    unknown = {**body, "code": "SOP-T-3", "model_code": "NOPE"}
    assert client.post("/api/v1/sop/jobs", json=unknown, headers=hd["editor"]).status_code == 422

    got = client.get(f"/api/v1/sop/for-ticket/{refs['mine']}", headers=hd["engineer"])
    assert got.status_code == 200, got.text
    data = got.json()
    assert data["match"] == "category" and data["sop"]["code"] == "SOP-T-1"
    assert data["labour_quota_hours"] == "1.50" and data["model_code"] == refs["model"]
    theirs = client.get(f"/api/v1/sop/for-ticket/{refs['theirs']}", headers=hd["engineer"])
    assert theirs.status_code == 404

    job_id = made.json()["id"]
    patched = client.patch(
        f"/api/v1/sop/jobs/{job_id}", json={"active": False}, headers=hd["editor"]
    )
    assert patched.status_code == 200 and patched.json()["active"] is False
    none = client.get(f"/api/v1/sop/for-ticket/{refs['mine']}", headers=hd["agent"]).json()
    assert none["match"] == "none" and none["sop"] is None and none["labour_quota_hours"] == "1.00"
    listed = client.get("/api/v1/sop/jobs", params={"service_type": "repair"}, headers=hd["agent"])
    assert [j["code"] for j in listed.json()] == ["SOP-T-1"]
    assert client.get("/api/v1/sop/jobs/999999", headers=hd["agent"]).status_code == 404
