"""Call-progress tones and test signals as 16-bit PCM: the Chinese tone plan (YD/T 1161-style,
450 Hz: dial tone continuous, ringback 1 s on / 4 s off, busy 0.35 s / 0.35 s, congestion
0.7 s / 0.7 s, call waiting 0.4 s / 4 s), a beep, and DTMF digit tones (ITU-T Q.23 frequency
pairs) for tests and for in-band sending.

``ToneGenerator`` hands out frames of any size with the phase and the cadence carried across
frame boundaries, so the media player can pull 20 ms at a time. Levels are dBFS per frequency
component, where 0 dBFS is a full-scale sine. Output is little-endian PCM16 ``bytes`` (frames)
or int16 numpy arrays (whole tones). Pure numpy; no clock.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "BEEP",
    "BUSY",
    "CALL_WAITING",
    "CONGESTION",
    "DIAL_TONE",
    "DTMF_FREQUENCIES",
    "RINGBACK",
    "ToneGenerator",
    "TonePlan",
    "dtmf_tone",
    "tone",
]

ROWS = (697.0, 770.0, 852.0, 941.0)
COLUMNS = (1209.0, 1336.0, 1477.0, 1633.0)
_KEYPAD = ("123A", "456B", "789C", "*0#D")
DTMF_FREQUENCIES: dict[str, tuple[float, float]] = {
    key: (ROWS[r], COLUMNS[c]) for r, keys in enumerate(_KEYPAD) for c, key in enumerate(keys)
}
Samples = npt.NDArray[np.int16]


@dataclass(frozen=True, slots=True)
class TonePlan:
    """Frequencies summed, and a cadence of alternating on/off seconds (empty: continuous).

    With ``repeat=False`` the cadence plays once and the generator then yields silence.
    """

    frequencies: tuple[float, ...]
    cadence: tuple[float, ...] = ()
    repeat: bool = True


DIAL_TONE = TonePlan((450.0,))
RINGBACK = TonePlan((450.0,), (1.0, 4.0))
BUSY = TonePlan((450.0,), (0.35, 0.35))
CONGESTION = TonePlan((450.0,), (0.7, 0.7))
CALL_WAITING = TonePlan((450.0,), (0.4, 4.0))
BEEP = TonePlan((1000.0,), (0.25,), repeat=False)


def _amplitude(level_dbfs: float) -> float:
    return 32767.0 * float(10.0 ** (level_dbfs / 20.0))


def _to_int16(signal: npt.NDArray[np.float64]) -> Samples:
    return np.clip(np.rint(signal), -32768, 32767).astype(np.int16)


class ToneGenerator:
    """Pulls PCM16 frames of a ``TonePlan`` with continuous phase and cadence."""

    def __init__(self, plan: TonePlan, sample_rate: int = 8000, level_dbfs: float = -13.0) -> None:
        self.plan = plan
        self.sample_rate = sample_rate
        self.amplitude = _amplitude(level_dbfs)
        self.position = 0  # samples generated so far
        edges = np.cumsum([round(s * sample_rate) for s in plan.cadence])
        self._edges: npt.NDArray[np.int64] = edges.astype(np.int64)
        self._period = int(edges[-1]) if len(edges) else 0

    def _scaled(self, amplitude: float) -> ToneGenerator:
        self.amplitude = amplitude
        return self

    @property
    def finished(self) -> bool:
        """A non-repeating plan has played its cadence."""
        return not self.plan.repeat and self.position >= self._period

    def frame(self, samples: int = 160) -> bytes:
        """The next ``samples`` samples as little-endian PCM16."""
        cycle = _cycle(self.plan, self.sample_rate, self.amplitude)
        if cycle is None:
            return self._compute(samples)
        start = self.position
        self.position += samples
        if not self.plan.repeat:
            end = min(len(cycle), 2 * self.position)
            chunk = cycle[min(2 * start, end) : end]
            return chunk + bytes(2 * samples - len(chunk))
        size = len(cycle)
        offset = 2 * start % size
        out = cycle[offset : offset + 2 * samples]
        while len(out) < 2 * samples:
            out += cycle[: 2 * samples - len(out)]
        return out

    def _compute(self, samples: int) -> bytes:
        n = np.arange(self.position, self.position + samples, dtype=np.int64)
        self.position += samples
        t = n / self.sample_rate
        signal = np.zeros(samples)
        for f in self.plan.frequencies:
            signal += np.sin(2.0 * np.pi * f * t)
        signal *= self.amplitude
        if self._period:
            phase = n % self._period if self.plan.repeat else n
            segment = np.searchsorted(self._edges, phase, side="right")
            signal[segment % 2 == 1] = 0.0  # odd segments are the "off" parts of the cadence
        return _to_int16(signal).astype("<i2").tobytes()


@functools.lru_cache(maxsize=32)
def _cycle(plan: TonePlan, sample_rate: int, amplitude: float) -> bytes | None:
    """One whole cadence period (or one second of a steady tone) when every frequency fits
    it in whole cycles, so frames can be sliced from it with continuous phase; else None."""
    seconds = sum(plan.cadence) if plan.cadence else 1.0
    length = round(seconds * sample_rate)
    if any(
        abs(f * length / sample_rate - round(f * length / sample_rate)) > 1e-9
        for f in plan.frequencies
    ):
        return None
    return ToneGenerator(plan, sample_rate, 0.0)._scaled(amplitude)._compute(length)


def tone(
    frequencies: tuple[float, ...],
    duration_ms: float,
    level_dbfs: float = -13.0,
    sample_rate: int = 8000,
) -> Samples:
    """A steady tone (sum of sines, each at ``level_dbfs``) as int16 samples."""
    t = np.arange(round(duration_ms * sample_rate / 1000)) / sample_rate
    signal = sum((np.sin(2.0 * np.pi * f * t) for f in frequencies), np.zeros(len(t)))
    return _to_int16(signal * _amplitude(level_dbfs))


def dtmf_tone(
    digit: str,
    duration_ms: float = 100.0,
    *,
    level_dbfs: float = -10.0,
    twist_db: float = 0.0,
    sample_rate: int = 8000,
    frequency_error: float = 0.0,
) -> Samples:
    """The Q.23 tone pair of ``digit``; the column tone is ``twist_db`` louder than the row.

    ``frequency_error`` offsets both frequencies by that fraction (0.035 = +3.5 %), for tests.
    """
    low, high = DTMF_FREQUENCIES[digit.upper()]
    scale = 1.0 + frequency_error
    t = np.arange(round(duration_ms * sample_rate / 1000)) / sample_rate
    signal = np.sin(2.0 * np.pi * low * scale * t) * _amplitude(level_dbfs)
    signal += np.sin(2.0 * np.pi * high * scale * t) * _amplitude(level_dbfs + twist_db)
    return _to_int16(signal)
