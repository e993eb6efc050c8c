"""DTMF over RTP as named telephone events (RFC 4733 §2.3, §2.5; event codes of §3.2): the
receiver that turns event packets into digits, and the sender that produces the packets of
one digit.

Receiver: every packet of one event carries the same RTP timestamp (the event's start) and a
growing duration; the last one has the E bit and is sent three times (§2.5.1.4). A digit is
emitted ONCE, on the first end packet, with its duration; later copies and stale packets with
an earlier timestamp are dropped (duplicate suppression by timestamp). If the end packets are
all lost, the digit is still emitted when the next event starts or when ``poll(now)`` finds no
update for ``end_timeout`` seconds. ``emit_on_start=True`` emits at the first packet instead
(duration 0) for lower IVR latency; the end then only closes the event. Events 0-15 (0-9 * # A-D)
are digits; other events (flash, tones) are ignored.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from callcenter.rtp.packet import RtpPacket

__all__ = ["DIGITS", "DigitDetected", "DtmfError", "DtmfReceiver", "dtmf_packets", "event_of"]

DIGITS = "0123456789*#ABCD"
_EVENT = struct.Struct("!BBH")


class DtmfError(ValueError):
    """A malformed telephone-event payload or an unknown digit."""


@dataclass(frozen=True, slots=True)
class DigitDetected:
    """A DTMF digit was received (RFC 4733 or in-band); duration in milliseconds."""

    digit: str
    duration_ms: int


def event_of(digit: str) -> int:
    """RFC 4733 §3.2 event code of a digit (``*`` 10, ``#`` 11, ``A``-``D`` 12-15)."""
    code = DIGITS.find(digit.upper()) if len(digit) == 1 else -1
    if code < 0:
        raise DtmfError(f"not a DTMF digit: {digit!r}")
    return code


def _newer(a: int, b: int) -> bool:
    """RTP timestamp ``a`` is after ``b`` (serial-number arithmetic modulo 2**32)."""
    return a != b and (a - b) & 0xFFFFFFFF < 0x80000000


@dataclass(slots=True)
class _Event:
    timestamp: int
    digit: str | None
    duration: int
    updated: float
    emitted: bool


class DtmfReceiver:
    """Turns RFC 4733 event packets of one stream into ``DigitDetected`` events."""

    def __init__(
        self, clock_rate: int = 8000, *, emit_on_start: bool = False, end_timeout: float = 0.25
    ) -> None:
        self.clock_rate = clock_rate
        self.emit_on_start = emit_on_start
        self.end_timeout = end_timeout
        self._current: _Event | None = None
        self._ended: int | None = None  # timestamp of the last event whose end we saw

    def receive(self, packet: RtpPacket, now: float) -> list[DigitDetected]:
        """Feed one telephone-event packet; return the digits this completes (0, 1 or 2)."""
        if len(packet.payload) < 4:
            raise DtmfError("telephone-event payload shorter than 4 octets")
        event, flags, duration = _EVENT.unpack_from(packet.payload)
        ts = packet.timestamp
        if self._ended is not None and not _newer(ts, self._ended):
            return []  # a retransmitted end, or a packet of an event already finished
        out: list[DigitDetected] = []
        current = self._current
        if current is not None and current.timestamp != ts:
            if not _newer(ts, current.timestamp):
                return []  # late packet of an older event
            out += self._finish(current)  # the previous event lost its end packets
            current = None
        if current is None:
            digit = DIGITS[event] if event < len(DIGITS) else None
            current = self._current = _Event(ts, digit, duration, now, False)
            if self.emit_on_start and digit is not None:
                current.emitted = True
                out.append(DigitDetected(digit, 0))
        current.duration = max(current.duration, duration)
        current.updated = now
        if flags & 0x80:
            out += self._finish(current)
        return out

    def _finish(self, event: _Event) -> list[DigitDetected]:
        self._ended = event.timestamp
        self._current = None
        if event.emitted or event.digit is None:
            return []
        return [DigitDetected(event.digit, event.duration * 1000 // self.clock_rate)]

    def poll(self, now: float) -> list[DigitDetected]:
        """Close an event whose end packets never came (no update for ``end_timeout``)."""
        current = self._current
        if current is not None and now - current.updated >= self.end_timeout:
            return self._finish(current)
        return []

    def reset(self) -> None:
        """Forget all state (e.g. on an SSRC change)."""
        self._current = None
        self._ended = None


def dtmf_packets(
    digit: str,
    *,
    ssrc: int,
    sequence: int,
    timestamp: int,
    payload_type: int = 101,
    duration_ms: int = 100,
    interval_ms: int = 20,
    volume: int = 10,
    clock_rate: int = 8000,
) -> list[RtpPacket]:
    """The packets of one digit, to be sent one every ``interval_ms`` (RFC 4733 §2.5.1).

    The first has the marker bit; all share ``timestamp``; durations grow by the interval up to
    ``duration_ms``; the end packet (E bit) is sent three times, each copy with the next
    sequence number as any RTP packet must have, so callers advance their sequence by
    ``len(result)``.
    """
    code = event_of(digit)
    step = interval_ms * clock_rate // 1000
    total = max(step, duration_ms * clock_rate // 1000)
    durations = [*range(step, total, step), total]
    packets = []
    for i, dur in enumerate([*durations, total, total]):
        end = i >= len(durations) - 1
        payload = _EVENT.pack(code, (0x80 if end else 0) | (volume & 0x3F), dur)
        packets.append(
            RtpPacket(payload_type, (sequence + i) & 0xFFFF, timestamp, ssrc, payload, i == 0)
        )
    return packets
