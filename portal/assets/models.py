"""Products, product models and installed assets."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.database import Base, UTCDateTime, utcnow


class Product(Base):
    """A product line the brand services, e.g. 滚筒洗衣机 in category 洗衣机."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class ProductModel(Base):
    """A model code within a product, with its standard warranty."""

    __tablename__ = "product_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    warranty_months: Mapped[int] = mapped_column(Integer, default=12)  # 整机: the whole unit
    # 主要部件 (compressor, motor, board): often longer than the unit's; 0 = same as the unit.
    parts_warranty_months: Mapped[int] = mapped_column(Integer, default=0)

    product: Mapped[Product] = relationship(lazy="joined")


class Asset(Base):
    """One installed unit at a customer, known by its serial number."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    serial_number: Mapped[str] = mapped_column(String(64), unique=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("product_models.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    address_id: Mapped[int | None] = mapped_column(ForeignKey("customer_addresses.id"))
    install_date: Mapped[date | None] = mapped_column(Date)
    # The invoice's day: the warranty runs from it when known (else from the install date).
    purchase_date: Mapped[date | None] = mapped_column(Date)
    warranty_end: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # desk: registered by the service desk; work_record: by an engineer completing a job.
    origin: Mapped[str] = mapped_column(String(16), default="desk")
    registered_by: Mapped[str] = mapped_column(String(64), default="")

    model: Mapped[ProductModel] = relationship(lazy="joined")

    def in_warranty(self, on: date) -> bool:
        """Whether the warranty still runs on that day."""
        return self.warranty_end is not None and on <= self.warranty_end
