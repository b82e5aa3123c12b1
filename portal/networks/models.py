"""Service networks (网点), engineers and their skills."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, Numeric, String, Time, UniqueConstraint
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
