"""Audio checks for end-to-end calls: write tone files, find tones in what a phone heard.

A phone plays a WAV of known tones into a call; what it receives is recorded to another WAV.
``tone_track`` cuts a recording into short windows and takes the loudest FFT bin and the RMS
level of each (numpy); ``heard_sequence`` collapses that into the steady tones heard, in
order, so a test can assert that a sequence went round (echo) or across (phone to phone)
without depending on delays, jitter or the codec (G.711, RFC 3551 §4.5.14).
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

RATE = 8000


def write_tone(
    path: Path, steps: Sequence[tuple[float, float]], amplitude: float = 0.5, rate: int = RATE
) -> None:
    """A 16-bit mono WAV: each step is (frequency Hz, seconds); 0 Hz is silence."""
    parts = []
    for freq, seconds in steps:
        t = np.arange(int(seconds * rate)) / rate
        parts.append(amplitude * np.sin(2 * np.pi * freq * t) if freq else np.zeros(t.size))
    samples = np.concatenate(parts) if parts else np.zeros(0)
    pcm = np.round(samples * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def read_wav(path: Path) -> tuple[int, NDArray[np.float64]]:
    """Sample rate and samples scaled to [-1, 1] (first channel)."""
    with wave.open(str(path), "rb") as src:
        rate, channels = src.getframerate(), src.getnchannels()
        raw = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
    return rate, raw[::channels].astype(np.float64) / 32768.0


@dataclass(frozen=True)
class Window:
    """One analysis window: when it starts, its loudest frequency and its level."""

    start: float
    freq: float
    dbfs: float


def tone_track(path: Path, window: float = 0.05) -> list[Window]:
    """The dominant frequency and RMS level of each ``window``-second slice of a WAV."""
    rate, samples = read_wav(path)
    size = int(rate * window)
    hann = np.hanning(size)
    out = []
    for begin in range(0, samples.size - size + 1, size):
        chunk = samples[begin : begin + size]
        rms = float(np.sqrt(np.mean(chunk**2)))
        spectrum = np.abs(np.fft.rfft(chunk * hann))
        freq = float(np.argmax(spectrum[1:]) + 1) * rate / size
        out.append(Window(begin / rate, freq, 20 * np.log10(max(rms, 1e-9))))
    return out


def tone_runs(
    track: Sequence[Window], min_dbfs: float = -30, tolerance: float = 25
) -> list[tuple[float, int]]:
    """Collapse a track into (frequency, windows) runs of audible, steady tone."""
    runs: list[tuple[float, int]] = []
    for w in track:
        freq = w.freq if w.dbfs >= min_dbfs else 0.0
        if runs and abs(runs[-1][0] - freq) <= tolerance and (freq > 0) == (runs[-1][0] > 0):
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((freq, 1))
    return runs


def heard_sequence(track: Sequence[Window], min_windows: int = 4) -> list[float]:
    """The tones heard for at least ``min_windows`` windows in a row, in order (0 = silence)."""
    return [f for f, n in tone_runs(track) if n >= min_windows]


def contains_in_order(heard: Sequence[float], wanted: Sequence[float], tol: float = 25) -> bool:
    """Whether ``wanted`` occurs in ``heard`` as consecutive entries."""
    for i in range(len(heard) - len(wanted) + 1):
        if all(abs(heard[i + k] - f) <= tol for k, f in enumerate(wanted)):
            return True
    return False
