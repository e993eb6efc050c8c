"""The event stream notices a client that closes at once (not at its next keep-alive), and a
server that stops closes every stream at once (code 1001) instead of waiting for each.

The keep-alive is made an hour long here, so a handler that only noticed a closed client when
a keep-alive failed would keep its subscription for the whole test (and hang the shutdown).
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from callcenter.api import start_api, stop_api
from callcenter.api.routes import events
from callcenter.api.stream import EventHub

from .conftest import PASSWORDS, Api, build, until
from .test_events import login


def streams(hub: EventHub) -> int:
    """Client streams subscribed (the webhook dispatcher's subscription is not one)."""
    return sum(1 for sub in hub.subscribers if sub.closable)


@pytest.fixture(autouse=True)
def hour_long_keepalive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "KEEPALIVE", 3600.0)


def test_a_closed_client_is_unsubscribed_at_once(api: Api) -> None:
    hub: EventHub = api.client.app.state.hub  # type: ignore[attr-defined]
    agent_headers = api.auth("a1001")
    admin_headers = api.auth("admin")
    api.client.cookies.clear()
    with api.client.websocket_connect("/api/v1/events/ws", headers=admin_headers) as stays:
        assert stays.receive_json()["hello"]["role"] == "administrator"
        with api.client.websocket_connect("/api/v1/events/ws", headers=agent_headers) as goes:
            assert goes.receive_json()["hello"]["role"] == "agent"
            assert streams(hub) == 2
            goes.close(1000)  # the client's close (leaving the block would cancel the handler)
            api.wait(lambda: streams(hub) == 1)
        # the other stream lives on
        login(api, "a1001", "1001", "8001")
        msg = stays.receive_json()
        assert msg["type"] == "AgentStateChanged" and msg["payload"]["agent_id"] == "1001"
    api.wait(lambda: streams(hub) == 0)


async def test_a_real_server_notices_closes_and_stops_with_clients_connected(
    db_url: str, unused_tcp_port: int
) -> None:
    app, store, _, _ = build(db_url)
    hub: EventHub = app.state.hub
    server, task = await start_api(app, "127.0.0.1", unused_tcp_port)
    base = f"127.0.0.1:{unused_tcp_port}"
    try:
        async with httpx.AsyncClient(base_url=f"http://{base}") as http:
            login_body = {"username": "admin", "password": PASSWORDS["admin"]}
            r = await http.post("/api/v1/auth/login", json=login_body)
            assert r.status_code == 200, r.text
            token = r.json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        url = f"ws://{base}/api/v1/events/ws"
        clients = [await connect(url, additional_headers=headers) for _ in range(3)]
        for ws in clients:
            assert "hello" in (await ws.recv())
        await until(lambda: streams(hub) == 3, "three streams")
        # one client closes: its subscription is gone long before any keep-alive
        await clients.pop().close()
        await until(lambda: streams(hub) == 2, "the closed stream unsubscribed")
        # the server stops with two clients connected: both are closed with 1001 at once
        await asyncio.wait_for(stop_api(server, task), 30)  # a guard against a hang
        assert streams(hub) == 0
        for ws in clients:
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1001, (ws.close_code, ws.close_reason)
            assert ws.close_reason == "server shutting down"
    finally:
        if not task.done():
            server.should_exit = True
            await task
        store.close()
