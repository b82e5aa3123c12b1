"""Fixtures of the master data tests: an admin's and a network manager's headers."""

from __future__ import annotations

import pytest

from portal.config import Settings
from portal.database import Database
from tests.portal import factories as f


@pytest.fixture
def admin(db: Database, settings: Settings) -> dict[str, str]:
    """An admin's bearer headers."""
    with db.session() as s:
        return f.headers_for(s, settings, "admin")


@pytest.fixture
def upload_xlsx() -> str:
    """The MIME type of a workbook upload."""
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
