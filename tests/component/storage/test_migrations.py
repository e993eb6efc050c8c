"""Migrations build an empty database, upgrade the previous revision keeping its rows, go down
and up again, and leave a schema identical to the models (the ``alembic check`` test)."""

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from callcenter.storage import Database, Storage, check_models, current_revision, downgrade, upgrade
from callcenter.storage.db import database_url
from callcenter.storage.hashing import fast_hasher
from callcenter.storage.migrate import head_revision
from callcenter.storage.schema import metadata

from .helpers import at

REVISIONS = ["0001", "0002", "0003", "0004"]  # oldest first; the last is head
ADDED = {
    "0002": {"audit_log", "mailboxes", "voicemail_messages"},
    "0003": {"sip_registrations"},
    "0004": {"idempotency_keys"},
}


def _added_after(revision: str) -> set[str]:
    return set().union(*(tables for rev, tables in ADDED.items() if rev > revision))


def _tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_empty_database_upgrades_to_head_matching_the_models(empty_url: str) -> None:
    db = Database(empty_url)
    assert current_revision(db) is None
    upgrade(db)
    assert current_revision(db) == head_revision()
    assert _tables(db) == set(metadata.tables)
    assert check_models(db) == []
    db.dispose()


def test_the_revision_list_is_complete() -> None:
    assert REVISIONS[-1] == head_revision()


@pytest.mark.parametrize("old", REVISIONS[:-1])
def test_older_revision_upgrades_and_keeps_its_rows(empty_url: str, old: str) -> None:
    db = Database(empty_url)
    upgrade(db, old)
    assert current_revision(db) == old
    assert _added_after(old).isdisjoint(_tables(db))
    store = Storage(db, hasher=fast_hasher())
    user = store.users.create("old", "Old User", "agent", "secret-1", at())
    store.customers.create("4200", "旧客户", at(), phones=["13900000000"], balance_fen=990)
    store.cdrs.open_call("c-old", "13900000000", "95598", at())

    upgrade(db)

    assert current_revision(db) == head_revision()
    assert check_models(db) == []
    assert store.users.get_by_username("old") == user
    assert store.customers.by_phone("13900000000")[0].balance_fen == 990
    assert store.cdrs.open_calls() == ["c-old"]
    entry = store.audit.record("old", "login", "user:old", "ok", at(1))
    assert store.audit.query(actor="old") == [entry]
    db.dispose()


def test_downgrade_step_by_step_to_base_and_up_again(empty_url: str) -> None:
    db = Database(empty_url)
    upgrade(db)
    for old in reversed(REVISIONS[:-1]):
        downgrade(db, old)
        assert current_revision(db) == old
        assert _added_after(old).isdisjoint(_tables(db))
    downgrade(db, "base")
    assert _tables(db) == set()
    upgrade(db)
    assert check_models(db) == []
    db.dispose()


def test_upgrade_is_idempotent(db_url: str) -> None:
    db = Database(db_url)
    upgrade(db)
    upgrade(db)
    assert current_revision(db) == head_revision()
    db.dispose()


def test_a_failing_migration_leaves_nothing_behind(empty_url: str) -> None:
    db = Database(empty_url)
    upgrade(db, "0001")
    with db.engine.begin() as conn:  # a stray table in the way of revision 0002
        conn.execute(text("CREATE TABLE mailboxes (id INTEGER PRIMARY KEY)"))
    with pytest.raises(Exception, match=r"(?i)mailboxes"):
        upgrade(db)
    assert current_revision(db) == "0001"
    assert "audit_log" not in _tables(db)  # created before the failure, rolled back with it
    db.dispose()


def test_database_url_defaults_to_a_sqlite_file_under_the_data_dir(tmp_path: Path) -> None:
    assert database_url("", tmp_path) == f"sqlite:///{(tmp_path / 'callcenter.db').resolve()}"
    assert database_url("postgresql://u@h/db", tmp_path) == "postgresql+psycopg://u@h/db"
    assert database_url("postgres://u@h/db", tmp_path) == "postgresql+psycopg://u@h/db"
    assert database_url("sqlite:///x.db", tmp_path) == "sqlite:///x.db"


def test_storage_open_migrates_a_new_data_dir(tmp_path: Path) -> None:
    url = database_url("", tmp_path / "var")
    store = Storage.open(url, hasher=fast_hasher())
    assert (tmp_path / "var" / "callcenter.db").exists()
    assert current_revision(store.db) == head_revision()
    store.close()


def test_check_models_notices_drift(db_url: str) -> None:
    db = Database(db_url)
    with db.engine.begin() as conn:
        conn.execute(text("CREATE INDEX ix_drift ON customers (address)"))
    diffs = check_models(db)
    assert [d[0] for d in diffs] == ["remove_index"]
    db.dispose()
