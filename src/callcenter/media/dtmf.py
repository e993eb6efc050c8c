"""RFC 4733 telephone-event packets on a leg turned into one event per key press.

RFC 4733 §2.5.1: a key press is a series of packets sharing one RTP timestamp, the last three
carrying the E (end) bit; §2.5.1.2 allows lost starts, so the first packet of a new timestamp
is the "began" moment (used for barge-in) and the first E-bit packet of it the "ended" moment
(reported with its duration in ms). Retransmitted end packets are ignored. The parse is the
4-octet payload of §2.3 and nothing more.

Legs whose remote offered no telephone-event get an ``InbandTap`` instead: the decoded audio
goes through ``callcenter.rtp.inband.InbandDtmfDetector`` (Q.23 tone pairs) and each digit it
finds is reported the same way, began and ended at once after the tone stops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from callcenter.rtp.inband import InbandDtmfDetector

EVENTS = "0123456789*#ABCD"


@dataclass(frozen=True)
class DtmfBegan:
    digit: str


@dataclass(frozen=True)
class DtmfEnded:
    digit: str
    duration_ms: int


DtmfEvent = DtmfBegan | DtmfEnded


class TelephoneEventTracker:
    """Per-leg state: the timestamp of the event in progress and whether it ended."""

    def __init__(self, emit: Callable[[DtmfEvent], None]) -> None:
        self.emit = emit
        self._ts: int | None = None
        self._ended = False

    def packet(self, data: bytes, offset: int = 12) -> None:
        """Feed one telephone-event RTP packet (``offset``: where its payload starts)."""
        if len(data) < offset + 4:
            return
        event = data[offset]
        if event >= len(EVENTS):
            return  # tones and line events (§3.2 of RFC 4734) are not digits
        digit = EVENTS[event]
        ts = int.from_bytes(data[4:8], "big")
        end = bool(data[offset + 1] & 0x80)
        duration = int.from_bytes(data[offset + 2 : offset + 4], "big")
        if ts != self._ts:
            self._ts = ts
            self._ended = False
            self.emit(DtmfBegan(digit))
        if end and not self._ended:
            self._ended = True
            self.emit(DtmfEnded(digit, duration // 8))


class InbandTap:
    """A leg tap (decoded 20 ms frames in) that reports in-band DTMF digits.

    Frames are handed to the detector ``batch`` at a time: its numpy work costs about the same
    for one frame as for ten (~23 µs vs ~45 µs per call), so a digit is reported up to
    ``batch`` × 20 ms later than it could be, for a fifth of the CPU.
    """

    def __init__(self, emit: Callable[[DtmfEvent], None], batch: int = 10) -> None:
        self.emit = emit
        self.batch = batch
        self.detector = InbandDtmfDetector()
        self._frames: list[npt.NDArray[np.int16]] = []

    def __call__(self, ep: object, pcm: npt.NDArray[np.int16]) -> None:
        self._frames.append(pcm)
        if len(self._frames) < self.batch:
            return
        samples = np.concatenate(self._frames)
        self._frames.clear()
        for found in self.detector.process(samples):
            self.emit(DtmfBegan(found.digit))
            self.emit(DtmfEnded(found.digit, found.duration_ms))
