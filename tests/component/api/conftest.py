"""API fixtures: the real app (``create_app``) over real storage seeded with the demo, a real
ACD, and a fake contact center that records events the way ``ContactCenter`` does (event log
first, then the listeners). Storage runs on SQLite and, for tests that ask for ``backend``, on
PostgreSQL too: one database created per test run from ``CALLCENTER_TEST_PG`` and dropped at
the end (unset: the pg cases are skipped, except under ``CI=true`` where they fail).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from callcenter.acd import Acd, AgentStateChanged, Presence
from callcenter.acd.events import Output
from callcenter.api import ApiDeps, ApiSettings, create_app
from callcenter.calls.acd_config import queue_config
from callcenter.calls.agents import AgentDirectory
from callcenter.calls.center import _plain
from callcenter.calls.routing import with_stored_schedules
from callcenter.ivr.registry import FlowRegistry
from callcenter.lookup.demo import load_demo_dialplan
from callcenter.sip_credentials import CredentialCache
from callcenter.storage import demo
from callcenter.storage.aio import AsyncStorage
from callcenter.storage.hashing import fast_hasher
from callcenter.storage.repos.settings import ScheduleRecord
from callcenter.storage.repos.telephony import TrunkRecord
from callcenter.storage.schema import metadata
from callcenter.storage.store import Storage

REALM = "callcenter.local"
PASSWORDS = {"admin": "admin-demo", "sup": "sup-demo", "a1001": "demo1001", "a1002": "demo1002"}
BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("pg", id="pg", marks=pytest.mark.pg)]


def pg_admin_dsn() -> str:
    dsn = os.environ.get("CALLCENTER_TEST_PG", "")
    if not dsn:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but CALLCENTER_TEST_PG is not set: PostgreSQL tests must run")
        pytest.skip("CALLCENTER_TEST_PG is not set")
    return dsn


class PgDatabase:
    """A database of its own for this test run (CREATE DATABASE, DROP ... WITH (FORCE))."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.name = f"cc_api_{uuid.uuid4().hex[:12]}"

    def _admin(self, sql: str) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.encode())  # the name is generated hex, never input

    def create(self) -> str:
        self._admin(f'CREATE DATABASE "{self.name}"')
        base = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg://", self.dsn)
        head, _, tail = base.partition("?")
        head = head.rsplit("/", 1)[0] + "/" + self.name
        return head + ("?" + tail if tail else "")

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def seed(url: str) -> None:
    store = Storage.open(url, hasher=fast_hasher())
    try:
        demo.seed(store, REALM, datetime.now(UTC))
    finally:
        store.close()


@pytest.fixture(scope="session")
def sqlite_seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("api") / "seeded.db"
    seed(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    pg = PgDatabase(pg_admin_dsn())
    url = pg.create()
    Storage.open(url).close()  # migrate once
    yield url
    pg.drop()


def wipe_and_seed(url: str) -> None:
    store = Storage.open(url, migrate=False, hasher=fast_hasher())
    with store.db.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
    store.close()
    seed(url)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite unless a test is parametrized with ``BACKENDS`` (indirect)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_seeded")
        path = tmp_path / "cc.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    wipe_and_seed(url)
    return url


class FakeControl:
    """The call controls of a fake call: no consult is ever up, so hang-up releases all."""

    async def agent_leaves(self, agent_id: str) -> bool:
        return False


@dataclass
class FakeCall:
    hangups: list[str] = field(default_factory=list)
    control: FakeControl = field(default_factory=FakeControl)

    def hangup_all(self, reason: str) -> None:
        self.hangups.append(reason)


class FakeCenter:
    """``ContactCenter``'s surface for the API: the ACD, directory, calls, event recording."""

    def __init__(self, acd: Acd, directory: AgentDirectory, store: AsyncStorage) -> None:
        self.acd = acd
        self.directory = directory
        self.store = store
        self.calls: dict[str, FakeCall] = {}
        self.flows = FlowRegistry()
        # not created until something is written there (tests that upload set their own)
        self.data_dir = Path(tempfile.gettempdir()) / f"cc-api-{uuid.uuid4().hex}"
        self.recording_policies: dict[str, str] = {}
        self.answer_modes: dict[str, str] = {}
        self.calls_out: dict[str, FakeCall] = {}
        self.dialled: list[tuple[str | None, str, str]] = []
        self.listeners: list[
            Callable[[int, str, dict[str, Any], str | None, int | None, datetime], None]
        ]
        self.listeners = []
        self.clock = 1000.0
        self.applied: list[Output] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.file_dialplan = self.dialplan = load_demo_dialplan()
        self.trunk_loads: list[list[str]] = []

    def now(self) -> float:
        return self.clock

    def apply_schedules(self, records: list[ScheduleRecord]) -> None:
        self.dialplan = with_stored_schedules(self.file_dialplan, records)

    async def apply_trunks(self, records: list[TrunkRecord]) -> None:
        self.trunk_loads.append([r.name for r in records if r.enabled])

    async def dial(self, origin_agent: str | None, origin_ext: str, target: str) -> str:
        self.dialled.append((origin_agent, origin_ext, target))
        return f"out-{len(self.dialled)}"

    def apply(self, outputs: list[Output]) -> None:
        for out in outputs:
            self.applied.append(out)
            if isinstance(out, AgentStateChanged) and out.presence is Presence.LOGGED_OUT:
                self.directory.stand(out.agent_id)  # as ContactCenter does
            self.record_event(out)

    def record_event(self, event: object, call_id: str | None = None) -> None:
        payload = _plain(event)
        cid = call_id or payload.get("call_id")
        agent = payload.get("agent_id")
        agent_no = int(agent) if isinstance(agent, str) and agent.isdigit() else None
        task = asyncio.get_running_loop().create_task(
            self._record(type(event).__name__, payload, cid, agent_no)
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _record(
        self, kind: str, payload: dict[str, Any], call_id: str | None, agent_id: int | None
    ) -> None:
        at = datetime.now(UTC)
        seq = await self.store.run(
            self.store.sync.events.append, kind, payload, at, call_id=call_id, agent_id=agent_id
        )
        for listener in self.listeners:
            listener(seq, kind, payload, call_id, agent_id, at)


class CountingCredentials(CredentialCache):
    def __init__(self) -> None:
        super().__init__()
        self.reloads = 0

    def reload(self, store: Storage, realm: str) -> None:
        super().reload(store, realm)
        self.reloads += 1


@dataclass
class Api:
    client: TestClient
    store: Storage
    center: FakeCenter
    creds: CountingCredentials

    def token(self, username: str, password: str | None = None) -> str:
        r = self.client.post(
            "/api/v1/auth/login",
            json={"username": username, "password": password or PASSWORDS[username]},
        )
        assert r.status_code == 200, r.text
        return str(r.json()["token"])

    def auth(self, username: str, password: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username, password)}"}

    def wait(self, pred: Callable[[], bool], timeout: float = 5.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return
            time.sleep(0.02)
        raise AssertionError("condition not met in time")

    def put_call(self, call_id: str, queue: str = "billing") -> None:
        """A caller queues and is answered by whoever the ACD offers it to."""
        center = self.center
        out = center.acd.enqueue(call_id, queue, center.now())
        offers = [o for o in out if type(o).__name__ == "OfferToAgent"]
        assert offers, out
        agent = offers[0].agent_id  # type: ignore[union-attr]
        out += center.acd.offer_answered(call_id, agent, center.now())
        center.calls[call_id] = FakeCall()
        self.client.portal.call(self._apply, out)  # type: ignore[union-attr]

    async def _apply(self, out: list[Output]) -> None:
        self.center.apply(out)


def build(url: str, settings: ApiSettings | None = None) -> tuple[Any, Storage, FakeCenter, Any]:
    store = Storage.open(url, migrate=False, hasher=fast_hasher())
    aio = AsyncStorage(store)
    acd = Acd(random.Random(7))
    for rec in store.queues.all():
        acd.add_queue(queue_config(rec), 0.0)
    directory = AgentDirectory()
    directory.reload(store)
    center = FakeCenter(acd, directory, aio)
    creds = CountingCredentials()
    creds.reload(store, REALM)
    deps = ApiDeps(aio, center, creds, REALM, settings or ApiSettings(webhook_backoff=0.05))
    return create_app(deps), store, center, creds


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    app, store, center, creds = build(db_url)
    with TestClient(app) as client:
        yield Api(client, store, center, creds)
    store.close()


async def until(pred: Callable[[], bool], what: str) -> None:
    """Wait (up to 10 s, on the running loop) until ``pred()`` holds."""
    for _ in range(500):
        if pred():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not met: {what}")
