"""Concurrent appends keep the event log's sequence unique and in commit order, and
``AsyncStorage`` runs every call on its one worker thread, in the order they were awaited."""

import asyncio
import threading

import pytest

from callcenter.storage import AsyncStorage, Database, Storage
from callcenter.storage.hashing import fast_hasher
from callcenter.storage.repos.events import EventLog

from .helpers import at

WRITERS = 4
PER_WRITER = 40


def test_concurrent_appends_from_separate_engines(db_url: str) -> None:
    """Writers on separate engines (as separate processes would be) and a tailing reader."""
    start = EventLog(probe := Database(db_url)).last_seq()
    probe.dispose()
    written: dict[int, list[int]] = {}
    seen: list[int] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        db = Database(db_url)
        try:
            log = EventLog(db)
            written[n] = [log.append("Tick", {"w": n, "i": i}, at(i)) for i in range(PER_WRITER)]
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            db.dispose()

    def reader() -> None:
        db = Database(db_url)
        log = EventLog(db)
        last = start
        while True:
            finished = done.is_set()
            for event in log.since(last, limit=50):
                seen.append(event.seq)
                last = event.seq
            if finished and log.since(last) == []:
                break
        db.dispose()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    tail = threading.Thread(target=reader)
    tail.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    tail.join()

    assert errors == []
    everything = sorted(seq for seqs in written.values() for seq in seqs)
    assert len(set(everything)) == WRITERS * PER_WRITER
    for seqs in written.values():
        assert seqs == sorted(seqs)
    # A reader resuming from the last seq it saw never skipped an event committed later.
    assert seen == everything


async def test_async_storage_runs_on_one_thread_in_order(store: Storage) -> None:
    astore = AsyncStorage(store)
    loop_thread = threading.get_ident()
    threads = await asyncio.gather(*(astore.run(threading.get_ident) for _ in range(5)))
    assert len(set(threads)) == 1
    assert threads[0] != loop_thread
    seqs = await asyncio.gather(
        *(astore.run(store.events.append, "Tick", {"i": i}, at(i)) for i in range(30))
    )
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 30
    user = await astore.run(store.users.create, "async", "Async", "agent", "secret-1", at())
    assert await astore.run(store.users.get_by_username, "async") == user
    await astore.aclose()
    with pytest.raises(RuntimeError):
        await astore.run(store.events.last_seq)


async def test_async_storage_errors_reach_the_caller(db_url: str) -> None:
    astore = AsyncStorage(Storage(Database(db_url), hasher=fast_hasher()))
    await astore.run(astore.sync.cdrs.open_call, "a1", "1", "2", at())
    with pytest.raises(Exception, match="already has a CDR"):
        await astore.run(astore.sync.cdrs.open_call, "a1", "1", "2", at())
    assert await astore.run(astore.sync.cdrs.open_calls) == ["a1"]
    await astore.aclose()
