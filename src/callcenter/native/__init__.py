"""Optional native helpers: small C libraries loaded with ``ctypes`` (which releases the GIL
for the length of each call), for the few loops where the kernel work itself is the cost and
one core is not enough.

Each ``<name>.c`` here is built by ``make`` (gcc, when present) into
``build/native/lib<name>.so``; a source elsewhere (the media relay, ``callcenter/media/native``)
is named to ``library``.
``library(name)`` loads it, or returns None when it is not built (no compiler), older than its
source, or cannot be loaded; every caller then keeps its pure-Python path, which
does the same thing more slowly. ``CALLCENTER_NATIVE=0`` turns them all off (A/B benchmarks,
tests of the Python paths).
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


_ERRORS: dict[str, str] = {}  # library name -> why it is not loaded


def enabled() -> bool:
    return os.environ.get("CALLCENTER_NATIVE", "1") != "0"


@cache
def library(name: str, source: Path | None = None) -> ctypes.CDLL | None:
    """``build/native/lib<name>.so``, built from ``source`` (default: ``<name>.c`` here), or
    None when it is turned off, not built, older than its source, or does not load;
    ``load_error(name)`` then says which."""
    path, source = BUILD / f"lib{name}.so", source or HERE / f"{name}.c"
    if not enabled():
        _ERRORS[name] = "turned off (CALLCENTER_NATIVE=0)"
    elif not path.exists():
        _ERRORS[name] = f"{path} is not built (make builds it with gcc)"
    elif source.exists() and source.stat().st_mtime > path.stat().st_mtime:
        _ERRORS[name] = f"{path} is older than {source.name} (make rebuilds it)"
    else:
        try:
            lib = ctypes.CDLL(str(path))
        except OSError as exc:
            _ERRORS[name] = f"{path}: {exc}"
        else:
            _ERRORS.pop(name, None)
            return lib
    log.info("native.not_loaded", library=name, reason=_ERRORS[name])
    return None


def load_error(name: str) -> str | None:
    """Why ``library(name)`` returned None (after it was called), else None."""
    return _ERRORS.get(name)
