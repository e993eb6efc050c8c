"""Storage fixtures: every test runs on SQLite AND on PostgreSQL, each in its own database.

PostgreSQL comes from ``CALLCENTER_TEST_PG`` (a libpq DSN with rights to CREATE DATABASE). When it
is unset the ``pg`` cases are skipped, except under ``CI=true`` where that is a failure. On SQLite
every test gets a copy of a file migrated once per session. On PostgreSQL the migration tests get
a schema of their own each (``search_path`` set through the URL); the repository tests share one
migrated schema per session that is emptied before each test (a new schema per test cost ~0.5 s
of DDL on a busy 2-core machine; deleting the rows costs ~20 ms). Tests never assume id values.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import event

from callcenter.storage import Database, Storage, upgrade
from callcenter.storage.hashing import fast_hasher
from callcenter.storage.schema import metadata

BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("pg", id="pg", marks=pytest.mark.pg)]


def admin_dsn() -> str:
    dsn = os.environ.get("CALLCENTER_TEST_PG", "")
    if not dsn:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but CALLCENTER_TEST_PG is not set: PostgreSQL tests must run")
        pytest.skip("CALLCENTER_TEST_PG is not set")
    return dsn


def _url(dsn: str, schema: str) -> str:
    """A SQLAlchemy URL for ``dsn`` whose connections use ``schema`` first (libpq options)."""
    base = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg://", dsn)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


class PgServer:
    """Each test gets a schema of its own (created, then dropped with CASCADE)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def _admin(self, sql: str) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.encode())  # names are generated hex, never input

    def create(self) -> tuple[str, str]:
        name = f"cc_test_{uuid.uuid4().hex[:16]}"
        self._admin(f'CREATE SCHEMA "{name}"')
        return name, _url(self.dsn, name)

    def drop(self, name: str) -> None:
        self._admin(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture(scope="session")
def pg_session_schema() -> Iterator[str]:
    """One migrated schema for the session's repository tests, emptied before each test."""
    server = PgServer(admin_dsn())
    name, url = server.create()
    db = Database(url)
    upgrade(db)
    db.dispose()
    yield url
    server.drop(name)


def _wipe(url: str) -> None:
    """Delete every row, children first (much faster than a new schema per test)."""
    db = Database(url)
    with db.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tmpl") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database (no tables) on the current backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = PgServer(admin_dsn())
    name, url = server.create()
    yield url
    server.drop(name)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL of a migrated, empty-of-rows database of its own on the current backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "cc.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_session_schema")
    _wipe(url)
    yield url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def store(db: Database) -> Storage:
    return Storage(db, hasher=fast_hasher())


class FaultInjector:
    """Makes the next SQL statement matching ``pattern`` fail, as a crash mid-transaction would."""

    def __init__(self, db: Database) -> None:
        self._pattern: re.Pattern[str] | None = None
        self._skip = 0
        self.fired = 0
        event.listen(db.engine, "before_cursor_execute", self._check)

    def fail_on(self, pattern: str) -> None:
        self._pattern = re.compile(pattern, re.IGNORECASE)
        self._skip = 0

    def skip(self, count: int) -> None:
        """Let the next ``count`` matching statements through before failing."""
        self._skip = count

    def _check(self, *args: Any) -> None:
        statement: str = args[2]
        if self._pattern is not None and self._pattern.search(statement):
            if self._skip > 0:
                self._skip -= 1
                return
            self._pattern = None
            self.fired += 1
            raise InjectedFaultError(statement.split("\n", 1)[0])


class InjectedFaultError(RuntimeError):
    pass


@pytest.fixture
def faults(db: Database) -> FaultInjector:
    return FaultInjector(db)
