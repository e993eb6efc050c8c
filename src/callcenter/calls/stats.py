"""Live sizes of the server's per-call bookkeeping, for finding what grows during a long run.

``snapshot(center)`` counts the entries of every table that holds something per call or per
transaction (the contact center's calls, the call service's tasks and handlers, the user
agent's calls and dialogs, the SIP endpoint's transactions and timers, the media engine's legs
and ports, the ACD's calls, the storage thread's queue) plus the asyncio tasks, the
garbage-collected objects and the resident memory. When the server is idle, every per-call
count must be back to zero; one that climbs with the number of calls is a leak. When no call
is up, a full garbage collection runs first, so that ``gc.objects`` counts live objects only.
The runtime logs a snapshot as ``server.stats`` on SIGUSR1 (``kill -USR1 <pid>``);
``bench/inbound.py`` samples it during its runs.
"""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Sized
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from callcenter.calls.center import ContactCenter

# (label, attribute path from the ContactCenter). Private attributes of other packages are read,
# never written: this is a debugging view, and a path that no longer exists counts -1.
_TABLES: tuple[tuple[str, str], ...] = (
    ("center.calls", "calls"),
    ("center.calls_out", "calls_out"),
    ("center.background", "background"),
    ("center.listeners", "listeners"),
    ("center.answer_modes", "answer_modes"),
    ("service.tasks", "service.tasks"),
    ("service.sessions", "service.sessions"),
    ("service.ended", "service.ended"),
    ("service.background", "service.background"),
    ("service.watchers", "service.watchers"),
    ("service.dtmf_listeners", "service.dtmf_listeners"),
    ("service.dialog_handlers", "service.dialog_handlers"),
    ("ua.calls", "service.ua.calls"),
    ("ua.by_dialog", "service.ua._by_dialog"),
    ("ua.by_txn", "service.ua._by_txn"),
    ("ua.timers", "service.ua._timers"),
    ("ua.requests", "service.ua._requests"),
    ("sip.server_txns", "service.ua.endpoint._server"),
    ("sip.client_txns", "service.ua.endpoint._client"),
    ("sip.peers", "service.ua.endpoint._peers"),
    ("sip.merge", "service.ua.endpoint._merge"),
    ("sip.timers", "service.ua.endpoint._timers"),
    ("media.endpoints", "service.media.engine._eps"),
    ("media.jobs", "service.media.engine._jobs"),
    ("media.mixers", "service.media.engine._mixers"),
    ("media.recorders", "service.media.engine._recorders"),
    ("media.ports_used", "service.media.engine.pool._used"),
    ("media.rtcp_legs", "service.media.engine.rtcp._legs"),
    ("media.ticker", "service.media.engine.ticker._subs"),
    ("media.tts_pending", "service.media.engine.player.tts._pending"),
    ("acd.calls", "acd._calls"),
    ("acd.entries", "acd._entries"),
    ("acd.timers", "acd._timers.heap"),
)


def _size(root: object, path: str) -> int:
    obj: object = root
    for name in path.split("."):
        obj = getattr(obj, name, None)
        if obj is None:
            return -1
    return len(obj) if isinstance(obj, Sized) else -1


def _rss_kb() -> int:
    try:
        with open(f"/proc/{os.getpid()}/statm", encoding="ascii") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return -1
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def snapshot(center: ContactCenter) -> dict[str, int]:
    """Entry counts of the per-call tables, asyncio tasks, GC objects and RSS (KiB)."""
    stats = {label: _size(center, path) for label, path in _TABLES}
    stats["storage.queued"] = center.store.queued()
    stats["storage.batches"] = center.store.batches
    stats["storage.writes"] = center.store.batched_writes
    try:
        stats["asyncio.tasks"] = len(asyncio.all_tasks())
    except RuntimeError:  # no running loop
        stats["asyncio.tasks"] = -1
    idle = stats["center.calls"] == 0 and stats["service.tasks"] <= 0
    if idle:  # no call to delay: collect first, so that the count is of live objects only
        gc.collect()
    stats["gc.idle_collected"] = int(idle)
    stats["gc.objects"] = len(gc.get_objects())
    stats["rss_kb"] = _rss_kb()
    return stats
