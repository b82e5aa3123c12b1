"""A consult: an engineer on a job asks the technical experts (远程专家) a question, with
photos, a short clip and the fault code; experts answer with text, photos and a measure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.database import Base, UTCDateTime, utcnow


class Consult(Base):
    """One question from the field about one ticket.

    status: open (no expert yet) -> taken (an expert owns it, an answer is due) -> answered
    (the expert replied; a follow-up from the engineer makes it taken again) -> resolved.
    `first_answer_at` is the first expert reply, whoever gave it: the time-to-answer figure.
    """

    __tablename__ = "consults"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    # The engineer who asked (the job may move to another engineer later).
    engineer_id: Mapped[int | None] = mapped_column(ForeignKey("engineers.id"), index=True)
    fault_code: Mapped[str] = mapped_column(String(32), default="")
    question: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    opened_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_answer_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_answer_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str] = mapped_column(String(64), default="")
    # The expert's latest recommended measure (建议措施), shown on the job and the ticket.
    measure: Mapped[str] = mapped_column(String(500), default="")

    messages: Mapped[list[ConsultMessage]] = relationship(
        back_populates="consult", order_by="ConsultMessage.id", lazy="selectin"
    )


class ConsultMessage(Base):
    """One message of a consult: the question itself, an expert's answer, a follow-up.

    Files are ticket attachments (stored where the field app's photos are); their ids are
    listed here, so the consult's readers see those files and no other of the ticket's.
    """

    __tablename__ = "consult_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    consult_id: Mapped[int] = mapped_column(ForeignKey("consults.id"), index=True)
    author: Mapped[str] = mapped_column(String(64))  # actor: user:<id>
    author_name: Mapped[str] = mapped_column(String(100), default="")
    side: Mapped[str] = mapped_column(String(16))  # engineer | expert
    text: Mapped[str] = mapped_column(Text, default="")
    measure: Mapped[str] = mapped_column(String(500), default="")
    attachment_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    consult: Mapped[Consult] = relationship(back_populates="messages")
