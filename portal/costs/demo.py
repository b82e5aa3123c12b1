"""Cost-centre demo data: the fault causes of recent in-warranty repairs (quality ones with an
evidence photo), their costs allocated where settlement already posted them, a few quality
cases appraised by the factory and one reclassified, so `make run` shows every page.

Deterministic: the same history gives the same causes, photos and appraisals."""

from __future__ import annotations

import random
import struct
import zlib
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.costs import causes
from portal.costs import flows as cost_flows
from portal.costs import service as costs
from portal.costs.models import CostCase
from portal.fees import service as fees
from portal.networks.models import Engineer
from portal.security import Principal, Role
from portal.tickets import lifecycle
from portal.tickets import service as tickets
from portal.tickets.models import Ticket

SEED = 20261207
CASES = 36  # the most recent in-warranty repairs that get a cause
APPRAISED = 6  # the oldest quality cases the factory has appraised (one reclassified)
DONE = ("completed", "evaluated", "pending_settlement", "settled", "closed")
# How often each cause comes up: component failures most, then the usual field mistakes.
WEIGHTS = {
    "component_failure": 30,
    "manufacturing_defect": 8,
    "design_defect": 4,
    "other_quality": 2,
    "improper_installation": 14,
    "improper_use": 20,
    "transport_damage": 6,
    "environment": 12,
    "other_non_quality": 4,
}
NOTES = {
    "component_failure": "拆下部件检测失效，已拍照留存",
    "manufacturing_defect": "焊点虚焊，出厂问题",
    "design_defect": "同型号散热设计不足，反复过热",
    "improper_installation": "安装时未调水平，运行振动大",
    "improper_use": "客户超量投放洗涤剂",
    "transport_damage": "外壳运输磕碰变形",
    "environment": "电压不稳，插座无接地",
}
RECLASSIFY_REASON = "现场照片显示进水口未装过滤网、管路有泥沙，属于安装问题，不是部件质量问题。"
CONFIRM_REASON = "失效部件已返厂检测，确认质量问题。"


def _png(seed: int, width: int = 96, height: int = 72) -> bytes:
    """A small photo-like PNG (colour bands), different per case."""
    rng = random.Random(seed)
    bands = [tuple(rng.randrange(40, 230) for _ in range(3)) for _ in range(4)]
    rows = b"".join(b"\x00" + bytes(bands[(y * 4) // height]) * width for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _completed(ticket: Ticket) -> datetime | None:
    return next((e.created_at for e in reversed(ticket.events) if e.action == "complete"), None)


def _parts(ticket: Ticket) -> list[dict[str, str]]:
    done = next((e for e in reversed(ticket.events) if e.action == "complete"), None)
    named = done.payload.get("parts") if done is not None else None
    return [{"code": "", "name": str(n)} for n in (named or []) if n]


def seed(session: Session, *, quality_user: User, now: datetime) -> int:
    """Give recent in-warranty repairs their fault causes and appraise some; returns how many
    cases were written."""
    rng = random.Random(SEED)
    root: Path = lifecycle.consequences_of(session).context.settings.uploads_path
    candidates = session.scalars(
        select(Ticket)
        .where(Ticket.type == "repair", Ticket.status.in_(DONE), Ticket.engineer_id.is_not(None))
        .order_by(Ticket.id.desc())
        .limit(CASES * 4)
    )
    # These jobs were settled as in-warranty work: a cause that ends the free warranty (misuse)
    # would price them again as paid work nobody quoted or paid for, so none is drawn here.
    codes = [code for code in WEIGHTS if code not in fees.NOT_COVERED]
    weights = [WEIGHTS[code] for code in codes]
    written: list[tuple[CostCase, Ticket]] = []
    stamps: dict[int, datetime] = {}
    for ticket in candidates:
        done = _completed(ticket)
        if (
            done is None
            or not fees.warranty(
                session, ticket=ticket, on=done.astimezone(fees.LOCAL).date()
            ).covered
        ):
            continue
        cause = rng.choices(codes, weights)[0]
        parts = _parts(ticket)
        if parts and rng.random() < 0.5:
            cause = "component_failure"  # a swapped part is mostly a failed one
        engineer = session.get_one(Engineer, ticket.engineer_id)
        who = Principal(
            kind="staff",
            role=Role.ENGINEER,
            name=engineer.name,
            user_id=engineer.user_id,
            engineer_id=engineer.id,
        )
        evidence = []
        if causes.class_of(cause) == causes.QUALITY:
            photo = tickets.save_attachment(
                session,
                ticket=ticket,
                filename=f"证据-{ticket.number}.png",
                data=_png(ticket.id),
                principal=who,
                root=root,
                max_bytes=1_000_000,
            )
            photo.created_at = done - timedelta(minutes=3)
            evidence.append(photo.id)
        klass = causes.class_of(cause)
        case = CostCase(
            ticket_id=ticket.id,
            cause=cause,
            cause_class=klass,
            centre=causes.CENTRE_OF[klass],
            recorded_cause=cause,
            note=NOTES.get(cause, ""),
            evidence_ids=evidence,
            engineer_id=engineer.id,
            recorded_by=who.actor,
            recorded_at=done - timedelta(minutes=2),
            model_code=ticket.model_code or ticket.product or "",
            parts=parts,
            completed_at=done,
            status=costs.APPRAISABLE,
            appraisal_reason="",
            updated_at=done,
        )
        session.add(case)
        stamps[ticket.id] = ticket.updated_at
        ticket.details = {**(ticket.details or {}), "fault_cause": cause}
        written.append((case, ticket))
        if len(written) >= CASES:
            break
    session.flush()
    # Settlement posted these tickets before they had a cause: allocate them now, as its
    # next run would, in the month each was settled.
    for _case, ticket in written:
        settled, _ = cost_flows._standing(session, ticket_id=ticket.id, kind="settlement")
        if settled is not None:
            cost_flows.allocate(
                session, ticket=ticket, actor="system:settlement", at=settled.created_at
            )
    _appraise(session, written, quality_user=quality_user, now=now)
    # The cause on the ticket is no event of its history: its last change stays its last event.
    for _case, ticket in written:
        ticket.updated_at = stamps[ticket.id]
    session.flush()
    return len(written)


def _appraise(
    session: Session,
    written: list[tuple[CostCase, Ticket]],
    *,
    quality_user: User,
    now: datetime,
) -> None:
    """The factory confirms the oldest quality cases and reclassifies one installation fault
    recorded as a failed part; the rest wait on its page."""
    who = Principal(
        kind="staff", role=Role.QUALITY, name=quality_user.username, user_id=quality_user.id
    )
    quality = sorted(
        (cw for cw in written if cw[0].cause_class == causes.QUALITY),
        key=lambda cw: cw[0].completed_at or now,
    )
    older = quality[: min(APPRAISED, max(0, len(quality) - 4))]
    for i, (case, ticket) in enumerate(older):
        done = case.completed_at or now
        at = min(now - timedelta(minutes=30), done + timedelta(days=2, hours=i % 5))
        row = costs.CaseRow(case, ticket)
        if i == 1:
            cost_flows.appraise(
                session,
                row=row,
                action="reclassify",
                principal=who,
                reason=RECLASSIFY_REASON,
                cause="improper_installation",
                at=at,
            )
        else:
            cost_flows.appraise(
                session, row=row, action="confirm", principal=who, reason=CONFIRM_REASON, at=at
            )
