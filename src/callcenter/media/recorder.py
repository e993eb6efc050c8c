"""Call recording to a stereo WAV file that is readable at every moment.

Channel 0 (left) is the caller, channel 1 (right) the agent: each channel is fed the decoded
audio of one direction (``feed``) and drained 160 samples per 20 ms tick, silence where nothing
arrived, so both channels stay aligned in time. The 44-byte RIFF header is written first with a
length of zero and rewritten every ``sync_every`` ticks (one second by default) and on stop: if
the process dies mid-call the file still opens with ``wave`` and holds all but the last second.
``compress`` turns a finished recording into MP3 or Opus with ffmpeg, after the call.
"""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

from callcenter.media.codec import FRAME, RATE, Pcm

_MAX_BACKLOG = RATE * 2  # bytes: half a second of int16 samples per channel


def wav_header(data_bytes: int, channels: int, rate: int = RATE) -> bytes:
    """The canonical PCM16 RIFF/WAVE header for ``data_bytes`` of sample data."""
    block = channels * 2
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,
        channels,
        rate,
        rate * block,
        block,
        16,
        b"data",
        data_bytes,
    )


class Recorder:
    """One recording; the engine ticks it and its taps feed it. Use ``MediaEngine.record``."""

    def __init__(self, path: Path, channels: int = 2, sync_every: int = 50) -> None:
        self.path = path
        self.channels = channels
        self.sync_every = sync_every
        self.paused = False
        self.stopped = False
        self.data_bytes = 0
        self._pending = [bytearray() for _ in range(channels)]
        self._ticks = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO | None = path.open("wb")
        self._file.write(wav_header(0, channels))
        self._file.flush()
        self.done: asyncio.Future[Path] = asyncio.get_running_loop().create_future()

    @property
    def seconds(self) -> float:
        return self.data_bytes / (2 * self.channels * RATE)

    def feed(self, channel: int, pcm: Pcm) -> None:
        if self.stopped:
            return
        buf = self._pending[channel]
        buf += pcm.astype("<i2", copy=False).tobytes()
        if len(buf) > _MAX_BACKLOG:
            del buf[: len(buf) - _MAX_BACKLOG]

    def pause(self) -> None:
        """Stop writing (e.g. while a card number is read out); time paused is left out."""
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        for buf in self._pending:
            buf.clear()

    def tick(self) -> None:
        if self.stopped or self._file is None:
            return
        frames = []
        for buf in self._pending:
            chunk = bytes(buf[: FRAME * 2])
            del buf[: FRAME * 2]
            frames.append(np.frombuffer(chunk.ljust(FRAME * 2, b"\0"), "<i2"))
        self._ticks += 1
        if not self.paused:
            block = np.stack(frames, axis=1).tobytes()
            self._file.write(block)
            self.data_bytes += len(block)
        if self._ticks % self.sync_every == 0:
            self._sync()

    def _sync(self) -> None:
        if self._file is None:
            return
        end = self._file.tell()
        self._file.seek(0)
        self._file.write(wav_header(self.data_bytes, self.channels))
        self._file.seek(end)
        self._file.flush()

    def stop(self) -> Path:
        """Finalise the header and close; idempotent."""
        if self._file is not None:
            self._sync()
            self._file.close()
            self._file = None
        self.stopped = True
        if not self.done.done():
            self.done.set_result(self.path)
        return self.path


async def compress(path: Path, fmt: str = "mp3", keep_wav: bool = True) -> Path:
    """Encode a finished recording with ffmpeg (``mp3`` or ``opus``); returns the new file."""
    codec = {"mp3": ["-codec:a", "libmp3lame", "-b:a", "32k"], "opus": ["-c:a", "libopus"]}
    if fmt not in codec:
        raise ValueError(f"unknown format {fmt!r}: use mp3 or opus")
    out = path.with_suffix(".ogg" if fmt == "opus" else ".mp3")
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(path),
        *codec[fmt],
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed on {path}: {err.decode(errors='replace').strip()}")
    if not keep_wav:
        path.unlink()
    return out
