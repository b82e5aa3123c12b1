"""The demo's complaint cases as a service desk would have left them: the history's low
ratings open cases (the complaints subscriber does that as the history is written); the
older ones were taken, resolved with an outcome and closed by the agent once the customer
accepted it (or confirmed it on a call back, or never answered), the last few days' are still
being worked or waiting, so `/complaints` looks like a live desk, not a backlog."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.complaints import service
from portal.complaints.models import Complaint

# Cases opened longer ago than this are closed; newer ones are in progress or open.
SETTLED_AFTER = timedelta(days=3)
# How long the customer had to answer the outcome (COMPLAINT_CONFIRM_HOURS' default).
CONFIRM_WAIT = timedelta(hours=72)
PHONE_NOTE = "电话回访客户，客户表示接受处理结果。"
OUTCOMES = (
    "已致电客户致歉，重新安排师傅上门并完成维修，客户表示满意。",
    "核实为师傅迟到，已对网点考核扣分，并向客户赠送延保一年。",
    "已退还多收的上门费，客户接受处理结果。",
    "更换同型号新机，旧机回收，客户确认问题解决。",
)


def settle(session: Session, *, agent_id: int, now: datetime) -> int:
    """Work the seeded cases as the demo agent would have; returns how many were closed."""
    actor = f"user:{agent_id}"
    closed = 0
    cases = session.scalars(select(Complaint).order_by(Complaint.id)).all()
    for index, case in enumerate(cases):
        if case.status != "open":
            continue
        age = now - case.created_at
        taken = case.created_at + timedelta(hours=2)
        if age < timedelta(hours=2):
            continue  # just opened: still waiting for someone to take it
        service.act(session, complaint=case, action="take", actor=actor, user_id=agent_id, at=taken)
        if age < SETTLED_AFTER:
            continue  # being worked on
        resolved = taken + timedelta(hours=20)
        service.act(
            session,
            complaint=case,
            action="resolve",
            actor=actor,
            user_id=agent_id,
            note=OUTCOMES[index % len(OUTCOMES)],
            at=resolved,
            confirm_due_at=resolved + CONFIRM_WAIT,
        )
        answered = resolved + timedelta(hours=6)
        if index % 4 == 3 and resolved + CONFIRM_WAIT <= now:  # nobody answered: lapsed
            service.lapse(session, complaint=case, at=resolved + CONFIRM_WAIT)
        elif index % 4 == 1:  # the agent called the customer back
            service.act(
                session,
                complaint=case,
                action="confirm_phone",
                actor=actor,
                user_id=agent_id,
                note=PHONE_NOTE,
                at=answered,
            )
        else:  # the customer accepted the outcome in /my or the chat
            service.answer(
                session,
                complaint=case,
                accept=True,
                words="",
                actor=f"customer:{case.customer_id}",
                at=answered,
            )
            service.act(
                session,
                complaint=case,
                action="close",
                actor=actor,
                user_id=agent_id,
                at=answered + timedelta(hours=1),
            )
        closed += 1
    session.flush()
    return closed
