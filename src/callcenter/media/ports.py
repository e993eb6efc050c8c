"""RTP/RTCP port pairs from a configured range: even port for RTP, the next odd one for RTCP.

RFC 3550 §11: "For UDP and similar protocols, RTP SHOULD use an even destination port number
and the corresponding RTCP stream SHOULD use the next higher (odd) destination port number".
The pool owns which pairs are free; ``bind_pair`` binds both sockets and hands the pair back to
the pool on every failure path, so a port is never leaked. A pair that another process already
holds is skipped and retried later (it goes to the back of the free list).
"""

from __future__ import annotations

import errno
import socket
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


class PortsExhaustedError(Exception):
    """Every pair of the range is in use (or held by another process)."""


@dataclass(frozen=True)
class PortPair:
    rtp: int

    @property
    def rtcp(self) -> int:
        return self.rtp + 1


class PortPool:
    """Free even ports of ``[port_min, port_max]`` whose odd neighbour is also in range."""

    def __init__(self, port_min: int, port_max: int) -> None:
        first = port_min + (port_min % 2)
        if first + 1 > port_max:
            raise ValueError(f"port range {port_min}-{port_max} holds no even/odd pair")
        self.port_min = port_min
        self.port_max = port_max
        self._free: deque[int] = deque(range(first, port_max, 2))
        self._used: set[int] = set()
        self.size = len(self._free)

    @property
    def in_use(self) -> int:
        return len(self._used)

    @property
    def available(self) -> int:
        return len(self._free)

    def allocate(self) -> PortPair:
        if not self._free:
            raise PortsExhaustedError(f"no free RTP port in {self.port_min}-{self.port_max}")
        port = self._free.popleft()
        self._used.add(port)
        return PortPair(port)

    def release(self, pair: PortPair) -> None:
        """Give a pair back; releasing twice is an error (it would hand one pair to two legs)."""
        if pair.rtp not in self._used:
            raise ValueError(f"port {pair.rtp} is not allocated")
        self._used.remove(pair.rtp)
        self._free.append(pair.rtp)

    @contextmanager
    def pair(self) -> Iterator[PortPair]:
        """Allocate for the block's duration: released however the block ends."""
        pair = self.allocate()
        try:
            yield pair
        finally:
            self.release(pair)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _bind_both(host: str, pair: PortPair) -> tuple[socket.socket, socket.socket] | None:
    """Both sockets of ``pair``, or None when a port is taken elsewhere (nothing left open).

    Other errors (an address this host does not have) are raised: trying more ports would
    not help.
    """
    try:
        rtp = _bind(host, pair.rtp)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return None
        raise
    try:
        rtcp = _bind(host, pair.rtcp)
    except BaseException as exc:
        rtp.close()
        if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
            return None
        raise
    return rtp, rtcp


def bind_pair(pool: PortPool, host: str) -> tuple[PortPair, socket.socket, socket.socket]:
    """Allocate a pair and bind RTP and RTCP sockets on ``host``; skip pairs held elsewhere.

    A pair that cannot be bound goes back to the pool before the next is tried; the pair
    returned is released by the caller (``PortPool.release``) when it closes the sockets.
    """
    for _ in range(pool.size):
        pair = pool.allocate()
        try:
            socks = _bind_both(host, pair)
        except BaseException:
            pool.release(pair)
            raise
        if socks is None:
            pool.release(pair)
            continue
        return pair, socks[0], socks[1]
    raise PortsExhaustedError(f"no bindable RTP port pair in {pool.port_min}-{pool.port_max}")
