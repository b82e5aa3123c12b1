"""Structured intake templates: which fields each ticket type needs, and when.

`to_create` must be present to open the ticket at all (what a customer can give the bot);
`to_accept` must be filled before the desk accepts it (受理), usually by an agent calling back.
A product can be named by product, model code or serial number: any one of them will do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal.errors import Invalid

PRODUCT_REF = "product|model_code|serial_number"


@dataclass(frozen=True, slots=True)
class IntakeTemplate:
    """The fields of one ticket type."""

    type: str
    to_create: tuple[str, ...]
    to_accept: tuple[str, ...]


TEMPLATES: dict[str, IntakeTemplate] = {
    t.type: t
    for t in (
        IntakeTemplate(
            "repair",
            (PRODUCT_REF, "fault_description", "phone"),
            # What the bot asks for (bot/actions/fault_report.py): where and when to go.
            # When the fault began is kept when the customer says it, not required.
            ("address", "preferred_time", "urgency"),
        ),
        IntakeTemplate("installation", (PRODUCT_REF, "phone"), ("address", "preferred_time")),
        IntakeTemplate("maintenance", (PRODUCT_REF, "phone"), ("address", "preferred_time")),
        IntakeTemplate("consultation", ("fault_description", "phone"), ()),
        IntakeTemplate("complaint", ("fault_description", "phone"), ()),
    )
}


def _filled(values: dict[str, Any], field: str) -> bool:
    return any(str(values.get(name) or "").strip() for name in field.split("|"))


def missing(values: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    """The fields (or field groups) that are empty."""
    return [f for f in fields if not _filled(values, f)]


def check(values: dict[str, Any], *, type_: str, stage: str) -> None:
    """Raise Invalid naming the first empty field the template needs at this stage."""
    template = TEMPLATES[type_]
    fields = template.to_create if stage == "create" else template.to_accept
    gaps = missing(values, fields)
    if gaps:
        first = gaps[0].split("|")[0]
        raise Invalid("validation.missing", field=first)


def describe() -> list[dict[str, Any]]:
    """The templates as data, for forms and the bot."""
    return [
        {
            "type": t.type,
            "to_create": [f.split("|") for f in t.to_create],
            "to_accept": [f.split("|") for f in t.to_accept],
        }
        for t in TEMPLATES.values()
    ]
