"""SqlLookup against a real SQLite file: parametrised read-only queries, errors and timeouts."""

from __future__ import annotations

import os
import sqlite3
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from callcenter.lookup import LookupFailed, SqlLookup, readonly_url
from callcenter.lookup.demo import DEMO_CUSTOMERS, DEMO_QUERIES, create_demo_db, demo_lookup
from callcenter.lookup.sql import _plain


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return create_demo_db(tmp_path / "demo" / "customers.db")


async def test_lookup_by_account_and_by_phone(db: Path) -> None:
    lookup = demo_lookup(db)
    try:
        by_account = await lookup.lookup("account", "100200300")
        by_phone = await lookup.lookup("phone", "13800000001")
        assert by_account == by_phone == DEMO_CUSTOMERS[0]
        assert await lookup.lookup("account", "999") is None
        assert (await lookup.lookup("phone", "13900001234") or {})["balance_fen"] == -5620
    finally:
        await lookup.aclose()


async def test_key_is_a_bound_parameter_not_sql(db: Path) -> None:
    lookup = demo_lookup(db)
    try:
        assert await lookup.lookup("account", "' OR '1'='1") is None
        assert await lookup.lookup("account", "100200300' --") is None
    finally:
        await lookup.aclose()


async def test_unknown_kind_and_missing_file_fail(tmp_path: Path) -> None:
    lookup = demo_lookup(tmp_path / "absent.db")
    try:
        with pytest.raises(LookupFailed, match="unknown lookup kind 'iban'"):
            await lookup.lookup("iban", "1")
        with pytest.raises(LookupFailed, match="database error: OperationalError"):
            await lookup.lookup("account", "1")
        assert not (tmp_path / "absent.db").exists()  # read-only mode never creates the file
    finally:
        await lookup.aclose()


def test_connection_is_read_only(db: Path) -> None:
    url = readonly_url(f"sqlite:///{db}")
    assert url.query == {"mode": "ro", "uri": "true"}
    engine = create_engine(url)
    try:
        with engine.begin() as conn, pytest.raises(OperationalError, match="readonly"):
            conn.exec_driver_sql("DELETE FROM electricity_customers")
    finally:
        engine.dispose()
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT count(*) FROM electricity_customers").fetchone() == (4,)


@pytest.mark.parametrize(
    ("dsn", "database", "query"),
    [
        ("sqlite:///:memory:", ":memory:", {}),
        ("sqlite://", None, {}),
        ("sqlite:///x.db", "file:x.db", {"mode": "ro", "uri": "true"}),
        ("sqlite:///file:x.db?mode=ro&uri=true", "file:x.db", {"mode": "ro", "uri": "true"}),
        ("postgresql+psycopg://u@h/db", "db", {}),
        ("postgresql://u@h/db", "db", {}),
        ("postgres://u@h/db?sslmode=require", "db", {"sslmode": "require"}),
    ],
)
def test_readonly_url(dsn: str, database: str | None, query: dict[str, str]) -> None:
    url = readonly_url(dsn)
    assert (url.database, dict(url.query)) == (database, query)
    if url.get_backend_name() == "postgresql":
        assert url.drivername == "postgresql+psycopg"


async def test_slow_query_times_out_and_is_interrupted(db: Path) -> None:
    slow = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
        "SELECT count(*) AS n, :key AS k FROM c"
    )
    lookup = SqlLookup(f"sqlite:///{db}", {"slow": slow, **DEMO_QUERIES}, timeout=0.2)
    try:
        with pytest.raises(LookupFailed, match="timeout"):
            await lookup.lookup("slow", "x")
        # The interrupted connection went back to the pool and still works.
        assert await lookup.lookup("account", "100200302") is not None
    finally:
        await lookup.aclose()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("DELETE FROM t WHERE a = :key", "single SELECT"),
        ("SELECT 1 WHERE :key; DROP TABLE t", "single SELECT"),
        ("  with x as (select 1) select * from x", "parameter :key"),
        ("SELECTED :key", "single SELECT"),
    ],
)
def test_only_single_parametrised_selects_are_accepted(query: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SqlLookup("sqlite://", {"k": query})


async def test_with_query_and_trailing_semicolon_are_fine(db: Path) -> None:
    query = "WITH s AS (SELECT * FROM electricity_customers) SELECT name FROM s WHERE phone = :key;"
    lookup = SqlLookup(f"sqlite:///{db}", {"phone": query})
    try:
        assert await lookup.lookup("phone", "02155550000") == {"name": "王五"}
    finally:
        await lookup.aclose()


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        (Decimal("12"), 12),
        (Decimal("1.5"), "1.5"),
        (date(2025, 1, 2), "2025-01-02"),
        (b"x", "b'x'"),
        (None, None),
        (True, True),
        (1.25, 1.25),
    ],
)
def test_values_become_json_like(value: object, plain: object) -> None:
    assert _plain(value) == plain


@pytest.mark.pg
@pytest.mark.skipif(not os.environ.get("CALLCENTER_TEST_PG"), reason="CALLCENTER_TEST_PG not set")
async def test_postgres_transaction_is_read_only() -> None:
    dsn = os.environ["CALLCENTER_TEST_PG"]
    table = f"cc_lookup_ro_{uuid.uuid4().hex[:12]}"  # generated, never input
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f"CREATE TABLE {table} (k text)".encode())
        admin.execute(f"INSERT INTO {table} VALUES ('a')".encode())
    lookup = SqlLookup(
        dsn,
        {
            "ro": "SELECT current_setting('transaction_read_only') AS ro, :key AS k",
            "write": f"WITH d AS (DELETE FROM {table} RETURNING k)"
            " SELECT count(*) AS n, :key AS k FROM d",
            "slow": "SELECT pg_sleep(5) AS s, :key AS k",
        },
    )
    try:
        assert await lookup.lookup("ro", "x") == {"ro": "on", "k": "x"}
        with pytest.raises(LookupFailed, match="database error"):
            await lookup.lookup("write", "x")
        lookup.timeout = 0.3
        with pytest.raises(LookupFailed, match=r"timeout|database error"):
            await lookup.lookup("slow", "x")
        lookup.timeout = 3.0
        assert (await lookup.lookup("ro", "again") or {})["k"] == "again"
    finally:
        await lookup.aclose()
        with psycopg.connect(dsn, autocommit=True) as admin:
            assert admin.execute(f"SELECT count(*) FROM {table}".encode()).fetchone() == (1,)
            admin.execute(f"DROP TABLE {table}".encode())
