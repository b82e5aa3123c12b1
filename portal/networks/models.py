"""Service networks (网点), engineers and their skills."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.database import Base, UTCDateTime, utcnow
from portal.places.service import covers, normalise


class ServiceNetwork(Base):
    """A service outlet in a city, covering some districts, with its own parts stock."""

    __tablename__ = "service_networks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    city: Mapped[str] = mapped_column(String(32), index=True)
    coverage: Mapped[list[Any]] = mapped_column(JSON, default=list)  # districts served
    stock_location: Mapped[str] = mapped_column(String(32), default="")
    auto_dispatch: Mapped[bool] = mapped_column(Boolean, default=False)
    lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    lng: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Master data (portal.masterdata, migration 0007m): 自营 own | 授权 authorised | 伞下店 sub
    # (a sub-outlet under `parent_id`), the province, tickets a day, and whom to call.
    kind: Mapped[str] = mapped_column(String(16), default="own")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("service_networks.id"))
    province: Mapped[str] = mapped_column(String(32), default="")
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    contact_name: Mapped[str] = mapped_column(String(64), default="")
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    # 考勤派单 (migration 0010b): today, only engineers checked in (portal.networks.attendance)
    # take this network's work from dispatch, the day plan and automatic dispatch.
    attendance: Mapped[bool] = mapped_column(Boolean, default=False)

    def covers(self, city: str, district: str) -> bool:
        """Whether an address in that city and district is this network's (上海市 / 浦东 in a
        network of 上海 covering 浦东新区: names are compared as portal.places reads them)."""
        place = normalise(city=city, district=district)
        return covers(city=self.city, coverage=self.coverage or (), place=place)


class Engineer(Base):
    """A field engineer of one network; logs in as a staff user with role engineer."""

    __tablename__ = "engineers"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("service_networks.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20))
    home_lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    home_lng: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    work_start: Mapped[time] = mapped_column(Time, default=time(8, 30))
    work_end: Mapped[time] = mapped_column(Time, default=time(18, 0))
    daily_capacity: Mapped[int] = mapped_column(Integer, default=6)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)
    # Master data (migration 0007m): an inactive engineer has left; home base as written.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    home_base: Mapped[str] = mapped_column(String(200), default="")

    network: Mapped[ServiceNetwork] = relationship(lazy="joined")
    skills: Mapped[list[EngineerSkill]] = relationship(
        back_populates="engineer", lazy="selectin", order_by="EngineerSkill.id"
    )


class EngineerSkill(Base):
    """What an engineer can do: a product category and service type at a level (1–3)."""

    __tablename__ = "engineer_skills"
    __table_args__ = (
        UniqueConstraint("engineer_id", "product_category", "service_type", name="uq_skill"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    engineer_id: Mapped[int] = mapped_column(ForeignKey("engineers.id"), index=True)
    product_category: Mapped[str] = mapped_column(String(32))
    service_type: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer, default=1)

    engineer: Mapped[Engineer] = relationship(back_populates="skills")


class Attendance(Base):
    """One stretch of an engineer's day at work: checked in (with where, or why not), until
    checked out. A stretch left open past its day is closed at the engineer's end of work
    and marked `auto_closed` (未签退), see portal.networks.attendance.

    `*_position` says what the phone gave: ok (lat/lng set), denied (the engineer refused the
    browser's location), unavailable (no fix, a timeout, or no geolocation at all)."""

    __tablename__ = "attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    engineer_id: Mapped[int] = mapped_column(ForeignKey("engineers.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)  # the local (China) day of the check-in
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime)
    in_lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    in_lng: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    in_position: Mapped[str] = mapped_column(String(16), default="unavailable")
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    out_lat: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    out_lng: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    out_position: Mapped[str] = mapped_column(String(16), default="")
    auto_closed: Mapped[bool] = mapped_column(Boolean, default=False)
