"""Every object type the audit log can hold has a Chinese and an English label."""

from __future__ import annotations

import portal.models  # noqa: F401  (every table registered)
from portal.audit.pages import _entities, entity_label


def test_every_audited_table_has_a_label() -> None:
    missing = [e for e in _entities() if entity_label(e, "zh") == e]
    assert missing == []
    assert entity_label("tickets", "zh") == "工单"
    assert entity_label("tickets", "en") == "Tickets"
