"""Load the demo data once; a second run changes nothing."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.database import utcnow
from portal.security import hash_password
from portal.tickets import service as tickets
from portal.tickets.schemas import TicketCreate

# username, password, display name, role — printed by `make run`.
DEMO_STAFF: tuple[tuple[str, str, str, str], ...] = (
    ("admin", "admin123", "系统管理员", "admin"),
    ("agent", "agent123", "坐席小王", "agent"),
    ("dispatcher", "dispatch123", "调度老李", "dispatcher"),
)

_FAULTS = (
    ("洗衣机", "滚筒不转，显示E21"),
    ("空调", "不制冷，外机不启动"),
    ("冰箱", "冷藏室结冰，冷冻不冷"),
    ("热水器", "打不着火，显示E1"),
    ("油烟机", "噪音很大，吸力变小"),
    ("洗衣机", "排水慢，衣服甩不干"),
)


def seed(session: Session, *, tickets_count: int = 12) -> bool:
    """Create the demo staff and sample tickets; False when they already exist."""
    if session.scalars(select(User).where(User.username == "admin")).first() is not None:
        return False
    for username, password, name, role in DEMO_STAFF:
        session.add(
            User(
                username=username,
                display_name=name,
                password_hash=hash_password(password),
                role=role,
            )
        )
    rng = random.Random(20261123)
    for i in range(tickets_count):
        product, fault = _FAULTS[i % len(_FAULTS)]
        ticket, _ = tickets.create_ticket(
            session,
            data=TicketCreate(
                product=product,
                fault_description=fault,
                phone=f"139{rng.randrange(10**8):08d}",
                customer_name=rng.choice(["张先生", "李女士", "王先生", "赵女士", "陈先生"]),
                address=rng.choice(["上海市浦东新区张江路88号", "杭州市西湖区文三路100号"]),
                channel=rng.choice(["web", "wechat", "phone"]),
            ),
            actor="system:demo",
        )
        ticket.created_at = utcnow() - timedelta(hours=rng.randrange(1, 72))
    session.flush()
    return True
