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
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Query, WebSocket
from pydantic import BaseModel
from starlette.websockets import WebSocketDisconnect

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


class _Stream:
    def __init__(self, ws: WebSocket, ctx: Ctx, sub: Subscription) -> None:
        self.ws = ws
        self.ctx = ctx
        self.sub = sub
        self.last = 0

    async def send(self, ev: StreamEvent) -> None:
        if ev.seq > self.last:
            self.last = ev.seq
            if self.sub.visibility.allows(ev):
                await self.ws.send_text(ev.text)  # encoded once for every subscriber

    async def replay(self, since: int) -> None:
        log = self.ctx.deps.store.sync.events
        self.last = since
        while True:
            recs = await self.ctx.run(log.since, self.last, BATCH)
            for rec in recs:
                await self.send(StreamEvent.of(rec))
            if len(recs) < BATCH:
                return

    async def live(self) -> None:
        """Send live events, a keep-alive when idle; returns after closing a lagging client."""
        while True:
            try:  # (asyncio.timeout: no task per wait, unlike wait_for on Python 3.11)
                async with asyncio.timeout(KEEPALIVE):
                    ev = await self.sub.queue.get()
            except TimeoutError:
                await self.ws.send_json({"keepalive": {"last_seq": self.last}})
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
            s.last = await ctx.run(ctx.deps.store.sync.events.last_seq)
        else:
            await s.replay(since)
        await websocket.send_json({"hello": {"role": ctx.role, "last_seq": s.last}})
        await _serve(s)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away (a send on a closed socket)
    finally:
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
    if first[:1] == ["stopping"]:
        await s.ws.close(1001, "server shutting down")
