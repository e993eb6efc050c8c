"""The event stream: per-role filtering, sequence order, resume after a dropped connection;
the same events as signed, retried webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from .conftest import BACKENDS, Api


def login(api: Api, who: str, agent: str, seat: str) -> None:
    body = {"agent_id": agent, "seat": seat}
    r = api.client.post("/api/v1/agent/login", json=body, headers=api.auth(who))
    assert r.status_code == 200, r.text
    api.client.cookies.clear()


def read_until(ws: Any, pred: Any) -> list[dict[str, Any]]:
    seen = []
    while True:
        msg = ws.receive_json()
        if "seq" in msg:
            seen.append(msg)
            if pred(msg):
                return seen


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_agent_sees_only_its_own_events_in_order(api: Api) -> None:
    agent_headers = api.auth("a1001")
    admin_headers = api.auth("admin")
    api.client.cookies.clear()
    with (
        api.client.websocket_connect("/api/v1/events/ws", headers=agent_headers) as mine,
        api.client.websocket_connect("/api/v1/events/ws", headers=admin_headers) as every,
    ):
        assert mine.receive_json()["hello"]["role"] == "agent"
        assert every.receive_json()["hello"]["role"] == "administrator"
        login(api, "a1002", "1002", "8002")
        login(api, "a1001", "1001", "8001")
        api.put_call("call-9", queue="repair")  # only 1002 serves repair
        api.put_call("call-7", queue="billing")  # 1001 is idle longest in billing
        everything = read_until(every, lambda m: m["call_id"] == "call-7")
        own = read_until(mine, lambda m: m["call_id"] == "call-7")
    assert [m["seq"] for m in everything] == sorted(m["seq"] for m in everything)
    assert {m["agent_id"] for m in everything} >= {1001, 1002}
    assert all(m["agent_id"] in (1001, None) for m in own)
    assert all(m["call_id"] in (None, "call-7") for m in own)
    assert own[0]["type"] == "AgentStateChanged" and own[0]["payload"]["agent_id"] == "1001"
    assert "OfferToAgent" in [m["type"] for m in own]


def test_resume_after_reconnect_replays_from_the_log(api: Api) -> None:
    headers = api.auth("admin")
    api.client.cookies.clear()
    with api.client.websocket_connect("/api/v1/events/ws?since=0", headers=headers) as ws:
        assert ws.receive_json()["hello"]["last_seq"] == 0
        login(api, "a1001", "1001", "8001")
        first = read_until(ws, lambda m: True)
    last = first[-1]["seq"]
    # the connection drops; meanwhile more happens
    login(api, "a1002", "1002", "8002")
    api.put_call("call-5")
    api.wait(lambda: len(api.store.events.since(last)) >= 4)
    expected = [e.seq for e in api.store.events.since(last)]
    with api.client.websocket_connect(f"/api/v1/events/ws?since={last}", headers=headers) as ws:
        replayed: list[int] = []
        while True:  # events appended while replaying may come before the hello
            msg = ws.receive_json()
            if "hello" in msg:
                hello = msg["hello"]
                break
            replayed.append(msg["seq"])
        assert replayed[: len(expected)] == expected  # in order, none lost, none twice
        assert replayed == sorted(set(replayed)) and hello["last_seq"] >= expected[-1]
    r = api.client.get(f"/api/v1/events?since={last}&limit=2", headers=headers)
    page = r.json()
    assert [e["seq"] for e in page["items"]] == expected[:2] and page["next_since"] == expected[1]


def test_unauthenticated_socket_is_closed(api: Api) -> None:
    with api.client.websocket_connect("/api/v1/events/ws") as ws:
        assert ws.receive_json()["error"]["code"] == "unauthenticated"


class Receiver:
    """A local webhook endpoint: fails the first ``failures`` deliveries with 503."""

    def __init__(self, failures: int) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.failures = failures
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 503 if len(receiver.got) <= receiver.failures else 204
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_webhooks_are_signed_and_retried(api: Api) -> None:
    receiver = Receiver(failures=2)
    try:
        admin = api.auth("admin")
        api.client.cookies.clear()
        for key, value in (("webhooks.secret", "s3cr3t"), ("webhooks.urls", [receiver.url]),
                           ("webhooks.events", ["AgentStateChanged"])):  # fmt: skip
            r = api.client.put(f"/api/v1/admin/params/{key}", json={"value": value}, headers=admin)
            assert r.status_code == 200, r.text
        login(api, "a1001", "1001", "8001")
        api.wait(lambda: len(receiver.got) >= 3)
    finally:
        receiver.close()
    bodies = {body for _, body in receiver.got}
    assert len(bodies) == 1  # the same delivery, retried after two 503s
    headers, body = receiver.got[-1]
    event = json.loads(body)
    assert event["type"] == headers["x-cc-event"] == "AgentStateChanged"
    assert str(event["seq"]) == headers["x-cc-seq"]
    mac = hmac.new(b"s3cr3t", headers["x-cc-timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["x-cc-signature"] == "sha256=" + mac.hexdigest()
    assert headers["x-cc-signature"] != "sha256=" + hmac.new(b"other", body, "sha256").hexdigest()
