"""Supervisor force operations and live configuration changes; idempotency keys; paging."""

from __future__ import annotations

import pytest

from callcenter.acd.model import Presence

from .conftest import BACKENDS, Api

LOGIN = {"agent_id": "1002", "seat": "8002"}


def login_1002(api: Api) -> None:
    r = api.client.post("/api/v1/agent/login", json=LOGIN, headers=api.auth("a1002"))
    assert r.status_code == 200, r.text
    api.client.cookies.clear()


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_force_busy_ready_logout_record_the_supervisor(api: Api) -> None:
    login_1002(api)
    sup = api.auth("sup")
    api.client.cookies.clear()
    base = "/api/v1/supervisor/agents/1002"
    r = api.client.post(f"{base}/force-busy", json={"reason": "meeting"}, headers=sup)
    assert r.status_code == 200 and r.json()["presence"] == "busy"
    assert r.json()["reason"] == "meeting"
    r = api.client.post(f"{base}/force-ready", headers=sup)
    assert r.json()["presence"] == "ready"
    r = api.client.post(f"{base}/force-logout", headers=sup)
    assert r.status_code == 200 and r.json()["logged_in"] is False
    r = api.client.post(f"{base}/force-logout", headers=sup)
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_logged_in"
    actors = [
        (o.actor, o.cause) for o in api.center.applied if type(o).__name__ == "AgentStateChanged"
    ]
    assert actors[1:] == [("sup", "forced busy"), ("sup", "forced ready"), ("sup", "forced logout")]
    trail = [(a.action, a.target, a.result) for a in api.store.audit.query(actor="sup")]
    assert trail[:4] == [
        ("supervisor.force_logout", "agent:1002", "failed"),
        ("supervisor.force_logout", "agent:1002", "ok"),
        ("supervisor.force_ready", "agent:1002", "ok"),
        ("supervisor.force_busy", "agent:1002", "ok"),
    ]


def test_skills_and_queues_change_live(api: Api) -> None:
    login_1002(api)
    sup = api.auth("sup")
    api.client.cookies.clear()
    r = api.client.put(
        "/api/v1/supervisor/agents/1002/skills", json={"skills": {"repair": 4}}, headers=sup
    )
    assert r.status_code == 200, r.text
    view = api.center.acd.agent_view("1002")
    assert dict(view.skills) == {"repair": 4} and [q for q, _ in view.queues] == ["repair"]
    stored = api.store.agents.get(1002)
    assert stored is not None and stored.skills == {"repair": 4}
    r = api.client.put(
        "/api/v1/supervisor/agents/1002/skills", json={"skills": {"nope": 4}}, headers=sup
    )
    assert r.status_code == 404 and dict(api.center.acd.agent_view("1002").skills) == {"repair": 4}
    body = {"queues": [{"queue": "repair", "penalty": 2}]}
    r = api.client.put("/api/v1/supervisor/agents/1002/queues", json=body, headers=sup)
    assert r.status_code == 200
    assert r.json() == [{"queue": "repair", "agent_id": 1002, "penalty": 2}]
    body = {"queues": [{"queue": "ghost"}]}
    r = api.client.put("/api/v1/supervisor/agents/1002/queues", json=body, headers=sup)
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_queue"
    r = api.client.get("/api/v1/supervisor/agents?presence=ready", headers=sup)
    assert [a["agent_id"] for a in r.json()["items"]] == ["1002"]
    r = api.client.get("/api/v1/supervisor/queues", headers=sup)
    assert {q["queue_id"]: q["members"] for q in r.json()["items"]} == {"billing": 0, "repair": 1}


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_queue_crud_applies_live(api: Api) -> None:
    admin = api.auth("admin")
    api.client.cookies.clear()
    body = {"name": "vip", "display_name": "大客户", "skills": {"billing": 4},
            "settings": {"strategy": "ring_all", "ring_timeout_seconds": 9}}  # fmt: skip
    r = api.client.post("/api/v1/admin/queues", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert "vip" in api.center.acd.queue_ids()
    assert api.center.acd.queue_config("vip").ring_timeout == 9.0
    r = api.client.post("/api/v1/admin/queues", json=body, headers=admin)
    assert r.status_code == 409 and r.json()["error"]["code"] == "queue_exists"
    r = api.client.patch(
        "/api/v1/admin/queues/vip", json={"settings": {"ring_timeout_seconds": 30}}, headers=admin
    )
    assert r.status_code == 200 and api.center.acd.queue_config("vip").ring_timeout == 30.0
    r = api.client.patch("/api/v1/admin/queues/vip", json={"enabled": False}, headers=admin)
    assert r.status_code == 200 and "vip" not in api.center.acd.queue_ids()
    r = api.client.patch("/api/v1/admin/queues/vip", json={"enabled": True}, headers=admin)
    assert "vip" in api.center.acd.queue_ids()
    r = api.client.delete("/api/v1/admin/queues/vip", headers=admin)
    assert r.status_code == 200 and "vip" not in api.center.acd.queue_ids()
    bad = {**body, "settings": {"strategy": "telepathy"}}
    r = api.client.post("/api/v1/admin/queues", json=bad, headers=admin)
    assert r.status_code == 422
    actions = [a.action for a in api.store.audit.query(actor="admin", target="queue:vip")]
    assert actions == ["queue.delete", "queue.update", "queue.update", "queue.update",
                       "queue.create", "queue.create"]  # fmt: skip


def test_extensions_reload_credentials_and_agents_reload_directory(api: Api) -> None:
    admin = api.auth("admin")
    api.client.cookies.clear()
    before = api.creds.reloads
    body = {"number": "8200", "display_name": "lobby", "password": "s3cret-8200"}
    r = api.client.post("/api/v1/admin/extensions", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert api.creds.reloads == before + 1
    assert api.creds.ha1("8200", "callcenter.local", "MD5") is not None
    body = {"agent_id": 1100, "name": "新人", "extension": "8200", "skills": {"billing": 1}}
    r = api.client.post("/api/v1/admin/agents", json=body, headers=admin)
    assert r.status_code == 201, r.text
    assert api.center.directory.extension_of("1100") == "8200"
    r = api.client.patch(f"/api/v1/admin/extensions/{r.json()['agent_id']}", json={},
                         headers=admin)  # fmt: skip
    assert r.status_code == 422


def test_pagination_and_filters(api: Api) -> None:
    admin = api.auth("admin")
    api.client.cookies.clear()
    r = api.client.get("/api/v1/admin/agents?limit=2&offset=1", headers=admin)
    page = r.json()
    assert [a["agent_id"] for a in page["items"]] == [1002, 1003]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    r = api.client.get("/api/v1/admin/agents?skill=repair", headers=admin)
    assert [a["agent_id"] for a in r.json()["items"]] == [1002, 1003, 1004, 1009]
    r = api.client.get("/api/v1/admin/users?role=administrator", headers=admin)
    assert [u["username"] for u in r.json()["items"]] == ["admin"]
    r = api.client.get("/api/v1/admin/agents?limit=0", headers=admin)
    assert r.status_code == 422


def test_idempotency_key_replays_once(api: Api) -> None:
    admin = api.auth("admin")
    api.client.cookies.clear()
    headers = {**admin, "Idempotency-Key": "k-1"}
    body = {"name": "vip2", "skills": {"billing": 1}}
    first = api.client.post("/api/v1/admin/queues", json=body, headers=headers)
    again = api.client.post("/api/v1/admin/queues", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert len(api.store.audit.query(action="queue.create")) == 1
    other = api.client.post("/api/v1/admin/queues", json={**body, "name": "x"}, headers=headers)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    # without a key the same request is a new request (and conflicts)
    r = api.client.post("/api/v1/admin/queues", json=body, headers=admin)
    assert r.status_code == 409


def test_flow_versions_activate_live(api: Api) -> None:
    admin = api.auth("admin")
    api.client.cookies.clear()
    flow = {"name": "hello", "version": 1,
            "start": "start",
            "nodes": [{"id": "start", "type": "play", "prompt": "你好", "next": "bye"},
                      {"id": "bye", "type": "hangup"}]}  # fmt: skip
    r = api.client.post("/api/v1/admin/flows", json={"body": flow}, headers=admin)
    assert r.status_code == 201, r.text
    version = r.json()["version"]
    r = api.client.post(f"/api/v1/admin/flows/hello/{version}/activate", headers=admin)
    assert r.status_code == 200 and r.json()["active"] is True
    assert api.center.flows.current("hello").version == version
    r = api.client.post("/api/v1/admin/flows", json={"body": {"name": "bad"}}, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_flow"


def test_user_admin_and_audit_query(api: Api) -> None:
    admin = api.auth("admin")
    api.client.cookies.clear()
    body = {"username": "sup2", "display_name": "二号班长", "role": "supervisor",
            "password": "password-2"}  # fmt: skip
    r = api.client.post("/api/v1/admin/users", json=body, headers=admin)
    assert r.status_code == 201 and r.json()["role"] == "supervisor"
    assert api.client.post("/api/v1/admin/users", json=body, headers=admin).status_code == 409
    me = api.store.users.get_by_username("admin")
    assert me is not None
    r = api.client.delete(f"/api/v1/admin/users/{me.id}", headers=admin)
    assert r.status_code == 409 and r.json()["error"]["code"] == "cannot_delete_self"
    r = api.client.get("/api/v1/admin/audit?action=user.create", headers=admin)
    rows = r.json()["items"]
    assert [(a["actor"], a["target"], a["result"]) for a in rows] == [
        ("admin", "user:sup2", "failed"), ("admin", "user:sup2", "ok")]  # fmt: skip
    assert api.store.users.get_by_username("sup2") is not None
    assert Presence.READY  # the ACD vocabulary is importable next to the API


def test_schedule_hours_are_local_clock_times(api: Api) -> None:
    """Opening hours are wall-clock times in the schedule's zone: no offsets (schemathesis
    found "00:18:05Z" accepted and "00:18:05" returned under a JSON "time" schema)."""
    admin = api.auth("admin")
    api.client.cookies.clear()
    url = "/api/v1/admin/schedules/default"
    good = {"timezone": "Asia/Shanghai", "hours": [{"weekday": 0, "opens": "08:00",
                                                      "closes": "18:30:00"}]}  # fmt: skip
    r = api.client.put(url, json=good, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["hours"] == [{"weekday": 0, "opens": "08:00:00", "closes": "18:30:00"}]
    bad = {"timezone": "Asia/Shanghai", "hours": [{"weekday": 0, "opens": "08:00Z",
                                                     "closes": "18:00"}]}  # fmt: skip
    r = api.client.put(url, json=bad, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"]
    assert api.client.get(url, headers=admin).json()["hours"][0]["opens"] == "08:00:00"
