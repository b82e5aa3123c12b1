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

# (question, fault code, the expert's answer, the measure), used in turn.
SCRIPT: tuple[tuple[str, str, str, str], ...] = (
    (
        "洗衣机脱水时报 E21，排水泵已清理，通电有嗡嗡声但不转，是否需要换泵还是主板问题？",
        "E21",
        "先断电测排水泵线圈阻值，正常约 150–200Ω；阻值正常再测主板泵驱动端电压，应为 220V。",
        "阻值异常则更换排水泵；电压不足则更换电脑板",
    ),
    (
        "空调外机运行 10 分钟后停机，显示 P4，压缩机很烫，冷媒压力偏低。",
        "P4",
        "P4 多为压缩机过热保护：检查冷媒是否泄漏（焊点、阀门），补压前先保压检漏。",
        "检漏补焊后按铭牌量加注冷媒",
    ),
    (
        "燃气热水器点火后 3 秒熄火，报 E1，火焰正常，感应针已清洁。",
        "E1",
        "检查感应针与火排间距（3–5mm）及接地线；仍报 E1 则更换脉冲点火器。",
        "调整感应针间距，必要时更换点火器",
    ),
    (
        "冰箱冷藏室不制冷、冷冻正常，风扇不转，拆开后风扇有结冰。",
        "",
        "风道结冰：化霜系统故障。测化霜加热丝与温控器是否通路。",
        "更换化霜温控器并化冰",
    ),
)
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

    if len(open_jobs) < 2:
        # A small demo may leave the engineer without two open jobs: their latest ones then
        # carry today's two (still on the ticket and at the desk, if not askable anew).
        spare = [t for t in reversed(done) if t not in open_jobs][: 2 - len(open_jobs)]
        open_jobs = [*open_jobs, *spare]
        done = [t for t in done if t not in spare]
    if open_jobs:
        # Today: one answered a while ago, one just asked (in the queue).
        add(
            open_jobs[0],
            script=SCRIPT[0],
            opened=now - timedelta(minutes=50),
            answer_after=timedelta(minutes=12),
            resolved=False,
        )
        made += 1
    if len(open_jobs) > 1:
        add(
            open_jobs[1],
            script=SCRIPT[1],
            opened=now - timedelta(minutes=6),
            answer_after=None,
            resolved=False,
        )
        made += 1
    for i, ticket in enumerate(done[-len(ANSWER_AFTER_MIN) :]):
        opened = ticket.created_at + timedelta(hours=3)
        add(
            ticket,
            script=SCRIPT[(i + 2) % len(SCRIPT)],
            opened=opened,
            answer_after=timedelta(minutes=ANSWER_AFTER_MIN[i]),
            resolved=True,
        )
        made += 1
    return made
