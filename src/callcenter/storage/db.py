"""The database handle: engine, connection settings per dialect, and one-transaction sessions.

SQLite: WAL journal (readers never block the writer), ``foreign_keys=ON`` (off by default in
SQLite), a busy timeout, and ``BEGIN IMMEDIATE`` for every transaction. pysqlite's own implicit
``BEGIN`` is switched off because it starts transactions late and as DEFERRED; a DEFERRED reader
that later writes can fail with "database is locked" at once, whatever the busy timeout, while an
IMMEDIATE one waits its turn. PostgreSQL: ``postgresql://`` DSNs are given the psycopg 3 driver.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from callcenter.storage.errors import Conflict, ValidationFailed

SQLITE_BUSY_TIMEOUT_MS = 10_000
DB_FILENAME = "callcenter.db"


def database_url(configured: str, data_dir: Path) -> str:
    """The URL to use: the configured one (driver made explicit) or the default SQLite file."""
    if not configured:
        return f"sqlite:///{(data_dir / DB_FILENAME).resolve()}"
    for prefix in ("postgresql://", "postgres://"):
        if configured.startswith(prefix):
            return "postgresql+psycopg://" + configured[len(prefix) :]
    return configured


def _json_dumps(value: Any) -> str:
    """JSON columns: readable Chinese, and NaN/Infinity refused (PostgreSQL's json rejects them;
    SQLite would store them and read back a NaN that equals nothing)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, see the module docstring
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One engine and its session factory. ``transaction()`` is the only way repositories write."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = database_url(url, Path("."))
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo, "json_serializer": _json_dumps}
        if self.dialect == "sqlite":
            if parsed.database:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            else:  # in-memory: one shared connection, or every session sees an empty database
                kwargs["poolclass"] = StaticPool
            kwargs["connect_args"] = {"check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_on_connect)
            event.listen(self.engine, "begin", _sqlite_on_begin)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._batch = threading.local()  # .session: the open batch of this thread, if any

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed if the block returns, rolled back if it raises.

        A constraint violation (unique, foreign key, check) becomes ``Conflict``; a value the
        column cannot hold (too long on PostgreSQL, a naive datetime, NaN in JSON)
        ``ValidationFailed``. The transaction is rolled back first, so nothing of it remains.

        Inside ``batch()`` on the same thread, the block joins the batch's transaction instead:
        it commits with the batch, and an exception leaves the batch to roll back as a whole.
        """
        joined: Session | None = getattr(self._batch, "session", None)
        if joined is not None:
            yield joined
            return
        try:
            with self._sessions() as session, session.begin():
                yield session
        except IntegrityError as exc:
            raise Conflict(str(exc.orig).splitlines()[0]) from exc
        except DataError as exc:
            raise ValidationFailed(str(exc.orig).splitlines()[0]) from exc
        except StatementError as exc:
            if isinstance(exc.orig, ValueError):  # refused by a column type (naive datetime)
                raise ValidationFailed(str(exc.orig)) from exc
            raise
        except ValueError as exc:  # a value the driver cannot send (psycopg: NaN in JSON)
            raise ValidationFailed(str(exc)) from exc

    @contextmanager
    def batch(self) -> Iterator[Session]:
        """One transaction for every ``transaction()`` block run on this thread inside it.

        Many small writes (event log rows, CDR updates) then cost one BEGIN and one COMMIT. If
        any block raises, the whole batch is rolled back and the exception propagates; the
        caller (``AsyncStorage``) then replays the batch's writes one transaction each, so a
        failing write never takes the others with it and nothing is half-written.
        """
        if getattr(self._batch, "session", None) is not None:
            raise RuntimeError("batches do not nest")
        with self.transaction() as session:
            self._batch.session = session
            try:
                yield session
                session.flush()  # constraint errors surface here, mapped like any write's
            finally:
                self._batch.session = None

    @property
    def safe_url(self) -> str:
        """The URL with any password masked, for logs and error messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"Database({self.safe_url!r})"

    def dispose(self) -> None:
        self.engine.dispose()
