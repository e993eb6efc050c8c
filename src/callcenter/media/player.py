"""Prompt playback on a leg: sources resolved to audio, then paced out 20 ms per tick.

A prompt source is a WAV path, ``Say`` (text-to-speech), ``Tone``, ``Silence``, ``Moh`` or a raw
int16 array; ``Player.resolve`` turns a list of them into one 8 kHz array before the first frame
goes out, so playback never waits on a file or a subprocess. A ``PlayJob`` is the leg's frame
source: it hands one 160-sample frame per tick, loops when asked (music on hold), and ends with a
``PlayResult`` telling whether it finished, was interrupted by a DTMF digit (barge-in) or was
stopped.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from callcenter.media.audio import PromptCache, default_moh, silence, tone
from callcenter.media.codec import FRAME, Pcm
from callcenter.media.tts import Tts


@dataclass(frozen=True)
class Say:
    """Text spoken by TTS; ``language`` "zh" or "en" (None: guessed from the script)."""

    text: str
    language: str | None = None


@dataclass(frozen=True)
class Tone:
    freqs: tuple[float, ...]
    ms: int
    level_dbfs: float = -13.0
    cadence: tuple[int, ...] = ()


@dataclass(frozen=True)
class Silence:
    ms: int


@dataclass(frozen=True)
class Moh:
    """Music on hold: the configured file, or the generated default."""


PromptSource = str | Path | Say | Tone | Silence | Moh | Pcm


class PlayOutcome(enum.Enum):
    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    STOPPED = "stopped"


@dataclass(frozen=True)
class PlayResult:
    outcome: PlayOutcome
    digit: str | None = None
    played_ms: int = 0


class Player:
    """Resolves prompt sources (files cached in memory, TTS cached on disk)."""

    def __init__(self, tts: Tts, moh_file: Path | None = None) -> None:
        self.tts = tts
        self.cache = PromptCache()
        self.moh_file = moh_file
        self._moh: Pcm | None = None

    async def resolve(self, sources: Sequence[PromptSource]) -> Pcm:
        parts = [await self._one(src) for src in sources]
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)

    async def _one(self, src: PromptSource) -> Pcm:
        if isinstance(src, np.ndarray):
            return src.astype(np.int16, copy=False)
        if isinstance(src, str | Path):
            return await self.cache.load(Path(src))
        if isinstance(src, Say):
            return await self.cache.load(await self.tts.synth(src.text, src.language))
        if isinstance(src, Tone):
            return tone(src.freqs, src.ms, src.level_dbfs, src.cadence)
        if isinstance(src, Silence):
            return silence(src.ms)
        return await self._music()

    async def _music(self) -> Pcm:
        if self.moh_file is not None:
            return await self.cache.load(self.moh_file)
        if self._moh is None:
            self._moh = default_moh()
        return self._moh


class PlayJob:
    """The frame source of one playback; ``done`` resolves with its ``PlayResult``."""

    def __init__(self, audio: Pcm, loop: bool, interruptible: bool) -> None:
        pad = (-len(audio)) % FRAME
        self.audio = np.concatenate([audio, np.zeros(pad, np.int16)]) if pad else audio
        self.loop = loop and len(self.audio) > 0
        self.interruptible = interruptible
        self.pos = 0
        self.frames = 0
        self.done: asyncio.Future[PlayResult] = asyncio.get_running_loop().create_future()

    def next_frame(self, ep: object) -> Pcm | None:
        if self.done.done():
            return None
        if self.pos >= len(self.audio):
            if not self.loop:
                self.finish(PlayOutcome.FINISHED)
                return None
            self.pos = 0
        frame = self.audio[self.pos : self.pos + FRAME]
        self.pos += FRAME
        self.frames += 1
        return frame

    def finish(self, outcome: PlayOutcome, digit: str | None = None) -> None:
        if not self.done.done():
            self.done.set_result(PlayResult(outcome, digit, self.frames * 20))
