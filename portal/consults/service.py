"""Reads and writes of consults: open one from a job (question, fault code, photos, a short
clip), take it, answer it (text, photos, a recommended measure), follow up, resolve.

Files are checked here (kind by their first bytes, size, a clip's length) and then stored as
the ticket's attachments through `tickets.service.save_attachment`, where the field app's
photos live; a consult lists the ids of its own files.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.analytics.sql import fault_code as code_in
from portal.assets.models import ProductModel
from portal.consults import policies
from portal.consults.models import Consult, ConsultMessage
from portal.database import utcnow
from portal.errors import Conflict, Forbidden, Invalid, NotFound
from portal.field.service import OPEN_FOR_ENGINEER
from portal.masterdata.models import FaultCode
from portal.networks.models import Engineer
from portal.security import Policy, Principal, Role
from portal.tickets import service as tickets
from portal.tickets.models import Ticket, TicketAttachment

STATUSES = ("open", "taken", "answered", "resolved")
ACTIVE = ("open", "taken", "answered")
# Waiting for an expert: nobody has it yet, or the engineer wrote since the last answer.
WAITING = ("open", "taken")

QUESTION_MAX = 1000
TEXT_MAX = 2000
MEASURE_MAX = 500
FAULT_CODE_MAX = 32
# A fault code as units show them: letters, digits and -, . or / between (E21, F3, CH-05).
FAULT_CODE = re.compile(r"[A-Z0-9]+(?:[-./][A-Z0-9]+)*")
PHOTOS_MAX = 6


@dataclass(frozen=True, slots=True)
class Limits:
    """What a consult's files may be: photos each up to `photo_bytes`, at most `photos` at a
    time, and one clip up to `video_bytes` and `video_s` seconds."""

    photo_bytes: int
    video_bytes: int
    video_s: int
    photos: int = PHOTOS_MAX

    def mb(self, size: int) -> int:
        """A byte limit in whole MB, as the messages say it."""
        return max(1, size // (1024 * 1024))


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as the form sent it."""

    filename: str
    data: bytes


# --- what files are accepted --------------------------------------------------------------

PHOTO_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"GIF87a", "image/gif", ".gif"),
    (b"GIF89a", "image/gif", ".gif"),
)
WEBM_MAGIC = b"\x1a\x45\xdf\xa3"


def photo_kind(data: bytes) -> tuple[str, str] | None:
    """The content type and extension of a photo we take (JPG, PNG, WEBP, GIF), or None."""
    for magic, content_type, ext in PHOTO_SIGNATURES:
        if data.startswith(magic):
            return content_type, ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def video_kind(data: bytes) -> tuple[str, str] | None:
    """The content type and extension of a clip we take (MP4, MOV, WebM), or None."""
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand == b"qt  ":
            return "video/quicktime", ".mov"
        return "video/mp4", ".mp4"
    if data.startswith(WEBM_MAGIC):
        return "video/webm", ".webm"
    return None


def mp4_seconds(data: bytes) -> float | None:
    """An MP4/MOV clip's length from its movie header (moov/mvhd), or None when it has none
    we can read (a WebM, a clip whose header comes last and was cut off)."""

    def boxes(start: int, end: int) -> list[tuple[bytes, int, int]]:
        out = []
        pos = start
        while pos + 8 <= end:
            size, kind = struct.unpack(">I4s", data[pos : pos + 8])
            header = 8
            if size == 1 and pos + 16 <= end:
                size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
                header = 16
            elif size == 0:
                size = end - pos
            if size < header:
                break
            out.append((kind, pos + header, min(pos + size, end)))
            pos += size
        return out

    for kind, start, end in boxes(0, len(data)):
        if kind != b"moov":
            continue
        for inner, body, stop in boxes(start, end):
            if inner != b"mvhd" or stop - body < 20:
                continue
            version = data[body]
            if version == 1 and stop - body >= 32:
                scale, duration = struct.unpack(">IQ", data[body + 20 : body + 32])
            else:
                scale, duration = struct.unpack(">II", data[body + 12 : body + 20])
            return duration / scale if scale else None
    return None


def check_files(photos: Sequence[Upload], video: Upload | None, *, limits: Limits) -> None:
    """Refuse what a consult cannot carry, before anything is stored: too many photos, a
    photo or clip of another kind, too large, a clip too long."""
    if len(photos) > limits.photos:
        raise Invalid("consult.too_many_photos", field="photos", n=limits.photos)
    for photo in photos:
        if not photo.data:
            raise Invalid("error.file_empty", field="photos")
        if photo_kind(photo.data) is None:
            raise Invalid("consult.photo_type", field="photos", name=photo.filename[:60])
        if len(photo.data) > limits.photo_bytes:
            raise Invalid(
                "consult.photo_too_large",
                field="photos",
                name=photo.filename[:60],
                mb=limits.mb(limits.photo_bytes),
            )
    if video is None:
        return
    if not video.data:
        raise Invalid("error.file_empty", field="video")
    if video_kind(video.data) is None:
        raise Invalid("consult.video_type", field="video", name=video.filename[:60])
    if len(video.data) > limits.video_bytes:
        raise Invalid("consult.video_too_large", field="video", mb=limits.mb(limits.video_bytes))
    seconds = mp4_seconds(video.data)
    if seconds is not None and seconds > limits.video_s:
        raise Invalid("consult.video_too_long", field="video", s=round(seconds), max=limits.video_s)


def _store(
    session: Session,
    *,
    ticket: Ticket,
    photos: Sequence[Upload],
    video: Upload | None,
    principal: Principal,
    root: Path,
    limits: Limits,
) -> list[int]:
    """Store checked files as the ticket's attachments; their ids, photos first."""
    ids = [
        tickets.save_attachment(
            session,
            ticket=ticket,
            filename=p.filename or "photo",
            data=p.data,
            principal=principal,
            root=root,
            max_bytes=limits.photo_bytes,
            sniffer=photo_kind,
        ).id
        for p in photos
    ]
    if video is not None:
        ids.append(
            tickets.save_attachment(
                session,
                ticket=ticket,
                filename=video.filename or "clip",
                data=video.data,
                principal=principal,
                root=root,
                max_bytes=limits.video_bytes,
                sniffer=video_kind,
            ).id
        )
    return ids


# --- reads ----------------------------------------------------------------------------------


def get(session: Session, *, consult_id: int, principal: Principal, policy: Policy) -> Consult:
    """A consult the caller may see under `policy`; 404 for any other."""
    stmt = policies.visible_to(
        select(Consult).where(Consult.id == consult_id), policy.scope(principal)
    )
    consult = session.scalars(stmt).first()
    if consult is None:
        raise NotFound("object.consult")
    return consult


def visible(session: Session, *, principal: Principal, policy: Policy) -> list[Consult]:
    """Every consult the caller sees, newest first."""
    stmt = select(Consult).order_by(Consult.created_at.desc(), Consult.id.desc())
    return list(session.scalars(policies.visible_to(stmt, policy.scope(principal))))


def for_ticket(session: Session, *, ticket_id: int) -> list[Consult]:
    """The ticket's consults, oldest first."""
    return list(
        session.scalars(select(Consult).where(Consult.ticket_id == ticket_id).order_by(Consult.id))
    )


def queue(session: Session) -> list[Consult]:
    """Consults no expert has taken yet, oldest first."""
    return list(
        session.scalars(
            select(Consult).where(Consult.status == "open").order_by(Consult.created_at, Consult.id)
        )
    )


def taken_by(session: Session, *, user_id: int) -> list[Consult]:
    """An expert's consults still open: those waiting for their answer first, then oldest."""
    rows = list(
        session.scalars(
            select(Consult)
            .where(Consult.expert_id == user_id, Consult.status.in_(("taken", "answered")))
            .order_by(Consult.created_at, Consult.id)
        )
    )
    return sorted(rows, key=lambda c: c.status != "taken")


def recently_resolved(session: Session, *, limit: int = 10) -> list[Consult]:
    """The latest resolved consults."""
    return list(
        session.scalars(
            select(Consult)
            .where(Consult.status == "resolved")
            .order_by(Consult.resolved_at.desc(), Consult.id.desc())
            .limit(limit)
        )
    )


def file_ids(consult: Consult) -> set[int]:
    """The attachments this consult's messages carry."""
    return {int(i) for m in consult.messages for i in m.attachment_ids}


def files(session: Session, *, consult: Consult) -> dict[int, TicketAttachment]:
    """The consult's files by id."""
    ids = file_ids(consult)
    if not ids:
        return {}
    rows = session.scalars(select(TicketAttachment).where(TicketAttachment.id.in_(ids)))
    return {a.id: a for a in rows}


def get_file(session: Session, *, consult: Consult, attachment_id: int) -> TicketAttachment:
    """One of the consult's files (none of the ticket's others)."""
    if attachment_id not in file_ids(consult):
        raise NotFound("object.attachment")
    attachment = session.get(TicketAttachment, attachment_id)
    if attachment is None:
        raise NotFound("object.attachment")
    return attachment


def fault_codes(session: Session, *, ticket: Ticket) -> list[FaultCode]:
    """The codes the ticket's model can show (master data), to pick from."""
    if not ticket.model_code:
        return []
    stmt = (
        select(FaultCode)
        .join(ProductModel, ProductModel.id == FaultCode.model_id)
        .where(ProductModel.code == ticket.model_code)
        .order_by(FaultCode.code)
    )
    return list(session.scalars(stmt))


def suggested_code(ticket: Ticket) -> str:
    """The fault code the customer's description names (E4 …), if any."""
    return code_in(ticket.fault_description)


def user_names(session: Session, ids: Sequence[int | None]) -> dict[int, str]:
    """Display names of staff users."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(User.id, User.display_name, User.username).where(User.id.in_(wanted))
    )
    return {uid: display or username for uid, display, username in rows}


# --- writes ---------------------------------------------------------------------------------


def _name(session: Session, principal: Principal) -> str:
    """How a message names its author: an engineer by their field name, staff by theirs."""
    if principal.engineer_id is not None:
        engineer = session.get(Engineer, principal.engineer_id)
        if engineer is not None:
            return engineer.name
    if principal.user_id is None:
        return principal.name
    return user_names(session, [principal.user_id]).get(principal.user_id, principal.name)


def _message(
    session: Session,
    consult: Consult,
    *,
    principal: Principal,
    side: str,
    text: str,
    measure: str = "",
    attachment_ids: list[int],
) -> ConsultMessage:
    now = utcnow()
    message = ConsultMessage(
        consult_id=consult.id,
        author=principal.actor,
        author_name=_name(session, principal)[:100],
        side=side,
        text=text,
        measure=measure,
        attachment_ids=attachment_ids,
        created_at=now,
    )
    session.add(message)
    consult.updated_at = now
    session.flush()
    session.refresh(consult, ["messages"])
    return message


def open_consult(
    session: Session,
    *,
    ticket: Ticket,
    principal: Principal,
    question: str,
    fault_code: str,
    photos: Sequence[Upload],
    video: Upload | None,
    limits: Limits,
    root: Path,
) -> Consult:
    """An engineer asks about a job of theirs that is still open (dispatched … waiting for
    parts): the question, the fault code, photos and a clip become the first message."""
    if principal.role is not Role.ENGINEER or principal.engineer_id is None:
        raise Forbidden("field_app.engineers_only")
    if ticket.engineer_id != principal.engineer_id:
        raise NotFound("object.ticket")
    if ticket.status not in OPEN_FOR_ENGINEER:
        raise Conflict("consult.job_closed")
    question = question.strip()
    if not question:
        raise Invalid("consult.question_missing", field="question")
    if len(question) > QUESTION_MAX:
        raise Invalid("consult.question_too_long", field="question", n=QUESTION_MAX)
    code = fault_code.strip().upper()
    if len(code) > FAULT_CODE_MAX:
        raise Invalid("consult.code_too_long", field="fault_code", n=FAULT_CODE_MAX)
    if code and not FAULT_CODE.fullmatch(code):
        # It heads the experts' queue: a tester's "E4 😀 XXXX…" did.
        raise Invalid("consult.code_bad", field="fault_code")
    check_files(photos, video, limits=limits)
    now = utcnow()
    consult = Consult(
        ticket_id=ticket.id,
        engineer_id=principal.engineer_id,
        fault_code=code,
        question=question,
        status="open",
        opened_by=principal.actor,
        created_at=now,
        updated_at=now,
        resolved_by="",
        measure="",
    )
    session.add(consult)
    session.flush()
    ids = _store(
        session,
        ticket=ticket,
        photos=photos,
        video=video,
        principal=principal,
        root=root,
        limits=limits,
    )
    _message(
        session, consult, principal=principal, side="engineer", text=question, attachment_ids=ids
    )
    return consult


def _expert(principal: Principal) -> int:
    if not policies.DESK.allows(principal) or principal.user_id is None:
        raise Forbidden("error.forbidden")
    return principal.user_id


def _not_resolved(consult: Consult) -> None:
    if consult.status == "resolved":
        raise Conflict("consult.resolved")


def take(session: Session, *, consult: Consult, principal: Principal) -> Consult:
    """An expert takes an open consult (one someone else holds stays theirs)."""
    me = _expert(principal)
    _not_resolved(consult)
    if consult.expert_id == me:
        return consult
    if consult.expert_id is not None:
        name = user_names(session, [consult.expert_id]).get(consult.expert_id, "")
        raise Conflict("consult.taken_by_other", name=name)
    now = utcnow()
    consult.expert_id = me
    consult.taken_at = now
    consult.status = "taken"
    consult.updated_at = now
    session.flush()
    return consult


def answer(
    session: Session,
    *,
    consult: Consult,
    principal: Principal,
    text: str,
    measure: str,
    photos: Sequence[Upload],
    limits: Limits,
    root: Path,
) -> ConsultMessage:
    """An expert answers: text and/or a recommended measure, and photos. An open consult is
    taken by whoever answers it first; any expert may add to one already taken (会诊)."""
    me = _expert(principal)
    _not_resolved(consult)
    text, measure = text.strip(), measure.strip()
    if not text and not measure:
        raise Invalid("consult.answer_missing", field="text")
    if len(text) > TEXT_MAX:
        raise Invalid("consult.text_too_long", field="text", n=TEXT_MAX)
    if len(measure) > MEASURE_MAX:
        raise Invalid("consult.measure_too_long", field="measure", n=MEASURE_MAX)
    check_files(photos, None, limits=limits)
    now = utcnow()
    if consult.expert_id is None:
        consult.expert_id = me
        consult.taken_at = now
    ticket = session.get_one(Ticket, consult.ticket_id)
    ids = _store(
        session,
        ticket=ticket,
        photos=photos,
        video=None,
        principal=principal,
        root=root,
        limits=limits,
    )
    message = _message(
        session,
        consult,
        principal=principal,
        side="expert",
        text=text,
        measure=measure,
        attachment_ids=ids,
    )
    if consult.first_answer_at is None:
        consult.first_answer_at = message.created_at
        consult.first_answer_by = me
    if measure:
        consult.measure = measure
    consult.status = "answered"
    session.flush()
    return message


def follow_up(
    session: Session,
    *,
    consult: Consult,
    principal: Principal,
    text: str,
    photos: Sequence[Upload],
    video: Upload | None,
    limits: Limits,
    root: Path,
) -> ConsultMessage:
    """The engineer adds to their consult (what they found, another photo): it waits for an
    expert again."""
    if principal.role is not Role.ENGINEER:
        raise Forbidden("field_app.engineers_only")
    _not_resolved(consult)
    text = text.strip()
    if not text and not photos and video is None:
        raise Invalid("consult.follow_up_missing", field="text")
    if len(text) > TEXT_MAX:
        raise Invalid("consult.text_too_long", field="text", n=TEXT_MAX)
    check_files(photos, video, limits=limits)
    ticket = session.get_one(Ticket, consult.ticket_id)
    ids = _store(
        session,
        ticket=ticket,
        photos=photos,
        video=video,
        principal=principal,
        root=root,
        limits=limits,
    )
    message = _message(
        session, consult, principal=principal, side="engineer", text=text, attachment_ids=ids
    )
    consult.status = "taken" if consult.expert_id is not None else "open"
    session.flush()
    return message


def resolve(session: Session, *, consult: Consult, principal: Principal) -> Consult:
    """The engineer (the problem is solved) or an expert closes the consult."""
    if principal.role is not Role.ENGINEER:
        _expert(principal)
    _not_resolved(consult)
    now = utcnow()
    consult.status = "resolved"
    consult.resolved_at = now
    consult.resolved_by = principal.actor
    consult.updated_at = now
    session.flush()
    return consult
