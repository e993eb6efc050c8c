"""Connection settings and portable types: SQLite pragmas, UTC datetimes on both databases,
CHECK constraints identical in migrations and models (``alembic check`` does not compare them)."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, text

from callcenter.storage import Conflict, Database, Storage, ValidationFailed
from callcenter.storage.schema import metadata

from .helpers import at


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path: object) -> None:
    db = Database(f"sqlite:///{tmp_path}/x.db")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
    db.dispose()


def test_in_memory_sqlite_keeps_its_data_across_sessions() -> None:
    db = Database("sqlite://")
    metadata.create_all(db.engine)
    store = Storage(db)
    store.skills.create("billing")
    assert [s.name for s in store.skills.all()] == ["billing"]
    db.dispose()


def test_datetimes_come_back_aware_utc_and_equal(store: Storage) -> None:
    beijing = timezone(timedelta(hours=8))
    local = datetime(2026, 3, 2, 17, 0, 0, 123456, tzinfo=beijing)
    store.cdrs.open_call("t1", "1", "2", local)
    got = store.cdrs.get("t1")
    assert got is not None
    assert got.start_time == local
    assert got.start_time.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(store: Storage) -> None:
    with pytest.raises(ValidationFailed, match="aware"):
        store.cdrs.open_call("t2", "1", "2", datetime(2026, 3, 2, 9, 0))
    with pytest.raises(ValidationFailed, match="naive"):
        store.prompts.put("p", "zh", datetime(2026, 3, 2, 9, 0), text="x")
    assert store.cdrs.get("t2") is None
    assert store.prompts.get("p", "zh") is None


def test_migrated_check_constraints_match_the_models(db: Database) -> None:
    inspector = inspect(db.engine)
    for table in metadata.sorted_tables:
        in_db = {c["name"] for c in inspector.get_check_constraints(table.name)}
        in_models = {
            str(c.name) for c in table.constraints if c.__class__.__name__ == "CheckConstraint"
        }
        assert in_db == in_models, table.name


def test_check_constraints_are_enforced(store: Storage) -> None:
    store.cdrs.open_call("t3", "1", "2", at())
    with pytest.raises(Conflict), store.db.transaction() as s:
        s.execute(text("UPDATE cdrs SET outcome = 'lost' WHERE call_id = 't3'"))
    assert store.cdrs.get("t3").outcome is None  # type: ignore[union-attr]


def test_the_password_in_a_url_is_never_shown() -> None:
    db = Database("postgresql://cc:s3cret@127.0.0.1:1/cc")
    assert "s3cret" not in db.safe_url
    assert "s3cret" not in repr(db)
    assert db.safe_url.startswith("postgresql+psycopg://cc:")
    db.dispose()
