"""The standing demo data: networks and their people, products, customers and their assets."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from portal.accounts.models import User
from portal.assets.models import Asset, Product, ProductModel
from portal.customers.models import ChannelIdentity, Customer, CustomerAddress, CustomerPhone
from portal.demo import catalog, places
from portal.demo.names import mobile_numbers, person_name
from portal.demo.staff import ENGINEER_PASSWORD, MANAGER_PASSWORD, password_hash
from portal.networks.models import Engineer, EngineerSkill, ServiceNetwork
from portal.security import Role

CUSTOMERS = 300
ENGINEERS = 40
VIP_SHARE = 0.10
# Customers per city, as shares; Shanghai is the biggest market.
CITY_WEIGHTS = {"上海": 0.45, "杭州": 0.30, "南京": 0.25}
# How often a category shows up in a home; nearly everyone has an air conditioner.
CATEGORY_WEIGHTS = {"空调": 30, "洗衣机": 25, "冰箱": 18, "热水器": 12, "油烟机": 8, "燃气灶": 7}
ASSET_YEARS = 4
RECENT_INSTALL_SHARE = 0.15  # bought in the last 90 days: the installation tickets


@dataclass
class Site:
    """A customer address and where it lies, kept in memory for planning."""

    row: CustomerAddress
    city: str
    district: str
    point: tuple[Decimal, Decimal]


@dataclass
class Unit:
    """An asset with what the ticket planner needs to know about it."""

    row: Asset
    customer: Customer
    site: Site
    category: str
    model_code: str
    warranty_months: int


@dataclass
class Staffer:
    """An engineer with the skills the planner matches on."""

    row: Engineer
    user: User
    network: ServiceNetwork
    skills: set[tuple[str, str]]
    home: tuple[Decimal, Decimal]


@dataclass
class World:
    """Everything tickets are made from."""

    networks: list[ServiceNetwork] = field(default_factory=list)
    managers: dict[str, User] = field(default_factory=dict)  # by network code
    engineers: list[Staffer] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    openid_holders: set[str] = field(default_factory=set)  # customer phones with WeChat bound


def _local_day_start(day: date) -> datetime:
    # 09:00 in China, so a date shown in the UI is the date meant.
    return datetime.combine(day, time(1, 0), tzinfo=UTC)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def build_world(
    session: Session, rng: random.Random, *, now: datetime, staff: dict[str, User]
) -> World:
    """Create networks, managers, engineers, products, customers, addresses and assets."""
    world = World()
    phones: set[str] = set()
    _networks(session, rng, world, staff)
    _engineers(session, rng, world, staff, phones)
    models = _products(session)
    _customers(session, rng, world, phones)
    _assets(session, rng, world, models, now=now)
    _wechat_bindings(session, rng, world, now=now)
    return world


def _networks(session: Session, rng: random.Random, world: World, staff: dict[str, User]) -> None:
    for spec in places.NETWORKS:
        centre = places.DISTRICT_BY_NAME[(spec.city, spec.coverage[0])]
        lat, lng = places.jitter(rng, centre.lat, centre.lng, 1.0)
        world.networks.append(
            ServiceNetwork(
                code=spec.code,
                name=spec.name,
                city=spec.city,
                coverage=list(spec.coverage),
                stock_location=spec.stock_location,
                auto_dispatch=spec.auto_dispatch,
                lat=lat,
                lng=lng,
            )
        )
    session.add_all(world.networks)
    session.flush()
    for i, network in enumerate(world.networks):
        if i == 0:
            manager = staff["manager"]
        else:
            manager = User(
                username=f"manager_{network.code.lower().replace('-', '')}",
                display_name=f"{network.name}主管{person_name(rng)}",
                password_hash=password_hash(MANAGER_PASSWORD),
                role=Role.NETWORK_MANAGER.value,
            )
            session.add(manager)
        manager.network_id = network.id
        world.managers[network.code] = manager


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _engineers(
    session: Session,
    rng: random.Random,
    world: World,
    staff: dict[str, User],
    phones: set[str],
) -> None:
    engineer_hash = password_hash(ENGINEER_PASSWORD)
    for n, (network, count) in enumerate(
        zip(world.networks, _split(ENGINEERS, len(world.networks)), strict=True)
    ):
        # One engineer is off duty (leave, training) in most networks, never the demo login.
        off_duty = {count - 1} if n < len(world.networks) - 1 else set()
        skills = _skill_sets(rng, [i for i in range(count) if i not in off_duty], count)
        for i in range(count):
            name = person_name(rng)
            if n == 0 and i == 0:
                user = staff["engineer"]
                name = "刘洋"
            else:
                user = User(
                    username=f"eng_{network.code.lower().replace('-', '')}_{i + 1:02d}",
                    display_name=name,  # as on their jobs and the dispatch board
                    password_hash=engineer_hash,
                    role=Role.ENGINEER.value,
                )
            user.network_id = network.id
            session.add(user)
            assert network.lat is not None and network.lng is not None
            home = places.jitter(rng, float(network.lat), float(network.lng), 4.0)
            row = Engineer(
                network_id=network.id,
                name=name,
                phone=mobile_numbers(rng, 1, phones)[0],
                home_lat=home[0],
                home_lng=home[1],
                work_start=rng.choice((time(8, 0), time(8, 30), time(9, 0))),
                work_end=rng.choice((time(18, 0), time(19, 0), time(20, 0), time(20, 0))),
                daily_capacity=rng.randint(4, 8),
                on_duty=i not in off_duty,
            )
            row.skills = [
                EngineerSkill(product_category=cat, service_type=kind, level=level)
                for (cat, kind), level in skills[i].items()
            ]
            world.engineers.append(Staffer(row, user, network, set(skills[i]), (home[0], home[1])))
    session.add_all(s.row for s in world.engineers)
    session.flush()
    for s in world.engineers:
        s.row.user_id = s.user.id


def _skill_sets(
    rng: random.Random, on_duty: Sequence[int], count: int
) -> list[dict[tuple[str, str], int]]:
    """Skills for a network's engineers: every category twice among those on duty, so a
    rejected job always has someone else to go to; then some side skills for variety."""
    cats: list[list[str]] = [[] for _ in range(count)]
    for category in catalog.CATEGORIES * 2:
        free = [i for i in on_duty if category not in cats[i]]
        rng.shuffle(free)
        cats[min(free, key=lambda i: len(cats[i]))].append(category)
    out: list[dict[tuple[str, str], int]] = []
    for i in range(count):
        mine = cats[i] or rng.sample(catalog.CATEGORIES, 2)
        skills = {
            (cat, kind): rng.choice((1, 2, 2, 3, 3))
            for cat in mine
            for kind in catalog.SERVICE_TYPES
        }
        if rng.random() < 0.5:
            side = rng.choice([c for c in catalog.CATEGORIES if c not in mine])
            skills[(side, rng.choice(("repair", "maintenance")))] = 1
        out.append(skills)
    return out


def _products(session: Session) -> dict[str, list[ProductModel]]:
    by_category: dict[str, list[ProductModel]] = {c: [] for c in catalog.CATEGORIES}
    for spec in catalog.PRODUCTS:
        product = Product(category=spec.category, name=spec.name)
        session.add(product)
        for m in spec.models:
            model = ProductModel(
                product=product, code=m.code, name=m.name, warranty_months=m.warranty_months
            )
            session.add(model)
            by_category[spec.category].append(model)
    session.flush()
    return by_category


def _customers(session: Session, rng: random.Random, world: World, phones: set[str]) -> None:
    numbers = mobile_numbers(rng, CUSTOMERS, phones)
    cities = list(CITY_WEIGHTS)
    for phone in numbers:
        city = rng.choices(cities, weights=list(CITY_WEIGHTS.values()))[0]
        customer = Customer(
            name=person_name(rng),
            phone=phone,
            tier="vip" if rng.random() < VIP_SHARE else "normal",
        )
        if rng.random() < 0.65:
            customer.wechat_openid = f"oDemo{rng.getrandbits(96):024x}"
            world.openid_holders.add(phone)
        labels = ["家"] + (
            ["父母家" if rng.random() < 0.6 else "公司"] if rng.random() < 0.3 else []
        )
        districts = [d for d in places.DISTRICTS if d.city == city]
        for n, label in enumerate(labels):
            district = rng.choice(districts)
            lat, lng = places.jitter(rng, district.lat, district.lng, 2.0)
            customer.addresses.append(
                CustomerAddress(
                    label=label,
                    city=city,
                    district=district.name,
                    detail=places.street_address(rng, district),
                    lat=lat,
                    lng=lng,
                    is_default=n == 0,
                )
            )
        if rng.random() < 0.1:
            customer.phones.append(
                CustomerPhone(phone=mobile_numbers(rng, 1, phones)[0], label="家人")
            )
        world.customers.append(customer)
    session.add_all(world.customers)
    session.flush()


def _wechat_bindings(session: Session, rng: random.Random, world: World, *, now: datetime) -> None:
    # Bound some time after they became customers, never in the future.
    session.add_all(
        ChannelIdentity(
            channel="wechat",
            external_id=c.wechat_openid,
            customer_id=c.id,
            bound_at=min(c.created_at + timedelta(days=rng.randint(0, 400)), now),
        )
        for c in world.customers
        if c.wechat_openid
    )


def _assets(
    session: Session,
    rng: random.Random,
    world: World,
    models: dict[str, list[ProductModel]],
    *,
    now: datetime,
) -> None:
    today = now.date()
    serial = 0
    cats, weights = list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values())
    for customer in world.customers:
        sites = []
        for a in customer.addresses:
            assert a.lat is not None and a.lng is not None
            sites.append(Site(a, a.city, a.district, (a.lat, a.lng)))
        owned: list[str] = []
        for _ in range(rng.choice((1, 1, 2, 2, 2, 3))):
            category = rng.choices(cats, weights=weights)[0]
            if category in owned:
                continue
            owned.append(category)
            model = rng.choice(models[category])
            if rng.random() < RECENT_INSTALL_SHARE:
                installed = today - timedelta(days=rng.randint(2, 88))
            else:
                installed = today - timedelta(days=rng.randint(90, 365 * ASSET_YEARS))
            site = sites[0] if len(sites) == 1 or rng.random() < 0.75 else sites[1]
            serial += 1
            prefix = model.code.split("-")[0]
            asset = Asset(
                serial_number=f"{prefix}{installed:%Y%m}{serial:05d}",
                model_id=model.id,
                customer_id=customer.id,
                address_id=site.row.id,
                install_date=installed,
                warranty_end=add_months(installed, model.warranty_months),
                created_at=_local_day_start(installed),
            )
            world.units.append(
                Unit(asset, customer, site, category, model.code, model.warranty_months)
            )
        first = min(u.row.created_at for u in world.units if u.customer is customer)
        customer.created_at = first - timedelta(days=rng.randint(0, 3))
    session.add_all(u.row for u in world.units)
    session.flush()
