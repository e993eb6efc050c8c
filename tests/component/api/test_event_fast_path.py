"""The event stream's fast path (``routes/events.py``, ``TransportSink``): under uvicorn the hub
writes each event's ready-made frame straight to every live client's transport. A real server
on loopback, real WebSocket clients: the same bytes as the slow path (the queue and
``send_text``), in sequence order, filtered per role, resumable, and a client that stops reading
is moved to the queue (its transport buffer stays bounded) and closed with 4008 once it lags.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode

from callcenter.api import start_api, stop_api
from callcenter.api.routes import events
from callcenter.api.stream import EventHub, Subscription, text_frame

from .conftest import PASSWORDS, FakeCenter, build, until


@dataclass
class Offered:  # event types of our own: the stream only looks at agent, call and queue
    agent_id: str
    call_id: str


@dataclass
class Talking:
    call_id: str


@dataclass
class Queued:
    call_id: str
    queue_id: str


@dataclass
class Note:
    agent_id: str
    text: str


@dataclass
class Served:
    db_url: str
    hub: EventHub
    center: FakeCenter
    base: str
    tokens: dict[str, str]

    async def connect(self, who: str, since: int | None = None, **kw: Any) -> ClientConnection:
        query = "" if since is None else f"?since={since}"
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        url = f"ws://{self.base}/api/v1/events/ws{query}"
        return await connect(url, additional_headers=headers, **kw)

    async def record(self, *evs: object) -> None:
        """Each event stored and published in turn (as the contact center does)."""
        for ev in evs:
            self.center.record_event(ev)
            await until(lambda: not self.center.tasks, "event recorded")


@asynccontextmanager
async def served(db_url: str, port: int) -> AsyncIterator[Served]:
    app, store, center, _ = build(db_url)
    server, task = await start_api(app, "127.0.0.1", port)
    base = f"127.0.0.1:{port}"
    try:
        tokens = {}
        async with httpx.AsyncClient(base_url=f"http://{base}") as http:
            for who in ("admin", "a1001"):
                body = {"username": who, "password": PASSWORDS[who]}
                r = await http.post("/api/v1/auth/login", json=body)
                assert r.status_code == 200, r.text
                tokens[who] = r.json()["token"]
        yield Served(db_url, app.state.hub, center, base, tokens)
    finally:
        await asyncio.wait_for(stop_api(server, task), 30)
        store.close()


def streams(hub: EventHub) -> list[Subscription]:
    return [sub for sub in hub.subscribers if sub.closable]


async def hello(ws: ClientConnection) -> dict[str, Any]:
    msg = json.loads(await ws.recv())
    assert "hello" in msg, msg
    return dict(msg["hello"])


async def read_until(ws: ClientConnection, kind: str) -> list[bytes]:
    """Raw messages (as sent) up to and including the first of type ``kind``."""
    got = []
    while True:
        raw = await asyncio.wait_for(ws.recv(decode=False), 10)
        got.append(raw)
        if json.loads(raw).get("type") == kind:
            return got


def test_text_frame_is_the_websocket_library_s_own_framing() -> None:
    for size in (0, 1, 125, 126, 127, 65535, 65536, 70000):
        data = ("é" * size).encode()[:size]
        ours = text_frame(data)
        theirs = Frame(Opcode.TEXT, data).serialize(mask=False, extensions=[])
        assert ours == theirs, size


async def test_fast_path_sends_the_same_bytes_as_the_slow_path_filtered_per_role(
    db_url: str, unused_tcp_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with served(db_url, unused_tcp_port) as s:
        fast = {who: await s.connect(who, max_size=None) for who in ("admin", "a1001")}
        for ws in fast.values():
            await hello(ws)  # (sent once the stream has looked for its sink)
        monkeypatch.setattr(events, "FAST_PATH", False)
        slow = {who: await s.connect(who, max_size=None) for who in ("admin", "a1001")}
        for ws in slow.values():
            await hello(ws)
        await until(lambda: len(streams(s.hub)) == 4, "four streams")
        await until(lambda: sum(sub.sink is not None for sub in streams(s.hub)) == 2, "sinks")
        await s.record(
            Note("1002", "someone else"),  # agent 1001 does not see this
            Offered("1001", "call-7"),  # its own: from now on call-7 is its call
            Talking("call-7"),
            Queued("call-9", "repair"),  # not its call, not its queue
            Note("1001", "中文 " * 50),  # a 16-bit length
            Note("1001", "x" * 70_000),  # a 64-bit length
            Note("1001", "end"),
        )
        got = {}
        for name, ws in (*(("fast " + k, v) for k, v in fast.items()),
                         *(("slow " + k, v) for k, v in slow.items())):  # fmt: skip
            got[name] = await _until_end(ws)
        for ws in (*fast.values(), *slow.values()):
            await ws.close()
    assert got["fast admin"] == got["slow admin"]  # byte for byte
    assert got["fast a1001"] == got["slow a1001"]
    every = [json.loads(raw) for raw in got["fast admin"]]
    own = [json.loads(raw) for raw in got["fast a1001"]]
    assert [m["seq"] for m in every] == sorted({m["seq"] for m in every})  # in order, no repeats
    assert [m["type"] for m in every] == ["Note", "Offered", "Talking", "Queued", "Note", "Note",
                                          "Note"]  # fmt: skip
    assert [m["type"] for m in own] == ["Offered", "Talking", "Note", "Note", "Note"]
    assert own[0]["payload"]["agent_id"] == "1001" and own[1]["call_id"] == "call-7"
    assert len(own[3]["payload"]["text"]) == 70_000


async def _until_end(ws: ClientConnection) -> list[bytes]:
    got = []
    while True:
        raw = await asyncio.wait_for(ws.recv(decode=False), 10)
        got.append(raw)
        msg = json.loads(raw)
        if msg.get("type") == "Note" and msg["payload"]["text"] == "end":
            return got


async def test_resume_then_live_on_the_fast_path(db_url: str, unused_tcp_port: int) -> None:
    async with served(db_url, unused_tcp_port) as s:
        ws = await s.connect("admin", since=0)
        assert (await hello(ws))["last_seq"] == 0
        await s.record(Offered("1001", "call-1"), Talking("call-1"))
        first = [json.loads(raw) for raw in await read_until(ws, "Talking")]
        last = first[-1]["seq"]
        await ws.close()
        await until(lambda: not streams(s.hub), "unsubscribed")
        await s.record(Offered("1001", "call-2"), Talking("call-2"))  # while disconnected
        ws = await s.connect("admin", since=last)
        replayed = [json.loads(raw) for raw in await read_until(ws, "Talking")]
        assert [m["call_id"] for m in replayed] == ["call-2", "call-2"]
        assert (await hello(ws))["last_seq"] == replayed[-1]["seq"]
        await until(lambda: all(sub.sink is not None for sub in streams(s.hub)), "fast path")
        await s.record(Offered("1001", "call-3"), Talking("call-3"))
        live_raw = await read_until(ws, "Talking")
        live = [json.loads(raw) for raw in live_raw]
        assert [m["call_id"] for m in live] == ["call-3", "call-3"]
        seqs = [m["seq"] for m in first + replayed + live]
        assert seqs == sorted(set(seqs)) and seqs[0] > 0
        await ws.close()
        again = await s.connect("admin", since=replayed[-1]["seq"])
        assert await read_until(again, "Talking") == live_raw  # a live message == its replay
        await again.close()


async def test_a_client_that_stops_reading_is_queued_then_closed_4008(
    db_url: str, unused_tcp_port: int
) -> None:
    async with served(db_url, unused_tcp_port) as s:
        s.hub.queue_size = 20
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills soon
        sock.connect(("127.0.0.1", unused_tcp_port))
        sock.setblocking(False)
        ws = await s.connect("admin", sock=sock, max_queue=1)  # and stops reading soon
        await hello(ws)
        await until(lambda: all(sub.sink is not None for sub in streams(s.hub)), "fast path")
        (sub,) = streams(s.hub)
        sink = sub.sink
        assert isinstance(sink, events.TransportSink)
        payload = {"agent_id": "1001", "text": "x" * 16_000}
        seq, buffered = 10**6, 0
        while sub.sink is not None and seq < 10**6 + 5000:  # the hub writes until it cannot
            seq += 1
            s.hub.publish(seq, "Note", payload, None, 1001)
            buffered = max(buffered, sink.transport.get_write_buffer_size())
            await asyncio.sleep(0)
        assert sub.sink is None, "the transport never filled"
        frame = 16_100
        assert buffered <= events.HIGH_WATER + frame  # no more frames once above the mark
        while not sub.lagged:  # now queued, until the queue overflows
            seq += 1
            s.hub.publish(seq, "Note", payload, None, 1001)
        assert seq - 10**6 > 20
        seqs = []
        with pytest.raises(ConnectionClosed):
            while True:  # the client reads again: what was written and queued, then the close
                seqs.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["seq"])
        assert ws.close_code == 4008, (ws.close_code, ws.close_reason)
        assert ws.close_reason == f"too slow: resume with since={seqs[-1]}"
        assert seqs == list(range(10**6 + 1, seqs[-1] + 1))  # in order, no gap before since
