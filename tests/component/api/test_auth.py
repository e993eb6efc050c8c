"""Accounts: login (cookie + bearer), lockout, password change, tokens, audit of every attempt."""

from __future__ import annotations

import pytest

from .conftest import BACKENDS, Api


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_login_sets_secure_cookie_and_returns_bearer(api: Api) -> None:
    r = api.client.post("/api/v1/auth/login", json={"username": "admin", "password": "admin-demo"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["role"] == "administrator" and len(body["token"]) >= 40
    cookie = r.headers["set-cookie"]
    assert "cc_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    # the cookie alone authenticates the browser...
    assert api.client.get("/api/v1/auth/me").json()["user"]["username"] == "admin"
    # ...and the same token as bearer authenticates a system
    api.client.cookies.clear()
    me = api.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json()["token_kind"] == "session"
    rows = api.store.audit.query(action="auth.login")
    assert [(a.actor, a.result) for a in rows] == [("anonymous", "ok")]
    assert rows[0].target == "user:admin"


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_lockout_after_repeated_failures(api: Api) -> None:
    for _ in range(4):
        r = api.client.post("/api/v1/auth/login", json={"username": "a1001", "password": "x"})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "bad_credentials"
    r = api.client.post("/api/v1/auth/login", json={"username": "a1001", "password": "x"})
    assert r.status_code == 423 and r.json()["error"]["code"] == "account_locked"
    # even the right password is refused while locked
    r = api.client.post("/api/v1/auth/login", json={"username": "a1001", "password": "demo1001"})
    assert r.status_code == 423
    results = [a.result for a in api.store.audit.query(action="auth.login")]
    assert results == ["denied"] * 6  # 4 bad passwords, the locking one, the refused one
    # an administrator unlocks the account
    user = api.store.users.get_by_username("a1001")
    assert user is not None
    r = api.client.post(f"/api/v1/admin/users/{user.id}/unlock", headers=api.auth("admin"))
    assert r.status_code == 200
    assert api.token("a1001")


def test_unknown_user_and_error_format(api: Api) -> None:
    r = api.client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
    assert r.status_code == 401
    assert r.json() == {
        "error": {"code": "bad_credentials", "message": "wrong username or password"}
    }
    r = api.client.post("/api/v1/auth/login", json={"username": "", "password": "x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"
    assert r.json()["error"]["details"][0]["loc"] == ["body", "username"]
    r = api.client.get("/api/v1/auth/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"


def test_password_change_revokes_tokens(api: Api) -> None:
    old = api.auth("a1002")
    r = api.client.post(
        "/api/v1/auth/password",
        json={"current_password": "wrong", "new_password": "new-pass-1"},
        headers=old,
    )
    assert r.status_code == 401
    r = api.client.post(
        "/api/v1/auth/password",
        json={"current_password": "demo1002", "new_password": "new-pass-1"},
        headers=old,
    )
    assert r.status_code == 200, r.text
    fresh = {"Authorization": f"Bearer {r.json()['token']}"}
    api.client.cookies.clear()
    assert api.client.get("/api/v1/auth/me", headers=old).status_code == 401
    assert api.client.get("/api/v1/auth/me", headers=fresh).status_code == 200
    assert api.token("a1002", "new-pass-1")
    actions = [(a.action, a.result) for a in api.store.audit.query(actor="a1002")]
    assert ("auth.password_change", "ok") in actions
    assert ("auth.password_change", "denied") in actions


def test_api_tokens_and_logout(api: Api) -> None:
    session = api.auth("sup")
    api.client.cookies.clear()
    r = api.client.post("/api/v1/auth/tokens", json={"name": "crm"}, headers=session)
    assert r.status_code == 201
    token = r.json()["token"]
    system = {"Authorization": f"Bearer {token}"}
    assert api.client.get("/api/v1/auth/me", headers=system).json()["token_kind"] == "api"
    listed = api.client.get("/api/v1/auth/tokens", headers=session).json()
    assert {t["kind"] for t in listed} == {"session", "api"}
    r = api.client.delete(f"/api/v1/auth/tokens/{r.json()['record']['id']}", headers=session)
    assert r.status_code == 200
    assert api.client.get("/api/v1/auth/me", headers=system).status_code == 401
    # another user's token cannot be revoked
    other = api.client.get("/api/v1/auth/tokens", headers=api.auth("a1001")).json()
    api.client.cookies.clear()
    r = api.client.delete(f"/api/v1/auth/tokens/{other[0]['id']}", headers=session)
    assert r.status_code == 404
    assert api.client.post("/api/v1/auth/logout", headers=session).status_code == 200
    assert api.client.get("/api/v1/auth/me", headers=session).status_code == 401


def test_disabled_user_cannot_log_in(api: Api) -> None:
    admin = api.auth("admin")
    api.client.cookies.clear()
    user = api.store.users.get_by_username("a1001")
    assert user is not None
    live = api.auth("a1001")
    api.client.cookies.clear()
    r = api.client.patch(f"/api/v1/admin/users/{user.id}", json={"enabled": False}, headers=admin)
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert api.client.get("/api/v1/auth/me", headers=live).status_code == 401
    r = api.client.post("/api/v1/auth/login", json={"username": "a1001", "password": "demo1001"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "account_disabled"
