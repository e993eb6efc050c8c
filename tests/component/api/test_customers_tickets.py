"""Customer records and complaint tickets over the API: validation, lookups, notes, calls and
recordings, the screen pop, the ticket workflow with its finer rules (unit members, creator,
supervisors, administrators), the history, overdue search, the events each user may see, and
the audit trail. On SQLite and, where marked, PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from callcenter.storage.repos.calls import CallTimes

from .conftest import BACKENDS, Api

UNIT1 = ("unit1", "unit-demo")


def hdr(api: Api, who: str) -> dict[str, str]:
    passwords = {"unit1": UNIT1[1], "a1003": "demo1003"}
    headers = api.auth(who, passwords.get(who))
    api.client.cookies.clear()
    return headers


def unit_id(api: Api, code: str) -> int:
    unit = api.store.units.get_by_code(code)
    assert unit is not None
    return unit.id


def drain(api: Api) -> None:
    """Wait until the events recorded so far are in the log."""
    api.wait(lambda: not api.center.tasks)


def new_customer(api: Api, h: dict[str, str], **over: Any) -> dict[str, Any]:
    body = {"account_no": "3200000001", "name": "吴小平", "phones": ["13911112222"],
            "address": "北京市", "id_number": "110101199001010099"} | over  # fmt: skip
    r = api.client.post("/api/v1/customers", json=body, headers=h)
    assert r.status_code == 201, r.text
    return dict(r.json())


# ------------------------------------------------------------------ customers
@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_customer_create_edit_delete_with_validation_and_audit(api: Api) -> None:
    h = hdr(api, "a1001")
    c = new_customer(api, h, id_number="11010119900101009x", balance_fen=-150)
    assert (c["phones"], c["id_number"], c["balance_fen"]) == (
        ["13911112222"],
        "11010119900101009X",
        -150,
    )
    bad = [
        {"account_no": "12", "name": "x"},  # too short
        {"account_no": "3200000009", "name": " "},  # blank name
        {"account_no": "3200000009", "name": "x", "phones": ["call me"]},
        {"account_no": "3200000009", "name": "x", "id_number": "12345"},
        {"account_no": "3200000009", "name": "x", "balance_fen": 1.5},
        {"account_no": "3200000009", "name": "x", "colour": "red"},
    ]
    for body in bad:
        r = api.client.post("/api/v1/customers", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] == "invalid"
        assert (
            api.client.get("/api/v1/customers?account_no=3200000009", headers=h).json()["total"]
            == 0
        )
    dup = api.client.post(
        "/api/v1/customers", json={"account_no": "3200000001", "name": "y"}, headers=h
    )
    assert (dup.status_code, dup.json()["error"]["code"]) == (409, "account_exists")
    r = api.client.patch(f"/api/v1/customers/{c['id']}",
                         json={"phones": ["13911113333", "+8613911113333"], "id_number": None},
                         headers=h)  # fmt: skip
    assert r.status_code == 200, r.text
    assert (r.json()["phones"], r.json()["id_number"]) == (["13911113333", "+8613911113333"], None)
    assert r.json()["name"] == "吴小平"  # untouched
    taken = api.client.patch(f"/api/v1/customers/{c['id']}", json={"account_no": "3100000001"},
                             headers=h)  # fmt: skip
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "account_exists")
    r = api.client.delete(f"/api/v1/customers/{c['id']}", headers=h)
    assert r.status_code == 200, r.text
    assert api.client.get(f"/api/v1/customers/{c['id']}", headers=h).status_code == 404
    assert api.client.delete(f"/api/v1/customers/{c['id']}", headers=h).status_code == 404
    audit = [(a.action, a.result) for a in reversed(api.store.audit.query(actor="a1001"))]
    assert ("customer.create", "ok") in audit and ("customer.delete", "ok") in audit
    assert ("customer.delete", "failed") in audit and ("customer.update", "failed") in audit
    drain(api)

    def customer_events(who: str) -> list[str]:
        items = api.client.get("/api/v1/events?limit=1000", headers=hdr(api, who)).json()["items"]
        return [e["type"] for e in items if e["type"].startswith("Customer")]

    changes = ["CustomerCreated", "CustomerUpdated", "CustomerDeleted"]
    assert customer_events("a1002") == changes  # staff see them (a record they may have open)
    assert customer_events("unit1") == []  # a unit member does not
    kinds = [e.type for e in api.store.events.since(0, 1000)]
    assert [k for k in kinds if k.startswith("Customer")] == [
        "CustomerCreated", "CustomerUpdated", "CustomerDeleted"]  # fmt: skip


def test_customer_lookup_by_every_key(api: Api) -> None:
    h = hdr(api, "a1002")

    def names(query: str) -> list[str]:
        r = api.client.get(f"/api/v1/customers?{query}", headers=h)
        assert r.status_code == 200, r.text
        return [c["name"] for c in r.json()["items"]]

    assert names("phone=13800000001") == ["赵国强"]
    assert names("phone=01062001234") == ["赵国强"]
    assert names("account_no=3100000002") == ["钱丽华"]
    assert names("id_number=11010119680303004x") == ["李秀英"]
    assert names("name=建华") == ["孙建华"]
    assert names("q=3100000003") == ["孙建华"]  # account prefix
    assert names("q=海淀") == ["赵国强"]  # address part
    assert names("q=1380000000") == ["赵国强", "钱丽华", "孙建华", "李秀英", "周明远"]
    assert names("q=%25") == []  # a literal %
    assert names("phone=139") == []
    assert api.client.get("/api/v1/customers?phone=abc", headers=h).status_code == 422
    page = api.client.get("/api/v1/customers?limit=2&offset=1", headers=h).json()
    assert (len(page["items"]), page["total"]) == (2, 5)


def test_notes_calls_and_recordings(api: Api, tmp_path: Path) -> None:
    h = hdr(api, "a1001")
    cust = api.store.customers.by_account("3100000001")
    other = api.store.customers.by_account("3100000002")
    assert cust is not None and other is not None
    r = api.client.post(
        f"/api/v1/customers/{cust.id}/notes", json={"text": "客户要求回电"}, headers=h
    )
    assert r.status_code == 201, r.text
    assert api.client.post(f"/api/v1/customers/{cust.id}/notes", json={"text": "  "},
                           headers=h).status_code == 422  # fmt: skip
    notes = api.client.get(f"/api/v1/customers/{cust.id}/notes", headers=h).json()
    assert [(n["author"], n["text"]) for n in notes] == [("a1001", "客户要求回电")]
    # two calls from the customer's phone, one recorded; one call of someone else
    t0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    api.store.cdrs.open_call("c-1", "13800000001", "95598", t0)
    api.store.cdrs.open_call("c-2", "01062001234", "95598", t0 + timedelta(hours=1))
    api.store.cdrs.open_call("c-3", "13800000002", "95598", t0)
    wav = tmp_path / "c-2.wav"
    wav.write_bytes(b"RIFF" + b"\0" * 60)
    rec = api.store.recordings.start("c-2", str(wav), 2, t0, agent_id=1001)
    api.store.recordings.finish(rec.id, t0 + timedelta(minutes=1), 60.0, 64)
    api.store.cdrs.annotate("c-2", agent_id=1001, answer_time=t0)
    end = t0 + timedelta(hours=1, minutes=2)
    api.store.cdrs.close_call("c-2", end, "answered", CallTimes(talk_seconds=60.0),
                              recording_id=rec.id)  # fmt: skip
    calls = api.client.get(f"/api/v1/customers/{cust.id}/calls", headers=h).json()
    assert [(c["call_id"], c["recording"]) for c in calls] == [("c-2", True), ("c-1", False)]
    got = api.client.get(f"/api/v1/customers/{cust.id}/calls/c-2/recording", headers=h)
    assert got.status_code == 200 and got.content == wav.read_bytes()
    assert got.headers["content-type"] == "audio/wav"
    none = api.client.get(f"/api/v1/customers/{cust.id}/calls/c-1/recording", headers=h)
    assert (none.status_code, none.json()["error"]["code"]) == (404, "no_recording")
    foreign = api.client.get(f"/api/v1/customers/{cust.id}/calls/c-3/recording", headers=h)
    assert foreign.status_code == 404  # not this customer's call
    assert api.client.get(f"/api/v1/customers/{other.id}/calls/c-2/recording",
                          headers=h).status_code == 404  # fmt: skip
    u = hdr(api, "unit1")  # a unit member is not call-center staff
    for path in (
        f"/api/v1/customers/{cust.id}/calls",
        f"/api/v1/customers/{cust.id}/calls/c-2/recording",
    ):
        r = api.client.get(path, headers=u)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "staff_only")
    assert api.client.get(f"/api/v1/customers/{cust.id}", headers=u).status_code == 200


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_screen_pop_is_for_the_agent_offered_the_call(api: Api) -> None:
    a1 = hdr(api, "a1001")
    r = api.client.post(
        "/api/v1/agent/login", json={"agent_id": "1001", "seat": "8001"}, headers=a1
    )
    assert r.status_code == 200, r.text
    api.store.cdrs.open_call("pop-1", "13800000001", "95598", datetime.now(UTC))
    api.store.cdrs.annotate("pop-1", queue="billing", business_category="billing")
    assert api.client.get("/api/v1/customers/pop/pop-1", headers=a1).status_code == 403
    api.put_call("pop-1", queue="billing")  # offered to and answered by 1001
    r = api.client.get("/api/v1/customers/pop/pop-1", headers=a1)
    assert r.status_code == 200, r.text
    pop = r.json()
    assert (pop["caller"], pop["queue"], pop["category"]) == ("13800000001", "billing", "billing")
    assert [m["name"] for m in pop["matches"]] == ["赵国强"]
    for who, code in (("a1002", "not_your_call"), ("unit1", "staff_only")):
        r = api.client.get("/api/v1/customers/pop/pop-1", headers=hdr(api, who))
        assert (r.status_code, r.json()["error"]["code"]) == (403, code)
    assert api.client.get("/api/v1/customers/pop/pop-1", headers=hdr(api, "sup")).status_code == 200
    assert api.client.get("/api/v1/customers/pop/none", headers=a1).status_code == 404
    # an unknown caller: no match
    api.store.cdrs.open_call("pop-2", "13999999999", "95598", datetime.now(UTC))
    assert (
        api.client.get("/api/v1/customers/pop/pop-2", headers=hdr(api, "admin")).json()["matches"]
        == []
    )


# -------------------------------------------------------------------- tickets
def create_ticket(api: Api, h: dict[str, str], **over: Any) -> dict[str, Any]:
    body = {"title": "抢修人员态度差", "description": "客户投诉", "category": "service",
            "priority": "high"} | over  # fmt: skip
    r = api.client.post("/api/v1/tickets", json=body, headers=h)
    assert r.status_code == 201, r.text
    return dict(r.json())


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_ticket_workflow_rules_and_history(api: Api) -> None:
    agent, other, unit, sup = (hdr(api, w) for w in ("a1001", "a1002", "unit1", "sup"))
    north, south = unit_id(api, "repair-north"), unit_id(api, "repair-south")
    cust = api.store.customers.by_account("3100000001")
    assert cust is not None
    tk = create_ticket(api, agent, customer_id=cust.id, call_id="call-x", unit_id=north)
    assert (tk["status"], tk["unit"]["code"], tk["customer_name"]) == (
        "dispatched",
        "repair-north",
        "赵国强",
    )
    due = datetime.fromisoformat(tk["due_at"]) - datetime.fromisoformat(tk["created_at"])
    assert due == timedelta(hours=24)  # high priority
    assert [h["action"] for h in tk["history"]] == ["created", "transition"]
    assert tk["next_statuses"] == ["dispatched", "in_progress", "resolved"]
    tid = tk["id"]
    # a unit member sees it among its unit's tickets and works on it
    mine = api.client.get("/api/v1/tickets", headers=unit).json()
    assert [t["id"] for t in mine["items"]] == [tid] and mine["items"][0]["can_update"]
    r = api.client.post(
        f"/api/v1/tickets/{tid}/transition", json={"status": "in_progress"}, headers=unit
    )
    assert r.status_code == 200 and r.json()["status"] == "in_progress", r.text
    # another agent (staff) sees it but may not touch it
    assert api.client.get(f"/api/v1/tickets/{tid}", headers=other).json()["can_update"] is False
    for path, body in ((f"/api/v1/tickets/{tid}/transition", {"status": "resolved"}),
                       (f"/api/v1/tickets/{tid}/comments", {"text": "x"})):  # fmt: skip
        r = api.client.post(path, json=body, headers=other)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_ticket")
    r = api.client.patch(f"/api/v1/tickets/{tid}", json={"priority": "low"}, headers=other)
    assert r.status_code == 403
    # moves the workflow does not have, or without what they need
    r = api.client.post(
        f"/api/v1/tickets/{tid}/transition", json={"status": "closed"}, headers=unit
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "invalid_transition")
    r = api.client.post(f"/api/v1/tickets/{tid}/transition", json={"status": "done"}, headers=unit)
    assert r.status_code == 422
    r = api.client.post(
        f"/api/v1/tickets/{tid}/comments", json={"text": "已联系客户"}, headers=unit
    )
    assert r.status_code == 201, r.text
    r = api.client.post(f"/api/v1/tickets/{tid}/transition",
                        json={"status": "resolved", "comment": "已道歉"}, headers=unit)  # fmt: skip
    assert r.status_code == 200, r.text
    # the creator reopens, the supervisor re-dispatches to another unit
    r = api.client.post(
        f"/api/v1/tickets/{tid}/transition", json={"status": "in_progress"}, headers=agent
    )
    assert r.json()["status"] == "in_progress"
    r = api.client.post(f"/api/v1/tickets/{tid}/transition",
                        json={"status": "dispatched", "unit_id": south}, headers=sup)  # fmt: skip
    assert r.json()["unit"]["code"] == "repair-south"
    # no longer the unit member's: it cannot see it any more
    assert api.client.get(f"/api/v1/tickets/{tid}", headers=unit).status_code == 404
    assert api.client.get("/api/v1/tickets", headers=unit).json()["total"] == 0
    change = {"priority": "urgent", "title": "态度差（重复投诉）"}
    r = api.client.patch(f"/api/v1/tickets/{tid}", json=change, headers=agent)
    assert r.status_code == 200 and r.json()["priority"] == "urgent"
    history = api.client.get(f"/api/v1/tickets/{tid}", headers=sup).json()["history"]
    steps = [
        (h["actor"], h["action"], h["from_status"], h["to_status"], h["comment"]) for h in history
    ]
    assert steps == [
        ("a1001", "created", None, "new", ""),
        ("a1001", "transition", "new", "dispatched", ""),
        ("unit1", "transition", "dispatched", "in_progress", ""),
        ("unit1", "comment", None, None, "已联系客户"),
        ("unit1", "transition", "in_progress", "resolved", "已道歉"),
        ("a1001", "transition", "resolved", "in_progress", ""),
        ("sup", "transition", "in_progress", "dispatched", ""),
        ("a1001", "edited", "dispatched", None, "title, priority"),
    ]
    results = {a.action: a.result for a in api.store.audit.query(actor="a1002")}
    assert results["ticket.transition"] == "denied"


def test_ticket_validation_and_dispatch_needs_a_unit(api: Api) -> None:
    h = hdr(api, "a1001")
    for body in (
        {"title": "", "category": "service"},
        {"title": "x", "category": "nonsense"},
        {"title": "x", "category": "service", "priority": "whenever"},
        {"title": "x", "category": "service", "due_at": "2026-01-01T10:00:00"},  # no zone
        {"title": "x", "category": "service", "customer_id": 424242},
        {"title": "x", "category": "service", "unit_id": 424242},
    ):
        r = api.client.post("/api/v1/tickets", json=body, headers=h)
        assert r.status_code in (404, 422), (body, r.text)
    assert api.client.get("/api/v1/tickets", headers=h).json()["total"] == 0
    tk = create_ticket(api, h, priority="normal")
    r = api.client.post(
        f"/api/v1/tickets/{tk['id']}/transition", json={"status": "dispatched"}, headers=h
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "unit_needed")
    assert api.client.get(f"/api/v1/tickets/{tk['id']}", headers=h).json()["status"] == "new"


def test_ticket_search_overdue_and_meta(api: Api) -> None:
    h = hdr(api, "a1001")
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    late = create_ticket(api, h, title="表计走字快", category="meter", due_at=past)
    ok = create_ticket(api, h, title="停电未通知", category="outage", priority="urgent")
    assert late["overdue"] is True and ok["overdue"] is False

    def numbers(query: str, who: str = "a1001") -> list[str]:
        r = api.client.get(f"/api/v1/tickets?{query}", headers=hdr(api, who))
        assert r.status_code == 200, r.text
        return [t["number"] for t in r.json()["items"]]

    assert numbers("") == [ok["number"], late["number"]]
    assert numbers("overdue=true") == [late["number"]]
    assert numbers("q=停电") == [ok["number"]]
    assert numbers(f"q={late['number']}") == [late["number"]]
    assert numbers("category=meter&priority=high") == [late["number"]]
    assert numbers("status=new&open=true") == [ok["number"], late["number"]]
    assert numbers("mine=true", "a1002") == []
    assert numbers("", "a1002") == [ok["number"], late["number"]]  # staff see all
    assert numbers("", "unit1") == []  # not of its unit
    r = api.client.post(
        f"/api/v1/tickets/{late['id']}/transition", json={"status": "resolved"}, headers=h
    )
    assert r.json()["overdue"] is False  # resolved tickets are never overdue
    meta = api.client.get("/api/v1/tickets/meta", headers=hdr(api, "unit1")).json()
    assert meta["my_units"] == [unit_id(api, "repair-north")]
    assert meta["transitions"]["resolved"] == ["in_progress", "closed"]
    assert "service" in [c["code"] for c in meta["categories"]]
    assert "billing" in [c["code"] for c in meta["business_categories"]]


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_ticket_events_reach_the_unit_and_the_creator(api: Api) -> None:
    agent = hdr(api, "a1001")
    unit = hdr(api, "unit1")
    tk = create_ticket(api, agent, unit_id=unit_id(api, "repair-north"))
    api.client.post(
        f"/api/v1/tickets/{tk['id']}/transition", json={"status": "in_progress"}, headers=unit
    )
    hidden = create_ticket(api, hdr(api, "a1002"), title="别的单", category="other")
    drain(api)

    def seen(headers: dict[str, str]) -> list[tuple[str, str, str]]:
        items = api.client.get("/api/v1/events?limit=1000", headers=headers).json()["items"]
        return [(e["type"], e["payload"]["number"], e["payload"]["status"]) for e in items
                if e["type"].startswith("Ticket")]  # fmt: skip

    n = tk["number"]
    flow = [("TicketCreated", n, "new"), ("TicketTransitioned", n, "dispatched"),
            ("TicketTransitioned", n, "in_progress")]  # fmt: skip
    assert seen(agent) == flow  # the creator sees the unit's move, not the other ticket
    assert seen(unit) == flow[1:]  # the unit sees its ticket from the dispatch on
    assert seen(hdr(api, "a1003")) == []
    assert len(seen(hdr(api, "admin"))) == 4
    assert ("TicketCreated", hidden["number"], "new") in seen(hdr(api, "a1002"))
    with api.client.websocket_connect("/api/v1/events/ws", headers=agent) as ws:
        assert "hello" in ws.receive_json()
        api.client.post(f"/api/v1/tickets/{tk['id']}/transition", json={"status": "resolved"},
                        headers=unit)  # fmt: skip
        msg = ws.receive_json()
        while "seq" not in msg or not msg["type"].startswith("Ticket"):
            msg = ws.receive_json()
    assert (msg["type"], msg["payload"]["status"], msg["payload"]["actor"]) == (
        "TicketTransitioned", "resolved", "unit1")  # fmt: skip


def test_my_day_figures(api: Api) -> None:
    h = hdr(api, "a1001")
    now = datetime.now(UTC)
    start = now - timedelta(hours=2)
    api.store.cdrs.open_call("d-1", "13800000001", "95598", now - timedelta(hours=1))
    api.store.cdrs.annotate("d-1", agent_id=1001, answer_time=now - timedelta(hours=1))
    api.store.cdrs.close_call(
        "d-1", now - timedelta(minutes=50), "answered", CallTimes(talk_seconds=90.0)
    )
    api.store.cdrs.open_call("d-2", "13800000002", "95598", now - timedelta(hours=3))  # before
    api.store.cdrs.annotate("d-2", agent_id=1001, answer_time=now - timedelta(hours=3))
    create_ticket(api, h)
    r = api.client.get("/api/v1/tickets/my-day", params={"since": start.isoformat()}, headers=h)
    assert r.status_code == 200, r.text
    day = r.json()
    assert (day["agent_id"], day["calls_answered"], day["talk_seconds"]) == ("1001", 1, 90.0)
    assert (day["tickets_created"], day["tickets_open"]) == (1, 1)
    assert day["wrapup_seconds"] == {"billing": 10.0}
    u = api.client.get("/api/v1/tickets/my-day", headers=hdr(api, "unit1")).json()
    assert (u["agent_id"], u["calls_answered"], u["wrapup_seconds"]) == (None, 0, {})
    future = (now + timedelta(days=1)).isoformat()
    assert (
        api.client.get("/api/v1/tickets/my-day", params={"since": future}, headers=h).status_code
        == 422
    )
