"""Recovery codes for 2-step verification, and the agent teams of the live-chat desk."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.database import Base, UTCDateTime, utcnow


class RecoveryCode(Base):
    """One single-use code that stands in for a TOTP code when the phone is lost."""

    __tablename__ = "staff_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # SHA-256 of the code: the codes are long random strings, so no slow hash is needed.
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AgentTeam(Base):
    """A team of the live-chat desk: the skills (product lines, languages) and the chat limit
    its members work with. `code` is what each member's agent profile stores as its team and
    what a transfer to a team's queue names."""

    __tablename__ = "agent_teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    product_lines: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["zh"])
    max_chats: Mapped[int] = mapped_column(Integer, default=3)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
