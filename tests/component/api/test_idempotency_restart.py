"""Idempotency keys survive a restart: the retry of a request whose response was lost is
answered from the kept response (storage table ``idempotency_keys``), on SQLite and PostgreSQL;
a kept response expires; login responses (session tokens) are never written to the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from callcenter.api import ApiSettings

from .conftest import BACKENDS, PASSWORDS, build


def admin_headers(client: TestClient, key: str) -> dict[str, str]:
    r = client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": PASSWORDS["admin"]}
    )
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}", "Idempotency-Key": key}


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_retry_after_restart_is_replayed(db_url: str) -> None:
    body = {"name": "vip3", "skills": {"billing": 1}}
    app, store, _, _ = build(db_url)
    with TestClient(app) as client:
        headers = admin_headers(client, "restart-1")
        first = client.post("/api/v1/admin/queues", json=body, headers=headers)
        assert first.status_code == 201, first.text
    store.close()
    # a new process: nothing in memory, the same database and the same bearer token
    app, store, _, _ = build(db_url)
    with TestClient(app) as client:
        again = client.post("/api/v1/admin/queues", json=body, headers=headers)
        assert again.status_code == 201 and again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert len(store.audit.query(action="queue.create")) == 1
        other = client.post("/api/v1/admin/queues", json={**body, "name": "x"}, headers=headers)
        assert other.json()["error"]["code"] == "idempotency_key_reused"
        fresh = {**headers, "Idempotency-Key": "restart-2"}
        r = client.post("/api/v1/admin/queues", json=body, headers=fresh)
        assert r.status_code == 409  # a new key is a new request
    store.close()


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_kept_responses_expire_and_tokens_stay_out_of_the_database(db_url: str) -> None:
    settings = ApiSettings(idempotency_ttl=timedelta(seconds=0))  # expired at once
    body = {"name": "vip4", "skills": {"billing": 1}}
    app, store, _, _ = build(db_url, settings)
    with TestClient(app) as client:
        r = client.post(
            "/api/v1/auth/login",
            json={"username": "admin", "password": PASSWORDS["admin"]},
            headers={"Idempotency-Key": "login-1"},
        )
        assert r.status_code == 200
        headers = admin_headers(client, "expiring")
        assert client.post("/api/v1/admin/queues", json=body, headers=headers).status_code == 201
        r = client.post("/api/v1/admin/queues", json=body, headers=headers)
        assert r.status_code == 409 and "idempotent-replayed" not in r.headers
    with store.db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT body FROM idempotency_keys").fetchall()
    assert len(rows) == 1 and b"token" not in bytes(rows[0][0])  # the queue's, not the login's
    store.close()
