"""Event routes: the WebSocket stream (live, filtered per role, resumable) and the log pages.

``/api/v1/events/ws?since=<seq>`` replays the stored events after ``since`` (the storage event
log, whose ``seq`` only grows), then sends live events in order, never one twice; without
``since`` it starts live. Messages are ``{"seq", "type", "at", "call_id", "agent_id",
"payload"}``, preceded by one ``{"hello": {"role", "last_seq"}}`` once replay is done. A client
that falls behind is closed with code 4008 and resumes with ``since`` = the last seq it saw.
After 20 s without events a ``{"keepalive": {"last_seq"}}`` message goes out. What the client
sends is read (and ignored) all along, so a client that closes is noticed at once and its
subscription ends; when the server stops, every stream is closed at once with code 1001
(``EventHub.close``, called by ``api/server.py``). Authentication is the session cookie or
``Authorization: Bearer``; without it the socket is closed with 4401.

The fast path: under uvicorn's ``websockets-sansio`` protocol (what ``--ws auto`` picks) the
hub writes each event's ready-made frame straight to the connection's transport
(``TransportSink``, found from the ASGI ``receive`` callable, a method of the protocol object),
while the stream is live and nothing is queued for it. The library writes whole frames in one
``transport.write`` too (pings, pongs, close), so frames never interleave. The slow path (the
queue and ``send_text``) stays for replay, for a client whose transport buffer is above
``HIGH_WATER`` until it has caught up, and for any other server (the test client, wsproto).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Query, WebSocket
from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnect
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from callcenter.api.errors import ERROR_RESPONSES
from callcenter.api.routes.agent import view_or_none
from callcenter.api.routes.tickets import business_visibility
from callcenter.api.schemas import EventOut
from callcenter.api.security import ADMIN, ROLES, SUPERVISOR, Ctx, require, require_ws
from callcenter.api.stream import EventHub, StreamEvent, Subscription, Visibility

router = APIRouter(prefix="/api/v1/events", tags=["events"], responses=ERROR_RESPONSES)
Anyone = Annotated[Ctx, Depends(require(*ROLES))]
WsCtx = Annotated[Ctx, Depends(require_ws(*ROLES))]
Seq = Annotated[int | None, Query(ge=0, le=2**62)]
BATCH = 500
KEEPALIVE = 20.0  # seconds without events before a keep-alive message
HIGH_WATER = 64 * 1024  # bytes waiting in a transport above which its events are queued
# write frames straight to uvicorn's transports; CALLCENTER_WS_FAST_PATH=0 turns it off (the
# A/B of bench/api.py --slow-path; tests turn it off to compare)
FAST_PATH = os.environ.get("CALLCENTER_WS_FAST_PATH", "1") != "0"


class EventPage(BaseModel):
    items: list[EventOut]
    next_since: int


async def visibility_for(ctx: Ctx) -> Visibility:
    """Administrators: all; agents: their own; supervisors: their queues (or all); and the
    ticket and customer events each may see (``tickets.business_visibility``)."""
    return await business_visibility(ctx, await _call_visibility(ctx))


async def _call_visibility(ctx: Ctx) -> Visibility:
    if ctx.role == ADMIN:
        return Visibility(everything=True)
    store = ctx.deps.store.sync
    agent = await ctx.run(store.agents.get_by_user, ctx.user.id)
    if agent is None:
        return Visibility()
    own = str(agent.agent_id)
    calls = set()
    view = view_or_none(ctx, own)
    if view is not None and view.call_id is not None:
        calls.add(view.call_id)
    if ctx.role != SUPERVISOR:
        return Visibility(agents=frozenset({own}), calls=calls)
    groups = [m.queue for m in await ctx.run(store.queues.queues_of, agent.agent_id)]
    if not groups:
        return Visibility(everything=True)
    members = {own}
    for queue in groups:
        members.update(str(m.agent_id) for m in await ctx.run(store.queues.members, queue))
    return Visibility(agents=frozenset(members), queues=frozenset(groups), calls=calls)


def _out(ev: StreamEvent) -> EventOut:
    return EventOut(
        seq=ev.seq,
        type=ev.type,
        at=ev.at,
        call_id=ev.call_id,
        agent_id=ev.agent_id,
        payload=ev.payload,
    )


@router.get("", response_model=EventPage)
async def events(
    ctx: Anyone,
    since: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    type: Annotated[str | None, Query(max_length=64)] = None,
) -> EventPage:
    """Stored events after ``since`` that the caller may see (``next_since`` to page on)."""
    vis = await visibility_for(ctx)
    log = ctx.deps.store.sync.events
    recs = await ctx.run(log.since, since, limit)
    items = [
        _out(ev)
        for ev in map(StreamEvent.of, recs)
        if vis.allows(ev) and (type is None or ev.type == type)
    ]
    return EventPage(items=items, next_since=recs[-1].seq if recs else since)


class TransportSink:
    """A ``FrameSink`` on a uvicorn ``websockets-sansio`` connection: its transport, while the
    WebSocket is open and neither side has started closing it."""

    def __init__(self, proto: WebSocketsSansIOProtocol) -> None:
        self.proto = proto
        self.transport = proto.transport
        sock = self.transport.get_extra_info("socket")
        self.fd: int = sock.fileno() if sock is not None else -1

    @classmethod
    def of(cls, ws: WebSocket) -> TransportSink | None:
        """The sink of this socket's connection, or None when the server is another one or an
        extension (compression) is negotiated. ``receive`` is the protocol's own method: the
        middlewares wrap ``send`` but hand ``receive`` through."""
        proto = getattr(getattr(ws, "_receive", None), "__self__", None)
        if not FAST_PATH or not isinstance(proto, WebSocketsSansIOProtocol):
            return None
        if proto.conn.extensions or proto.conn.state is not State.OPEN:
            return None
        return cls(proto)

    def ready(self) -> bool:
        # uvicorn sets close_sent when the app or the library sends a close frame (or fails
        # the connection), and closes the transport when the client's close frame arrives
        p, t = self.proto, self.transport
        return not (
            p.close_sent
            or p.disconnected
            or t.is_closing()
            or t.get_write_buffer_size() > HIGH_WATER
        )

    def write(self, frame: bytes) -> bool:
        p, t = self.proto, self.transport  # (ready() inlined: this runs per client per event)
        if (
            p.close_sent
            or p.disconnected
            or t.is_closing()
            or t.get_write_buffer_size() > HIGH_WATER
        ):
            return False
        t.write(frame)
        return True

    def direct_fd(self) -> int:
        p, t = self.proto, self.transport
        if p.close_sent or p.disconnected or t.is_closing() or t.get_write_buffer_size():
            return -1  # (bytes in the transport's buffer must go first: no direct send)
        return self.fd

    def finish(self, frame: bytes, sent: int) -> None:
        self.transport.write(frame[sent:] if sent > 0 else frame)


class _Stream:
    def __init__(self, ws: WebSocket, ctx: Ctx, sub: Subscription) -> None:
        self.ws = ws
        self.ctx = ctx
        self.sub = sub
        self.sink = TransportSink.of(ws)

    @property
    def last(self) -> int:
        return self.sub.last

    async def send(self, ev: StreamEvent) -> None:
        if ev.seq > self.sub.last:
            self.sub.last = ev.seq
            if self.sub.visibility.allows(ev):
                await self.ws.send_text(ev.text)  # encoded once for every subscriber

    async def replay(self, since: int) -> None:
        log = self.ctx.deps.store.sync.events
        self.sub.last = since
        while True:
            recs = await self.ctx.run(log.since, self.sub.last, BATCH)
            for rec in recs:
                await self.send(StreamEvent.of(rec))
            if len(recs) < BATCH:
                return

    async def live(self) -> None:
        """Send live events, a keep-alive when idle; returns after closing a lagging client.
        While nothing is queued the hub writes the events itself (``sub.sink``); an event it
        could not write is queued and wakes this task, which sends it and what follows the
        slow way until the queue is empty and the transport ready again."""
        sub = self.sub
        while True:
            sink = self.sink
            if sink is not None and sub.sink is None and sub.queue.empty() and sink.ready():
                sub.sink = sink
            before = sub.last
            try:  # (asyncio.timeout: no task per wait, unlike wait_for on Python 3.11)
                async with asyncio.timeout(KEEPALIVE):
                    ev = await sub.queue.get()
            except TimeoutError:
                if sub.last == before:  # nothing written by the hub meanwhile either
                    await self.ws.send_json({"keepalive": {"last_seq": sub.last}})
                continue
            if ev is None:
                await self.ws.close(4008, f"too slow: resume with since={self.last}")
                return
            await self.send(ev)


@router.websocket("/ws")
async def stream(websocket: WebSocket, ctx: WsCtx, since: Seq = None) -> None:
    await websocket.accept()
    if ctx.principal is None:
        message = "a session cookie or bearer token is needed"
        await websocket.send_json({"error": {"code": "unauthenticated", "message": message}})
        await websocket.close(4401, "unauthenticated")
        return
    hub: EventHub = websocket.app.state.hub
    sub = hub.subscribe(await visibility_for(ctx))
    s = _Stream(websocket, ctx, sub)
    try:
        if since is None:
            sub.last = await ctx.run(ctx.deps.store.sync.events.last_seq)
        else:
            await s.replay(since)
        await websocket.send_json({"hello": {"role": ctx.role, "last_seq": s.last}})
        await _serve(s)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away (a send on a closed socket)
    finally:
        sub.sink = None
        hub.unsubscribe(sub)


async def _client_closed(ws: WebSocket) -> None:
    """Read (and ignore) what the client sends until it closes the socket."""
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass


async def _serve(s: _Stream) -> None:
    """Live events until the first of: the client closes, the server stops (close 1001), or
    the client lags (``live`` closes it with 4008). An anyio task group, so the request's own
    cancellation (the server dropping the connection) goes through as usual."""
    first: list[str] = []

    async with anyio.create_task_group() as tg:

        async def until(name: str, fn: Callable[[], Awaitable[object]]) -> None:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await fn()  # these: a send on a closed socket, the client went away
            first.append(name)
            tg.cancel_scope.cancel()

        tg.start_soon(until, "live", s.live)
        tg.start_soon(until, "client", partial(_client_closed, s.ws))
        tg.start_soon(until, "stopping", s.sub.ended.wait)
    s.sub.sink = None  # nothing written past the library's close frame
    if first[:1] == ["stopping"]:
        await s.ws.close(1001, "server shutting down")
