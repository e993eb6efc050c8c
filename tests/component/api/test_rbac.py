"""The RBAC matrix: every route of the app x every role (and no session) against the policy.

The route list comes from the app itself, so a new route without a ``require(...)`` rule, or
outside the policy table below, fails here. Each cell is checked twice: the rule the route
declares, and what a real request with a fresh token of that role gets back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette.websockets import WebSocketDisconnect

from callcenter.api.security import Access

from .conftest import Api

ALL = {"agent", "supervisor", "administrator"}
# path prefix -> roles allowed (None: public, no session needed); first match wins
POLICY: list[tuple[str, set[str] | None]] = [
    ("/api/v1/auth/login", None),
    ("/api/v1/auth/", ALL),
    ("/api/v1/agent/", {"agent", "supervisor"}),
    ("/api/v1/supervisor/", {"supervisor", "administrator"}),
    ("/api/v1/admin/prompts/", {"administrator"}),  # incl. the multipart upload
    ("/api/v1/admin/", {"administrator"}),
    ("/api/v1/events", ALL),
    ("/api/v1/customers", ALL),
    ("/api/v1/tickets", ALL),
    ("/api/v1/reports/", {"supervisor", "administrator"}),
]
UNRULED = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/ui", "/"}
USERS = {"agent": "a1001", "supervisor": "sup", "administrator": "admin"}
SAMPLES = {"day": "2026-01-01", "language": "zh", "version": "1", "agent_id": "999999"}


def policy(path: str) -> set[str] | None:
    for prefix, roles in POLICY:
        if path.startswith(prefix):
            return roles
    raise AssertionError(f"route {path} is not in the RBAC policy table")


def access_of(route: APIRoute | APIWebSocketRoute) -> Access:
    found = [d.call for d in route.dependant.dependencies if isinstance(d.call, Access)]
    assert len(found) == 1, f"{route.path} needs exactly one require(...) rule, has {found}"
    return found[0]


def concrete(path: str, params: list[Any]) -> str:
    for p in params:
        value = SAMPLES.get(p.name, "999999" if p.field_info.annotation is int else "zz")
        path = path.replace("{" + p.name + "}", value)
    return path


def cells(api: Api) -> list[tuple[str, str, APIRoute | APIWebSocketRoute]]:
    out = []
    for context in iter_route_contexts(api.client.app.routes):  # type: ignore[attr-defined]
        route, path = context.original_route, str(context.path)
        if isinstance(route, APIRoute):
            out.extend((m, path, route) for m in sorted(route.methods))
        elif isinstance(route, APIWebSocketRoute):
            out.append(("WS", path, route))
        else:
            assert path in UNRULED, f"unexpected route {path}"
    return out


def fresh_token(api: Api, role: str) -> str:
    user = api.store.users.get_by_username(USERS[role])
    assert user is not None
    now = datetime.now(UTC)
    return api.store.tokens.issue(user.id, "session", now, timedelta(minutes=5)).token


def http_code(api: Api, method: str, path: str, token: str | None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    r = api.client.request(method, path, **kwargs)
    assert r.status_code < 500, (method, path, r.text)
    if r.status_code >= 400:
        return str(r.json()["error"]["code"])
    return "ok"


def ws_code(api: Api, path: str, token: str | None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with api.client.websocket_connect(path, headers=headers) as ws:
        first = ws.receive_json()
        if "hello" in first:
            return "ok"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401
        return str(first["error"]["code"])


def test_every_route_has_the_expected_rule_and_behaviour(api: Api) -> None:
    routes = cells(api)
    assert len(routes) > 50
    checked = 0
    for method, path, route in routes:
        expected = policy(path)
        access = access_of(route)
        assert access.roles == (None if expected is None else frozenset(expected)), path
        url = concrete(path, route.dependant.path_params)
        for role in [None, *sorted(ALL)]:
            token = fresh_token(api, role) if role else None
            if method == "WS":
                code = ws_code(api, url, token)
            else:
                code = http_code(api, method, url, token)
            allowed = expected is None or (role is not None and role in expected)
            denied = code in ("unauthenticated", "forbidden")
            assert denied != allowed, (method, path, role, code)
            if not allowed:
                assert code == ("unauthenticated" if role is None else "forbidden")
            checked += 1
    assert checked == len(routes) * 4


def test_forbidden_mutations_are_audited_as_denied(api: Api) -> None:
    token = fresh_token(api, "agent")
    r = api.client.post(
        "/api/v1/supervisor/agents/1002/force-logout", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 403
    rows = api.store.audit.query(actor="a1001")
    assert [(a.result, a.target) for a in rows] == [
        ("denied", "/api/v1/supervisor/agents/1002/force-logout")
    ]
