"""Demo consults: the demo engineer's open jobs have one waiting in the experts' queue and one
the expert has answered; a handful of their finished jobs had consults, answered and
resolved, so the desk's list and the people board's figures have something to show."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.consults.models import Consult, ConsultMessage
from portal.field.service import OPEN_FOR_ENGINEER
from portal.networks.models import Engineer
from portal.tickets.models import Ticket

# Per product category: (question, fault code, the expert's answer, the measure). A consult
# is only put on a job of its own category (a tester found an air-conditioner question on a
# washing machine's job).
SCRIPTS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "洗衣机": (
        (
            "洗衣机脱水时报 E21，排水泵已清理，通电有嗡嗡声但不转，是否需要换泵还是主板问题？",
            "E21",
            "先断电测排水泵线圈阻值，正常约 150–200Ω；阻值正常再测主板泵驱动端电压，应为 220V。",
            "阻值异常则更换排水泵；电压不足则更换电脑板",
        ),
        (
            "滚筒洗衣机脱水时整机晃动、异响，已调平地脚，运输螺栓也拆了。",
            "",
            "检查吊簧与减震器阻尼：按压筒体回弹超过两次即减震器失效；再看轴承是否有旷量。",
            "更换减震器；轴承旷量大则更换轴承组件",
        ),
    ),
    "空调": (
        (
            "空调外机运行 10 分钟后停机，显示 P4，压缩机很烫，冷媒压力偏低。",
            "P4",
            "P4 多为压缩机过热保护：检查冷媒是否泄漏（焊点、阀门），补压前先保压检漏。",
            "检漏补焊后按铭牌量加注冷媒",
        ),
    ),
    "冰箱": (
        (
            "冰箱冷藏室不制冷、冷冻正常，风扇不转，拆开后风扇有结冰。",
            "",
            "风道结冰：化霜系统故障。测化霜加热丝与温控器是否通路。",
            "更换化霜温控器并化冰",
        ),
    ),
    "热水器": (
        (
            "热水器出水忽冷忽热，报 E1，进水压力正常，滤网已清洗。",
            "E1",
            "E1 多为温度检测异常：测出水温度传感器阻值（常温约 10kΩ）；"
            "燃气机再查感应针间距 3–5mm。",
            "传感器阻值异常则更换；燃气机调整感应针或更换点火器",
        ),
    ),
    "油烟机": (
        (
            "油烟机吸力明显变小，噪音大，叶轮已清洗过一次。",
            "",
            "先查止回阀是否卡在半开，再查电机电容容量（低于标称 80% 即更换）。",
            "疏通止回阀；电容容量不足则更换电容",
        ),
    ),
    "燃气灶": (
        (
            "燃气灶左眼打火后松手就灭，右眼正常，已清理炉头。",
            "",
            "松手即灭是熄火保护不吸合：测热电偶输出（加热后应大于 10mV），再看电磁阀。",
            "热电偶电压不足则更换热电偶",
        ),
    ),
}
ANSWER_AFTER_MIN = (8, 14, 23, 35, 11, 19)


def _engineer(session: Session) -> Engineer | None:
    user = session.scalars(select(User).where(User.username == "engineer")).first()
    if user is None:
        return None
    return session.scalars(select(Engineer).where(Engineer.user_id == user.id)).first()


def _one(
    session: Session,
    ticket: Ticket,
    *,
    engineer: Engineer,
    engineer_user: User,
    expert: User,
    script: tuple[str, str, str, str],
    opened: datetime,
    answer_after: timedelta | None,
    resolved: bool,
) -> Consult:
    question, code, answer, measure = script
    status = "open" if answer_after is None else ("resolved" if resolved else "answered")
    consult = Consult(
        ticket_id=ticket.id,
        engineer_id=engineer.id,
        fault_code=code,
        question=question,
        status=status,
        opened_by=f"user:{engineer_user.id}",
        created_at=opened,
        updated_at=opened,
        resolved_by="",
        measure="",
    )
    session.add(consult)
    session.flush()
    session.add(
        ConsultMessage(
            consult_id=consult.id,
            author=f"user:{engineer_user.id}",
            author_name=engineer.name,
            side="engineer",
            text=question,
            measure="",
            attachment_ids=[],
            created_at=opened,
        )
    )
    if answer_after is not None:
        at = opened + answer_after
        session.add(
            ConsultMessage(
                consult_id=consult.id,
                author=f"user:{expert.id}",
                author_name=expert.display_name,
                side="expert",
                text=answer,
                measure=measure,
                attachment_ids=[],
                created_at=at,
            )
        )
        consult.expert_id = expert.id
        consult.taken_at = at - timedelta(minutes=2)
        consult.first_answer_at = at
        consult.first_answer_by = expert.id
        consult.measure = measure
        consult.updated_at = at
        if resolved:
            consult.resolved_at = at + timedelta(minutes=40)
            consult.resolved_by = f"user:{engineer_user.id}"
            consult.updated_at = consult.resolved_at
    session.flush()
    return consult


def seed_consults(session: Session, *, expert: User, now: datetime) -> int:
    """The demo consults (none when the demo engineer has no jobs); how many were made."""
    engineer = _engineer(session)
    if engineer is None or engineer.user_id is None:
        return 0
    engineer_user = session.get_one(User, engineer.user_id)
    mine = select(Ticket).where(Ticket.engineer_id == engineer.id).order_by(Ticket.id)
    open_jobs = list(session.scalars(mine.where(Ticket.status.in_(OPEN_FOR_ENGINEER))))
    done = list(
        session.scalars(
            mine.where(Ticket.status.in_(("completed", "evaluated", "settled", "closed")))
        )
    )
    made = 0

    def script_for(ticket: Ticket, turn: int) -> tuple[str, str, str, str] | None:
        scripts = SCRIPTS.get(ticket.product or "")
        return scripts[turn % len(scripts)] if scripts else None

    def add(
        ticket: Ticket,
        script: tuple[str, str, str, str],
        opened: datetime,
        answer_after: timedelta | None,
        resolved: bool,
    ) -> None:
        _one(
            session,
            ticket,
            engineer=engineer,
            engineer_user=engineer_user,
            expert=expert,
            script=script,
            opened=opened,
            answer_after=answer_after,
            resolved=resolved,
        )

    # Only jobs of a product the demo has a question for.
    open_jobs = [t for t in open_jobs if script_for(t, 0)]
    done = [t for t in done if script_for(t, 0)]
    if len(open_jobs) < 2:
        # A small demo may leave the engineer without two open jobs: their latest ones then
        # carry today's two (still on the ticket and at the desk, if not askable anew).
        spare = [t for t in reversed(done) if t not in open_jobs][: 2 - len(open_jobs)]
        open_jobs = [*open_jobs, *spare]
        done = [t for t in done if t not in spare]
    today = (
        (timedelta(minutes=50), timedelta(minutes=12)),  # answered a while ago
        (timedelta(minutes=6), None),  # just asked: in the experts' queue
    )
    for turn, (ticket, (ago, answer_after)) in enumerate(zip(open_jobs, today, strict=False)):
        script = script_for(ticket, turn)
        assert script is not None
        add(ticket, script, now - ago, answer_after, resolved=False)
        made += 1
    for i, ticket in enumerate(done[-len(ANSWER_AFTER_MIN) :]):
        script = script_for(ticket, i)
        assert script is not None
        add(
            ticket,
            script=script,
            opened=ticket.created_at + timedelta(hours=3),
            answer_after=timedelta(minutes=ANSWER_AFTER_MIN[i]),
            resolved=True,
        )
        made += 1
    return made
