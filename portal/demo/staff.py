"""The demo staff logins, and password hashing done once per distinct password."""

from __future__ import annotations

from functools import cache

from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.security import hash_password

# username, password, display name, role — printed by `make run`. In the full demo the
# network manager runs the first Shanghai network and the engineer works there.
DEMO_STAFF: tuple[tuple[str, str, str, str], ...] = (
    ("admin", "admin123", "系统管理员", "admin"),
    ("agent", "agent123", "坐席小王", "agent"),
    ("dispatcher", "dispatch123", "调度老李", "dispatcher"),
    ("finance", "finance123", "财务小周", "finance"),
    ("editor", "editor123", "知识编辑小陈", "knowledge_editor"),
    ("manager", "manager123", "网点主管老张", "network_manager"),
    # The same name as the engineer's row (portal.demo.world): one person, one name.
    ("engineer", "engineer123", "刘洋", "engineer"),
    ("expert", "expert123", "技术专家老王", "expert"),
    ("quality", "quality123", "工厂质量小吴", "quality"),
)

# The generated managers and engineers share these, so hashing stays a handful of calls.
MANAGER_PASSWORD = "manager123"
ENGINEER_PASSWORD = "engineer123"


@cache
def password_hash(password: str) -> str:
    """The argon2 hash of a demo password, computed once per process (argon2 is slow)."""
    return hash_password(password)


def add_staff(session: Session) -> dict[str, User]:
    """Create the DEMO_STAFF users; returns them by username."""
    users = {
        username: User(
            username=username,
            display_name=name,
            password_hash=password_hash(password),
            role=role,
        )
        for username, password, name, role in DEMO_STAFF
    }
    session.add_all(users.values())
    session.flush()
    return users
