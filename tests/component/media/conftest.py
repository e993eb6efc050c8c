"""Fixtures for media component tests: an engine on a private port range, torn down cleanly."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.media.engine import MediaEngine


def port_base() -> int:
    """A per-process block of 120 ports, so parallel test runs (other engineers) rarely meet;
    when they do, the pool skips ports held elsewhere. The engine fixture uses the first 60."""
    return 40000 + (os.getpid() % 150) * 120


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[MediaEngine]:
    eng = MediaEngine(port_base(), port_base() + 59, cache_dir=tmp_path / "tts")
    yield eng
    await eng.close()
    assert eng.pool.in_use == 0
