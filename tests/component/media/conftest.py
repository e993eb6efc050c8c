"""Fixtures for media component tests: an engine on a private port range, torn down cleanly."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.media.engine import MediaEngine


def _range() -> tuple[int, int]:
    # A per-process range so parallel test runs (pytest-xdist, other engineers) do not collide.
    base = 40000 + (os.getpid() % 200) * 100
    return base, base + 99


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[MediaEngine]:
    lo, hi = _range()
    eng = MediaEngine(lo, hi, cache_dir=tmp_path / "tts")
    yield eng
    await eng.close()
    assert eng.pool.in_use == 0
