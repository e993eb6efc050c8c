"""Text-to-speech with espeak-ng, cached on disk as 8 kHz mono 16-bit WAV.

Mandarin is spoken with the voice ``cmn-latn-pinyin`` (the ``cmn``/``zh`` voices read most
characters through English) and English with ``en``. Text is normalised first (Chinese numbers
and amounts, via ``callcenter.ivr.textnorm`` when that module is present, or any function the
composition root passes in), then the file is found in the cache by the SHA-256 of (voice,
normalised text), or made by ``espeak-ng --stdout | sox`` and renamed into place atomically, so
a reader never sees half a file. Concurrent requests for one prompt share one synthesis.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import os
import re
from collections.abc import Callable
from pathlib import Path

from callcenter.media.codec import RATE

Normaliser = Callable[[str], str]
MANDARIN = "cmn-latn-pinyin"
ENGLISH = "en"
_CJK = re.compile(r"[\u3400-\u9fff]")


class TtsError(Exception):
    """espeak-ng or sox failed."""


def voice_for(text: str, language: str | None = None) -> str:
    """``zh``/``cmn`` → Mandarin voice, ``en`` → English; by default from the script used."""
    if language is not None:
        lang = language.lower()
        if lang in {"zh", "cmn", "zh-cn", MANDARIN}:
            return MANDARIN
        return lang
    return MANDARIN if _CJK.search(text) else ENGLISH


def default_normaliser() -> Normaliser:
    """``callcenter.ivr.textnorm``'s normaliser when it exists, else whitespace cleanup."""
    try:
        module = importlib.import_module("callcenter.ivr.textnorm")
    except ImportError:
        module = None
    for name in ("normalize", "normalise", "normalize_text", "normalise_text"):
        fn = getattr(module, name, None)
        if callable(fn):
            return _checked(fn)
    return _squash


def _checked(fn: Callable[..., object]) -> Normaliser:
    def run(text: str) -> str:
        out = fn(text)
        return out if isinstance(out, str) else text

    return run


def _squash(text: str) -> str:
    return " ".join(text.split())


class Tts:
    """Prompt files for text: ``await tts.synth("您好", "zh") -> Path``."""

    def __init__(self, cache_dir: Path, normaliser: Normaliser | None = None) -> None:
        self.cache_dir = cache_dir
        self.normalise = normaliser or default_normaliser()
        self._pending: dict[str, asyncio.Future[Path]] = {}
        self.synthesised = 0

    def text_for(self, text: str, voice: str) -> str:
        """What is spoken: Chinese number reading applies to the Mandarin voice only."""
        return self.normalise(text) if voice == MANDARIN else _squash(text)

    def path_for(self, text: str, voice: str) -> Path:
        key = hashlib.sha256(f"{voice}\0{self.text_for(text, voice)}".encode()).hexdigest()
        return self.cache_dir / key[:2] / f"{key}.wav"

    async def synth(self, text: str, language: str | None = None) -> Path:
        voice = voice_for(text, language)
        path = self.path_for(text, voice)
        if path.exists():
            return path
        pending = self._pending.get(str(path))
        if pending is not None:
            return await asyncio.shield(pending)
        fut: asyncio.Future[Path] = asyncio.get_running_loop().create_future()
        self._pending[str(path)] = fut
        try:
            await self._make(self.text_for(text, voice), voice, path)
        except asyncio.CancelledError:
            fut.cancel()
            raise
        except Exception as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved here: waiters, if any, get it too
            raise
        else:
            fut.set_result(path)
        finally:
            del self._pending[str(path)]
        return path

    async def _make(self, text: str, voice: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        wav = await _run(["espeak-ng", "-v", voice, "--stdout", text], b"")
        out = await _run(
            ["sox", "-t", "wav", "-", "-r", str(RATE), "-c", "1", "-b", "16", "-t", "wav", "-"],
            wav,
        )
        tmp.write_bytes(out)
        tmp.replace(path)
        self.synthesised += 1


async def _run(argv: list[str], stdin: bytes) -> bytes:
    # With nothing to write, stdin is /dev/null: a pipe that the process closes before we
    # write to it makes uvloop raise "the handler is closed" (seen under load, bench/inbound).
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise TtsError(f"{argv[0]} cannot start: {exc}") from exc
    try:
        out, err = await proc.communicate(stdin or None)
    except (RuntimeError, OSError) as exc:  # the pipe broke under us: report, do not crash
        raise TtsError(f"{argv[0]} failed: {exc}") from exc
    if proc.returncode != 0 or not out:
        raise TtsError(f"{argv[0]} failed: {err.decode(errors='replace').strip()}")
    return out
