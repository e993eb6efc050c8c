"""Business lookup against an existing SQL database: a read-only DSN and parametrised queries.

``SqlLookup(dsn, queries)`` maps each lookup kind to one SELECT (or WITH ... SELECT) statement
that takes the key as the bound parameter ``:key`` -- never string-formatted into the SQL.
Queries run through SQLAlchemy in a worker thread with a timeout; on timeout the statement is
interrupted (SQLite ``interrupt()``, PostgreSQL ``cancel()``) so it does not keep running.
Connections are read-only where the driver allows: SQLite files are opened with the URI
``mode=ro``; PostgreSQL transactions run ``SET TRANSACTION READ ONLY`` and a
``statement_timeout``. Any database error becomes ``LookupFailed``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from callcenter.lookup.base import LookupFailed, Record

__all__ = ["SqlLookup", "readonly_url"]

_READ = re.compile(r"\s*(select|with)\b", re.IGNORECASE)


def readonly_url(dsn: str) -> URL:
    """The DSN with read-only options for SQLite files (``file:...?mode=ro&uri=true``); a
    libpq-style ``postgresql://`` DSN gets the psycopg 3 driver that the project installs."""
    url = make_url(dsn)
    if url.drivername in ("postgres", "postgresql"):
        return url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return url
    database = url.database
    if not database.startswith("file:"):
        database = f"file:{database}"
    return url.set(database=database).update_query_dict({"mode": "ro", "uri": "true"})


def _check_query(kind: str, query: str) -> str:
    body = query.strip().rstrip(";")
    if not _READ.match(body) or ";" in body:
        raise ValueError(f"lookup {kind!r}: the query must be a single SELECT statement")
    if ":key" not in body:
        raise ValueError(f"lookup {kind!r}: the query must use the parameter :key")
    return body


def _plain(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


class _Cancel:
    """Holds the DBAPI connection of the running query so a timeout can interrupt it."""

    def __init__(self) -> None:
        self.dbapi: Any = None

    def fire(self) -> None:
        conn = self.dbapi
        for name in ("interrupt", "cancel"):  # sqlite3 / psycopg
            method = getattr(conn, name, None)
            if callable(method):
                method()
                return


class SqlLookup:
    """Parametrised read-only queries, one per lookup kind, with a timeout."""

    def __init__(self, dsn: str, queries: Mapping[str, str], timeout: float = 3.0) -> None:
        self._queries = {kind: _check_query(kind, q) for kind, q in queries.items()}
        self.timeout = timeout
        self.engine: Engine = create_engine(readonly_url(dsn), pool_pre_ping=True)
        self._postgres = self.engine.dialect.name == "postgresql"

    def _run(self, query: str, key: str, cancel: _Cancel) -> Record | None:
        with self.engine.connect() as conn:
            cancel.dbapi = conn.connection.dbapi_connection
            with conn.begin():
                if self._postgres:
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                    ms = max(1, int(self.timeout * 1000))
                    conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
                row = conn.execute(text(query), {"key": key}).mappings().first()
            cancel.dbapi = None
        return None if row is None else {str(k): _plain(v) for k, v in row.items()}

    async def lookup(self, kind: str, key: str) -> Record | None:
        query = self._queries.get(kind)
        if query is None:
            raise LookupFailed(f"unknown lookup kind {kind!r}")
        cancel = _Cancel()
        task = asyncio.ensure_future(asyncio.to_thread(self._run, query, key, cancel))
        try:
            return await asyncio.wait_for(asyncio.shield(task), self.timeout)
        except TimeoutError:
            cancel.fire()
            task.add_done_callback(_ignore_result)
            raise LookupFailed("timeout") from None
        except SQLAlchemyError as exc:
            raise LookupFailed(f"database error: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        await asyncio.to_thread(self.engine.dispose)


def _ignore_result(task: asyncio.Future[Record | None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieve it so asyncio does not log "exception never retrieved"
