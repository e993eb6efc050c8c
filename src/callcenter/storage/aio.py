"""``AsyncStorage``: the synchronous repositories, run on ONE dedicated worker thread.

The asyncio loop never waits on the database, and because every call goes through the same
single-thread executor, SQLite sees one writer and calls run in the order they were made. If
the awaiting task is cancelled, the call still finishes in its thread, committing or rolling back
as a whole; it is never cut half-way.

Writes that nobody reads back at once (event log rows, CDR updates) go through ``write``: the
writes made while the storage thread is busy are run together in one transaction
(``Database.batch``) when it gets to them, in the order they were made and in order with
``run`` calls. A write's future resolves once its batch has committed. If one write of a batch
fails, the batch is rolled back and its writes are run again one transaction each, so only the
failing one fails (with its own exception).

Usage::

    store = AsyncStorage(Storage.open(url))
    user = await store.run(store.sync.users.get_by_username, "admin")
    seq = await store.write(store.sync.events.append, "CallArrived", payload, at)
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from callcenter.storage.store import Storage

P = ParamSpec("P")
T = TypeVar("T")

MAX_BATCH = 500  # writes per transaction, to bound how long one holds the database


class _Batch:
    """Writes waiting for the storage thread; sealed when the thread takes them."""

    __slots__ = ("items", "sealed")

    def __init__(self) -> None:
        self.items: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self.sealed = False


class AsyncStorage:
    def __init__(self, storage: Storage) -> None:
        self.sync = storage
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="storage")
        self._closed = False
        self._lock = threading.Lock()
        self._open: _Batch | None = None  # the batch new writes join, until sealed
        self.batches = 0  # transactions run for writes (statistics)
        self.batched_writes = 0

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` on the storage thread and return its result."""
        if self._closed:
            raise RuntimeError("storage is closed")
        with self._lock:
            self._open = None  # later writes run after this call, not with earlier ones
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> asyncio.Future[T]:
        """Queue ``fn(*args, **kwargs)`` (a write in its own ``transaction()``) to run in a
        batch; the future has its result once the batch committed."""
        if self._closed:
            raise RuntimeError("storage is closed")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        call = functools.partial(fn, *args, **kwargs)
        with self._lock:
            batch = self._open
            if batch is None or batch.sealed or len(batch.items) >= MAX_BATCH:
                batch = self._open = _Batch()
                submit = True
            else:
                submit = False
            batch.items.append((call, fut))
        if submit:
            self._executor.submit(self._run_batch, loop, batch)
        return fut

    def queued(self) -> int:
        """Jobs waiting for the storage thread (a batch of writes counts once)."""
        return self._executor._work_queue.qsize()

    # ---------------------------------------------------------- on the storage thread
    def _run_batch(self, loop: asyncio.AbstractEventLoop, batch: _Batch) -> None:
        with self._lock:
            batch.sealed = True
            items = list(batch.items)
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self.sync.db.batch():
                for call, _ in items:
                    outcomes.append((True, call()))
        except Exception:
            outcomes = [self._alone(call) for call, _ in items]  # rolled back: one by one
        self.batches += 1
        self.batched_writes += len(items)
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
            loop.call_soon_threadsafe(_resolve, [fut for _, fut in items], outcomes)

    @staticmethod
    def _alone(call: Callable[[], Any]) -> tuple[bool, Any]:
        try:
            return True, call()
        except Exception as exc:
            return False, exc

    async def aclose(self) -> None:
        """Finish the calls already queued, then stop the thread and close the engine."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, functools.partial(self._executor.shutdown, wait=True))
        self.sync.close()


def _resolve(futures: list[asyncio.Future[Any]], outcomes: list[tuple[bool, Any]]) -> None:
    for fut, (ok, value) in zip(futures, outcomes, strict=True):
        if fut.done():  # cancelled by its waiter: the write happened all the same
            continue
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)
