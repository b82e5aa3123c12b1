"""Reads and writes of master data, one row at a time, the same way for the JSON API, the edit
pages and the spreadsheet import: every kind is a list of columns, a natural key, a reader
that turns a stored row into cells and a writer that turns cells into a stored row.

A row's cells are plain values (text, numbers, yes/no, lists written as 「a、b」); each
column's parser turns them into typed values and reports what is wrong with the column
named, so an import lists every error by sheet, row and column. Writers only assign what
changed, so re-importing the same file changes nothing.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.assets.models import Product, ProductModel
from portal.assets.service import standard_months
from portal.errors import PortalError
from portal.i18n import Lang, Term, both
from portal.masterdata.models import CertificateRule, EngineerCertificate, FaultCode, WarrantyTerm
from portal.networks.models import Engineer, EngineerSkill, ServiceNetwork
from portal.parts import service as parts
from portal.parts.models import Part, StockBalance, StockLocation
from portal.places.service import district_key, districts_of, normalise
from portal.security import Role, Scope, hash_password
from portal.tickets.schemas import normalize_phone

# The spreadsheet words for the stored codes (either is accepted on the way in).
NETWORK_KINDS = {"own": "自营", "authorised": "授权", "sub": "伞下店"}
WAREHOUSE_KINDS = {"central": "上级库", "network": "网点库", "van": "工程师库"}
# Service types as dispatch matches them (the ticket's type) and as a sheet writes them.
SERVICE_TYPES = {"installation": "安装", "repair": "维修", "maintenance": "保养"}
_SERVICE_WORDS = {"维护": "maintenance", "保养维护": "maintenance", "修理": "repair"}
ANY_SERVICE = "*"
_SPLIT = re.compile(r"[,，、;；\n]+")
_TRUE = {"1", "true", "yes", "y", "是", "对", "启用", "√"}
_FALSE = {"0", "false", "no", "n", "否", "停用", "×", ""}


class RowError(PortalError):
    """What is wrong with one column of one row."""

    status_code = 422

    def __init__(self, column: str, key: str, **params: object) -> None:
        self.column = column
        super().__init__(key, **params)


@dataclass(frozen=True)
class Column:
    """One column of a kind: its key, the portal/i18n.py key of its name and how it is
    read."""

    key: str
    title_key: str
    type: str = "text"  # text | int | decimal | bool | list | phone | choice
    required: bool = False
    max_len: int = 100
    choices: Mapping[str, str] = field(default_factory=dict)  # stored code -> Chinese word
    # Decimals: the largest value and the places stored (the column's Numeric scale), so a
    # value is stored as typed and reading it back compares equal.
    max_value: Decimal = Decimal("99999999")
    places: int = 2

    def title(self, lang: Lang = "zh") -> str:
        """The column's name in that language."""
        zh, en = both(self.title_key)
        return zh if lang == "zh" else en

    @property
    def named(self) -> dict[str, object]:
        """The `{field_name}` of a message about this column."""
        return _named(self.title_key)

    @property
    def heading(self) -> str:
        """The heading a template and an export write: Chinese, then the key."""
        return f"{self.title('zh')} {self.key}"


def _named(title_key: str) -> dict[str, object]:
    return {"field_name": Term.key(title_key)}


@dataclass
class Issue:
    """One error of an import or a save, located as precisely as known."""

    column: str
    column_zh: str
    message_zh: str
    message_en: str
    sheet: str = ""
    row: int = 0

    def as_dict(self) -> dict[str, object]:
        """The JSON shape."""
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "column_zh": self.column_zh,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


def _issue(col: Column | None, key: str, **params: object) -> Issue:
    named = col.named if col else {"field_name": ""}
    zh, en = both(key, **named, **params)
    return Issue(
        column=col.key if col else "",
        column_zh=col.title("zh") if col else "",
        message_zh=zh,
        message_en=en,
    )


# ----------------------------------------------------------------------------- parsing


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_cell(col: Column, value: object) -> object:
    """The typed value of a cell, or RowError naming the column."""
    if isinstance(value, list) and col.type == "list":
        items = [_text(v) for v in value]
        return [v for v in items if v]
    raw = _text(value)
    if raw == "":
        if col.required:
            raise RowError(col.key, "validation.missing", **col.named)
        return {"int": None, "decimal": None, "bool": None, "list": []}.get(col.type, "")
    if len(raw) > col.max_len and col.type in {"text", "phone"}:
        raise RowError(col.key, "validation.too_long", **col.named)
    if col.type == "int":
        if isinstance(value, bool) or not re.fullmatch(r"\d{1,6}", raw):
            raise RowError(col.key, "masterdata.not_count", **col.named)
        return int(raw)
    if col.type == "decimal":
        try:
            number = Decimal(raw)
        except InvalidOperation:
            number = Decimal("NaN")
        if (
            not number.is_finite()
            or abs(number) > col.max_value
            or (number < 0 and col.max_value > 180)
        ):
            raise RowError(col.key, "masterdata.not_number", **col.named)
        return number.quantize(Decimal(1).scaleb(-col.places))
    if col.type == "bool":
        word = raw.lower()
        if word in _TRUE or value is True:
            return True
        if word in _FALSE or value is False:
            return False
        raise RowError(col.key, "masterdata.not_yes_no", **col.named)
    if col.type == "list":
        return [v.strip() for v in _SPLIT.split(raw) if v.strip()]
    if col.type == "phone":
        try:
            return normalize_phone(raw)
        except ValueError:
            raise RowError(col.key, "validation.phone_invalid", **col.named) from None
    if col.type == "choice":
        for code, word in col.choices.items():
            if raw in {code, word}:
                return code
        raise RowError(
            col.key,
            "masterdata.not_choice",
            **col.named,
            choices=Term("、".join(col.choices.values()), ", ".join(col.choices)),
        )
    return raw


def cell_text(value: object) -> object:
    """How a stored value is written into a cell (and an edit form)."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return "" if value is None else value


def _assign(obj: object, **values: object) -> bool:
    """Set what differs; whether anything did."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


# ----------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class Kind:
    """A kind of master data: its sheet, columns, natural key and how rows are read and
    written."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    model: type[Any]
    read: Callable[[Session, Any], dict[str, object]]
    find: Callable[[Session, Mapping[str, Any]], Any]
    write: Callable[[Session, Any, Mapping[str, Any], str], tuple[Any, bool]]
    order: Callable[[Any], Any]
    # A kind read whole rather than row by row (the rate cards): applies a sheet, counting
    # into the Counts and returning every issue located; and writes its export rows.
    apply_sheet: Callable[[Session, SheetRows, Counts, str], list[Issue]] | None = None
    export: Callable[[Session], list[dict[str, object]]] | None = None

    @property
    def title_key(self) -> str:
        """The portal/i18n.py key of the kind's name."""
        return f"masterdata.kind.{self.name}"

    def title(self, lang: Lang = "zh") -> str:
        """The kind's name in that language."""
        zh, en = both(self.title_key)
        return zh if lang == "zh" else en

    def column(self, key: str) -> Column:
        """The column with that key."""
        return next(c for c in self.columns if c.key == key)

    def label(self, obj: Any) -> str:
        """A row's natural key as shown in lists."""
        cells = self.read_cells(obj)
        return " / ".join(str(cells[k]) for k in self.key)

    def read_cells(self, obj: Any) -> dict[str, object]:
        """A stored row's cells (bound session taken from the object)."""
        return self.read(Session.object_session(obj), obj)  # type: ignore[arg-type]


def _network_by_name(session: Session, name: str, column: str = "network") -> ServiceNetwork:
    rows = session.scalars(select(ServiceNetwork).where(ServiceNetwork.name == name)).all()
    if len(rows) != 1:
        raise RowError(column, "masterdata.unknown_network", name=name)
    return rows[0]


def _read_network(session: Session, n: ServiceNetwork) -> dict[str, object]:
    parent = session.get(ServiceNetwork, n.parent_id) if n.parent_id else None
    return {
        "name": n.name,
        "code": n.code,
        "kind": n.kind,
        "parent": parent.name if parent else "",
        "province": n.province,
        "city": n.city,
        "districts": list(n.coverage or []),
        "capacity": n.capacity,
        "contact_name": n.contact_name,
        "contact_phone": n.contact_phone,
        "auto_dispatch": n.auto_dispatch,
        "attendance": n.attendance,
        "lat": n.lat,
        "lng": n.lng,
    }


def _find_network(session: Session, v: Mapping[str, Any]) -> ServiceNetwork | None:
    return session.scalars(
        select(ServiceNetwork).where(ServiceNetwork.name == v["name"]).order_by(ServiceNetwork.id)
    ).first()


def _network_code(session: Session) -> str:
    n = session.scalar(select(func.count()).select_from(ServiceNetwork)) or 0
    while True:
        n += 1
        code = f"N{n:04d}"
        if session.scalar(select(ServiceNetwork.id).where(ServiceNetwork.code == code)) is None:
            return code


def _write_network(
    session: Session, row: ServiceNetwork | None, v: Mapping[str, Any], actor: str
) -> tuple[ServiceNetwork, bool]:
    parent_id = None
    if v["parent"]:
        parent = _network_by_name(session, v["parent"], "parent")
        if row is not None and parent.id == row.id:
            raise RowError("parent", "masterdata.own_parent")
        ancestor: ServiceNetwork | None = parent
        while ancestor is not None and ancestor.parent_id is not None:
            if row is not None and ancestor.parent_id == row.id:
                raise RowError("parent", "masterdata.own_parent")
            ancestor = session.get(ServiceNetwork, ancestor.parent_id)
        parent_id = parent.id
    if v["kind"] == "sub" and parent_id is None:
        raise RowError("parent", "masterdata.sub_needs_parent")
    province, city, coverage = _network_place(v)
    code = v["code"]
    if code:
        taken = session.scalar(select(ServiceNetwork.id).where(ServiceNetwork.code == code))
        if taken is not None and (row is None or taken != row.id):
            raise RowError("code", "masterdata.code_taken", code=code)
    created = row is None
    if row is None:
        row = ServiceNetwork(code=code or _network_code(session), name=v["name"], city=city)
        session.add(row)
    changed = _assign(
        row,
        name=v["name"],
        kind=v["kind"],
        parent_id=parent_id,
        province=province,
        city=city,
        coverage=coverage,
        capacity=v["capacity"] or 0,
        contact_name=v["contact_name"],
        contact_phone=v["contact_phone"],
        auto_dispatch=bool(v["auto_dispatch"]),
        attendance=bool(v["attendance"]),
        lat=v["lat"],
        lng=v["lng"],
    )
    if code:
        changed = _assign(row, code=code) or changed
    session.flush()
    return row, created or changed


def _network_place(v: Mapping[str, Any]) -> tuple[str, str, list[str]]:
    """Province, city and covered districts in official names (上海 / 浦东 → 上海市 / 浦东新区),
    so that coverage compares with customers' addresses; a district the city does not have is
    an error (a typo there would leave its customers without a network)."""
    place = normalise(city=v["city"])
    city, province = place.city or v["city"], place.province
    if v["province"]:
        given = normalise(province=v["province"]).province or v["province"]
        if province and given != province:
            raise RowError(
                "city", "masterdata.city_not_in_province", city=v["city"], province=v["province"]
            )
        province = province or given
    known = districts_of(city)
    coverage: list[str] = []
    for name in v["districts"]:
        official = district_key(name, city=city)
        if known is not None and official not in known:
            raise RowError("districts", "masterdata.unknown_district", district=name, city=city)
        if official not in coverage:
            coverage.append(official)
    return province, city, coverage


_SKILL = re.compile(r"^\s*([^/:：]+)\s*[/:：]\s*([^/:：]+?)\s*(?:[/:：]\s*([1-3]))?\s*$")


def service_type(word: str) -> str | None:
    """The stored service type for a sheet's word (维修 or repair → repair); None if unknown."""
    word = word.strip()
    if word in SERVICE_TYPES:
        return word
    for code, zh in SERVICE_TYPES.items():
        if word == zh:
            return code
    return _SERVICE_WORDS.get(word) or _SERVICE_WORDS.get(word.lower())


def _service_choices() -> dict[str, object]:
    return {"choices": Term("、".join(SERVICE_TYPES.values()), ", ".join(SERVICE_TYPES))}


def _parse_skills(items: Sequence[str]) -> set[tuple[str, str, int]]:
    skills: set[tuple[str, str, int]] = set()
    for item in items:
        m = _SKILL.match(item)
        if not m or len(m.group(1)) > 32 or len(m.group(2)) > 32:
            raise RowError("skills", "masterdata.bad_skill", skill=item)
        kind = service_type(m.group(2))
        if kind is None:
            raise RowError(
                "skills", "masterdata.bad_service_type", skill=item, **_service_choices()
            )
        skills.add((m.group(1), kind, int(m.group(3) or 1)))
    return skills


# 燃气/2027-06-30, 燃气/RQ-0012/2027-06-30 or 高处作业/长期 (does not expire).
_CERTIFICATE = re.compile(
    r"^\s*(?P<name>[^/:：]{1,32}?)\s*[/:：]\s*(?:(?P<number>[^/:：]{1,64}?)\s*[/:：]\s*)?"
    r"(?P<expiry>(?P<y>\d{4})\s*[-.年]\s*(?P<m>\d{1,2})\s*[-.月]\s*(?P<d>\d{1,2})\s*日?"
    r"|长期|永久|permanent)\s*$",
    re.IGNORECASE,
)
PERMANENT = "长期"


def parse_certificates(items: Sequence[str]) -> dict[str, tuple[str, date | None]]:
    """name → (number, expiry) of a certificates cell; RowError naming the bad item."""
    out: dict[str, tuple[str, date | None]] = {}
    for item in items:
        m = _CERTIFICATE.match(item)
        if not m:
            raise RowError("certificates", "masterdata.bad_certificate", certificate=item)
        expires: date | None = None
        if m.group("y"):
            try:
                expires = date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
            except ValueError:
                raise RowError(
                    "certificates", "masterdata.bad_certificate", certificate=item
                ) from None
        name = m.group("name").strip()
        if name in out:
            raise RowError("certificates", "masterdata.duplicate_certificate", certificate=name)
        out[name] = ((m.group("number") or "").strip(), expires)
    return out


def certificate_cell(c: EngineerCertificate) -> str:
    """How a certificate is written in a cell: 名称[/编号]/到期日 or 名称/长期."""
    expiry = c.expires_on.isoformat() if c.expires_on else PERMANENT
    return "/".join(x for x in (c.name, c.number, expiry) if x)


def certificates_of(session: Session, engineer_id: int) -> list[EngineerCertificate]:
    """An engineer's certificates, by name."""
    return list(
        session.scalars(
            select(EngineerCertificate)
            .where(EngineerCertificate.engineer_id == engineer_id)
            .order_by(EngineerCertificate.name)
        )
    )


def _write_certificates(
    session: Session, engineer: Engineer, want: Mapping[str, tuple[str, date | None]]
) -> bool:
    changed = False
    have = {c.name: c for c in certificates_of(session, engineer.id)}
    for name, c in have.items():
        if name not in want:
            session.delete(c)
            changed = True
    for name, (number, expires) in want.items():
        if name in have:
            changed = _assign(have[name], number=number, expires_on=expires) or changed
        else:
            session.add(
                EngineerCertificate(
                    engineer_id=engineer.id, name=name, number=number, expires_on=expires
                )
            )
            changed = True
    session.flush()
    return changed


def _read_engineer(session: Session, e: Engineer) -> dict[str, object]:
    user = session.get(User, e.user_id) if e.user_id else None
    return {
        "phone": e.phone,
        "name": e.name,
        "network": e.network.name,
        "account": user.username if user else "",
        "skills": [
            f"{s.product_category}/{SERVICE_TYPES.get(s.service_type, s.service_type)}/{s.level}"
            for s in e.skills
        ],
        "certificates": [certificate_cell(c) for c in certificates_of(session, e.id)],
        "home_base": e.home_base,
        "home_lat": e.home_lat,
        "home_lng": e.home_lng,
        "daily_capacity": e.daily_capacity,
        "active": e.active,
    }


def _find_engineer(session: Session, v: Mapping[str, Any]) -> Engineer | None:
    return session.scalars(
        select(Engineer).where(Engineer.phone == v["phone"]).order_by(Engineer.id)
    ).first()


def _write_engineer(
    session: Session, row: Engineer | None, v: Mapping[str, Any], actor: str
) -> tuple[Engineer, bool]:
    network = _network_by_name(session, v["network"])
    skills = _parse_skills(v["skills"])
    certificates = parse_certificates(v["certificates"])
    other = _find_engineer(session, v)
    if other is not None and (row is None or other.id != row.id):
        raise RowError("phone", "masterdata.phone_taken", phone=v["phone"])
    user_id = row.user_id if row is not None else None
    if v["account"]:
        user = session.scalars(select(User).where(User.username == v["account"])).first()
        if user is None:
            # The account exists from now on; its password is set by an admin (reset) later.
            user = User(
                username=v["account"],
                display_name=v["name"],
                password_hash=hash_password(secrets.token_urlsafe(24)),
                role=Role.ENGINEER.value,
                network_id=network.id,
            )
            session.add(user)
            session.flush()
        elif user.role != Role.ENGINEER.value:
            raise RowError("account", "masterdata.account_not_engineer", account=v["account"])
        linked = session.scalar(select(Engineer.id).where(Engineer.user_id == user.id))
        if linked is not None and (row is None or linked != row.id):
            raise RowError("account", "masterdata.account_taken", account=v["account"])
        _assign(user, network_id=network.id)
        user_id = user.id
    if user_id is not None:
        # The login is the engineer's: renamed here, it is renamed in the top bar and lists.
        _assign(session.get_one(User, user_id), display_name=v["name"])
    created = row is None
    if row is None:
        row = Engineer(network_id=network.id, name=v["name"], phone=v["phone"])
        session.add(row)
    changed = _assign(
        row,
        network_id=network.id,
        name=v["name"],
        phone=v["phone"],
        user_id=user_id,
        home_base=v["home_base"],
        home_lat=v["home_lat"],
        home_lng=v["home_lng"],
        daily_capacity=v["daily_capacity"] if v["daily_capacity"] is not None else 6,
        active=True if v["active"] is None else v["active"],
    )
    session.flush()
    have = {(s.product_category, s.service_type): s for s in row.skills}
    want = {(c, t): lvl for c, t, lvl in skills}
    for k, s in have.items():
        if k not in want:
            session.delete(s)
            changed = True
        elif s.level != want[k]:
            s.level = want[k]
            changed = True
    for (c, t), lvl in want.items():
        if (c, t) not in have:
            session.add(
                EngineerSkill(engineer_id=row.id, product_category=c, service_type=t, level=lvl)
            )
            changed = True
    session.flush()
    session.expire(row, ["skills"])
    changed = _write_certificates(session, row, certificates) or changed
    return row, created or changed


def _read_product(session: Session, p: Product) -> dict[str, object]:
    return {"name": p.name, "category": p.category}


def _find_product(session: Session, v: Mapping[str, Any]) -> Product | None:
    return session.scalars(select(Product).where(Product.name == v["name"])).first()


def _write_product(
    session: Session, row: Product | None, v: Mapping[str, Any], actor: str
) -> tuple[Product, bool]:
    other = _find_product(session, v)
    if other is not None and (row is None or other.id != row.id):
        raise RowError("name", "masterdata.name_taken", name=v["name"])
    created = row is None
    if row is None:
        row = Product(name=v["name"], category=v["category"])
        session.add(row)
    changed = _assign(row, name=v["name"], category=v["category"])
    session.flush()
    return row, created or changed


def _product_by_name(session: Session, name: str) -> Product:
    product = session.scalars(select(Product).where(Product.name == name)).first()
    if product is None:
        raise RowError("product", "masterdata.unknown_product", name=name)
    return product


def _model_by_code(session: Session, code: str, column: str = "model") -> ProductModel:
    model = session.scalars(select(ProductModel).where(ProductModel.code == code)).first()
    if model is None:
        raise RowError(column, "masterdata.unknown_model", code=code)
    return model


def _read_model(session: Session, m: ProductModel) -> dict[str, object]:
    return {
        "code": m.code,
        "product": m.product.name,
        "name": m.name,
        "warranty_months": m.warranty_months,
        "parts_warranty_months": m.parts_warranty_months,
    }


def _find_model(session: Session, v: Mapping[str, Any]) -> ProductModel | None:
    return session.scalars(select(ProductModel).where(ProductModel.code == v["code"])).first()


def _write_model(
    session: Session, row: ProductModel | None, v: Mapping[str, Any], actor: str
) -> tuple[ProductModel, bool]:
    product = _product_by_name(session, v["product"])
    other = _find_model(session, v)
    if other is not None and (row is None or other.id != row.id):
        raise RowError("code", "masterdata.code_taken", code=v["code"])
    created = row is None
    if row is None:
        row = ProductModel(product_id=product.id, code=v["code"], name=v["name"])
        session.add(row)
    changed = _assign(
        row,
        product_id=product.id,
        code=v["code"],
        name=v["name"],
        # Left blank: the product's published terms (warranty_terms), else the statutory year.
        warranty_months=v["warranty_months"]
        if v["warranty_months"] is not None
        else standard_months(session, category=product.category, product=product.name),
        parts_warranty_months=v["parts_warranty_months"] or 0,
    )
    session.flush()
    if changed:
        session.expire(row, ["product"])
    return row, created or changed


def _read_fault(session: Session, f: FaultCode) -> dict[str, object]:
    return {
        "model": f.model.code,
        "code": f.code,
        "description": f.description,
        "measures": list(f.measures or []),
        "parts": list(f.parts or []),
    }


def _find_fault(session: Session, v: Mapping[str, Any]) -> FaultCode | None:
    return session.scalars(
        select(FaultCode)
        .join(ProductModel, FaultCode.model_id == ProductModel.id)
        .where(ProductModel.code == v["model"], FaultCode.code == v["code"].upper())
    ).first()


def _write_fault(
    session: Session, row: FaultCode | None, v: Mapping[str, Any], actor: str
) -> tuple[FaultCode, bool]:
    model = _model_by_code(session, v["model"])
    code = v["code"].upper()
    other = _find_fault(session, v)
    if other is not None and (row is None or other.id != row.id):
        raise RowError("code", "masterdata.code_taken", code=code)
    created = row is None
    if row is None:
        row = FaultCode(model_id=model.id, code=code, description=v["description"])
        session.add(row)
    changed = _assign(
        row,
        model_id=model.id,
        code=code,
        description=v["description"],
        measures=[m[:100] for m in v.get("measures") or []][:12],
        parts=[p[:100] for p in v.get("parts") or []][:12],
    )
    session.flush()
    if changed:
        session.expire(row, ["model"])
    return row, created or changed


def _read_term(session: Session, w: WarrantyTerm) -> dict[str, object]:
    return {
        "category": w.product_category,
        "product": w.product,
        "unit_months": w.unit_months,
        "main_part": w.main_part,
        "main_part_months": w.main_part_months,
    }


def _find_term(session: Session, v: Mapping[str, Any]) -> WarrantyTerm | None:
    return session.scalars(
        select(WarrantyTerm).where(
            WarrantyTerm.product_category == v["category"],
            WarrantyTerm.product == (v.get("product") or ""),
        )
    ).first()


def _write_term(
    session: Session, row: WarrantyTerm | None, v: Mapping[str, Any], actor: str
) -> tuple[WarrantyTerm, bool]:
    if not v["unit_months"]:
        raise RowError(
            "unit_months",
            "masterdata.not_count",
            **_named("masterdata.col.warranty_terms.unit_months"),
        )
    other = _find_term(session, v)
    if other is not None and (row is None or other.id != row.id):
        raise RowError("category", "masterdata.code_taken", code=v["category"])
    created = row is None
    if row is None:
        row = WarrantyTerm(product_category=v["category"], unit_months=v["unit_months"])
        session.add(row)
    changed = _assign(
        row,
        product_category=v["category"],
        product=v.get("product") or "",
        unit_months=v["unit_months"],
        main_part=v.get("main_part") or "",
        main_part_months=v.get("main_part_months") or 0,
    )
    session.flush()
    return row, created or changed


def _read_part(session: Session, p: Part) -> dict[str, object]:
    return {
        "code": p.code,
        "name": p.name,
        "name_en": p.name_en,
        "category": p.category,
        "price": p.unit_price,
        "cost": p.unit_cost,
        "models": list(p.compatible_models or []),
        "returnable": p.returnable,
        "active": p.active,
    }


def _find_part(session: Session, v: Mapping[str, Any]) -> Part | None:
    return session.scalars(select(Part).where(Part.code == v["code"])).first()


def _write_part(
    session: Session, row: Part | None, v: Mapping[str, Any], actor: str
) -> tuple[Part, bool]:
    for code in v["models"]:
        _model_by_code(session, code, "models")
    cost = v["cost"] if v["cost"] is not None else Decimal("0")
    if v["price"] < cost:
        raise RowError("price", "parts.price_below_cost")
    other = _find_part(session, v)
    if other is not None and (row is None or other.id != row.id):
        raise RowError("code", "parts.code_taken", code=v["code"])
    created = row is None
    if row is None:
        row = Part(code=v["code"], name=v["name"], unit_cost=cost, unit_price=v["price"])
        session.add(row)
    changed = _assign(
        row,
        code=v["code"],
        name=v["name"],
        name_en=v["name_en"] or "",
        category=v["category"],
        unit_price=v["price"],
        unit_cost=cost,
        compatible_models=list(v["models"]),
        returnable=bool(v["returnable"]),
        active=True if v["active"] is None else v["active"],
    )
    session.flush()
    return row, created or changed


def _read_rule(session: Session, r: CertificateRule) -> dict[str, object]:
    service = "" if r.service_type == ANY_SERVICE else r.service_type
    return {
        "category": r.product_category,
        "service_type": SERVICE_TYPES.get(service, service),
        "certificate": r.certificate,
    }


def _rule_service(v: Mapping[str, Any]) -> str:
    if not v["service_type"] or v["service_type"] in {ANY_SERVICE, "全部", "all"}:
        return ANY_SERVICE
    kind = service_type(v["service_type"])
    if kind is None:
        raise RowError(
            "service_type",
            "masterdata.not_choice",
            **_named("masterdata.col.certificate_rules.service_type"),
            **_service_choices(),
        )
    return kind


def _find_rule(session: Session, v: Mapping[str, Any]) -> CertificateRule | None:
    try:
        service = _rule_service(v)
    except RowError:
        return None
    return session.scalars(
        select(CertificateRule).where(
            CertificateRule.product_category == v["category"],
            CertificateRule.service_type == service,
            CertificateRule.certificate == v["certificate"],
        )
    ).first()


def _write_rule(
    session: Session, row: CertificateRule | None, v: Mapping[str, Any], actor: str
) -> tuple[CertificateRule, bool]:
    service = _rule_service(v)
    other = _find_rule(session, v)
    if other is not None and (row is None or other.id != row.id):
        raise RowError("certificate", "masterdata.exists", value=v["certificate"])
    created = row is None
    if row is None:
        row = CertificateRule(
            product_category=v["category"], service_type=service, certificate=v["certificate"]
        )
        session.add(row)
    changed = _assign(
        row, product_category=v["category"], service_type=service, certificate=v["certificate"]
    )
    session.flush()
    return row, created or changed


def required_for(session: Session, *, category: str, service_type: str) -> frozenset[str]:
    """The certificates work of this service type on this product category requires."""
    rules = session.scalars(
        select(CertificateRule.certificate).where(
            CertificateRule.product_category == category,
            CertificateRule.service_type.in_([service_type, ANY_SERVICE]),
        )
    )
    return frozenset(rules)


def valid_certificates(
    session: Session, *, engineer_ids: Iterable[int], on: date
) -> dict[int, frozenset[str]]:
    """engineer → the certificates they hold that are valid on that day (an expiry day is
    the last valid one)."""
    ids = list(engineer_ids)
    if not ids:
        return {}
    out: dict[int, set[str]] = {}
    for eid, name in session.execute(
        select(EngineerCertificate.engineer_id, EngineerCertificate.name).where(
            EngineerCertificate.engineer_id.in_(ids),
            (EngineerCertificate.expires_on.is_(None)) | (EngineerCertificate.expires_on >= on),
        )
    ):
        out.setdefault(eid, set()).add(name)
    return {k: frozenset(v) for k, v in out.items()}


def _read_warehouse(session: Session, w: StockLocation) -> dict[str, object]:
    network = session.get(ServiceNetwork, w.network_id) if w.network_id else None
    engineer = session.get(Engineer, w.engineer_id) if w.engineer_id else None
    return {
        "code": w.code,
        "name": w.name,
        "kind": w.kind,
        "network": network.name if network else "",
        "engineer": engineer.phone if engineer else "",
    }


def _find_warehouse(session: Session, v: Mapping[str, Any]) -> StockLocation | None:
    return session.scalars(select(StockLocation).where(StockLocation.code == v["code"])).first()


def _write_warehouse(
    session: Session, row: StockLocation | None, v: Mapping[str, Any], actor: str
) -> tuple[StockLocation, bool]:
    network_id = engineer_id = None
    if v["kind"] in {"network", "van"}:
        if not v["network"]:
            raise RowError("network", "masterdata.warehouse_needs_network")
        network_id = _network_by_name(session, v["network"]).id
    elif v["network"]:
        network_id = _network_by_name(session, v["network"]).id
    if v["kind"] == "van":
        engineer = session.scalars(select(Engineer).where(Engineer.phone == v["engineer"])).first()
        if not v["engineer"] or engineer is None:
            raise RowError("engineer", "masterdata.unknown_engineer", phone=v["engineer"])
        if engineer.network_id != network_id:
            raise RowError("engineer", "masterdata.engineer_other_network", phone=v["engineer"])
        van = session.scalar(
            select(StockLocation.id).where(StockLocation.engineer_id == engineer.id)
        )
        if van is not None and (row is None or van != row.id):
            raise RowError("engineer", "masterdata.van_taken", phone=v["engineer"])
        engineer_id = engineer.id
    other = _find_warehouse(session, v)
    if other is not None and (row is None or other.id != row.id):
        raise RowError("code", "masterdata.code_taken", code=v["code"])
    created = row is None
    if row is None:
        row = StockLocation(code=v["code"], kind=v["kind"], name=v["name"])
        session.add(row)
    changed = _assign(
        row,
        code=v["code"],
        kind=v["kind"],
        name=v["name"],
        network_id=network_id,
        engineer_id=engineer_id,
    )
    session.flush()
    return row, created or changed


def _read_stock(session: Session, b: StockBalance) -> dict[str, object]:
    return {
        "warehouse": b.location.code,
        "part": b.part.code,
        "quantity": b.on_hand,
        "min_level": b.min_level,
    }


def _find_stock(session: Session, v: Mapping[str, Any]) -> StockBalance | None:
    return session.scalars(
        select(StockBalance)
        .join(StockLocation, StockBalance.location_id == StockLocation.id)
        .join(Part, StockBalance.part_id == Part.id)
        .where(StockLocation.code == v["warehouse"], Part.code == v["part"])
    ).first()


def _write_stock(
    session: Session, row: StockBalance | None, v: Mapping[str, Any], actor: str
) -> tuple[StockBalance, bool]:
    location = session.scalars(
        select(StockLocation).where(StockLocation.code == v["warehouse"])
    ).first()
    if location is None:
        raise RowError("warehouse", "masterdata.unknown_warehouse", code=v["warehouse"])
    part = session.scalars(select(Part).where(Part.code == v["part"])).first()
    if part is None:
        raise RowError("part", "masterdata.unknown_part", code=v["part"])
    if row is not None and (row.location_id != location.id or row.part_id != part.id):
        raise RowError("warehouse", "masterdata.stock_key_fixed")
    created = row is None
    try:
        # The balance changes only through the ledger: one 盘点 adjustment to the figure given.
        count = parts.adjust_count(
            session,
            location=location,
            part=part,
            counted=v["quantity"],
            reason="期初库存导入 / opening stock import",
            actor=actor,
        )
    except PortalError as exc:
        raise RowError("quantity", exc.key, **exc.params) from None
    changed = count.movement is not None
    min_level = v["min_level"] or 0
    balance = parts.balance(session, location_id=location.id, part_id=part.id)
    assert balance is not None  # adjust_count made it
    if balance.min_level != min_level:
        parts.set_threshold(session, location_id=location.id, part_id=part.id, min_level=min_level)
        changed = True
    balance = parts.balance(session, location_id=location.id, part_id=part.id)
    assert balance is not None
    return balance, created or changed


def _c(kind: str, key: str, type: str = "text", **kw: Any) -> Column:
    """A column of `kind`, labelled by `masterdata.col.<kind>.<key>` in portal/i18n.py."""
    return Column(key, f"masterdata.col.{kind}.{key}", type, **kw)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "networks",
            (
                _c("networks", "name", required=True),
                _c("networks", "code", max_len=32),
                _c("networks", "kind", "choice", required=True, choices=NETWORK_KINDS),
                _c("networks", "parent"),
                _c("networks", "province", max_len=32),
                _c("networks", "city", required=True, max_len=32),
                _c("networks", "districts", "list"),
                _c("networks", "capacity", "int"),
                _c("networks", "contact_name", max_len=64),
                _c("networks", "contact_phone", "phone", max_len=20),
                _c("networks", "auto_dispatch", "bool"),
                _c("networks", "attendance", "bool"),
                _c("networks", "lat", "decimal", max_value=Decimal(90), places=6),
                _c("networks", "lng", "decimal", max_value=Decimal(180), places=6),
            ),
            ("name",),
            ServiceNetwork,
            _read_network,
            _find_network,
            _write_network,
            lambda m: m.id,
        ),
        Kind(
            "engineers",
            (
                _c("engineers", "phone", "phone", required=True, max_len=20),
                _c("engineers", "name", required=True, max_len=64),
                _c("engineers", "network", required=True),
                _c("engineers", "account", max_len=64),
                _c("engineers", "skills", "list"),
                _c("engineers", "home_base", max_len=200),
                _c(
                    "engineers",
                    "home_lat",
                    "decimal",
                    max_value=Decimal(90),
                    places=6,
                ),
                _c(
                    "engineers",
                    "home_lng",
                    "decimal",
                    max_value=Decimal(180),
                    places=6,
                ),
                _c("engineers", "daily_capacity", "int"),
                _c("engineers", "active", "bool"),
                _c(
                    "engineers",
                    "certificates",
                    "list",
                ),
            ),
            ("phone",),
            Engineer,
            _read_engineer,
            _find_engineer,
            _write_engineer,
            lambda m: m.id,
        ),
        Kind(
            "certificate_rules",
            (
                _c("certificate_rules", "category", required=True, max_len=32),
                _c("certificate_rules", "service_type", max_len=32),
                _c("certificate_rules", "certificate", required=True, max_len=32),
            ),
            ("category", "service_type", "certificate"),
            CertificateRule,
            _read_rule,
            _find_rule,
            _write_rule,
            lambda m: m.id,
        ),
        Kind(
            "products",
            (
                _c("products", "name", required=True, max_len=64),
                _c("products", "category", required=True, max_len=32),
            ),
            ("name",),
            Product,
            _read_product,
            _find_product,
            _write_product,
            lambda m: m.id,
        ),
        Kind(
            "models",
            (
                _c("models", "code", required=True, max_len=32),
                _c("models", "product", required=True, max_len=64),
                _c("models", "name", required=True),
                _c("models", "warranty_months", "int"),
                _c(
                    "models",
                    "parts_warranty_months",
                    "int",
                ),
            ),
            ("code",),
            ProductModel,
            _read_model,
            _find_model,
            _write_model,
            lambda m: m.id,
        ),
        Kind(
            "warranty_terms",
            (
                _c("warranty_terms", "category", required=True, max_len=32),
                _c("warranty_terms", "product", max_len=64),
                _c("warranty_terms", "unit_months", "int", required=True),
                _c("warranty_terms", "main_part", max_len=32),
                _c("warranty_terms", "main_part_months", "int"),
            ),
            ("category", "product"),
            WarrantyTerm,
            _read_term,
            _find_term,
            _write_term,
            lambda m: m.id,
        ),
        Kind(
            "fault_codes",
            (
                _c("fault_codes", "model", required=True, max_len=32),
                _c("fault_codes", "code", required=True, max_len=16),
                _c("fault_codes", "description", required=True, max_len=200),
                _c("fault_codes", "measures", "list"),
                _c("fault_codes", "parts", "list"),
            ),
            ("model", "code"),
            FaultCode,
            _read_fault,
            _find_fault,
            _write_fault,
            lambda m: m.id,
        ),
        Kind(
            "parts",
            (
                _c("parts", "code", required=True, max_len=32),
                _c("parts", "name", required=True),
                _c("parts", "name_en", max_len=100),
                _c("parts", "category", max_len=32),
                _c("parts", "price", "decimal", required=True),
                _c("parts", "cost", "decimal"),
                _c("parts", "models", "list"),
                _c("parts", "returnable", "bool"),
                _c("parts", "active", "bool"),
            ),
            ("code",),
            Part,
            _read_part,
            _find_part,
            _write_part,
            lambda m: m.id,
        ),
        Kind(
            "warehouses",
            (
                _c("warehouses", "code", required=True, max_len=32),
                _c("warehouses", "name", required=True),
                _c("warehouses", "kind", "choice", required=True, choices=WAREHOUSE_KINDS),
                _c("warehouses", "network"),
                _c("warehouses", "engineer", max_len=20),
            ),
            ("code",),
            StockLocation,
            _read_warehouse,
            _find_warehouse,
            _write_warehouse,
            lambda m: m.id,
        ),
        Kind(
            "stock",
            (
                _c("stock", "warehouse", required=True, max_len=32),
                _c("stock", "part", required=True, max_len=32),
                _c("stock", "quantity", "int", required=True),
                _c("stock", "min_level", "int"),
            ),
            ("warehouse", "part"),
            StockBalance,
            _read_stock,
            _find_stock,
            _write_stock,
            lambda m: m.id,
        ),
    )
}


def kind_of(name: str) -> Kind:
    """The kind by its name (RowError-free: views check the name is in KINDS)."""
    return KINDS[name]


# ----------------------------------------------------------------------------- rows


def visible_to(kind: Kind, stmt: Any, scope: Scope) -> Any:
    """Narrow a kind's query to a scope: a network manager sees their network and its
    engineers; every other kind is the admin's."""
    if scope.everything:
        return stmt
    if kind.name == "networks" and scope.network_id is not None:
        return stmt.where(ServiceNetwork.id == scope.network_id)
    if kind.name == "engineers" and scope.network_id is not None:
        return stmt.where(Engineer.network_id == scope.network_id)
    return stmt.where(False)  # noqa: FBT003  (no rows)


def list_rows(session: Session, kind: Kind, *, scope: Scope) -> list[Any]:
    """Stored rows of a kind that the scope sees, oldest first."""
    stmt = visible_to(kind, select(kind.model), scope).order_by(kind.model.id)
    return list(session.scalars(stmt).unique().all())


def get_row(session: Session, kind: Kind, *, row_id: int, scope: Scope) -> Any | None:
    """One stored row, or None when unknown or outside the scope."""
    stmt = visible_to(kind, select(kind.model), scope).where(kind.model.id == row_id)
    return session.scalars(stmt).unique().first()


def parse(kind: Kind, cells: Mapping[str, object]) -> tuple[dict[str, Any], list[Issue]]:
    """Typed values of a row's cells and the problems found, one per column."""
    values: dict[str, Any] = {}
    issues: list[Issue] = []
    for col in kind.columns:
        try:
            values[col.key] = parse_cell(col, cells.get(col.key))
        except RowError as exc:
            issues.append(_located(kind, exc))
    return values, issues


def _located(kind: Kind, exc: RowError) -> Issue:
    col = next((c for c in kind.columns if c.key == exc.column), None)
    return Issue(
        column=exc.column,
        column_zh=col.title("zh") if col else "",
        message_zh=exc.message_zh,
        message_en=exc.message_en,
    )


@dataclass
class Saved:
    """The outcome of saving one row."""

    row: Any = None
    created: bool = False
    changed: bool = False
    issues: list[Issue] = field(default_factory=list)


def save(
    session: Session,
    kind: Kind,
    *,
    cells: Mapping[str, object],
    row: Any = None,
    actor: str,
    upsert: bool = True,
    network_id: int | None = None,
) -> Saved:
    """Create or update one row from its cells. `row` given: that row is updated; else the
    row with the same natural key (when `upsert`) or a new one. `network_id` pins a network
    manager's rows to their own network. Problems come back as issues, nothing raised."""
    values, issues = parse(kind, cells)
    if issues:
        return Saved(issues=issues)
    if network_id is not None and not _in_network(session, kind, values, network_id):
        return Saved(
            issues=[
                _issue(
                    kind.column("network" if kind.name == "engineers" else "name"),
                    "error.forbidden",
                )
            ]
        )
    existing = row if row is not None else kind.find(session, values)
    if existing is not None and row is None and not upsert:
        col = kind.column(kind.key[-1])
        return Saved(issues=[_issue(col, "masterdata.exists", value=values[col.key])])
    try:
        stored, changed = kind.write(session, existing, values, actor)
    except RowError as exc:
        return Saved(issues=[_located(kind, exc)])
    return Saved(row=stored, created=existing is None, changed=changed)


def _in_network(session: Session, kind: Kind, values: Mapping[str, Any], network_id: int) -> bool:
    network = session.get(ServiceNetwork, network_id)
    if network is None:
        return False
    if kind.name == "engineers":
        return bool(values["network"] == network.name)
    return kind.name == "networks" and values["name"] == network.name


# ----------------------------------------------------------------------------- books


@dataclass
class Counts:
    """How many rows of a kind an import created, updated and left as they were."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class Report:
    """What an import found (every issue) and would do or did (counts per kind)."""

    issues: list[Issue] = field(default_factory=list)
    counts: dict[str, Counts] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the whole book may be applied."""
        return not self.issues

    def as_dict(self) -> dict[str, object]:
        """The JSON shape."""
        return {
            "ok": self.ok,
            "errors": [i.as_dict() for i in self.issues],
            "counts": {k: vars(c) for k, c in self.counts.items()},
        }


@dataclass
class SheetRows:
    """The rows of one sheet: (row number in the file, cells by column key)."""

    kind: Kind
    sheet: str
    rows: list[tuple[int, dict[str, object]]]


Numbered = list[tuple[int, dict[str, object]]]


def _parents_first(rows: Numbered) -> Numbered:
    """Networks ordered so a 伞下店 comes after its parent when both are in the sheet."""
    parent_of = {_text(c.get("name")): _text(c.get("parent")) for _, c in rows}

    def depth(name: str) -> int:
        seen: set[str] = set()
        d = 0
        while parent_of.get(name) and name not in seen:
            seen.add(name)
            name = parent_of[name]
            d += 1
        return d

    return sorted(rows, key=lambda r: depth(_text(r[1].get("name"))))


def import_book(session: Session, sheets: Iterable[SheetRows], *, actor: str) -> Report:
    """Save every row of every sheet, kinds in dependency order, collecting every issue.
    The caller rolls the session back for a dry run or when the report is not ok."""
    report = Report()
    sheets = list(sheets)
    order = list(KINDS) + [s.kind.name for s in sheets if s.kind.name not in KINDS]
    for sheet in sorted(sheets, key=lambda s: order.index(s.kind.name)):
        counts = report.counts.setdefault(sheet.kind.name, Counts())
        if sheet.kind.apply_sheet is not None:
            report.issues.extend(sheet.kind.apply_sheet(session, sheet, counts, actor))
            continue
        rows = _parents_first(sheet.rows) if sheet.kind.name == "networks" else sheet.rows
        seen: dict[tuple[object, ...], int] = {}
        for number, cells in rows:
            values, _ = parse(sheet.kind, cells)
            key = tuple(values.get(k) for k in sheet.kind.key)
            if all(key) and key in seen:
                col = sheet.kind.column(sheet.kind.key[-1])
                issue = _issue(col, "masterdata.duplicate_row", row=seen[key])
                issue.sheet, issue.row = sheet.sheet, number
                report.issues.append(issue)
                continue
            seen[key] = number
            saved = save(session, sheet.kind, cells=cells, actor=actor)
            for issue in saved.issues:
                issue.sheet, issue.row = sheet.sheet, number
            report.issues.extend(saved.issues)
            if saved.issues:
                continue
            if saved.created:
                counts.created += 1
            elif saved.changed:
                counts.updated += 1
            else:
                counts.unchanged += 1
    by_sheet = {s.sheet: s.kind.name for s in sheets}
    report.issues.sort(key=lambda i: (order.index(by_sheet.get(i.sheet, order[0])), i.row))
    return report


def export_rows(session: Session, kind: Kind) -> list[dict[str, object]]:
    """Every stored row of a kind as cells (what an import of them would read back)."""
    if kind.export is not None:
        return kind.export(session)
    rows = list_rows(session, kind, scope=Scope(everything=True))
    return [{k: cell_text(v) for k, v in kind.read(session, r).items()} for r in rows]
