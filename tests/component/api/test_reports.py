"""Report routes: today's queue and agent figures from the CDRs (and, for calls still up, the
event log and the live ACD), CSV export, the wallboard snapshot with alerts, and "why this
agent?" from the ACD's decision record. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from callcenter.storage.repos.calls import CallTimes

from .conftest import BACKENDS, Api
from .test_supervisor_admin import login_1002


def closed_call(
    api: Api, call_id: str, queue: str, outcome: str, wait: float,
    agent: int | None = None, talk: float = 0.0, wrapup: float = 0.0,
) -> None:  # fmt: skip
    cdrs, now = api.store.cdrs, datetime.now(UTC)
    cdrs.open_call(call_id, "1380000" + call_id[-4:], "95598", now - timedelta(seconds=60))
    cdrs.annotate(call_id, queue=queue, agent_id=agent)
    cdrs.close_call(call_id, now, outcome, CallTimes(queue_wait_seconds=wait, talk_seconds=talk))
    if wrapup:
        cdrs.set_wrapup(call_id, wrapup)


def seed_calls(api: Api) -> None:
    closed_call(api, "c-0001", "billing", "answered", 5, agent=1001, talk=60, wrapup=10)
    closed_call(api, "c-0002", "billing", "answered", 45, agent=1002, talk=30)
    closed_call(api, "c-0003", "billing", "abandoned", 12)
    closed_call(api, "c-0004", "repair", "overflowed", 300)
    # yesterday's call is not today's
    api.store.cdrs.open_call("c-old1", "1", "2", datetime.now(UTC) - timedelta(days=2))
    api.store.cdrs.annotate("c-old1", queue="billing")


def sup(api: Api) -> dict[str, str]:
    headers = api.auth("sup")
    api.client.cookies.clear()
    return headers


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_queue_and_agent_reports_from_the_cdrs(api: Api) -> None:
    seed_calls(api)
    r = api.client.get("/api/v1/reports/queues", headers=sup(api))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["formula"]["name"] == "answered_of_offered"
    q = {item["queue"]: item for item in body["items"]}
    billing = q["billing"]
    assert (billing["offered"], billing["answered"], billing["abandoned"]) == (3, 2, 1)
    assert billing["answered_within"] == 1 and billing["sl_target_seconds"] == 20
    assert billing["service_level"] == pytest.approx(1 / 3)
    assert billing["asa"] == pytest.approx(25.0)
    assert billing["aht"] == pytest.approx((60 + 10 + 30) / 2)
    assert billing["formula"] == "answered within 20s / offered"
    assert sum(billing["by_hour"]) == 3
    assert (q["repair"]["offered"], q["repair"]["overflowed"]) == (1, 1)
    r = api.client.get("/api/v1/reports/agents", headers=sup(api))
    agents = {a["agent_id"]: a for a in r.json()["items"]}
    assert agents["1001"]["handled"] == 1 and agents["1001"]["name"] == "王芳"
    assert agents["1002"]["talk"] == 30 and agents["1003"]["handled"] == 0
    yesterday = (datetime.now(UTC) - timedelta(days=2)).astimezone().date()
    r = api.client.get(f"/api/v1/reports/queues?day={yesterday}", headers=sup(api))
    offered = {i["queue"]: i["offered"] for i in r.json()["items"]}
    assert offered["billing"] in (0, 1) and offered["repair"] == 0  # time-zone edge: 0 or 1


def test_csv_export(api: Api) -> None:
    seed_calls(api)
    r = api.client.get("/api/v1/reports/queues.csv", headers=sup(api))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["queue", "name", "offered"]
    billing = next(row for row in rows if row[0] == "billing")
    assert billing[1] == "电费查询" and billing[2:5] == ["3", "2", "1"]
    assert billing[8] == "33.3"
    r = api.client.get("/api/v1/reports/agents.csv", headers=sup(api))
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert ["1001", "王芳", "1", "60.0", "0.0", "10.0", "70.0", "60.0"] in rows


def test_reports_refuse_agents_and_bad_days(api: Api) -> None:
    r = api.client.get("/api/v1/reports/wallboard", headers=api.auth("a1001"))
    assert r.status_code == 403
    api.client.cookies.clear()
    r = api.client.get("/api/v1/reports/queues?day=2999-01-01", headers=sup(api))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
    r = api.client.get("/api/v1/reports/queues?day=bad", headers=sup(api))
    assert r.status_code == 422


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_wallboard_live_figures_alerts_and_why(api: Api) -> None:
    seed_calls(api)
    login_1002(api)
    api.store.params.set("wallboard.wait_alert_seconds", 30, datetime.now(UTC))
    # a caller answered by 1002 and still talking; its CDR is open, the log says "answered"
    api.store.cdrs.open_call("live-1", "13900000009", "95598", datetime.now(UTC))
    api.store.cdrs.annotate("live-1", queue="billing")
    api.put_call("live-1")
    # a second caller waits: no agent ready in billing any more
    api.store.cdrs.open_call("live-2", "13900000010", "95598", datetime.now(UTC))
    api.store.cdrs.annotate("live-2", queue="billing")
    out = api.center.acd.enqueue("live-2", "billing", api.center.now())
    api.client.portal.call(api._apply, out)  # type: ignore[union-attr]
    api.center.clock += 45  # the caller has now waited 45 s
    api.wait(lambda: len(api.store.events.for_call("live-1")) >= 3)
    r = api.client.get("/api/v1/reports/wallboard", headers=sup(api))
    assert r.status_code == 200, r.text
    wall = r.json()
    billing = next(q for q in wall["queues"] if q["queue"] == "billing")
    assert (billing["offered"], billing["answered"], billing["in_progress"]) == (5, 3, 1)
    assert billing["waiting"] == 1 and billing["longest_wait"] == pytest.approx(45)
    assert billing["agents_logged_in"] == 1 and billing["agents_on_call"] == 1
    kinds = {(a["queue"], a["kind"]) for a in wall["alerts"]}
    assert kinds == {
        ("billing", "service_level"),
        ("billing", "long_wait"),
        ("repair", "service_level"),
    }  # billing 2 of 4 decided within 20 s (below 80 %), a caller waits 45 s > 30 s
    agent = next(a for a in wall["agents"] if a["agent_id"] == "1002")
    assert agent["activity"] == "on_call" and agent["call_id"] == "live-1"
    assert agent["caller"] == "13900000009" and agent["queue"] == "billing"
    assert agent["name"] == "李明" and agent["calls_handled"] == 1
    assert [w["call_id"] for w in wall["waiting"]] == ["live-2"]
    assert wall["waiting"][0]["caller"] == "13900000010"
    # why this agent?
    r = api.client.get("/api/v1/reports/calls/live-1/why", headers=sup(api))
    assert r.status_code == 200, r.text
    why: dict[str, Any] = r.json()
    assert [o["agent_id"] for o in why["offers"]] == ["1002"]
    explanation = why["offers"][0]["explanation"]
    assert explanation["queue_id"] == "billing" and explanation["strategy"] == "longest_idle"
    assert [c["agent_id"] for c in explanation["candidates"]] == ["1002"]
    assert "CallLeftQueue" in [e["type"] for e in why["events"]]
    r = api.client.get("/api/v1/reports/calls/nope/why", headers=sup(api))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
