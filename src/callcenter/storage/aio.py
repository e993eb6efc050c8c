"""``AsyncStorage``: the synchronous repositories, run on ONE dedicated worker thread.

The asyncio loop never waits on the database, and because every call goes through the same
single-thread executor, SQLite sees one writer and calls run in the order they were awaited. If
the awaiting task is cancelled, the call still finishes in its thread, committing or rolling back
as a whole; it is never cut half-way.

Usage::

    store = AsyncStorage(Storage.open(url))
    user = await store.run(store.sync.users.get_by_username, "admin")
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from callcenter.storage.store import Storage

P = ParamSpec("P")
T = TypeVar("T")


class AsyncStorage:
    def __init__(self, storage: Storage) -> None:
        self.sync = storage
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storage")
        self._closed = False

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` on the storage thread and return its result."""
        if self._closed:
            raise RuntimeError("storage is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def aclose(self) -> None:
        """Finish the calls already queued, then stop the thread and close the engine."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, functools.partial(self._executor.shutdown, wait=True))
        self.sync.close()
