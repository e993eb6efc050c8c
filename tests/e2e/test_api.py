"""The CTI API of the real server process, on SQLite and on PostgreSQL: accounts, an agent's
event stream during a real SIP call (SIPp caller and SIPp agent phone), resume after the
WebSocket connection is dropped, and administration applied live (issue 6).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from websockets.sync.client import ClientConnection, connect

from callcenter.storage import demo
from callcenter.storage.store import Storage

from .server import start_server
from .test_inbound import OPEN_DIALPLAN, Center, prepare, wait_for

pytestmark = pytest.mark.e2e
BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("pg", id="pg", marks=pytest.mark.pg)]


def pg_database() -> tuple[str, str, str]:
    """(admin dsn, database name, SQLAlchemy URL) of a new database for this test."""
    dsn = os.environ.get("CALLCENTER_TEST_PG", "")
    if not dsn:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but CALLCENTER_TEST_PG is not set: PostgreSQL tests must run")
        pytest.skip("CALLCENTER_TEST_PG is not set")
    name = f"cc_e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())  # generated hex name
    base = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", dsn).split("?")[0]
    return dsn, name, base.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=BACKENDS)
def center(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Center]:
    env = prepare(tmp_path, OPEN_DIALPLAN)
    dropped: tuple[str, str] | None = None
    if request.param == "pg":
        dsn, name, url = pg_database()
        dropped = (dsn, name)
        store = Storage.open(url)
        demo.seed(store, "callcenter.local", datetime.now(UTC))
        store.close()
        env["CALLCENTER__DATABASE__URL"] = url
    server = start_server(tmp_path, env)
    c = Center(server, tmp_path)
    yield c
    for p in c.procs:
        p.kill()
        p.wait()
    for peer in c.peers:
        peer.close()
    assert server.stop() == 0
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]
    if dropped is not None:
        with psycopg.connect(dropped[0], autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dropped[1]}" WITH (FORCE)'.encode())


def base(center: Center) -> str:
    return f"127.0.0.1:{center.server.web_port}"


def login(center: Center, username: str, password: str) -> str:
    r = httpx.post(f"http://{base(center)}/api/v1/auth/login",
                   json={"username": username, "password": password})  # fmt: skip
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def stream(center: Center, token: str, since: int | None = None) -> ClientConnection:
    query = "" if since is None else f"?since={since}"
    return connect(f"ws://{base(center)}/api/v1/events/ws{query}",
                   additional_headers={"Authorization": f"Bearer {token}"})  # fmt: skip


def next_event(ws: ClientConnection) -> dict[str, Any]:
    while True:
        msg = json.loads(ws.recv(timeout=30))
        if "seq" in msg:
            return dict(msg)


def until(ws: ClientConnection, pred: Any) -> list[dict[str, Any]]:
    got = []
    while True:
        got.append(next_event(ws))
        if pred(got[-1]):
            return got


def is_activity(activity: str) -> Any:
    return lambda m: m["type"] == "AgentStateChanged" and m["payload"]["activity"] == activity


def test_agent_stream_during_a_real_call_with_resume(center: Center) -> None:
    token = login(center, "a1001", "demo1001")
    ws = stream(center, token)
    assert json.loads(ws.recv(timeout=10))["hello"]["role"] == "agent"
    center.agent("8001", hz=1000.0)  # the phone registers: agent 1001 logs in and is ready
    first = until(ws, lambda m: m["type"] == "AgentStateChanged")
    assert first[-1]["payload"]["presence"] == "ready"
    _, rc = center.call("7001", "13800000001", hz=440.0, before_ms=500, hold_ms=4000)
    assert rc == 0, center.last
    part = until(ws, is_activity("on_call"))
    ws.close()  # the connection drops in the middle of the call's life
    last = part[-1]["seq"]
    wait_for(lambda: 'cause="call ended"' in center.server.log_text(), timeout=20)
    with stream(center, token, since=last) as again:
        rest = until(again, is_activity("wrap_up"))
    seen = first + part + rest
    seqs = [m["seq"] for m in seen]
    assert seqs == sorted(set(seqs)), "in order, never twice"
    kinds = [m["type"] for m in seen]
    call_id = next(m["call_id"] for m in seen if m["type"] == "OfferToAgent")
    assert kinds.index("OfferToAgent") < kinds.index("CallLeftQueue")
    assert all(m["agent_id"] in (1001, None) for m in seen)
    assert all(m["call_id"] in (None, call_id) for m in seen)
    assert is_activity("wrap_up")(seen[-1]) and rest, "the end of the call came after resume"
    # the log agrees with what the socket delivered, from the first event seen
    r = httpx.get(f"http://{base(center)}/api/v1/events?since={seqs[0] - 1}&limit=1000",
                  headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    logged = [e["seq"] for e in r.json()["items"] if e["seq"] <= seqs[-1]]
    assert logged == seqs


def test_supervisor_and_admin_live_changes(center: Center) -> None:
    sup = {"Authorization": f"Bearer {login(center, 'sup', 'sup-demo')}"}
    admin = {"Authorization": f"Bearer {login(center, 'admin', 'admin-demo')}"}
    url = f"http://{base(center)}/api/v1"
    agent = {"Authorization": f"Bearer {login(center, 'a1002', 'demo1002')}"}
    r = httpx.post(f"{url}/agent/login", json={"agent_id": "1002", "seat": "8002"}, headers=agent)
    assert r.status_code == 200, r.text
    r = httpx.post(f"{url}/agent/login", json={"agent_id": "1002", "seat": "8002"}, headers=agent)
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_logged_in"
    r = httpx.post(f"{url}/supervisor/agents/1002/force-busy", json={"reason": "meeting"},
                   headers=sup)  # fmt: skip
    assert r.json()["presence"] == "busy"
    r = httpx.post(f"{url}/admin/queues", headers=admin,
                   json={"name": "vip", "skills": {"billing": 3}})  # fmt: skip
    assert r.status_code == 201, r.text
    r = httpx.get(f"{url}/supervisor/queues", headers=sup)
    assert "vip" in [q["queue_id"] for q in r.json()["items"]]
    r = httpx.get(f"{url}/admin/audit?actor=sup", headers=admin)
    assert [(a["action"], a["result"]) for a in r.json()["items"]] == [
        ("supervisor.force_busy", "ok")
    ]
    r = httpx.get(f"{url}/admin/queues", headers=agent)
    assert r.status_code == 403
    assert httpx.get(f"http://{base(center)}/openapi.json").json()["info"]["title"]
