"""Uploaded prompt audio: any file sox (or, failing that, ffmpeg) decodes becomes the IVR's
own format, 8 kHz mono 16-bit PCM WAV. The result is checked with the stdlib ``wave`` module;
a file neither tool understands, or one without audio, raises ``AudioError`` with a message a
person can act on.
"""

from __future__ import annotations

import asyncio
import io
import wave
from pathlib import Path

from callcenter.media.audio import AudioError
from callcenter.media.codec import RATE

MIN_SECONDS = 0.1
MAX_SECONDS = 600.0
TIMEOUT = 60.0  # seconds a converter may run


async def _convert(argv: list[str]) -> tuple[bytes, str]:
    """Run a converter; (its standard output, its error text); empty output on failure."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        return b"", f"{argv[0]} cannot start: {exc}"
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return b"", f"{argv[0]} took longer than {TIMEOUT:.0f} s"
    text = err.decode(errors="replace").strip().splitlines()
    if proc.returncode != 0:
        return b"", text[-1] if text else f"{argv[0]} failed"
    return out, ""


def _sox(src: Path) -> list[str]:
    return ["sox", "-V1", str(src), "-t", "wav", "-r", str(RATE), "-c", "1", "-b", "16",
            "-e", "signed-integer", "-"]  # fmt: skip


def _ffmpeg(src: Path) -> list[str]:
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(src),
            "-vn", "-ac", "1", "-ar", str(RATE), "-acodec", "pcm_s16le", "-f", "wav",
            "-bitexact", "-"]  # fmt: skip


def check_wav(data: bytes) -> float:
    """The duration of an 8 kHz mono 16-bit WAV; ``AudioError`` when it is not one or has no
    usable length."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            shape = (w.getnchannels(), w.getsampwidth(), w.getframerate())
            frames = w.getnframes()
            raw = w.readframes(frames)
    except (wave.Error, EOFError) as exc:
        raise AudioError(f"the converted audio is not a WAV file: {exc}") from exc
    if shape != (1, 2, RATE):
        raise AudioError(f"the converted audio is {shape}, not 8 kHz mono 16-bit")
    seconds = len(raw) / 2 / RATE
    if seconds < MIN_SECONDS:
        raise AudioError("the file holds no audio (shorter than 0.1 s)")
    if seconds > MAX_SECONDS:
        raise AudioError(
            f"the audio is {seconds:.0f} s long; a prompt may last {MAX_SECONDS:.0f} s"
        )
    return seconds


async def to_prompt_wav(src: Path) -> tuple[bytes, float]:
    """``src`` converted to 8 kHz mono 16-bit WAV bytes, and its duration in seconds."""
    problems = []
    for argv in (_sox(src), _ffmpeg(src)):
        out, err = await _convert(argv)
        if not out:
            problems.append(f"{argv[0]}: {err or 'no output'}")
            continue
        # ffmpeg writes to a pipe: its RIFF sizes are unknown, so re-read the frames
        data = _rewrap(out)
        return data, check_wav(data)
    raise AudioError("not an audio file sox or ffmpeg can read (" + "; ".join(problems) + ")")


def _rewrap(data: bytes) -> bytes:
    """A WAV written to a pipe (sizes left as 0 or -1) as a well-formed file: the samples are
    everything after the ``data`` chunk's header (the converters were told the format)."""
    if not data.startswith(b"RIFF") or data[8:12] != b"WAVE":
        return data
    at = 12
    while at + 8 <= len(data):
        chunk, size = data[at : at + 4], int.from_bytes(data[at + 4 : at + 8], "little")
        if chunk == b"data":
            pcm = data[at + 8 :]
            break
        at += 8 + size + size % 2
    else:
        return data
    pcm = pcm[: len(pcm) - len(pcm) % 2]
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return buf.getvalue()
