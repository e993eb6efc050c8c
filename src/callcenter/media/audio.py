"""Prompt audio as 8 kHz mono int16 arrays: WAV loading and resampling, tones, default MOH.

Any WAV the stdlib ``wave`` module reads (8/16/24/32-bit PCM, any rate, any channel count) is
mixed down to mono and resampled in numpy (FFT band-limited resampling, so no aliasing); other
files (A-law/µ-law WAV, MP3, FLAC) are converted once with sox. Loaded prompts are kept in an
in-memory cache keyed by path and modification time. ``tone`` builds call-progress tones with a
cadence (ITU-T E.180 style on/off lists); ``default_moh`` synthesises a soft looping chord
sequence so music on hold exists without shipping a file.
"""

from __future__ import annotations

import asyncio
import io
import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

from callcenter.media.codec import RATE, Pcm


class AudioError(Exception):
    """A prompt file that cannot be read or converted."""


def _to_float(raw: bytes, width: int) -> npt.NDArray[np.float64]:
    if width == 1:
        return (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) * 256.0
    if width == 2:
        return np.frombuffer(raw, "<i2").astype(np.float64)
    if width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v & 0x800000, v - 0x1000000, v)
        return v.astype(np.float64) / 256.0
    if width == 4:
        return np.frombuffer(raw, "<i4").astype(np.float64) / 65536.0
    raise AudioError(f"unsupported sample width {width}")


def resample(x: npt.NDArray[np.float64], src_rate: int, dst_rate: int) -> npt.NDArray[np.float64]:
    """Band-limited resampling by zero-padding/truncating the spectrum."""
    if src_rate == dst_rate or len(x) == 0:
        return x
    n_out = max(1, round(len(x) * dst_rate / src_rate))
    spectrum = np.fft.rfft(x)
    keep = min(len(spectrum), n_out // 2 + 1)
    out = np.fft.irfft(spectrum[:keep], n_out)
    return out * (n_out / len(x))


def to_pcm(x: npt.NDArray[np.float64]) -> Pcm:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def decode_wav(data: bytes) -> Pcm:
    """A WAV file's bytes as 8 kHz mono int16; raises ``AudioError`` for non-PCM WAV."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise AudioError(str(exc)) from exc
    samples = _to_float(raw, width)
    if channels > 1:
        samples = samples[: len(samples) - len(samples) % channels]
        samples = samples.reshape(-1, channels).mean(axis=1)
    return to_pcm(resample(samples, rate, RATE))


def encode_wav(pcm: Pcm, rate: int = RATE) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())
    return buf.getvalue()


async def sox_to_wav(path: Path) -> bytes:
    """Convert any file sox reads to 8 kHz mono 16-bit WAV bytes."""
    proc = await asyncio.create_subprocess_exec(
        "sox",
        str(path),
        "-t",
        "wav",
        "-r",
        str(RATE),
        "-c",
        "1",
        "-b",
        "16",
        "-e",
        "signed-integer",
        "-",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise AudioError(f"sox cannot read {path}: {err.decode(errors='replace').strip()}")
    return out


class PromptCache:
    """Decoded prompts by (path, mtime): a file is read and converted once."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], Pcm] = {}

    def __len__(self) -> int:
        return len(self._cache)

    async def load(self, path: Path) -> Pcm:
        try:
            key = (str(path), path.stat().st_mtime_ns)
        except OSError as exc:
            raise AudioError(f"cannot read prompt {path}: {exc}") from exc
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        data = await asyncio.to_thread(path.read_bytes)
        try:
            pcm = decode_wav(data)
        except AudioError:
            pcm = decode_wav(await sox_to_wav(path))
        self._cache[key] = pcm
        return pcm


def silence(ms: int) -> Pcm:
    return np.zeros(RATE * ms // 1000, np.int16)


def tone(
    freqs: tuple[float, ...], ms: int, level_dbfs: float = -13.0, cadence: tuple[int, ...] = ()
) -> Pcm:
    """Sum of sines at ``level_dbfs`` each; ``cadence`` is on/off ms pairs repeated over ``ms``."""
    n = RATE * ms // 1000
    t = np.arange(n) / RATE
    amp = 32767.0 * 10 ** (level_dbfs / 20)
    x = sum((amp * np.sin(2 * np.pi * f * t) for f in freqs), np.zeros(n))
    if cadence:
        period = sum(cadence)
        pos = (np.arange(n) * 1000 // RATE) % period
        on = np.zeros(n, bool)
        start = 0
        for i, length in enumerate(cadence):
            if i % 2 == 0:
                on |= (pos >= start) & (pos < start + length)
            start += length
        x = np.where(on, x, 0.0)
    return to_pcm(x)


def default_moh(seconds: int = 16) -> Pcm:
    """A calm I-vi-IV-V progression of soft sine chords with smooth envelopes; loops cleanly."""
    chords = [(261.63, 329.63, 392.0), (220.0, 261.63, 329.63), (174.61, 220.0, 261.63)]
    chords.append((196.0, 246.94, 293.66))
    per = seconds * RATE // 4
    t = np.arange(per) / RATE
    fade = np.minimum(1.0, np.minimum(np.arange(per), per - 1 - np.arange(per)) / (RATE * 0.15))
    env = 0.6 + 0.4 * np.sin(np.pi * np.arange(per) / per)
    env = env * np.sin(np.pi / 2 * fade) ** 2
    parts = []
    for chord in chords:
        x = sum(np.sin(2 * np.pi * f * t) * (0.6**k) for k, f in enumerate(chord))
        bass = 0.5 * np.sin(np.pi * chord[0] * t)
        parts.append((x + bass) * env)
    music = np.concatenate(parts)
    return to_pcm(music / np.max(np.abs(music)) * 32767 * 10 ** (-18 / 20))
