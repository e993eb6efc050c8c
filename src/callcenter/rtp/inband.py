"""In-band DTMF detection in 16-bit PCM (ITU-T Q.23 frequencies, Q.24-style acceptance), with
a single-bin DFT (the Goertzel quantity computed as one numpy matrix product per batch).

Each 160-sample window (20 ms at 8 kHz, one every 10 ms) is measured at the 8 DTMF
frequencies and at ±4 % of each. A window carries a digit when: the strongest row and column
tones are each above ``min_level_dbfs``; their twist is within ``max_twist_db``; each beats the
other tones of its group by ``relative_peak_db``; each is closer to the nominal frequency than
to ±4 % (so tones within about ±1.5 % are accepted and those ±3.5 % off rejected); and the two
tones hold at least ``min_tone_fraction`` of the window's energy (speech and noise spread
theirs; a window only half filled by a tone fails this too). A digit starts after
``min_windows`` (3) equal windows - a 20 ms tone fills at most two windows, a 40 ms tone at
least three whatever its alignment - tolerates one odd window, ends after two (a 40 ms pause
always separates two digits), and is emitted once at its end with its duration. Pure numpy;
PCM in, ``DigitDetected`` out.
"""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

from callcenter.rtp.dtmf import DigitDetected
from callcenter.rtp.tones import COLUMNS, ROWS

__all__ = ["InbandDtmfDetector"]

_KEYPAD = "123A456B789C*0#D"
_SIDE = 0.04
Floats = npt.NDArray[np.float64]


@functools.cache
def _basis(window: int, sample_rate: int) -> Floats:
    """Columns: cos then sin at each probe frequency, so one product gives both parts.

    Cached: every detector with the same window shares one read-only matrix (it used to be
    built per call, a measurable share of call setup)."""
    nominal = np.array(ROWS + COLUMNS)
    freqs = np.concatenate([nominal, nominal * (1 - _SIDE), nominal * (1 + _SIDE)])
    angle = 2.0 * np.pi * np.outer(np.arange(window), freqs) / sample_rate
    basis = np.concatenate([np.cos(angle), np.sin(angle)], axis=1)
    basis.setflags(write=False)
    return basis


class InbandDtmfDetector:
    """Detects DTMF digits in a stream of PCM16 (little-endian bytes or int16 arrays)."""

    def __init__(
        self,
        sample_rate: int = 8000,
        *,
        min_level_dbfs: float = -42.0,
        max_twist_db: float = 8.0,
        relative_peak_db: float = 6.0,
        min_tone_fraction: float = 0.55,
        min_windows: int = 3,
    ) -> None:
        self.window = sample_rate // 50  # 20 ms
        self.hop = self.window // 2  # 10 ms
        self.hop_ms = 10
        self._basis = _basis(self.window, sample_rate)
        self._probes = self._basis.shape[1] // 2
        amplitude = 32767.0 * 10.0 ** (min_level_dbfs / 20.0)
        self._min_energy = amplitude * amplitude * self.window / 2.0
        self._twist = 10.0 ** (max_twist_db / 10.0)
        self._peak = 10.0 ** (relative_peak_db / 10.0)
        self._fraction = min_tone_fraction
        self._min_windows = min_windows
        self._pending: Floats = np.zeros(0)
        self._candidate: str | None = None
        self._count = 0
        self._active: str | None = None
        self._active_windows = 0
        self._misses = 0

    def classify(self, windows: Floats) -> list[str | None]:
        """The digit (or None) of each row of ``windows`` (shape: count x 160 at 8 kHz)."""
        parts = windows @ self._basis
        parts *= parts
        half = self._probes
        energy = (parts[:, :half] + parts[:, half:]) * (2.0 / self.window)
        row = energy[:, 0:4].max(axis=1)
        col = energy[:, 4:8].max(axis=1)
        # Cheap vector gate first: most windows are silence or speech and stop here.
        total = np.einsum("ij,ij->i", windows, windows)
        gate = (row >= self._min_energy) & (col >= self._min_energy)
        gate &= row + col >= self._fraction * total
        found: list[str | None] = [None] * len(windows)
        for i in np.flatnonzero(gate):
            found[i] = self._check(energy[i].tolist())
        return found

    def _check(self, e: list[float]) -> str | None:
        """Twist, relative peak and off-frequency checks of one gated window."""
        r = max(range(4), key=e.__getitem__)
        c = max(range(4, 8), key=e.__getitem__)
        er, ec = e[r], e[c]
        if ec > er * self._twist or er > ec * self._twist:
            return None
        others = [e[k] for k in range(8) if k not in (r, c)]
        if max(others[:3]) * self._peak > er or max(others[3:]) * self._peak > ec:
            return None
        if min(er - e[r + 8], er - e[r + 16], ec - e[c + 8], ec - e[c + 16]) < 0:
            return None  # closer to ±4 % than to the nominal frequency
        return _KEYPAD[4 * r + c - 4]

    def process(self, pcm: bytes | npt.NDArray[np.int16]) -> list[DigitDetected]:
        """Feed any number of samples; return the digits that ended within them."""
        raw = np.frombuffer(pcm, "<i2") if isinstance(pcm, bytes | bytearray) else pcm
        samples = np.concatenate([self._pending, raw.astype(np.float64)])
        count = (len(samples) - self.window) // self.hop + 1 if len(samples) >= self.window else 0
        self._pending = samples[count * self.hop :]
        if not count:
            return []
        hops = samples[: (count + 1) * self.hop].reshape(-1, self.hop)
        windows = np.concatenate([hops[:-1], hops[1:]], axis=1)  # window = two adjacent hops
        out: list[DigitDetected] = []
        for digit in self.classify(windows):
            out += self._step(digit)
        return out

    def _step(self, digit: str | None) -> list[DigitDetected]:
        if digit is not None and digit == self._candidate:
            self._count += 1
        else:
            self._candidate, self._count = digit, 1
        if self._active is not None:
            if digit == self._active:
                self._active_windows += 1 + self._misses
                self._misses = 0
                return []
            self._misses += 1
            if self._misses < 2:
                return []
            return self._end()
        if self._candidate is not None and self._count >= self._min_windows:
            self._active, self._active_windows, self._misses = self._candidate, self._count, 0
        return []

    def _end(self) -> list[DigitDetected]:
        assert self._active is not None
        # a window counts while the tone fills most of it: about one window per 10 ms of tone
        ms = self._active_windows * self.hop_ms
        found = DigitDetected(self._active, ms)
        self._active, self._active_windows, self._misses = None, 0, 0
        return [found]

    def flush(self) -> list[DigitDetected]:
        """End of stream: emit a digit still sounding and drop buffered samples."""
        self._pending = np.zeros(0)
        self._candidate, self._count = None, 0
        return self._end() if self._active is not None else []
