"""The live event stream: one hub fed by the contact center, per-role visibility, resume.

``EventHub.publish`` is the contact center's listener (called on the loop, after each event is
in the storage event log, with its sequence number). Subscribers get a bounded queue; one that
falls behind is dropped and resumes from the log (``since``), so a slow client never slows the
server. ``Visibility`` decides what a caller may see, the same way for live and replayed
events: administrators see everything; an agent sees events that name its agent id and every
later event of a call it was offered; a supervisor sees the queues it is a member of (its
groups), their member agents and their calls, or everything when it is in no queue.
Business events (``business_events``): ticket events go to the members of the ticket's unit,
its creator and the actor (and to supervisors), customer events to call-center staff.
Each event is encoded to JSON once (``StreamEvent.text``), not once per subscriber, and framed
once as a WebSocket text frame (``StreamEvent.frame``). A live stream with nothing queued hands
its subscription a ``FrameSink`` (the connection's transport, ``routes/events.py``): ``publish``
then writes the frame to it in the call itself, no queue and no task wake-up per client. A sink
that is not ready (its write buffer above the high-water mark, or the socket closing) is
dropped on the spot and the event queued instead: the stream's task takes over, the slow way,
until it has caught up. With the native fan-out (``callcenter.native.fanout``, built by
``make``) ``publish`` first gathers every subscriber whose sink can take bytes straight away
(``FrameSink.direct_fd``: open, nothing buffered that the frame could overtake) and sends the
frame to all of them in one call spread over the cores, without the GIL; what a send did not
take goes to the transport (``FrameSink.finish``). Either way ``Subscription.last`` is the last
sequence number handled, so an event goes out at most once and in order.
When the server stops, ``EventHub.close`` asks every stream subscriber to close at once
(``Subscription.ended``) and ``wait_closed`` waits for them to be gone.
"""

from __future__ import annotations

import asyncio
import json
import struct
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from callcenter.api.business_events import CUSTOMER_EVENTS, TICKET_EVENTS
from callcenter.native.fanout import Fanout
from callcenter.storage.repos.events import EventRecord


@dataclass(frozen=True, slots=True)
class StreamEvent:
    seq: int
    type: str
    at: datetime
    call_id: str | None
    agent_id: int | None
    payload: dict[str, Any]
    _text: list[str] = field(default_factory=list, init=False, compare=False, repr=False)
    _frame: list[bytes] = field(default_factory=list, init=False, compare=False, repr=False)

    @property
    def text(self) -> str:
        """The JSON message, encoded once however many subscribers it is sent to."""
        if not self._text:
            self._text.append(json.dumps(self.to_json(), separators=(",", ":"), ensure_ascii=False))
        return self._text[0]

    @property
    def frame(self) -> bytes:
        """``text`` as one whole WebSocket text frame (server to client), built once."""
        if not self._frame:
            self._frame.append(text_frame(self.text.encode()))
        return self._frame[0]

    @classmethod
    def of(cls, rec: EventRecord) -> StreamEvent:
        return cls(rec.seq, rec.type, rec.at, rec.call_id, rec.agent_id, rec.payload)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "type": self.type,
            "at": self.at.isoformat(),
            "call_id": self.call_id,
            "agent_id": self.agent_id,
            "payload": self.payload,
        }


def text_frame(data: bytes) -> bytes:
    """An unmasked, unfragmented text frame (RFC 6455 §5.2): FIN + opcode 1, no RSV bits (no
    extension is negotiated), the payload length in 7, 7+16 or 7+64 bits, then the payload."""
    n = len(data)
    if n < 126:
        head = bytes((0x81, n))
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x81, 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 127, n)
    return head + data


class FrameSink(Protocol):
    """Where a subscriber's frames can be written straight away (a connection's transport)."""

    def ready(self) -> bool:
        """Open, and its write buffer below the high-water mark."""

    def write(self, frame: bytes) -> bool:
        """Write one whole frame if ``ready`` (True), else nothing (False); never blocks."""

    def direct_fd(self) -> int:
        """The socket's file descriptor when bytes may go straight to it now (open, nothing
        buffered before them), else -1."""

    def finish(self, frame: bytes, sent: int) -> None:
        """After a direct send that took ``sent`` bytes of ``frame`` (or -errno): hand the
        rest to the transport (which buffers it, or reports the broken connection)."""


def _agent_of(ev: StreamEvent) -> str | None:
    if ev.agent_id is not None:
        return str(ev.agent_id)
    value = ev.payload.get("agent_id")
    return value if isinstance(value, str) else None


@dataclass
class Visibility:
    """What one subscriber may see; stateful (it learns the calls of its agents)."""

    everything: bool = False
    agents: frozenset[str] = frozenset()
    queues: frozenset[str] = frozenset()
    calls: set[str] = field(default_factory=set)
    user: str | None = None  # username: its own ticket / customer events
    units: frozenset[int] = frozenset()  # ticket events of these units
    staff: bool = False  # customer events
    tickets_all: bool = False  # every ticket event (supervisors)

    def allows(self, ev: StreamEvent) -> bool:
        if self.everything:
            return True
        if ev.type in TICKET_EVENTS:
            p = ev.payload
            return (
                self.tickets_all
                or p.get("unit_id") in self.units
                or (self.user is not None and self.user in (p.get("created_by"), p.get("actor")))
            )
        if ev.type in CUSTOMER_EVENTS:
            return self.staff or (self.user is not None and self.user == ev.payload.get("actor"))
        agent = _agent_of(ev)
        queue = ev.payload.get("queue_id")
        mine = (agent is not None and agent in self.agents) or (
            isinstance(queue, str) and queue in self.queues
        )
        if mine and ev.call_id is not None:
            self.calls.add(ev.call_id)
            return True
        return mine or (ev.call_id is not None and ev.call_id in self.calls)


class Subscription:
    def __init__(self, visibility: Visibility, size: int, closable: bool = True) -> None:
        self.visibility = visibility
        self.queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue(size)
        self.lagged = False
        self.closable = closable  # a client stream, closed when the server stops
        self.ended = asyncio.Event()  # set: the server is stopping, close the stream
        self.last = 0  # the last sequence number handled (sent, or not visible)
        self.sink: FrameSink | None = None  # set by the stream while nothing is queued

    def offer(self, ev: StreamEvent) -> None:
        sink = self.sink
        if sink is not None:
            if ev.seq <= self.last:
                return
            if not self.visibility.allows(ev) or sink.write(ev.frame):
                self.last = ev.seq
                return
            self.sink = None  # slow or closing: queue, the stream's task takes over
        if self.lagged:
            return
        try:
            self.queue.put_nowait(ev)
        except asyncio.QueueFull:
            self.lagged = True  # the client resumes from the log after we close it: what
            while not self.queue.empty():  # is queued is dropped, not just the oldest (which
                self.queue.get_nowait()  # would leave a gap before since=<last sent>)
            self.queue.put_nowait(None)


class EventHub:
    def __init__(self, wall: Any, queue_size: int = 1000, fanout: Fanout | None = None) -> None:
        self.wall = wall
        self.queue_size = queue_size
        self.fanout = fanout  # the native multi-socket send, when built (see ``publish``)
        self.subscribers: set[Subscription] = set()
        self.last_seq = 0
        self.closed = False

    def publish(
        self,
        seq: int,
        kind: str,
        payload: dict[str, Any],
        call_id: str | None,
        agent_id: int | None,
        at: datetime | None = None,
    ) -> None:
        """The ``ContactCenter.listeners`` callback. ``at``: when the event happened (the event
        log's time, so a live message is the same as its replay); now when not given."""
        self.last_seq = max(self.last_seq, seq)
        ev = StreamEvent(seq, kind, self.wall() if at is None else at, call_id, agent_id, payload)
        fanout = self.fanout
        if fanout is None:
            for sub in list(self.subscribers):
                sub.offer(ev)
            return
        direct: list[tuple[Subscription, FrameSink]] = []
        fds: list[int] = []
        for sub in list(self.subscribers):
            sink = sub.sink
            if sink is not None and ev.seq > sub.last and sub.visibility.allows(ev):
                fd = sink.direct_fd()
                if fd >= 0:
                    direct.append((sub, sink))
                    fds.append(fd)
                    continue
            sub.offer(ev)
        if direct:
            frame = ev.frame
            whole = len(frame)
            for (sub, sink), sent in zip(direct, fanout.send(fds, frame), strict=True):
                sub.last = ev.seq
                if sent != whole:
                    sink.finish(frame, sent)

    def subscribe(self, visibility: Visibility, *, closable: bool = True) -> Subscription:
        """A subscriber; ``closable=False`` for in-process ones the server stops itself
        (webhooks), which ``close`` leaves alone."""
        sub = Subscription(visibility, self.queue_size, closable)
        if self.closed and closable:
            sub.ended.set()
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscribers.discard(sub)

    def close(self) -> None:
        """The server is stopping: every client stream (now and later) is asked to close."""
        self.closed = True
        for sub in self.subscribers:
            if sub.closable:
                sub.ended.set()

    async def wait_closed(self) -> None:
        """Until every client stream has unsubscribed (bound it with a timeout)."""
        while any(sub.closable for sub in self.subscribers):
            await asyncio.sleep(0.02)
