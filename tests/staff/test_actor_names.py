"""One person, one name (issue 19): automatic dispatch is credited to the system, not to the
chat bot, and an engineer carries the same name on their login as on their jobs."""

from __future__ import annotations

from portal.accounts.models import User
from portal.accounts.service import actor_names
from portal.database import Database
from portal.demo.staff import DEMO_STAFF
from portal.dispatch.flows import SYSTEM as DISPATCH
from portal.staff import service
from tests.portal import factories as f


def test_automatic_dispatch_is_the_systems_not_the_bots(db: Database) -> None:
    demo = "system:auto-dispatch"  # the demo's history of it (portal.demo.plan)
    actors = [DISPATCH.actor, demo, "service:bot", "service:settlement", "system"]
    with db.session() as s:
        zh = actor_names(s, actors, "zh")
        en = actor_names(s, actors, "en")
    assert zh[DISPATCH.actor] == zh[demo] == "系统（自动派单）"
    assert en[DISPATCH.actor] == "System (auto-dispatch)"
    assert zh["service:bot"] == "智能客服"
    assert zh["service:settlement"] == zh["system"] == "系统"


def test_the_demo_engineer_login_has_the_engineers_own_name() -> None:
    names = {username: name for username, _, name, _ in DEMO_STAFF}
    assert names["engineer"] == "刘洋"


def test_renaming_an_engineers_login_renames_the_engineer(db: Database) -> None:
    with db.session() as s:
        net = f.network(s)
        row = f.engineer(s, network=net, name="工程师小刘")
        login = s.get_one(User, row.user_id)
        service.update(s, user=login, actor_id=None, display_name="刘洋")
        s.refresh(row)
        assert login.display_name == row.name == "刘洋"
