"""Amounts on the pages: a tester read a reversal as ¥-85.00; a reader writes -¥85.00."""

from __future__ import annotations

from decimal import Decimal

import pytest

from portal.templating import templates, yuan


@pytest.mark.parametrize(
    ("value", "grouped", "shown"),
    [
        (Decimal("220"), False, "¥220.00"),
        (Decimal("-85.00"), False, "-¥85.00"),
        (Decimal("-0.50"), False, "-¥0.50"),
        (Decimal("0"), False, "¥0.00"),
        ("12340.5", True, "¥12,340.50"),
        (Decimal("-12340.5"), True, "-¥12,340.50"),
        (7, False, "¥7.00"),
        (None, False, ""),
    ],
)
def test_an_amount_is_written_as_a_reader_writes_it(
    value: Decimal | str | int | None, grouped: bool, shown: str
) -> None:
    assert yuan(value, grouped=grouped) == shown


def test_the_pages_use_it_for_negative_lines_too() -> None:
    page = templates.env.from_string(
        "{% for a in amounts %}[{{ a | yuan }}]{% endfor %}[{{ (-amounts[0]) | yuan }}]"
    )
    assert page.render(amounts=[Decimal("85.00"), Decimal("-85.00")]) == (
        "[¥85.00][-¥85.00][-¥85.00]"
    )


def test_every_page_groups_thousands_alike() -> None:
    # A tester saw ¥1460.00 in the statement list beside ¥5,000.00 on the deposits page.
    page = templates.env.from_string("{{ a | yuan }} {{ b | yuan }}")
    assert page.render(a=Decimal("1460"), b=Decimal("5000")) == "¥1,460.00 ¥5,000.00"
