"""Alembic environment: run migrations on the connection that ``callcenter.storage.migrate``
hands over (``config.attributes["connection"]``), or on ``sqlalchemy.url`` for the alembic CLI.

SQLite cannot ALTER most things, so autogenerate renders batch operations there. The storage
``UtcDateTime`` decorator is rendered as a plain ``sa.DateTime(timezone=True)`` so migrations
never import application code.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection

from callcenter.storage.db import Database
from callcenter.storage.schema import metadata
from callcenter.storage.types import UtcDateTime


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=_render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("offline (SQL script) migrations are not supported")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection")
    db = Database(url)
    with db.engine.begin() as conn:
        _run(conn)
    db.dispose()


_main()
