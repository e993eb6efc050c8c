"""``Fanout``: one frame to many sockets in one native call (``fanout.c``), spread over the
cores, without the GIL. ``Fanout.load()`` is None when the library is not built."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence

from callcenter.native import library


class Fanout:
    def __init__(self, lib: ctypes.CDLL, threads: int) -> None:
        self._fn = lib.cc_fanout
        self._fn.argtypes = [
            ctypes.POINTER(ctypes.c_int),
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_long,
            ctypes.POINTER(ctypes.c_long),
            ctypes.c_int,
        ]
        self._fn.restype = ctypes.c_int
        self.threads = threads

    @classmethod
    def load(cls, threads: int | None = None) -> Fanout | None:
        lib = library("fanout")
        if lib is None:
            return None
        return cls(lib, threads if threads is not None else min(4, os.cpu_count() or 1))

    def send(self, fds: Sequence[int], data: bytes) -> list[int]:
        """Send ``data`` to every socket in ``fds`` (non-blocking): per socket the number of
        bytes the kernel took (fewer than ``len(data)`` when its buffer filled) or -errno.
        The sockets must be distinct, and nothing else may write to them during the call."""
        n = len(fds)
        res = (ctypes.c_long * n)()
        self._fn((ctypes.c_int * n)(*fds), n, data, len(data), res, self.threads)
        return list(res)
