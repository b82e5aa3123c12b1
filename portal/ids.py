"""The one shape of a row id in a URL: a positive integer the id columns can hold.

Every id column is INTEGER (int4 on PostgreSQL), so an id past 2**31 - 1 names no row; it is
refused with a 422 that says so, instead of reaching the database (SQLite cannot even bind
an integer past 2**63 - 1: the request used to end in a 500).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MIN_ID = 1
MAX_ID = 2**31 - 1

IdPath = Annotated[int, Path(ge=MIN_ID, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=MIN_ID, le=MAX_ID)]
