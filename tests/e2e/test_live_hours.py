"""Working hours and holidays in the real server: the stored schedule routes calls from the
start (not the dialplan file's copy: the stored one is made to disagree with it), and a holiday
added through the admin API routes the very next call to the after-hours flow — no restart.
SIPp calls the demo hotline 95598."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from callcenter.lookup.demo import load_demo_dialplan
from callcenter.storage import demo
from callcenter.storage.db import database_url
from callcenter.storage.repos.settings import OpenSpan
from callcenter.storage.store import Storage

from . import sipp
from .server import Server, start_server

pytestmark = pytest.mark.e2e


def seed_opposite_hours(data_dir: Path) -> str:
    """The demo, with its stored "default" schedule open all week when the dialplan file's
    hours say closed right now, and never open when they say open; the rule it must route by."""
    data_dir.mkdir(parents=True)
    by_file = load_demo_dialplan().route("95598", "13800000001", datetime.now(UTC)).rule
    all_week = [OpenSpan(d, time(0, 0), time(23, 59, 59)) for d in range(7)]
    if by_file == "hotline-open":
        spans, rule = [], "hotline-closed"
    else:
        spans, rule = all_week, "hotline-open"
    store = Storage.open(database_url("", data_dir))
    try:
        demo.seed(store, "callcenter.local", datetime.now(UTC))
        store.schedules.put("default", "Asia/Shanghai", spans)
    finally:
        store.close()
    return rule


def call_hotline(server: Server, tmp: Path, n: int) -> None:
    xml = tmp / f"caller-{n}.xml"
    xml.write_text(sipp.caller_scenario(before_ms=200, hold_ms=300))
    csv = tmp / f"caller-{n}.csv"
    csv.write_text("SEQUENTIAL\n13800000001\n")
    result = sipp.run(["-sf", str(xml), "-inf", str(csv), "-s", "95598",
                       f"127.0.0.1:{server.sip_port}", "-m", "1", "-i", "127.0.0.1", "-p", "0",
                       "-timeout", "30", "-timeout_error"], tmp)  # fmt: skip
    assert result.rc == 0, result.text


def routed_rules(server: Server) -> list[str]:
    return [
        line.split("rule=", 1)[1].split()[0]
        for line in server.log_text().splitlines()
        if "call.routed" in line and "rule=" in line
    ]


def test_stored_hours_at_start_and_a_new_holiday_live(tmp_path: Path) -> None:
    expected = seed_opposite_hours(tmp_path / "var")
    server = start_server(tmp_path)
    try:
        call_hotline(server, tmp_path, 1)
        server.wait_log("call.routed")
        assert routed_rules(server) == [expected]  # the stored hours, not the file's
        api = f"http://127.0.0.1:{server.web_port}/api/v1"
        r = httpx.post(f"{api}/auth/login", json={"username": "admin", "password": "admin-demo"})
        admin = {"Authorization": f"Bearer {r.json()['token']}"}
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
        r = httpx.post(f"{api}/admin/schedules/default/holidays", headers=admin,
                       json={"day": today, "name": "临时停业"})  # fmt: skip
        assert r.status_code == 201, r.text
        call_hotline(server, tmp_path, 2)
        server.wait_log("rule=hotline-holiday")
        assert routed_rules(server) == [expected, "hotline-holiday"]
    finally:
        assert server.stop() == 0
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]
