"""Agent operations with the SPEC §4 rules: each refusal has its own code and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from callcenter.acd.model import Activity, Presence

from .conftest import BACKENDS, Api

LOGIN = {"agent_id": "1001", "seat": "8001", "category": "agent"}


def post(api: Api, who: str, path: str, body: object = None) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = api.client.post(f"/api/v1/agent/{path}", json=body, headers=api.auth(who))
    api.client.cookies.clear()
    return r.status_code, r.json()


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_login_then_second_login_fails(api: Api) -> None:
    status, body = post(api, "a1001", "login", LOGIN)
    assert status == 200, body
    assert body["presence"] == "ready" and body["seat"] == "8001"
    assert body["skills"] == {"billing": 5} and "billing" in body["queues"]
    status, body = post(api, "a1001", "login", LOGIN)
    assert status == 409 and body["error"]["code"] == "already_logged_in"
    audit = [(a.action, a.result) for a in api.store.audit.query(actor="a1001")]
    assert audit[:2] == [("agent.login", "failed"), ("agent.login", "ok")]
    api.wait(lambda: bool(api.store.events.since(0)))
    kinds = [e.type for e in api.store.events.since(0)]
    assert kinds == ["AgentStateChanged"]


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        ("a1001", {**LOGIN, "agent_id": "1002"}, 403, "not_your_agent_id"),
        ("a1001", {**LOGIN, "category": "supervisor"}, 403, "category_not_allowed"),
        ("a1001", {**LOGIN, "seat": "7777"}, 404, "unknown_seat"),
        ("a1001", {**LOGIN, "skills": {"repair": 1}}, 403, "skill_not_granted"),
        ("a1001", {**LOGIN, "skills": {"billing": 6}}, 403, "skill_not_granted"),
        ("a1001", {**LOGIN, "skills": {"billing": 11}}, 422, "invalid"),
        ("a1001", {**LOGIN, "agent_id": "10x1"}, 422, "invalid"),
        ("a1001", {**LOGIN, "category": "boss"}, 422, "invalid"),
        ("a1001", {**LOGIN, "password": "wrong"}, 401, "bad_credentials"),
        ("admin", LOGIN, 403, "forbidden"),
    ],
)
def test_login_rules(api: Api, who: str, body: dict, status: int, code: str) -> None:  # type: ignore[type-arg]
    got, answer = post(api, who, "login", body)
    assert (got, answer["error"]["code"]) == (status, code), answer
    assert api.center.acd.agents() == []


def test_supervisor_may_work_as_agent_or_supervisor(api: Api) -> None:
    body = {"agent_id": "1009", "seat": "8009", "category": "supervisor", "skills": {}}
    status, answer = post(api, "sup", "login", body)
    assert status == 200 and answer["category"] == "supervisor" and answer["skills"] == {}


def test_busy_ready_and_reason_codes(api: Api) -> None:
    post(api, "a1001", "login", LOGIN)
    status, body = post(api, "a1001", "busy", {"reason": "lunch"})
    assert status == 200 and (body["presence"], body["reason"]) == ("busy", "lunch")
    status, body = post(api, "a1001", "ready")
    assert status == 200 and body["presence"] == "ready"
    api.store.params.set("agent.busy_reasons", ["lunch", "training"], datetime.now(UTC))
    status, body = post(api, "a1001", "busy", {"reason": "nap"})
    assert status == 422 and body["error"]["code"] == "unknown_reason"
    assert api.center.acd.agent_view("1001").presence is Presence.READY


def test_busy_while_on_call_is_deferred_or_refused(api: Api) -> None:
    post(api, "a1001", "login", LOGIN)
    api.put_call("call-1")
    assert api.center.acd.agent_view("1001").activity is Activity.ON_CALL
    status, body = post(api, "a1001", "busy", {"reason": "lunch", "defer": False})
    assert status == 409 and body["error"]["code"] == "not_on_hook"
    status, body = post(api, "a1001", "busy", {"reason": "lunch"})
    assert status == 200 and body["presence"] == "ready" and body["pending"] == "busy"


def test_answer_hangup_wrapup_and_notes(api: Api) -> None:
    status, body = post(api, "a1001", "hangup")
    assert status == 409 and body["error"]["code"] == "not_on_call"
    post(api, "a1001", "login", LOGIN)
    status, body = post(api, "a1001", "answer")
    assert status == 409 and body["error"]["code"] == "no_such_offer"
    status, body = post(api, "a1001", "hangup")
    assert status == 409 and body["error"]["code"] == "not_on_call"
    status, body = post(api, "a1001", "wrapup/end")
    assert status == 409 and body["error"]["code"] == "not_in_wrap_up"
    api.store.cdrs.open_call("call-2", "13800000001", "95598", datetime.now(UTC))
    api.store.cdrs.annotate("call-2", agent_id=1001, queue="billing")
    api.put_call("call-2")
    status, body = post(api, "a1001", "answer")
    assert status == 200 and body["activity"] == "on_call"  # already answered on the phone
    status, body = post(api, "a1001", "hangup")
    assert status == 200
    assert api.center.calls["call-2"].hangups == ["agent hung up (desktop)"]
    status, body = post(api, "a1001", "wrapup", {"code": "nonsense"})
    assert status == 422 and body["error"]["code"] == "unknown_wrapup_code"
    status, body = post(api, "a1001", "wrapup", {"code": "repair"})
    assert status == 200
    cdr = api.store.cdrs.get("call-2")
    assert cdr is not None and cdr.business_category == "repair"
    customer = api.store.customers.by_account("3100000001")
    assert customer is not None
    status, body = post(api, "a1001", "notes", {"text": "要求下周回电", "customer_id": customer.id})
    assert status == 201
    assert [n.text for n in api.store.customers.notes(customer.id)] == ["要求下周回电"]
    status, body = post(api, "a1002", "wrapup", {"code": "repair", "call_id": "call-2"})
    assert status == 404 and body["error"]["code"] == "not_your_call"
    api.wait(lambda: "CallNoteAdded" in [e.type for e in api.store.events.since(0)])


def test_end_wrapup_early_and_logout(api: Api) -> None:
    post(api, "a1001", "login", LOGIN)
    api.put_call("call-3")
    api.client.portal.call(_end, api, "call-3")  # type: ignore[union-attr]
    assert api.center.acd.agent_view("1001").activity is Activity.WRAP_UP
    status, body = post(api, "a1001", "wrapup/end")
    assert status == 200 and body["activity"] == "idle"
    status, body = post(api, "a1001", "logout")
    assert status == 200 and body["logged_in"] is False
    status, body = post(api, "a1001", "logout")
    assert status == 409 and body["error"]["code"] == "not_logged_in"


async def _end(api: Api, call_id: str) -> None:
    api.center.apply(api.center.acd.call_ended(call_id, api.center.now()))
