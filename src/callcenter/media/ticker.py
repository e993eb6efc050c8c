"""The one 20 ms clock of an engine: every player, mixer and recorder is paced by it.

One timer for all legs, not a task per leg: ``Ticker`` calls each subscriber's ``tick()`` once
per period on absolute deadlines (start + n·period), so lateness of one tick does not drift the
stream. When the loop falls more than ``max_lag`` behind (a stalled process), it resynchronises
instead of bursting the backlog out at once. It runs only while it has subscribers.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from callcenter.logs import get_logger

log = get_logger("callcenter.media.ticker")


class Ticking(Protocol):
    def tick(self) -> None: ...


class Ticker:
    def __init__(self, period: float = 0.02, max_lag: float = 0.2) -> None:
        self.period = period
        self.max_lag = max_lag
        self._subs: dict[int, Ticking] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._next = 0.0
        self.ticks = 0
        self.resyncs = 0

    def __len__(self) -> int:
        return len(self._subs)

    def add(self, sub: Ticking) -> None:
        self._subs[id(sub)] = sub
        if self._handle is None:
            loop = asyncio.get_running_loop()
            self._next = loop.time() + self.period
            self._handle = loop.call_at(self._next, self._run)

    def remove(self, sub: Ticking) -> None:
        self._subs.pop(id(sub), None)
        if not self._subs and self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def stop(self) -> None:
        self._subs.clear()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _run(self) -> None:
        loop = asyncio.get_running_loop()
        self.ticks += 1
        for key, sub in list(self._subs.items()):
            try:
                sub.tick()
            except Exception:
                # One broken player must not silence every other call: drop it, keep going.
                log.exception("media.tick_failed", subscriber=type(sub).__name__)
                self._subs.pop(key, None)
        if not self._subs:
            self._handle = None
            return
        self._next += self.period
        now = loop.time()
        if now - self._next > self.max_lag:
            self.resyncs += 1
            self._next = now + self.period
        self._handle = loop.call_at(self._next, self._run)
