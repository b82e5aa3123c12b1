"""Every test here runs with float-to-Decimal mixing trapped: no float may reach money."""

from __future__ import annotations

from tests.parts.world import no_float_money  # noqa: F401  (an autouse fixture)
