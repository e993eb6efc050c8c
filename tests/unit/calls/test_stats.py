"""``calls.stats.snapshot``: the per-call table sizes the SIGUSR1 ``server.stats`` line shows."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from callcenter.calls.stats import snapshot


def test_counts_tables_and_marks_missing_ones() -> None:
    store = SimpleNamespace(queued=lambda: 3, batches=7, batched_writes=40)
    ua = SimpleNamespace(calls={"a": 1, "b": 2}, endpoint=SimpleNamespace(_server={"t": 1}))
    service = SimpleNamespace(tasks={"a": 1}, watchers={}, ua=ua)  # no media, no sessions
    center: Any = SimpleNamespace(calls={"x": 1, "y": 2, "z": 3}, store=store, service=service)
    stats = snapshot(center)
    assert stats["center.calls"] == 3
    assert stats["service.tasks"] == 1 and stats["service.watchers"] == 0
    assert stats["ua.calls"] == 2 and stats["sip.server_txns"] == 1
    assert stats["service.sessions"] == -1 and stats["media.endpoints"] == -1
    assert (stats["storage.queued"], stats["storage.batches"], stats["storage.writes"]) == (
        3,
        7,
        40,
    )
    assert stats["asyncio.tasks"] == -1  # no running loop here
    assert stats["gc.objects"] > 0 and stats["rss_kb"] > 0
    assert stats["gc.idle_collected"] == 0  # calls are up: no collection
    center.calls.clear()
    service.tasks.clear()
    assert snapshot(center)["gc.idle_collected"] == 1
