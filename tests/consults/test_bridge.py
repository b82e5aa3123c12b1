"""The group-robot bridge: a new consult goes to the WeCom and DingTalk groups through the
outbox worker, against local fakes that hold our messages to the services' rules."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from portal.config import Settings
from portal.consults import flows, service
from portal.database import Database
from portal.notifications.delivery import Outbox, build_senders
from portal.notifications.models import Notification
from portal.notifications.robots import DingTalkRobot, WeComRobot, dingtalk_sign
from portal.notifications.senders import DeliveryError, Outgoing
from portal.tickets.models import Ticket
from tests.consults.fakes import (
    DINGTALK_SECRET,
    DINGTALK_TOKEN,
    WECOM_KEY,
    FakeDingTalk,
    FakeWeCom,
)
from tests.consults.support import JPEG, LIMITS, Scene, engineer, scene
from tests.notifications.fakes import serving


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    with serving(FakeWeCom()) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def dingtalk() -> Iterator[FakeDingTalk]:
    with serving(FakeDingTalk()) as fake:
        yield fake  # type: ignore[misc]


def _settings(db: Database, wecom: FakeWeCom, dingtalk: FakeDingTalk, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "database_url": db.url,
        "public_url": "https://service.example.cn",
        "consult_wecom_webhook": f"{wecom.url}/cgi-bin/webhook/send?key={WECOM_KEY}",
        "consult_dingtalk_webhook": f"{dingtalk.url}/robot/send?access_token={DINGTALK_TOKEN}",
        "consult_dingtalk_secret": DINGTALK_SECRET,
        "notify_timeout_s": 5,
    }
    values.update(kw)
    return Settings(**values)


def _ask(db: Database, sc: Scene, settings: Settings, root: Path, question: str) -> int:
    with db.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.number == sc.world.job)).one()
        consult = service.open_consult(
            s,
            ticket=ticket,
            principal=engineer(s, sc.world.engineer_id),
            question=question,
            fault_code="E21",
            photos=[service.Upload("pump.jpg", JPEG)],
            video=None,
            limits=LIMITS,
            root=root,
        )
        flows.opened(s, consult=consult, ticket=ticket, engineer_name="李师傅", settings=settings)
        return consult.id


def _robot_rows(db: Database) -> dict[str, Notification]:
    with db.session() as s:
        rows = s.scalars(
            select(Notification).where(Notification.channel.in_(("wecom", "dingtalk")))
        )
        out = {n.channel: n for n in rows}
        s.expunge_all()
        return out


def _deliver(db: Database, settings: Settings) -> None:
    Outbox.from_settings(
        db, settings, worker="w1", senders=build_senders(settings, db=db)
    ).deliver_once()


def test_a_new_consult_reaches_both_groups_through_the_outbox(
    db: Database, wecom: FakeWeCom, dingtalk: FakeDingTalk, tmp_path: Path
) -> None:
    sc = scene(db)
    settings = _settings(db, wecom, dingtalk)
    consult_id = _ask(db, sc, settings, tmp_path, "换泵后仍报 E21，是否主板驱动坏了？")
    assert set(_robot_rows(db)) == {"wecom", "dingtalk"}
    _deliver(db, settings)
    rows = _robot_rows(db)
    assert {c: n.status for c, n in rows.items()} == {"wecom": "sent", "dingtalk": "sent"}
    [sent] = wecom.deliveries()
    assert sent.query["key"] == [WECOM_KEY] and sent.body["msgtype"] == "markdown"
    content = sent.body["markdown"]["content"]
    assert sc.world.job in content and "E21" in content and "换泵后仍报" in content
    assert content.endswith(f"(https://service.example.cn/consults?open={consult_id})")
    [ding] = dingtalk.deliveries()
    assert ding.body["msgtype"] == "markdown"
    assert ding.body["markdown"]["title"].startswith("【远程会诊】")
    assert sc.world.job in ding.body["markdown"]["text"]
    # Once each: another pass sends nothing again.
    _deliver(db, settings)
    assert len(wecom.deliveries()) == 1 and len(dingtalk.deliveries()) == 1


def test_a_wrong_signing_secret_fails_for_good_with_310000(
    db: Database, wecom: FakeWeCom, dingtalk: FakeDingTalk, tmp_path: Path
) -> None:
    sc = scene(db)
    settings = _settings(db, wecom, dingtalk, consult_dingtalk_secret="SECnot-the-robot-s")
    _ask(db, sc, settings, tmp_path, "燃气灶点火针不放电")
    _deliver(db, settings)
    rows = _robot_rows(db)
    assert rows["wecom"].status == "sent"
    assert rows["dingtalk"].status == "failed" and "310000" in rows["dingtalk"].last_error
    assert rows["dingtalk"].attempts == 1


def _outgoing(text: str, **payload: Any) -> Outgoing:
    return Outgoing(
        id=1,
        key="consult:1:opened:x",
        channel="x",
        recipient="group",
        template="consult_opened",
        text=text,
        payload={"link": "https://service.example.cn/consults?open=1", **payload},
        created_at=datetime.now(UTC),
        attempts=1,
    )


def test_dingtalk_signs_with_a_timestamp_within_the_hour(dingtalk: FakeDingTalk) -> None:
    url = f"{dingtalk.url}/robot/send?access_token={DINGTALK_TOKEN}"
    with httpx.Client() as http:
        for minutes_off, accepted in ((0, True), (59, True), (-59, True), (61, False)):
            robot = DingTalkRobot(
                url=url,
                secret=DINGTALK_SECRET,
                http=http,
                clock=lambda m=minutes_off: time.time() - m * 60,
            )
            if accepted:
                robot.send(_outgoing("工单 SR1 会诊"))
            else:
                with pytest.raises(DeliveryError) as refused:
                    robot.send(_outgoing("工单 SR1 会诊"))
                assert "310000" in str(refused.value) and refused.value.retry is False
        # The fake holds the sign to its rules: one sent without URL-encoding is refused.
        answers = []
        for n in range(20):  # a sign with a "+" in it turns up within a few timestamps
            stamp = str(int(time.time() * 1000) + n)
            encoded = dingtalk_sign(DINGTALK_SECRET, stamp)
            if "%2B" not in encoded:
                continue
            plain = encoded.replace("%2B", "+").replace("%2F", "/").replace("%3D", "=")
            body = {"msgtype": "text", "text": {"content": "x"}}
            answers.append(
                http.post(f"{url}&timestamp={stamp}&sign={plain}", json=body).json()["errcode"]
            )
        assert answers and set(answers) == {310000}


def test_wecom_messages_are_cut_to_fit_and_the_fake_enforces_the_limits(
    wecom: FakeWeCom,
) -> None:
    url = f"{wecom.url}/cgi-bin/webhook/send?key={WECOM_KEY}"
    with httpx.Client() as http:
        WeComRobot(url=url, http=http).send(_outgoing("问" * 3000))  # 9000 bytes of text
        [sent] = wecom.deliveries()
        content = sent.body["markdown"]["content"]
        assert len(content.encode()) <= 4096
        assert content.endswith("(https://service.example.cn/consults?open=1)")
        assert "…" in content

        def post(kind: str, content: str, key: str = WECOM_KEY) -> int:
            body = {"msgtype": kind, kind: {"content": content}}
            url = f"{wecom.url}/cgi-bin/webhook/send?key={key}"
            return int(http.post(url, json=body).json()["errcode"])

        assert post("text", "a" * 2048) == 0 and post("text", "a" * 2049) == 40058
        assert post("markdown", "啊" * 1365) == 0 and post("markdown", "啊" * 1366) == 40058
        assert post("text", "x", key="not-a-key") == 93000
        with pytest.raises(DeliveryError) as refused:
            WeComRobot(url=url.replace(WECOM_KEY, "wrong"), http=http).send(_outgoing("x"))
        assert "93000" in str(refused.value) and refused.value.retry is False
        wecom.script.append((200, {"errcode": 45009, "errmsg": "api freq out of limit"}))
        with pytest.raises(DeliveryError) as busy:
            WeComRobot(url=url, http=http).send(_outgoing("x"))
        assert busy.value.retry is True


def test_no_webhook_no_robot_sender(db: Database) -> None:
    senders = build_senders(Settings(_env_file=None, database_url=db.url), db=db)
    assert "wecom" not in senders and "dingtalk" not in senders
