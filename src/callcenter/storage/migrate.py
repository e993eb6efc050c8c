"""Running the Alembic migrations from code: no ``alembic.ini`` at run time.

``upgrade(db)`` brings any database (empty, or at an older revision) to ``head`` inside one
transaction; ``check_models(db)`` lists every difference between the migrated schema and the
models (the ``alembic check`` test), so a model change without a migration fails the tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from callcenter.storage.db import Database
from callcenter.storage.schema import metadata

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations, optionally bound to a connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _as_db(target: Database | str) -> Database:
    return target if isinstance(target, Database) else Database(target)


def upgrade(target: Database | str, revision: str = "head") -> None:
    """Migrate up to ``revision`` in one transaction (nothing half-applied on failure)."""
    db = _as_db(target)
    with db.engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


def downgrade(target: Database | str, revision: str) -> None:
    """Migrate down to ``revision`` (``base`` empties the database) in one transaction."""
    db = _as_db(target)
    with db.engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)


def current_revision(target: Database | str) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    db = _as_db(target)
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError("no migration revisions found")
    return head


def check_models(target: Database | str) -> list[Any]:
    """Differences between the database schema and the models; empty when they match."""
    db = _as_db(target)
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs: list[Any] = compare_metadata(ctx, metadata)
        return diffs
