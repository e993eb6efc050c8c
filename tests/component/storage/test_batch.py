"""Batched writes (``AsyncStorage.write`` over ``Database.batch``): writes made while the storage
thread is busy share one transaction, keep their order among themselves and with ``run`` calls,
and a failing write fails alone, with nothing of it or of the others half-written."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest

from callcenter.storage import AsyncStorage, Storage
from callcenter.storage.errors import Conflict, NotFound
from callcenter.storage.repos.calls import CallTimes

from .helpers import at


@pytest.fixture
async def astore(store: Storage) -> AsyncIterator[AsyncStorage]:
    aio = AsyncStorage(store)
    yield aio
    await aio.aclose()


class Gate:
    """Keeps the storage thread busy until opened, so that writes pile up behind it."""

    def __init__(self, aio: AsyncStorage) -> None:
        self._event = threading.Event()
        self.busy = asyncio.ensure_future(aio.run(self._event.wait, 10.0))

    @classmethod
    async def close(cls, aio: AsyncStorage) -> Gate:
        gate = cls(aio)
        await asyncio.sleep(0)  # the task starts: its run() call is made
        return gate

    async def open(self) -> None:
        self._event.set()
        await self.busy


async def test_writes_made_while_busy_share_one_transaction(astore: AsyncStorage) -> None:
    events = astore.sync.events
    gate = await Gate.close(astore)
    writes = [astore.write(events.append, "Tick", {"i": i}, at(i)) for i in range(40)]
    await gate.open()
    seqs = await asyncio.gather(*writes)
    assert seqs == sorted(seqs) and len(set(seqs)) == 40
    assert astore.batches == 1 and astore.batched_writes == 40
    logged = await astore.run(events.since, seqs[0] - 1)
    assert [e.payload["i"] for e in logged] == list(range(40))


async def test_writes_and_runs_keep_their_order(astore: AsyncStorage) -> None:
    cdrs = astore.sync.cdrs
    gate = await Gate.close(astore)
    first = astore.write(cdrs.open_call, "c1", "138", "7001", at())
    seen_before = asyncio.ensure_future(astore.run(cdrs.get, "c2"))  # made before c2's write
    await asyncio.sleep(0)
    second = astore.write(cdrs.open_call, "c2", "139", "7001", at())
    seen_after = asyncio.ensure_future(astore.run(cdrs.get, "c1"))
    await asyncio.sleep(0)
    await gate.open()
    await asyncio.gather(first, second)
    assert await seen_before is None
    assert (await seen_after) is not None


async def test_a_failing_write_fails_alone(astore: AsyncStorage) -> None:
    cdrs = astore.sync.cdrs
    await astore.run(cdrs.open_call, "old", "1", "2", at())
    gate = await Gate.close(astore)
    writes = [
        astore.write(cdrs.open_call, "a", "1", "2", at()),
        astore.write(cdrs.open_call, "old", "1", "2", at()),  # Conflict: it exists
        astore.write(cdrs.annotate, "a", queue="billing"),
        astore.write(cdrs.annotate, "nope", queue="billing"),  # NotFound
        astore.write(cdrs.close_call, "a", at(5), "answered", CallTimes(talk_seconds=5.0)),
    ]
    await gate.open()
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert isinstance(results[1], Conflict)
    assert isinstance(results[3], NotFound)
    assert not any(isinstance(r, Exception) for i, r in enumerate(results) if i not in (1, 3))
    closed = await astore.run(cdrs.get, "a")
    assert closed is not None
    assert (closed.queue, closed.outcome, closed.talk_seconds) == ("billing", "answered", 5.0)
    assert await astore.run(cdrs.open_calls) == ["old"]


def test_a_batch_commits_or_rolls_back_as_a_whole(store: Storage) -> None:
    with store.db.batch():
        store.cdrs.open_call("b1", "1", "2", at())
        store.events.append("Tick", {}, at(), call_id="b1")
    assert store.cdrs.get("b1") is not None
    last = store.events.last_seq()
    with pytest.raises(Conflict), store.db.batch():
        store.cdrs.open_call("b2", "1", "2", at())
        store.events.append("Tick", {}, at(), call_id="b2")
        store.cdrs.open_call("b1", "1", "2", at())
    assert store.cdrs.get("b2") is None
    assert store.events.last_seq() == last
    with pytest.raises(RuntimeError), store.db.batch(), store.db.batch():
        pass
