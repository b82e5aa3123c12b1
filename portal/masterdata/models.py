"""The master-data tables no other domain had: fault codes of a product model, engineers'
certificates and which work requires which certificate."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.assets.models import ProductModel
from portal.database import Base


class FaultCode(Base):
    """A code a model shows on its display (E1, F3 …) and what it means."""

    __tablename__ = "fault_codes"
    __table_args__ = (UniqueConstraint("model_id", "code", name="uq_fault_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("product_models.id"), index=True)
    code: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(200))
    # The usual fix on site, as the field app offers it to tick: measures in words, parts by
    # part code (or name when the part is not stocked).
    measures: Mapped[list[Any]] = mapped_column(JSON, default=list)
    parts: Mapped[list[Any]] = mapped_column(JSON, default=list)

    model: Mapped[ProductModel] = relationship(lazy="joined")


class WarrantyTerm(Base):
    """The published warranty of a product category (or of one product line in it, e.g.
    电热水器 within 热水器): the whole unit's months and a main part's longer months. The FAQ
    says the same (`warranty-period-overview`); a model's own months come from here unless
    its master data says otherwise."""

    __tablename__ = "warranty_terms"
    __table_args__ = (UniqueConstraint("product_category", "product", name="uq_warranty_term"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_category: Mapped[str] = mapped_column(String(32), index=True)
    product: Mapped[str] = mapped_column(String(64), default="")  # "": the whole category
    unit_months: Mapped[int] = mapped_column(Integer)
    main_part: Mapped[str] = mapped_column(String(32), default="")
    main_part_months: Mapped[int] = mapped_column(Integer, default=0)


class EngineerCertificate(Base):
    """A certificate an engineer holds (燃气具安装维修, 高处作业 …) and the day it expires.

    Dispatch leaves out an engineer whose certificate a job requires (`CertificateRule`) is
    missing or has expired by the visit day."""

    __tablename__ = "engineer_certificates"
    __table_args__ = (UniqueConstraint("engineer_id", "name", name="uq_engineer_certificate"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    engineer_id: Mapped[int] = mapped_column(ForeignKey("engineers.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    number: Mapped[str] = mapped_column(String(64), default="")
    expires_on: Mapped[date | None] = mapped_column(Date)  # None: does not expire


class CertificateRule(Base):
    """A certificate that work on a product category (of one service type, or any: "*")
    requires; the company's own rules, e.g. 燃气热水器 → 燃气."""

    __tablename__ = "certificate_rules"
    __table_args__ = (
        UniqueConstraint(
            "product_category", "service_type", "certificate", name="uq_certificate_rule"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_category: Mapped[str] = mapped_column(String(32), index=True)
    service_type: Mapped[str] = mapped_column(String(32), default="*")
    certificate: Mapped[str] = mapped_column(String(32))
