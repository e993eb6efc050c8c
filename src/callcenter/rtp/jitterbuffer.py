"""Adaptive jitter buffer for one received RTP stream (the receiver side of RFC 3550 §6.4.1's
jitter; playout in the style of RFC 3550 §10 and RFC 5481 delay variation).

``push(packet, now)`` stores packets by extended RTP timestamp; ``pop(now)`` returns the frames
whose playout time has come, in timestamp order, as ``PlayoutFrame``s: a packet, or ``None``
when that frame was lost (the caller conceals it: repeat, fade or comfort noise). Playout time
of timestamp ``ts`` is ``anchor_time + (ts - anchor_ts) / clock_rate``; the anchor is set by the
first packet of a talkspurt (marker bit, first packet, SSRC change, resync) at ``now + delay``.

The delay adapts to the A.8-style jitter estimate: ``target = clamp(min_delay + jitter_factor *
jitter)``. It changes freely at talkspurt starts (a silence gap absorbs it); within a long
talkspurt it moves one frame at most every ``adapt_interval`` seconds, by holding playout one
tick (grow; ``pop`` returns nothing that tick) or skipping one frame (shrink). Late packets
(after their frame was played or concealed) and duplicates are counted and dropped; after
``max_concealed`` lost frames in a row with nothing buffered the buffer waits for the next
packet and re-anchors on it. Pure: the caller passes ``now`` (seconds, monotonic).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callcenter.rtp.packet import RtpPacket

__all__ = ["JitterBuffer", "JitterStats", "PlayoutFrame"]


@dataclass(frozen=True, slots=True)
class PlayoutFrame:
    """One frame due for playout; ``packet`` is None when it was lost (conceal it)."""

    timestamp: int
    packet: RtpPacket | None


@dataclass(slots=True)
class JitterStats:
    """Counters since the buffer was created."""

    pushed: int = 0
    played: int = 0
    concealed: int = 0
    late: int = 0
    duplicate: int = 0
    skipped: int = 0
    overflow: int = 0
    resets: int = 0


@dataclass(slots=True)
class JitterBuffer:
    """Reorders, de-duplicates and paces one RTP stream; adapts its delay to the jitter."""

    clock_rate: int = 8000
    frame_samples: int = 160
    min_delay: float = 0.02
    max_delay: float = 0.3
    initial_delay: float = 0.06
    jitter_factor: float = 3.0
    adapt_interval: float = 1.0
    max_concealed: int = 5
    capacity: int = 64
    stats: JitterStats = field(default_factory=JitterStats)
    delay: float = 0.0
    jitter: float = 0.0
    _packets: dict[int, RtpPacket] = field(default_factory=dict)
    _ssrc: int | None = None
    _last_ext: int | None = None
    _next: int | None = None
    _anchor: tuple[int, float] = (0, 0.0)
    _last_arrival: tuple[int, float] | None = None
    _concealed_run: int = 0
    _last_adapt: float = 0.0
    _primed: bool = False
    _horizon: int = -(1 << 62)  # frames before this extended timestamp are gone

    def __post_init__(self) -> None:
        self.delay = self.initial_delay

    @property
    def target_delay(self) -> float:
        """The delay the measured jitter asks for."""
        wanted = self.min_delay + self.jitter_factor * self.jitter
        return min(self.max_delay, max(self.min_delay, wanted))

    def __len__(self) -> int:
        return len(self._packets)

    def _extend(self, ts: int) -> int:
        if self._last_ext is None:
            ext = ts
        else:
            delta = (ts - self._last_ext) & 0xFFFFFFFF
            ext = self._last_ext + (delta - 0x100000000 if delta & 0x80000000 else delta)
        if self._last_ext is None or ext > self._last_ext:
            self._last_ext = ext
        return ext

    def reset(self) -> None:
        """Forget everything but the counters and the jitter estimate."""
        self._packets.clear()
        self._ssrc = self._last_ext = self._next = self._last_arrival = None
        self._horizon = -(1 << 62)
        self._concealed_run = 0
        self.stats.resets += 1

    def push(self, packet: RtpPacket, now: float) -> None:
        """Store one arriving packet."""
        if self._ssrc is not None and packet.ssrc != self._ssrc:
            self.reset()
        self._ssrc = packet.ssrc
        ext = self._extend(packet.timestamp)
        self.stats.pushed += 1
        if not packet.marker:  # a talkspurt gap is silence, not network jitter
            self._update_jitter(ext, now)
        else:
            self._last_arrival = (ext, now)
        span = int(self.max_delay * 4 * self.clock_rate)
        if self._next is not None and abs(ext - self._next) > span:
            self.reset()  # a timestamp jump (new source clock, long pause): start over
            self._ssrc, ext = packet.ssrc, self._extend(packet.timestamp)
        if ext >= self._horizon and (self._next is None or (packet.marker and not self._packets)):
            self._start_talkspurt(ext, now)
        if ext < self._horizon:
            self.stats.late += 1  # its frame was already played or concealed
            return
        if ext in self._packets:
            self.stats.duplicate += 1
            return
        if len(self._packets) >= self.capacity:
            self.stats.overflow += 1
            return
        self._packets[ext] = packet
        self._concealed_run = 0

    def _update_jitter(self, ext: int, now: float) -> None:
        if self._last_arrival is not None:
            prev_ext, prev_now = self._last_arrival
            d = (now - prev_now) - (ext - prev_ext) / self.clock_rate
            self.jitter += (abs(d) - self.jitter) / 16.0
        self._last_arrival = (ext, now)

    def _start_talkspurt(self, ext: int, now: float) -> None:
        if self._primed:
            self.delay = self.target_delay
        self._primed = True
        self._next = ext
        self._anchor = (ext, now + self.delay)
        self._last_adapt = now
        self._concealed_run = 0

    def _due(self, ext: int) -> float:
        anchor_ext, anchor_time = self._anchor
        return anchor_time + (ext - anchor_ext) / self.clock_rate

    def pop(self, now: float) -> list[PlayoutFrame]:
        """Frames whose playout time is ``<= now`` (usually one per 20 ms tick)."""
        out: list[PlayoutFrame] = []
        while self._next is not None and self._due(self._next) <= now:
            if self._adapt(now):
                break
            frame = self._take(self._next)
            if frame is None:
                break
            out.append(frame)
        return out

    def _take(self, ext: int) -> PlayoutFrame | None:
        packet = self._packets.pop(ext, None)
        self._next = self._horizon = ext + self.frame_samples
        if packet is not None:
            self.stats.played += 1
            self._concealed_run = 0
            return PlayoutFrame(packet.timestamp, packet)
        if not self._packets:
            self._concealed_run += 1
            if self._concealed_run > self.max_concealed:
                self._next = None  # the stream paused: re-anchor on the next packet
                return None
        self.stats.concealed += 1
        return PlayoutFrame(ext & 0xFFFFFFFF, None)

    def _adapt(self, now: float) -> bool:
        """Move the delay one frame toward the target; True when this tick is held."""
        if now - self._last_adapt < self.adapt_interval:
            return False
        frame = self.frame_samples / self.clock_rate
        target = self.target_delay
        anchor_ext, anchor_time = self._anchor
        if target > self.delay + frame / 2:
            self._last_adapt = now
            self.delay += frame
            self._anchor = (anchor_ext, anchor_time + frame)
            return True
        if target < self.delay - frame and self._next is not None and len(self._packets) > 1:
            self._last_adapt = now
            self.delay -= frame
            self._anchor = (anchor_ext, anchor_time - frame)
            skipped = self._packets.pop(self._next, None)
            self.stats.skipped += skipped is not None
            self._next += self.frame_samples
            self._horizon = self._next
        return False
