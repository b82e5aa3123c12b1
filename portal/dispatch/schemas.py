"""Request and response shapes of the dispatch API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class ComponentRead(BaseModel):
    """One part of a candidate's score and the sentence that explains it."""

    key: str = Field(examples=["distance"])
    points: float
    text_zh: str
    text_en: str


class CandidateRead(BaseModel):
    """An engineer who may take the ticket, with the score and why."""

    rank: int
    engineer_id: int
    name: str
    network_id: int
    network_name: str
    auto_dispatch: bool
    score: float
    distance_km: float | None
    position_source: str
    load: int
    capacity: int
    skill_level: int
    first_time_fix_rate: float
    components: list[ComponentRead]
    explanation_zh: str
    explanation_en: str


class ExcludedRead(BaseModel):
    """An engineer of a network near the ticket who may not take it, and why."""

    engineer_id: int
    name: str
    network_id: int
    reason: str
    reason_zh: str
    reason_en: str


class CandidatesRead(BaseModel):
    """A ticket's ranked candidates on a day."""

    ticket_id: int
    number: str
    status: str
    version: int = Field(description="Send it back as expected_version when assigning.")
    date: dt.date
    product_category: str
    service_type: str
    urgency: str
    min_level: int
    sla_pressure: float
    candidates: list[CandidateRead]
    excluded: list[ExcludedRead]


class AssignRequest(BaseModel):
    """Assign to an engineer (or only to a network); a reason is needed to reassign."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    engineer_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    network_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    reason: str = Field(default="", max_length=500)
    expected_version: int | None = Field(default=None, ge=0, le=2**31 - 1)
    date: dt.date | None = Field(default=None, description="Visit day; default today or tomorrow.")


class PartLineRead(BaseModel):
    """A part and how many."""

    part_code: str
    quantity: int
    name: str


class AssignRead(BaseModel):
    """What an assignment did."""

    ticket_id: int
    number: str
    status: str
    action: str
    engineer_id: int | None
    network_id: int | None
    visit_date: dt.date | None
    version: int
    waiting_parts: bool
    shortages: list[PartLineRead]


class RejectRequest(BaseModel):
    """An engineer turns a ticket down."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    reason: str = Field(min_length=1, max_length=500, examples=["今天在外地，无法上门"])


class RejectRead(BaseModel):
    """The rejection, and the next candidate: assigned automatically or offered."""

    ticket_id: int
    number: str
    status: str
    rejected_by: int
    version: int
    auto_assigned: bool
    assigned: AssignRead | None
    offer: CandidateRead | None


class AutoRead(BaseModel):
    """Automatic dispatch: what was assigned, or the best candidate offered."""

    ticket_id: int
    number: str
    status: str
    auto_assigned: bool
    assigned: AssignRead | None
    offer: CandidateRead | None


class PlanRequest(BaseModel):
    """Plan a day's waiting tickets at once."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date
    network_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    apply: bool = False


class PlanPickRead(BaseModel):
    """One assignment of the plan."""

    ticket_id: int
    number: str
    engineer_id: int
    engineer_name: str
    score: float
    distance_km: float | None


class TicketRef(BaseModel):
    """A ticket by id and number."""

    ticket_id: int
    number: str


class OtherDayRead(BaseModel):
    """A waiting ticket left out of the plan: its customer asked for another day."""

    ticket_id: int
    number: str
    asked_day: dt.date = Field(description="The day the customer asked for, local.")


class SkippedRead(BaseModel):
    """A planned ticket that was not assigned because it changed meanwhile."""

    ticket_id: int
    error: str
    message_zh: str
    message_en: str


class PointRead(BaseModel):
    """A position."""

    lat: float
    lng: float


class VisitRead(BaseModel):
    """One stop of a route."""

    sequence: int
    ticket_id: int
    number: str
    address: str
    lat: float | None
    lng: float | None
    travel_km: float | None
    eta: dt.datetime = Field(description="Arrival, UTC.")
    start_at: dt.datetime
    leave_at: dt.datetime
    eta_local: str = Field(description="Arrival as HH:MM where the service happens.")
    late: bool


class RouteRead(BaseModel):
    """An engineer's visits of a day, in order, with ETAs."""

    engineer_id: int
    engineer_name: str
    date: dt.date
    origin: PointRead | None
    origin_source: str
    total_km: float
    finish_at: dt.datetime | None
    visits: list[VisitRead]


class PlanRead(BaseModel):
    """The batch plan."""

    date: dt.date
    network_id: int | None
    applied: bool
    assignments: list[PlanPickRead]
    unassigned: list[TicketRef]
    skipped: list[SkippedRead]
    total_distance_km: float
    routes: list[RouteRead]
    solve_ms: float
    other_day: list[OtherDayRead] = Field(
        default_factory=list, description="Left out: their customers asked for another day."
    )


class PositionRequest(BaseModel):
    """Where an engineer is now."""

    model_config = ConfigDict(extra="forbid")

    lat: Decimal = Field(ge=-90, le=90, max_digits=9, decimal_places=6)
    lng: Decimal = Field(ge=-180, le=180, max_digits=9, decimal_places=6)


class PositionRead(BaseModel):
    """A recorded position."""

    engineer_id: int
    lat: Decimal
    lng: Decimal
    reported_at: dt.datetime
