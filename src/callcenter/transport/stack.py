"""The asyncio shell around the pure SIP user agent: sockets in, bytes out, one timer.

Every input (a datagram, a stream message, a timer, an application command) ends with
``kick()``: the user agent turns endpoint events into call events, the application's handler
sees them, the queued bytes are written to their sockets, and the single loop timer is moved
to the earliest deadline. UDP, TCP and TLS listeners on IPv4 and IPv6 share one user agent.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import ssl
from collections.abc import Callable
from typing import cast

from callcenter.logs import get_logger
from callcenter.sip.endpoint import Address
from callcenter.sip.framing import FramingError, StreamFramer
from callcenter.sip.ua import UaEvent, UserAgent

log = get_logger("callcenter.sip")
EventHandler = Callable[[list[UaEvent]], None]
# The kernel's default UDP receive buffer (~208 KB) holds ~200 SIP datagrams: at 1,500 calls/s
# a pause of a few hundred ms (a full garbage collection, a slow task) overflows it and every
# lost datagram comes back as a retransmission. 4 MB is the usual net.core.rmem_max cap.
UDP_RECEIVE_BUFFER = 4 * 1024 * 1024


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, stack: SipStack) -> None:
        self.stack = stack
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # uvloop's is no subclass

    def datagram_received(
        self, data: bytes, addr: tuple[str, int] | tuple[str, int, int, int]
    ) -> None:
        self.stack.received(data, Address("udp", addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        log.debug("sip.udp.error", error=str(exc))


class _Stream(asyncio.Protocol):
    def __init__(self, stack: SipStack, transport_name: str) -> None:
        self.stack = stack
        self.name = transport_name
        self.framer = StreamFramer()
        self.transport: asyncio.Transport | None = None
        self.address: Address | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        conn = next(self.stack.conn_ids)
        self.address = Address(self.name, peer[0], peer[1], conn)
        self.stack.connections[conn] = self

    def data_received(self, data: bytes) -> None:
        assert self.address is not None and self.transport is not None
        try:
            messages = self.framer.feed(data)
        except FramingError as exc:
            log.info("sip.stream.closed", peer=self.address.host, reason=str(exc))
            self.transport.close()
            return
        if self.framer.pings:
            self.framer.pings = 0
            self.transport.write(b"\r\n")
        for msg in messages:
            self.stack.received(msg, self.address)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.address is not None:
            self.stack.connections.pop(self.address.conn, None)
            self.stack.ua.endpoint.transport_failed(self.address, self.stack.now())
            self.stack.kick()


class SipStack:
    """Owns the sockets; feeds the user agent; flushes what it wants to send."""

    def __init__(self, ua: UserAgent, handler: EventHandler | None = None) -> None:
        self.ua = ua
        self.handler: EventHandler = handler or (lambda events: None)
        self.loop = asyncio.get_running_loop()
        self.udp: dict[int, _Udp] = {}  # by address family
        self.connections: dict[int, _Stream] = {}
        self.conn_ids = itertools.count(1)
        self.servers: list[asyncio.Server] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self.bound: dict[str, tuple[str, int]] = {}  # "udp4", "udp6", "tcp4", ... -> bind addr
        self._route_cache: dict[str, str] = {}
        ua.endpoint.local_resolver = self.local_for

    def local_for(self, dest: Address) -> tuple[str, int]:
        """The address and port a peer can reach us at (for Via and Contact)."""
        family = "6" if ":" in dest.host else "4"
        host, port = self.bound.get(dest.transport + family) or self.bound.get(
            dest.transport + "4", ("127.0.0.1", 5060)
        )
        if host in ("0.0.0.0", "::"):  # noqa: S104 - wildcard bind: ask the routing table
            host = self._route_cache.get(dest.host) or self._route_to(dest.host)
        return host, port

    def _route_to(self, peer: str) -> str:
        family = socket.AF_INET6 if ":" in peer else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((peer, 9))  # no packet is sent by connect() on UDP
                local = str(probe.getsockname()[0])
            except OSError:
                local = "::1" if family == socket.AF_INET6 else "127.0.0.1"
        self._route_cache[peer] = local
        return local

    def now(self) -> float:
        return self.loop.time()

    async def listen_udp(self, host: str, port: int) -> tuple[str, int]:
        transport, proto = await self.loop.create_datagram_endpoint(
            lambda: _Udp(self), local_addr=(host, port)
        )
        try:
            transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER
            )
        except OSError as exc:  # pragma: no cover - the kernel keeps its default
            log.warning("sip.udp.buffer", error=str(exc))
        sock = transport.get_extra_info("sockname")
        family = 6 if ":" in host else 4
        self.udp[family] = proto
        self.bound[f"udp{family}"] = (host, sock[1])
        return host, sock[1]

    async def listen_stream(
        self, host: str, port: int, tls: ssl.SSLContext | None = None
    ) -> tuple[str, int]:
        name = "tls" if tls is not None else "tcp"
        server = await self.loop.create_server(
            lambda: _Stream(self, name), host, port, ssl=tls, reuse_address=True
        )
        self.servers.append(server)
        sock = server.sockets[0].getsockname()
        self.bound[f"{name}{6 if ':' in host else 4}"] = (host, sock[1])
        return host, sock[1]

    def received(self, data: bytes, source: Address) -> None:
        self.ua.endpoint.receive(data, source, self.loop.time())
        self.kick()

    def kick(self) -> None:
        """Run the user agent, hand its events to the application, flush, re-arm the timer."""
        now = self.loop.time()
        ua = self.ua
        ua.process(now)
        if ua.events:
            events, ua.events = ua.events, []
            self.handler(events)
        self.flush()
        self._arm(ua.next_deadline())

    def flush(self) -> None:
        ep = self.ua.endpoint
        if not ep.outgoing:
            return
        out, ep.outgoing = ep.outgoing, []
        for data, dest in out:
            self._send(data, dest)

    def _send(self, data: bytes, dest: Address) -> None:
        if dest.transport == "udp":
            proto = self.udp.get(6 if ":" in dest.host else 4)
            if proto is not None and proto.transport is not None:
                proto.transport.sendto(data, (dest.host, dest.port))
            return
        conn = self.connections.get(dest.conn)
        if conn is None:
            conn = self._find_connection(dest)
        if conn is not None and conn.transport is not None and not conn.transport.is_closing():
            conn.transport.write(data)
        else:
            log.info("sip.stream.unreachable", peer=dest.host, port=dest.port)

    def _find_connection(self, dest: Address) -> _Stream | None:
        for conn in self.connections.values():
            a = conn.address
            if a is not None and (a.transport, a.host, a.port) == dest[:3]:
                return conn
        return None

    def _arm(self, deadline: float | None) -> None:
        if deadline is None:
            return
        if self._timer is not None and self._timer_at is not None and self._timer_at <= deadline:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self.loop.call_at(deadline, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        self.ua.handle_timer(self.loop.time())
        self.kick()

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for proto in self.udp.values():
            if proto.transport is not None:
                proto.transport.close()
        for conn in list(self.connections.values()):
            if conn.transport is not None:
                conn.transport.close()
        for server in self.servers:
            server.close()
            await server.wait_closed()
