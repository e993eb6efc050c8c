"""The native fast path of the plain relay: ``relay.c`` through ``ctypes``.

``MediaEngine`` hands a bridged pair to its ``NativeRelay`` when both legs would take the plain
relay (``Endpoint._handle_relay``); one native thread per engine then forwards their RTP with
recvmmsg/sendmmsg, never touching Python, and does what the Python handler does (checks,
latching, counters, RFC 3550 receive statistics, telephone-events copied back to Python). Any
change to the pair's wiring takes it back first (``detach``): the native state (counters,
latched address, statistics) flows into the ``Endpoint`` and Python reads the sockets again,
so nothing is lost. RTCP stays in Python: it reads the native statistics under the library's
lock when it builds a report (``with_stats``).

Which path: ``native_relay`` = ``auto`` (the default: native when the library loads), ``on``
(native, an error if the library does not load) or ``off``; the engine's argument, else the
environment variable ``CALLCENTER_NATIVE_RELAY``. The library is built by ``make`` (venv step)
into ``build/native/librelay.so`` and found like every native helper (``callcenter.native``:
not loaded when missing, older than ``relay.c``, or ``CALLCENTER_NATIVE=0``).
``CALLCENTER_NATIVE_RELAY_COALESCE_US`` (default 500, 0: off): after handling fewer than 64
ready sockets the thread pauses that long, so that under load each wake-up handles more.
"""

from __future__ import annotations

import ctypes
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from callcenter import native
from callcenter.logs import get_logger
from callcenter.rtp.stats import SourceStats

if TYPE_CHECKING:
    from callcenter.media.endpoint import Endpoint

log = get_logger("callcenter.media.native")

MAX_SRC = 4
SOURCE = Path(__file__).resolve().with_name("relay.c")
ENV_MODE = "CALLCENTER_NATIVE_RELAY"
ENV_COALESCE = "CALLCENTER_NATIVE_RELAY_COALESCE_US"
COALESCE_US = 500  # default pause after a light epoll batch (see relay.c, ccr_new)
MODES = ("auto", "on", "off")
T = TypeVar("T")


_I64 = ctypes.c_int64
_SRC_FIELDS = (
    "ssrc", "max_seq", "cycles", "base_seq", "bad_seq", "probation", "received",
    "expected_prior", "received_prior", "octets", "has_transit", "transit",
)  # fmt: skip
_LEG_FIELDS = (
    "id", "te_pt", "has_stats", "latched", "has_remote", "port", "packets_in", "packets_out",
    "errors", "active",
)  # fmt: skip


class CSrc(ctypes.Structure):
    """``struct ccr_src``: one SSRC's ``SourceStats`` (without lsr/sr_arrival)."""

    _fields_ = [*((name, _I64) for name in _SRC_FIELDS), ("jitter", ctypes.c_double)]


class CLeg(ctypes.Structure):
    """``struct ccr_leg``: one leg's state as handed over and taken back."""

    _fields_ = [
        *((name, _I64) for name in _LEG_FIELDS),
        ("host", ctypes.c_char * 64),
        ("src", CSrc * MAX_SRC),
    ]


class _State:
    lib: ctypes.CDLL | None = None
    load_error: str | None = None
    announced = False


def load_library() -> ctypes.CDLL | None:
    """The library, loaded once; None (and ``load_error()`` says why) when it cannot be."""
    if _State.lib is not None or _State.load_error is not None:
        return _State.lib
    lib = native.library("relay", SOURCE)
    if lib is None:
        _State.load_error = native.load_error("relay")
        return None
    p, leg = ctypes.c_void_p, ctypes.POINTER(CLeg)
    lib.ccr_new.argtypes, lib.ccr_new.restype = [ctypes.c_int, ctypes.c_int], p
    lib.ccr_free.argtypes, lib.ccr_free.restype = [p], None
    lib.ccr_attach.argtypes = [p, ctypes.c_int, ctypes.c_int, leg, leg]
    lib.ccr_detach.argtypes = [p, ctypes.c_int, leg, leg]
    lib.ccr_get.argtypes = [p, ctypes.c_int, ctypes.c_int, leg]
    lib.ccr_set_priors.argtypes = [p, ctypes.c_int, ctypes.c_int, leg]
    lib.ccr_lock.argtypes, lib.ccr_lock.restype = [p], None
    lib.ccr_unlock.argtypes, lib.ccr_unlock.restype = [p], None
    lib.ccr_stats_feed.argtypes = [leg, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_double]
    lib.ccr_stats_feed.restype = None
    lib.ccr_packets.argtypes, lib.ccr_packets.restype = [p], ctypes.c_uint64
    if lib.ccr_leg_size() != ctypes.sizeof(CLeg) or lib.ccr_max_src() != MAX_SRC:
        _State.load_error = "librelay.so built from another relay.c (struct layout differs)"
        return None
    _State.lib = lib
    return lib


def load_error() -> str | None:
    return _State.load_error


def wanted(mode: str | None) -> bool:
    """Whether an engine uses the native relay: ``mode`` (or the environment) and the library."""
    mode = (mode or os.environ.get(ENV_MODE) or "auto").strip().lower()
    if mode not in MODES:
        raise ValueError(f"native_relay must be one of {', '.join(MODES)}, not {mode!r}")
    lib = None if mode == "off" else load_library()
    if mode == "on" and lib is None:
        raise RuntimeError(f"native_relay = on but the library does not load: {_State.load_error}")
    if not _State.announced:
        _State.announced = True
        if lib is not None:
            log.info("media.relay_path", path="native", mode=mode)
        else:
            reason = _State.load_error or "off"
            log.info("media.relay_path", path="python", mode=mode, reason=reason)
    return lib is not None


def new_leg() -> CLeg:
    leg = CLeg()
    for k in range(MAX_SRC):
        leg.src[k].ssrc = -1
    leg.active = -1
    return leg


def stats_to_c(rx_sources: dict[int, SourceStats], active: int | None, leg: CLeg) -> bool:
    """Copy the Python statistics into ``leg``; False when there are too many sources."""
    if len(rx_sources) > MAX_SRC:
        return False
    for k, (ssrc, s) in enumerate(rx_sources.items()):
        c = leg.src[k]
        c.ssrc, c.max_seq, c.cycles, c.base_seq = ssrc, s.max_seq, s.cycles, s.base_seq
        c.bad_seq, c.probation, c.received = s.bad_seq, s.probation, s.received
        c.expected_prior, c.received_prior, c.octets = s.expected_prior, s.received_prior, s.octets
        c.has_transit, c.transit = s.transit is not None, s.transit or 0
        c.jitter = s.jitter
        if ssrc == active:
            leg.active = k
    return True


def stats_from_c(leg: CLeg, rx_sources: dict[int, SourceStats], clock_rate: int) -> int | None:
    """Write ``leg``'s statistics into the Python sources (kept: lsr, sr_arrival); returns
    the active SSRC."""
    for k in range(MAX_SRC):
        c = leg.src[k]
        if c.ssrc < 0:
            continue
        s = rx_sources.get(c.ssrc)
        if s is None:
            s = rx_sources[c.ssrc] = SourceStats(clock_rate)
        s.max_seq, s.cycles, s.base_seq, s.bad_seq = c.max_seq, c.cycles, c.base_seq, c.bad_seq
        s.probation, s.received, s.octets = c.probation, c.received, c.octets
        s.expected_prior, s.received_prior = c.expected_prior, c.received_prior
        s.transit = c.transit if c.has_transit else None
        s.jitter = c.jitter
    return int(leg.src[leg.active].ssrc) if leg.active >= 0 else None


class NativeRelay:
    """One native relay thread for one engine (built by the engine inside its running loop)."""

    def __init__(self, lib: ctypes.CDLL, loop_add_reader: Callable[..., object]) -> None:
        self.lib = lib
        self._events, events_c = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._events.setblocking(False)
        events_c.setblocking(False)
        self._events_c = events_c
        coalesce = int(os.environ.get(ENV_COALESCE) or COALESCE_US)
        handle = lib.ccr_new(events_c.fileno(), coalesce)
        if not handle:
            self._events.close()
            events_c.close()
            raise OSError("ccr_new failed")
        self._h = ctypes.c_void_p(handle)
        self.legs: dict[int, Endpoint] = {}  # attached legs by endpoint id
        self.pairs = 0
        loop_add_reader(self._events.fileno(), self.read_events)

    @property
    def events_fd(self) -> int:
        return self._events.fileno()

    def attach(self, a: Endpoint, b: Endpoint) -> bool:
        """Take over the pair's RTP sockets; False (nothing changed) when it cannot."""
        ca, cb = a.native_export(), b.native_export()
        if ca is None or cb is None or a.transport is None or b.transport is None:
            return False
        slot = self.lib.ccr_attach(self._h, a.transport.fd, b.transport.fd, ca, cb)
        if slot < 0:
            return False
        a.native_attached(self, slot, 0)
        b.native_attached(self, slot, 1)
        self.legs[a.id], self.legs[b.id] = a, b
        self.pairs += 1
        return True

    def detach(self, ep: Endpoint) -> None:
        """Give ``ep``'s pair back to Python (both legs), with everything the thread counted."""
        slot, side = ep.native_slot, ep.native_side
        other = ep.peer if ep.peer is not None and ep.peer.native_slot == slot else None
        if other is None:
            other = next(
                (e for e in self.legs.values() if e is not ep and e.native_slot == slot), None
            )
        ca, cb = CLeg(), CLeg()
        self.lib.ccr_detach(self._h, slot, ctypes.byref(ca), ctypes.byref(cb))
        self.pairs -= 1
        self.read_events()  # telephone-events the thread sent before letting go
        mine, theirs = (ca, cb) if side == 0 else (cb, ca)
        for leg, state in ((ep, mine), (other, theirs)):
            if leg is None:
                continue
            self.legs.pop(leg.id, None)
            leg.native_detached(state)

    def with_stats(self, ep: Endpoint, fn: Callable[[], T]) -> T:
        """Bring ``ep``'s native state into Python, run ``fn`` (an RTCP report, figures) and
        write back what it changed, all under the library lock."""
        state = CLeg()
        self.lib.ccr_lock(self._h)
        try:
            self.lib.ccr_get(self._h, ep.native_slot, ep.native_side, ctypes.byref(state))
            ep.native_absorb(state)
            result = fn()
            if ep.rtcp is not None:  # the A.3 priors a report moved, for the native sources
                rx = ep.rtcp.rx.sources
                native = (state.src[k].ssrc for k in range(MAX_SRC))
                back = new_leg()
                stats_to_c({c: rx[c] for c in native if c >= 0 and c in rx}, None, back)
                self.lib.ccr_set_priors(self._h, ep.native_slot, ep.native_side, back)
        finally:
            self.lib.ccr_unlock(self._h)
        return result

    def read_events(self) -> None:
        """Telephone-event packets the thread relayed: to the leg's ``on_event`` (DTMF)."""
        while True:
            try:
                msg = self._events.recv(4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            eid = int.from_bytes(msg[:4], sys.byteorder, signed=True)
            ep = self.legs.get(eid)
            if ep is not None and ep.on_event is not None:
                ep.on_event(ep, msg[4:])

    def packets(self) -> int:
        return int(self.lib.ccr_packets(self._h))

    def close(self, loop_remove_reader: Callable[[int], object]) -> None:
        for ep in list(self.legs.values()):
            if ep.native_slot >= 0:
                self.detach(ep)
        loop_remove_reader(self._events.fileno())
        self.lib.ccr_free(self._h)
        self._events.close()
        self._events_c.close()


def feed_stats(leg: CLeg, packet: bytes, now: float) -> None:
    """The native statistics of one packet at ``now`` (tests compare it with ``LegRtcp``)."""
    lib = load_library()
    assert lib is not None
    lib.ccr_stats_feed(ctypes.byref(leg), packet, len(packet), now)


__all__ = ["CLeg", "NativeRelay", "feed_stats", "load_library", "new_leg", "wanted"]
