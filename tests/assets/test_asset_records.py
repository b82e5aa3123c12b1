"""Units registered from the work record (a bot ticket arrives without one), the quick
measures per fault code, and warranty terms per product category (master data, as the FAQ
says them)."""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.assets import service as assets
from portal.assets.models import Asset, ProductModel
from portal.config import ROOT
from portal.consults.models import Consult
from portal.database import Database
from portal.demo.assets import WARRANTY_TERMS
from portal.demo.catalog import PRODUCTS
from portal.errors import Conflict, Invalid
from portal.fees import service as fees
from portal.field import quick
from portal.field.models import WorkRecord
from portal.masterdata.models import FaultCode, WarrantyTerm
from portal.networks.models import Engineer
from portal.tickets.models import Ticket, TicketEvent
from tests.field.support import csrf, log_in
from tests.portal import factories as f

SIGNATURE = "data:image/png;base64," + base64.b64encode(f.PNG).decode()
TODAY = date(2026, 12, 7)


def _washer_model(s: Session, *, months: int = 36, code: str = "WM-100") -> ProductModel:
    product = f.product(s, category="洗衣机", name="滚筒洗衣机")
    model = ProductModel(product_id=product.id, code=code, name="滚筒 8kg", warranty_months=months)
    s.add(model)
    s.flush()
    return model


def _bot_ticket(s: Session, *, engineer: Engineer | None = None, fault: str = "显示E21，不排水"):
    customer = f.customer(s, with_asset=False, name="周女士")
    actions = ("accept", "dispatch") if engineer else ()
    return f.ticket(
        s,
        customer=customer,
        actions=actions,
        engineer=engineer,
        channel="web",
        product="洗衣机",
        fault_description=fault,
    )


def _entry(**kw: object) -> assets.UnitEntry:
    values: dict[str, object] = {
        "model_code": "WM-100",
        "serial_number": "wm 2024 0100 012",
        "install_date": None,
        "purchase_date": date(2024, 3, 1),
    }
    values.update(kw)
    return assets.UnitEntry(**values)  # type: ignore[arg-type]


def test_a_unit_is_registered_from_the_work_record_and_linked(db: Database) -> None:
    with db.session() as s:
        model = _washer_model(s)
        ticket = _bot_ticket(s)
        assert ticket.asset_id is None
        unit = assets.register_from_work(
            s, ticket=ticket, entry=_entry(), actor="user:7", today=TODAY
        )
        # Normalised serial, the model's 36 months from the purchase day, linked both ways.
        assert unit.serial_number == "WM20240100012"
        assert (unit.model_id, unit.customer_id) == (model.id, ticket.customer_id)
        assert unit.warranty_end == date(2027, 3, 1) and unit.purchase_date == date(2024, 3, 1)
        assert (unit.origin, unit.registered_by) == ("work_record", "user:7")
        assert unit.address_id == ticket.customer.addresses[0].id
        assert (ticket.asset_id, ticket.model_code, ticket.serial_number) == (
            unit.id,
            "WM-100",
            "WM20240100012",
        )
        assert fees.warranty(s, ticket=ticket, on=TODAY) == fees.Warranty(True, "in_warranty")

        # The same customer's next ticket on that serial links the same unit, no duplicate.
        again = f.ticket(s, customer=ticket.customer, product="洗衣机")
        same = assets.register_from_work(s, ticket=again, entry=_entry(), actor="u", today=TODAY)
        assert same.id == unit.id
        assert len(s.scalars(select(Asset)).all()) == 1

        # Another customer's ticket with that serial: a conflict that names it.
        other = _bot_ticket(s)
        with pytest.raises(Conflict) as refused:
            assets.register_from_work(s, ticket=other, entry=_entry(), actor="u", today=TODAY)
        assert "WM20240100012" in refused.value.message_zh
        assert "another customer" in refused.value.message_en
        assert other.asset_id is None


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ({"serial_number": "WM-1"}, "assets.serial_format"),
        ({"serial_number": "ABCDEFGHIJ"}, "assets.serial_format"),  # no digits: not a serial
        ({"serial_number": "WM2024/0100"}, "assets.serial_format"),
        ({"model_code": ""}, "assets.model_missing"),
        ({"model_code": "XX-1"}, "error.unknown_model"),
        ({"model_code": "AC-120"}, "assets.model_other_category"),
        ({"purchase_date": None}, "assets.date_missing"),
        ({"purchase_date": TODAY + timedelta(days=1)}, "assets.bad_date"),
        ({"install_date": date(2024, 2, 1)}, "assets.installed_before_bought"),
    ],
)
def test_what_the_engineer_entered_is_checked(
    db: Database, entry: dict[str, object], key: str
) -> None:
    with db.session() as s:
        _washer_model(s)
        ac = f.product(s, category="空调", name="挂式空调")
        s.add(ProductModel(product_id=ac.id, code="AC-120", name="挂机", warranty_months=72))
        ticket = _bot_ticket(s)
        with pytest.raises((Invalid, Conflict)) as refused:
            assets.register_from_work(
                s, ticket=ticket, entry=_entry(**entry), actor="u", today=TODAY
            )
        assert refused.value.key == key
        assert refused.value.message_zh and refused.value.message_en
        assert ticket.asset_id is None and not s.scalars(select(Asset)).all()


def test_quick_measures_come_from_the_fault_code_then_from_what_was_recorded(
    db: Database,
) -> None:
    with db.session() as s:
        model = _washer_model(s)
        s.add(
            FaultCode(
                model_id=model.id,
                code="E21",
                description="排水超时",
                measures=["清理排水过滤器", "疏通排水管"],
                parts=["WM-PUMP-01"],
            )
        )
        engineer = f.engineer(s, network=f.network(s, city="上海"))
        # Earlier E21 visits recorded these measures; an E30 visit does not count.
        history = [
            ("E21", ["更换排水泵", "清理排水过滤器"]),
            ("E21", ["更换排水泵"]),
            ("E21", ["检查排水泵线束"]),
            ("E30", ["更换门锁开关"]),
        ]
        for code, measures in history:
            done = _bot_ticket(s, fault=f"报{code}")
            event = TicketEvent(
                ticket_id=done.id,
                action="arrive",
                from_status="departed",
                to_status="arrived",
                actor="x",
                payload={},
            )
            s.add(event)
            s.flush()
            s.add(
                WorkRecord(
                    ticket_id=done.id,
                    arrival_event_id=event.id,
                    engineer_id=engineer.id,
                    work_done="；".join(measures),
                    measures=measures,
                    parts_used=[{"part_code": "", "name": "排水泵", "quantity": 1}],
                    photo_ids=[],
                )
            )
        ticket = _bot_ticket(s, fault="洗衣机显示 e21，水排不出去")
        offered = quick.quick_list(s, ticket=ticket)
        assert offered.code == "E21"
        # Master data first, in its order; then the recorded ones, most frequent first.
        assert offered.measures == ["清理排水过滤器", "疏通排水管", "更换排水泵", "检查排水泵线束"]
        assert offered.used == {"清理排水过滤器": 1, "更换排水泵": 2, "检查排水泵线束": 1}
        assert [p.ref for p in offered.parts] == ["WM-PUMP-01", "排水泵"]
        assert quick.quick_list(s, ticket=_bot_ticket(s, fault="滚筒不转")).measures == []


def test_the_experts_advice_is_one_tap_in_the_work_record(db: Database) -> None:
    """A tester had to type the expert's 建议措施 into the work record by hand; it is offered
    first among the ticks, with or without a fault code, and a tick records it."""
    with db.session() as s:
        model = _washer_model(s)
        s.add(
            FaultCode(
                model_id=model.id,
                code="E21",
                description="排水超时",
                measures=["清理排水过滤器"],
                parts=[],
            )
        )
        engineer = f.engineer(s, network=f.network(s, city="上海"))
        for fault in ("洗衣机显示 e21，水排不出去", "滚筒不转"):
            ticket = _bot_ticket(s, engineer=engineer, fault=fault)
            advice = "阻值异常则更换排水泵；电压不足则更换电脑板"
            for measure in (advice, "", advice):  # an answer without a measure adds nothing
                s.add(
                    Consult(
                        ticket_id=ticket.id,
                        engineer_id=engineer.id,
                        question="E21 不排水",
                        status="answered",
                        opened_by="user:1",
                        measure=measure,
                    )
                )
            s.flush()
            offered = quick.quick_list(s, ticket=ticket)
            assert offered.expert == [advice]
            assert offered.measures[0] == advice
            assert offered.measures[1:] == (["清理排水过滤器"] if "e21" in fault else [])


def test_warranty_terms_come_per_category_and_agree_with_the_faq(db: Database) -> None:
    # The FAQ's table (warranty-period-overview) and the master data the demo loads say the
    # same months for every category.
    faq = yaml.safe_load((ROOT / "knowledge_base/faq/warranty/policy.yaml").read_text())
    table = next(e for e in faq if e["id"] == "warranty-period-overview")["answer"]
    said: dict[str, int] = {}
    for row in re.findall(r"^\| (\S[^|]*?) \| (\d+) 年 \|", table, flags=re.M):
        for name in row[0].split(" / "):
            said[name.strip()] = int(row[1]) * 12
    assert said["洗衣机"] == 36  # the known gap: not the statutory 12 months
    loaded = {(t.product or t.category): t.unit_months for t in WARRANTY_TERMS}
    # The FAQ names the two lines of 热水器; the category row holds what both say.
    said["热水器"] = said["电热水器"] if said["电热水器"] == said["燃气热水器"] else 0
    for name, months in loaded.items():
        assert said[name] == months, name
    assert set(said) - set(loaded) <= {"洗碗机"}  # no such product in the catalogue
    # The demo's models are never shorter than their category's published terms.
    for spec in PRODUCTS:
        term = loaded.get(spec.name, loaded[spec.category])
        assert all(m.warranty_months >= term for m in spec.models), spec.name

    with db.session() as s:
        for t in WARRANTY_TERMS:
            s.add(
                WarrantyTerm(
                    product_category=t.category,
                    product=t.product,
                    unit_months=t.unit_months,
                    main_part=t.main_part,
                    main_part_months=t.main_part_months,
                )
            )
        s.flush()
        assert assets.standard_months(s, category="洗衣机") == 36
        assert assets.standard_months(s, category="空调") == 72
        assert assets.standard_months(s, category="热水器", product="电热水器") == 36
        assert assets.standard_months(s, category="油烟机") == 12
        assert assets.standard_months(s, category="无此品类") == assets.STATUTORY_MONTHS
        # A purchase proof on a washer ticket without a known model: 3 years, as the FAQ says.
        ticket = _bot_ticket(s)
        bought = TODAY - timedelta(days=2 * 365)
        assert fees.evidence_end(s, ticket=ticket, purchased=bought) == date(
            bought.year + 3, bought.month, bought.day
        )
        ticket.details = {
            **ticket.details,
            fees.EVIDENCE: {"purchase_date": bought.isoformat(), "invoice_id": 1},
        }
        assert fees.warranty(s, ticket=ticket, on=TODAY) == fees.Warranty(True, "evidence")
        range_hood = f.ticket(s, customer=ticket.customer, product="油烟机")
        assert fees.evidence_end(s, ticket=range_hood, purchased=bought) == date(
            bought.year + 1, bought.month, bought.day
        )


def _post(client: TestClient, url: str, **data: object) -> str:
    token = csrf(client)
    response = client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_completing_a_bot_ticket_registers_its_unit_and_keeps_refused_input(
    client: TestClient, db: Database
) -> None:
    with db.session() as s:
        model = _washer_model(s)
        s.add(
            FaultCode(
                model_id=model.id,
                code="E21",
                description="排水超时",
                measures=["清理排水过滤器", "更换排水泵"],
                parts=[],
            )
        )
        net = f.network(s, city="上海")
        engineer = f.engineer(s, network=net, name="李师傅")
        ticket = _bot_ticket(s, engineer=engineer)
        number, username = ticket.number, s.get_one(User, engineer.user_id).username
        other = f.customer(s, with_asset=False)
        s.add(Asset(serial_number="WM20240199999", model_id=model.id, customer_id=other.id))
    log_in(client, username)
    url = f"/field/jobs/{number}"
    for step in ("accept", "depart", "arrive"):
        assert _post(client, f"{url}/{step}") == url
    page = client.get(url).text
    assert 'data-testid="unit-form"' in page and 'data-testid="quick"' in page
    assert 'value="清理排水过滤器"' in page

    # Ticked, not typed: the measure is the work done's first line and is kept as a measure.
    _post(client, f"{url}/record", measure="清理排水过滤器", work_done="试机排水正常")
    _post(client, f"{url}/signature", signature=SIGNATURE, signed_by="周女士")
    with db.session() as s:
        record = s.scalars(select(WorkRecord)).one()
        assert record.measures == ["清理排水过滤器"]
        assert record.work_done == "清理排水过滤器\n试机排水正常"

    # A serial another customer holds: refused, nothing registered, what was typed is back.
    typed = {"unit_model": "WM-100", "unit_serial": "WM20240199999", "unit_purchase": "2021-05-04"}
    assert _post(client, f"{url}/complete", **typed) == f"{url}#unit"
    page = client.get(url).text
    assert "另一位客户" in page
    assert 'value="WM20240199999"' in page and 'value="2021-05-04"' in page
    assert '<option value="WM-100" selected' in page
    assert 'data-status="arrived"' in page
    # A date that is not one is refused as clearly.
    assert _post(client, f"{url}/complete", **{**typed, "unit_purchase": "2021-13-01"}) == (
        f"{url}#unit"
    )

    done = {**typed, "unit_serial": "wm2021 0500 321"}
    assert _post(client, f"{url}/complete", **done) == url
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == number)).one()
        assert ticket.status == "completed"
        unit = s.get_one(Asset, ticket.asset_id)
        assert (unit.serial_number, unit.origin, unit.customer_id) == (
            "WM20210500321",
            "work_record",
            ticket.customer_id,
        )
        assert unit.warranty_end == date(2024, 5, 4)  # 36 months from the purchase
        completed = next(e for e in ticket.events if e.action == "complete")
        assert completed.payload["asset_registered"] == unit.id
    assert 'data-testid="unit-form"' not in client.get(url).text

    # The desk's asset page says where the unit's record came from.
    with db.session() as s:
        agent = f.user(s, role="agent").username
        unit_id = s.scalars(select(Ticket.asset_id).where(Ticket.number == number)).one()
    client.post("/logout", data={"csrf_token": csrf(client)})
    log_in(client, agent, next_="/tickets")
    desk = client.get(f"/assets/{unit_id}").text
    assert 'data-origin="work_record"' in desk and "完工时由工程师登记" in desk
    assert "2021-05-04" in desk  # the purchase day
