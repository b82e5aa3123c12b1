"""The migrations produce exactly the schema the models describe."""

from __future__ import annotations

from alembic import command

from portal.database import Database
from portal.migrate import alembic_config


def test_models_and_migrations_agree(db: Database) -> None:
    # Raises when autogenerate would find a difference between the two.
    command.check(alembic_config(db.url))
