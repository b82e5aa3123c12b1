"""Who may take a ticket, and how well they fit: the dispatch score and its explanation.

Pure functions over plain records (`Job` for a ticket, `Worker` for an engineer), so the same
code ranks one ticket, plans a whole day and runs in the benchmark without a database.

A worker is a *candidate* for a job when `screen()` finds no reason against it:
its network is the job's (when the job is already with a network), the network covers the
job's city and district, it has the job's product category × service type at the minimum
level for the job's urgency, it holds every certificate the work requires valid on the visit
day (a gas appliance: 燃气; the company's rules, `portal.masterdata`), it has not rejected
the job, it is on duty, its working hours overlap the visit window by at least the standard
on-site time, and its booked visits that day are below its daily capacity.

Candidates are ranked by a score (higher is better), a sum of points:

    distance  = W.distance × (1 + sla_distance_boost × pressure) / (1 + km / distance_scale_km)
    load      = W.load × (1 − load / capacity)
    first_fix = W.first_time_fix × (1 + vip_ftf_boost × vip) × ftf_rate
    sla       = W.sla × pressure
    tier      = W.tier × vip

- `km`: great-circle (haversine) distance from the engineer's current position when it was
  reported recently, else home, else the centre of the district of the engineer's home
  address, else the network's site, else a city centre (the centroids shipped in
  `portal.places`), to the visit's address, else its district's or city's centre;
  `unknown_distance_km` without any of these.
- `pressure` ∈ [0, 1]: the ticket's SLA urgency, the larger of a floor per urgency level and
  the share of the SLA response time already used.
- `vip`: the customer tier's value (1 for VIP customers, 0 otherwise).
- `ftf_rate`: the engineer's first-time-fix rate on the product category: completed tickets
  without a repeat ticket on the same asset within `ftf_window_days` (and never reopened),
  smoothed towards `ftf_prior` by `ftf_prior_weight` pseudo-tickets so one lucky job does not
  make a champion.

The `sla` and `tier` points are the same for every candidate of one ticket: they do not
reorder one ticket's candidates, but they decide which tickets are served first when a day's
capacity is short (batch plans), and through `pressure` and `vip` they shift the weight
towards closeness (urgent tickets) and first-time fixing (VIP customers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, time

from pydantic import BaseModel, Field

from portal.i18n import MESSAGES, Lang, Term, both, t

EARTH_RADIUS_KM = 6371.0088
FIELD_TYPES = ("installation", "repair", "maintenance")


class Weights(BaseModel):
    """The most points each part of the score can give."""

    distance: float = Field(default=40.0, ge=0)
    load: float = Field(default=20.0, ge=0)
    first_time_fix: float = Field(default=25.0, ge=0)
    sla: float = Field(default=10.0, ge=0)
    tier: float = Field(default=5.0, ge=0)


class DispatchSettings(BaseModel):
    """Every knob of dispatch; the defaults are what the platform ships with."""

    weights: Weights = Field(default_factory=Weights)
    distance_scale_km: float = Field(default=5.0, gt=0, description="Distance points halve here.")
    sla_distance_boost: float = Field(
        default=1.0, ge=0, description="Urgent tickets weigh distance up to (1 + this) times."
    )
    vip_ftf_boost: float = Field(
        default=0.5, ge=0, description="VIP customers weigh first-time fixing (1 + this) times."
    )
    min_level: dict[str, int] = Field(
        default_factory=lambda: {"low": 1, "normal": 1, "high": 2, "urgent": 2},
        description="Minimum skill level by ticket urgency.",
    )
    sla_hours: dict[str, float] = Field(
        default_factory=lambda: {"low": 72.0, "normal": 24.0, "high": 8.0, "urgent": 4.0},
        description="Hours from creation to the promised visit, by urgency.",
    )
    urgency_pressure: dict[str, float] = Field(
        default_factory=lambda: {"low": 0.0, "normal": 0.25, "high": 0.6, "urgent": 1.0},
        description="The SLA pressure a fresh ticket of each urgency starts with.",
    )
    tier_value: dict[str, float] = Field(default_factory=lambda: {"vip": 1.0, "normal": 0.0})
    ftf_window_days: int = Field(default=30, ge=1)
    ftf_prior: float = Field(default=0.8, ge=0, le=1)
    ftf_prior_weight: float = Field(default=3.0, ge=0)
    unknown_distance_km: float = Field(default=15.0, ge=0)
    position_max_age_minutes: int = Field(
        default=240, ge=0, description="A reported position older than this is not 'current'."
    )
    speed_kmh: float = Field(default=25.0, gt=0, description="Average travel speed in town.")
    road_factor: float = Field(
        default=1.3, ge=1, description="Road distance ÷ great-circle distance, for ETAs."
    )
    onsite_minutes: dict[str, int] = Field(
        default_factory=lambda: {"installation": 90, "repair": 60, "maintenance": 45},
        description="Standard time on site by service type.",
    )
    zone: str = Field(default="Asia/Shanghai", description="Where days and working hours are.")
    same_day_cutoff: time = Field(
        default=time(16, 0), description="Accepted after this (local), the visit is tomorrow."
    )
    serve_value: float = Field(
        default=1000.0, gt=0, description="Batch plans: what serving one more ticket is worth."
    )

    def min_level_for(self, urgency: str) -> int:
        """The skill level a ticket of this urgency needs."""
        return self.min_level.get(urgency, 1)

    def onsite_for(self, service_type: str) -> int:
        """Minutes on site for this service type."""
        return self.onsite_minutes.get(service_type, 60)


@dataclass(frozen=True, slots=True)
class Job:
    """What dispatch needs to know about one ticket."""

    id: int
    category: str
    service_type: str
    city: str
    district: str
    lat: float | None = None
    lng: float | None = None
    urgency: str = "normal"
    tier: str = "normal"
    pressure: float = 0.25
    window: tuple[time, time] | None = None  # local visit window, None: any time that day
    network_id: int | None = None  # already with this network: only its engineers
    excluded: frozenset[int] = frozenset()  # engineers who rejected it
    current: int | None = None  # the engineer who holds it now (not a candidate to reassign to)
    number: str = ""
    requires: frozenset[str] = frozenset()  # certificates the work needs (燃气 …)


@dataclass(slots=True)
class Worker:
    """What dispatch needs to know about one engineer on one day."""

    id: int
    name: str
    network_id: int
    city: str
    coverage: tuple[str, ...] = ()
    skills: dict[tuple[str, str], int] = field(default_factory=dict)
    lat: float | None = None
    lng: float | None = None
    position_source: str = "unknown"  # current | home | district | network | city | unknown
    work_start: time = time(8, 30)
    work_end: time = time(18, 0)
    on_duty: bool = True
    # False: their network dispatches only to engineers checked in today, and they are not.
    present: bool = True
    capacity: int = 6
    load: int = 0
    ftf: dict[str, tuple[int, int]] = field(default_factory=dict)  # category: (fixed, completed)
    network_name: str = ""
    network_auto: bool = False
    certificates: frozenset[str] = frozenset()  # those valid on this worker's day

    def covers(self, city: str, district: str) -> bool:
        """Whether the engineer's network serves that city and district."""
        return city == self.city and (not self.coverage or district in self.coverage)


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def distance_km(job: Job, worker: Worker, settings: DispatchSettings) -> float | None:
    """How far the worker is from the job, None when either has no coordinates."""
    if job.lat is None or job.lng is None or worker.lat is None or worker.lng is None:
        return None
    return haversine_km(worker.lat, worker.lng, job.lat, job.lng)


def sla_pressure(
    *, urgency: str, created_at: datetime, now: datetime, settings: DispatchSettings
) -> float:
    """How pressing the ticket is, 0–1: its urgency's floor or the share of its SLA used."""
    floor = settings.urgency_pressure.get(urgency, 0.25)
    hours = settings.sla_hours.get(urgency, 24.0)
    used = max(0.0, (now - created_at).total_seconds() / 3600 / hours) if hours > 0 else 1.0
    return max(floor, min(1.0, used))


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def window_overlap_minutes(window: tuple[time, time] | None, start: time, end: time) -> int:
    """Minutes the visit window and the working hours have in common."""
    lo, hi = _minutes(start), _minutes(end)
    if window is not None:
        lo, hi = max(lo, _minutes(window[0])), min(hi, _minutes(window[1]))
    return max(0, hi - lo)


SCREENS = (
    "network",
    "coverage",
    "skill",
    "level",
    "certificate",
    "rejected",
    "current",
    "off_duty",
    "absent",
    "hours",
    "full",
)


def screen(job: Job, worker: Worker, settings: DispatchSettings) -> str | None:
    """Why the worker cannot take the job (a reason code), or None when it can."""
    if job.network_id is not None and worker.network_id != job.network_id:
        return "network"
    if not worker.covers(job.city, job.district):
        return "coverage"
    level = worker.skills.get((job.category, job.service_type))
    if level is None:
        return "skill"
    if level < settings.min_level_for(job.urgency):
        return "level"
    if not job.requires <= worker.certificates:
        return "certificate"
    if worker.id in job.excluded:
        return "rejected"
    if worker.id == job.current:
        return "current"
    if not worker.on_duty:
        return "off_duty"
    if not worker.present:
        return "absent"
    overlap = window_overlap_minutes(job.window, worker.work_start, worker.work_end)
    if overlap < settings.onsite_for(job.service_type):
        return "hours"
    if worker.load >= worker.capacity:
        return "full"
    return None


def ftf_rate(worker: Worker, category: str, settings: DispatchSettings) -> float:
    """The smoothed first-time-fix rate on a product category."""
    fixed, done = worker.ftf.get(category, (0, 0))
    k = settings.ftf_prior_weight
    if done + k == 0:
        return settings.ftf_prior
    return (fixed + settings.ftf_prior * k) / (done + k)


def parts(
    job: Job, worker: Worker, settings: DispatchSettings, *, extra_load: int = 0
) -> dict[str, float]:
    """The points of each part of the score (`extra_load`: visits planned on top of `load`)."""
    w = settings.weights
    km = distance_km(job, worker, settings)
    km = settings.unknown_distance_km if km is None else km
    vip = settings.tier_value.get(job.tier, 0.0)
    load = worker.load + extra_load
    capacity = max(worker.capacity, 1)
    return {
        "distance": w.distance
        * (1 + settings.sla_distance_boost * job.pressure)
        / (1 + km / settings.distance_scale_km),
        "load": w.load * max(0.0, 1 - load / capacity),
        "first_time_fix": w.first_time_fix
        * (1 + settings.vip_ftf_boost * vip)
        * ftf_rate(worker, job.category, settings),
        "sla": w.sla * job.pressure,
        "tier": w.tier * vip,
    }


def score(job: Job, worker: Worker, settings: DispatchSettings, *, extra_load: int = 0) -> float:
    """The total score (higher is better)."""
    return sum(parts(job, worker, settings, extra_load=extra_load).values())


@dataclass(frozen=True, slots=True)
class Component:
    """One part of a candidate's score, with the sentence that explains it."""

    key: str
    points: float
    text_zh: str
    text_en: str


@dataclass(frozen=True, slots=True)
class Ranked:
    """A candidate with its score and the explanation shown to the dispatcher."""

    worker: Worker
    score: float
    distance_km: float | None
    ftf_rate: float
    components: tuple[Component, ...]

    def explanation(self, lang: Lang) -> str:
        """The components as one line in `lang`, each with its points."""
        return t("dispatch.explain.joiner", lang).join(
            t(
                "dispatch.explain.part",
                lang,
                text=c.text_zh if lang == "zh" else c.text_en,
                points=f"{c.points:.1f}",
            )
            for c in self.components
        )

    @property
    def explanation_zh(self) -> str:
        """The components as one Chinese line."""
        return self.explanation("zh")

    @property
    def explanation_en(self) -> str:
        """The components as one English line."""
        return self.explanation("en")


def _category(category: str) -> Term:
    """A product category as a word: its English name where it has one (`category.*`)."""
    key = f"category.{category}"
    return Term(category, t(key, "en") if key in MESSAGES else category)


def explain(job: Job, worker: Worker, settings: DispatchSettings) -> Ranked:
    """Score one candidate and say why, part by part, in Chinese and English."""
    points = parts(job, worker, settings)
    km = distance_km(job, worker, settings)
    factor = 1 + settings.sla_distance_boost * job.pressure
    if km is None:
        dist = both("dispatch.explain.distance_unknown", km=f"{settings.unknown_distance_km:g}")
    else:
        dist = both(
            "dispatch.explain.distance",
            km=f"{km:.1f}",
            source=Term.key(f"dispatch.source.{worker.position_source}"),
            factor=f"{factor:.2f}",
        )
    fixed, done = worker.ftf.get(job.category, (0, 0))
    rate = ftf_rate(worker, job.category, settings)
    tier = Term.key(f"dispatch.tier.{job.tier if job.tier == 'vip' else 'normal'}")
    texts = {
        "distance": dist,
        "load": both("dispatch.explain.load", load=worker.load, capacity=worker.capacity),
        # The engineer's own record as counted, and the smoothed rate the score uses (few
        # jobs lean on the prior): a tester read "87%（3/3 单）" as a wrong sum.
        "first_time_fix": both(
            "dispatch.explain.ftf",
            category=_category(job.category),
            rate=f"{fixed / done * 100:.0f}",
            fixed=fixed,
            done=done,
            prior=f"{settings.ftf_prior * 100:.0f}",
            scored=f"{rate * 100:.0f}",
        )
        if done
        else both(
            "dispatch.explain.ftf_none",
            category=_category(job.category),
            scored=f"{rate * 100:.0f}",
        ),
        "sla": both(
            "dispatch.explain.sla",
            pct=f"{job.pressure * 100:.0f}",
            urgency=Term.key(f"dispatch.urgency.{job.urgency}"),
        ),
        "tier": both("dispatch.explain.tier", tier=tier),
    }
    components = tuple(
        Component(key=k, points=round(points[k], 2), text_zh=texts[k][0], text_en=texts[k][1])
        for k in points
    )
    return Ranked(
        worker=worker,
        score=round(sum(points.values()), 2),
        distance_km=None if km is None else round(km, 2),
        ftf_rate=round(rate, 3),
        components=components,
    )


def rank(
    job: Job, workers: list[Worker], settings: DispatchSettings
) -> tuple[list[Ranked], list[tuple[Worker, str]]]:
    """The job's candidates, best first, and the others with the reason each was left out.

    Ties go to the nearer engineer, then the lower id, so the order is stable.
    """
    ranked: list[Ranked] = []
    excluded: list[tuple[Worker, str]] = []
    for worker in workers:
        reason = screen(job, worker, settings)
        if reason is None:
            ranked.append(explain(job, worker, settings))
        else:
            excluded.append((worker, reason))
    ranked.sort(
        key=lambda r: (
            -r.score,
            r.distance_km if r.distance_km is not None else math.inf,
            r.worker.id,
        )
    )
    return ranked, excluded
