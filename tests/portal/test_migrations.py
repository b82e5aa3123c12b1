"""The migrations produce exactly the schema the models describe, along one line of history."""

from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory

from portal.database import Database
from portal.migrate import alembic_config


def test_models_and_migrations_agree(db: Database) -> None:
    # Raises when autogenerate would find a difference between the two.
    command.check(alembic_config(db.url))


def test_history_has_one_head() -> None:
    # portal.migrate.upgrade goes to "head", which fails when two revisions share a parent
    # and nothing merges them: add a merge revision (`alembic merge heads`) when this fails.
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"several migration heads: {sorted(heads)}"
