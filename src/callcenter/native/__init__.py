"""Optional native helpers: small C libraries loaded with ``ctypes`` (which releases the GIL
for the length of each call), for the few loops where the kernel work itself is the cost and
one core is not enough.

Each ``<name>.c`` here is built by ``make`` (gcc, when present) into
``build/native/lib<name>.so`` (like the media relay, ``callcenter/media/native``).
``library(name)`` loads it, or returns None when it is not built (no compiler), older than its
source, or cannot be loaded; every caller then keeps its pure-Python path, which
does the same thing more slowly. ``CALLCENTER_NATIVE=0`` turns them all off (A/B benchmarks,
tests of the Python path).
"""

from __future__ import annotations

import ctypes
import os
from functools import cache
from pathlib import Path

from callcenter.logs import get_logger

log = get_logger("callcenter.native")
HERE = Path(__file__).resolve().parent
BUILD = HERE.parents[2] / "build" / "native"  # the checkout's build/ (an editable install)


def enabled() -> bool:
    return os.environ.get("CALLCENTER_NATIVE", "1") != "0"


@cache
def library(name: str) -> ctypes.CDLL | None:
    """``lib<name>.so`` built from ``<name>.c``, or None (not built, stale, or turned off)."""
    path, source = BUILD / f"lib{name}.so", HERE / f"{name}.c"
    if not enabled():
        return None
    if not path.exists() or (source.exists() and source.stat().st_mtime > path.stat().st_mtime):
        log.info("native.not_built", library=name, path=str(path))
        return None
    try:
        return ctypes.CDLL(str(path))
    except OSError as exc:
        log.warning("native.load_failed", library=name, error=str(exc))
        return None
