"""The lab of ``bench/inbound.py``: a seeded data directory with many agents, the real server
(started by the end-to-end helper ``tests/e2e/server.py``, JSON log lines), and SIPp agent phones
registered with digest auth, each SIPp answering for a group of extensions.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from tests.e2e import sipp as e2e
from tests.e2e.server import Server, free_port, start_server

import _inbound_analysis as ana
import _inbound_scenarios as scn
from callcenter.storage import demo
from callcenter.storage.db import database_url
from callcenter.storage.repos.calls import CdrRecord
from callcenter.storage.store import Storage

HOST = "127.0.0.1"
REALM = "callcenter.local"
QUEUE = "billing"
DIALPLAN = """
default: {hangup: no_route}
rules:
  - {name: bench-queue, did: ["7001"], queue: billing}
  - {name: bench-ivr, did: ["95598"], flow: demo_main}
"""
TRAP = ("8003", "sip-8003")  # demo agent 1003: skill repair only, not eligible for billing


@dataclass
class Seeded:
    data_dir: Path
    extensions: list[tuple[str, str]]  # (number, SIP password) of the phones to register
    eligible_ids: set[int]
    trap_extension: str = TRAP[0]
    queue_did: str = "7001"
    ivr_did: str = "95598"

    def read_cdrs(self) -> list[CdrRecord]:
        store = Storage.open(database_url("", self.data_dir), migrate=False)
        try:
            since, until = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
            return store.cdrs.search(since, until, limit=10_000_000)
        finally:
            store.close()


def seed(data_dir: Path, agents: int) -> Seeded:
    """The demo, ``agents`` more billing agents, and the billing queue set for the bench."""
    data_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    store = Storage.open(database_url("", data_dir))
    try:
        demo.seed(store, REALM, now)
        rec = store.queues.get(QUEUE)
        assert rec is not None
        settings = replace(rec.settings, wrapup_seconds=0, ring_timeout_seconds=10,
                           max_wait_seconds=None, max_length=None, overflow_destination=None,
                           recording_policy="none")  # fmt: skip
        store.queues.update(QUEUE, settings)
        phones: list[tuple[str, str]] = [TRAP]
        for i in range(1, agents + 1):
            number, password = str(6000 + i), f"bench-{6000 + i}"
            ext = store.extensions.create(number, now, display_name=f"bench {i}")
            store.extensions.set_password(ext.id, REALM, password, now)
            store.agents.create(2000 + i, f"坐席{i}", "agent", now, skills={"billing": 3},
                                extension=number)  # fmt: skip
            store.queues.add_member(QUEUE, 2000 + i, 0)
            phones.append((number, password))
        required = rec.skills
        eligible = {
            a.agent_id
            for a in store.agents.all()
            if all(a.skills.get(s, 0) >= level for s, level in required.items())
        }
    finally:
        store.close()
    return Seeded(data_dir, phones, eligible)


@dataclass
class Lab:
    tmp: Path
    server: Server
    seeded: Seeded
    log: ana.ServerLog = field(default_factory=ana.ServerLog)
    phones: list[subprocess.Popen[str]] = field(default_factory=list)
    agent_logs: list[Path] = field(default_factory=list)
    side: ana.AgentSide | None = None
    stats_every: float = 30.0  # seconds between server.stats snapshots during a run

    def media_port(self) -> int:
        """A port for a SIPp's (unused) RTP socket; SIPp also binds the next ones."""
        for _ in range(50):
            port = free_port()
            if port % 2 == 0 and port < 60000:
                return port
        return free_port()


def start_phones(lab: Lab, per_phone: int) -> None:
    """SIPp agent phones, each answering for ``per_phone`` extensions, and their REGISTERs."""
    xml = lab.tmp / "agents.xml"
    xml.write_text(scn.agents())
    exts = lab.seeded.extensions
    contacts: list[tuple[str, str, int]] = []
    for k in range(0, len(exts), per_phone):
        group, port = exts[k : k + per_phone], free_port()
        log = lab.tmp / f"phone-{k}.log"
        proc = e2e.start(["-sf", str(xml), "-i", HOST, "-p", str(port), "-mp",
                          str(lab.media_port()), "-trace_logs", "-log_file", str(log),
                          "-trace_err", "-error_file", str(log.with_suffix(".err")),
                          "-max_socket", "4096"], lab.tmp, f"phone-{k}")  # fmt: skip
        lab.phones.append(proc)
        lab.agent_logs.append(log)
        time.sleep(0.2)
        if proc.poll() is not None:
            raise RuntimeError(f"agent SIPp exited: {proc.stderr.read() if proc.stderr else ''}")
        contacts.extend((number, password, port) for number, password in group)
    register_all(lab, contacts)


def register_all(lab: Lab, contacts: list[tuple[str, str, int]], workers: int = 6) -> None:
    """REGISTER each (extension, password, contact port) with the e2e helper (one SIPp run
    each: SIPp 3.6 cannot take both digest user and password from a CSV line), a few at once,
    each worker in its own directory (the helper numbers its screen files per directory)."""

    def work(k: int) -> list[str]:
        cwd = lab.tmp / f"register-{k}"
        cwd.mkdir(exist_ok=True)
        failed = []
        for number, password, port in contacts[k::workers]:
            res = e2e.register(lab.server.sip_port, number, password, port, cwd, 3600)
            if res.rc != 0:
                failed.append(f"{number}: {res.text[-500:]}")
        return failed

    with ThreadPoolExecutor(workers) as pool:
        failed = [line for lines in pool.map(work, range(workers)) for line in lines]
    if failed:
        raise RuntimeError(f"{len(failed)} REGISTERs failed, e.g. {failed[0]}")


def start_lab(tmp: Path, agents: int, per_phone: int) -> Lab:
    seeded = seed(tmp / "var", agents)
    plan = tmp / "dialplan.yaml"
    plan.write_text(DIALPLAN)
    env = {"CALLCENTER__IVR__DIALPLAN": str(plan), "CALLCENTER__SERVER__LOG_FORMAT": "json",
           "CALLCENTER__SIP__TCP": "false"}  # fmt: skip
    lab = Lab(tmp, start_server(tmp, env), seeded)
    try:
        start_phones(lab, per_phone)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            lab.log.update(lab.server.lines)
            if lab.log.logged_in >= len(seeded.extensions):
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"only {lab.log.logged_in} agents logged in")
    except BaseException:
        stop_lab(lab)
        raise
    return lab


def stop_lab(lab: Lab) -> None:
    """Stop the phones (SIGINT: SIPp writes its logs out) and then the server."""
    for proc in lab.phones:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc in lab.phones:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lab.server.stop()
    lab.log.update(lab.server.lines)
    (lab.tmp / "server.log").write_text(lab.server.log_text())
