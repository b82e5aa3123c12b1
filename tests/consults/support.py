"""What the consult tests share: the field world (two engineers, a job each) with an expert,
small media files made byte by byte (a JPEG, an MP4 of a given length, a WebM), and limits."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.consults import service
from portal.database import Database
from portal.networks.models import Engineer
from portal.security import Principal, Role
from tests.field.support import World, build
from tests.portal import factories as f

# A JPEG's first bytes (SOI, APP0) and some body: what the consult checks look at.
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PDF = b"%PDF-1.4\n" + b"0" * 100
WEBM = b"\x1a\x45\xdf\xa3" + b"\x00" * 100
LIMITS = service.Limits(photo_bytes=1024, video_bytes=4096, video_s=60, photos=3)


def mp4(seconds: float, *, version: int = 0, brand: bytes = b"isom", pad: int = 200) -> bytes:
    """An MP4 (or, brand "qt  ", a MOV) whose movie header says it lasts `seconds`."""
    scale = 1000
    duration = round(seconds * scale)
    ftyp = struct.pack(">I4s4sI", 16, b"ftyp", brand, 0)
    if version == 1:
        body = struct.pack(">B3sQQIQ", 1, b"\0\0\0", 0, 0, scale, duration) + b"\0" * 80
    else:
        body = struct.pack(">B3sIIII", 0, b"\0\0\0", 0, 0, scale, duration) + b"\0" * 80
    mvhd = struct.pack(">I4s", 8 + len(body), b"mvhd") + body
    moov = struct.pack(">I4s", 8 + len(mvhd), b"moov") + mvhd
    mdat = struct.pack(">I4s", 8 + pad, b"mdat") + b"\0" * pad
    return ftyp + moov + mdat


@dataclass(frozen=True)
class Scene:
    """The field world plus the desk: an expert, a second expert, an agent."""

    world: World
    expert: str
    expert_id: int
    expert2_id: int


def scene(db: Database) -> Scene:
    """Two engineers with a dispatched job each, two experts and the world's agent."""
    world = build(db)
    with db.session() as s:
        expert = f.user(s, role="expert", display_name="王专家")
        other = f.user(s, role="expert", display_name="孙专家")
        return Scene(world, expert.username, expert.id, other.id)


def engineer(s: Session, engineer_id: int) -> Principal:
    """The principal of an engineer's login."""
    row = s.get_one(Engineer, engineer_id)
    user = s.get_one(User, row.user_id)
    return Principal(
        kind="staff",
        role=Role.ENGINEER,
        name=user.username,
        user_id=user.id,
        network_id=user.network_id,
        engineer_id=engineer_id,
    )


def staff(s: Session, user_id: int) -> Principal:
    """The principal of a staff login."""
    user = s.get_one(User, user_id)
    return Principal(
        kind="staff",
        role=Role(user.role),
        name=user.username,
        user_id=user.id,
        network_id=user.network_id,
    )


def uploads(tmp: Path) -> Path:
    """Where a test's files go."""
    root = tmp / "uploads"
    root.mkdir(exist_ok=True)
    return root
