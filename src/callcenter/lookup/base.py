"""Business lookups (业务查询) as an async protocol, plus the glue to the pure IVR runner.

A ``LookupProvider`` answers ``lookup(kind, key)`` with a flat JSON-like record, ``None`` when
nothing matches, or raises ``LookupFailed`` on a timeout or any error of the backing system.
``RoutedLookup`` sends each kind (``account``, ``phone``...) to its own provider;
``InMemoryLookup`` is the fake used by tests and by the other layers' tests; ``resolve`` runs one
``ivr.Lookup`` command with an overall timeout and turns the outcome into the value that
``IvrSession.on_lookup_result`` expects (a failure becomes ``ivr.LookupFailed``, so the flow takes
its spoken fallback branch).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol

from callcenter import ivr

__all__ = ["InMemoryLookup", "LookupFailed", "LookupProvider", "Record", "RoutedLookup", "resolve"]

Record = dict[str, object]


class LookupFailed(Exception):
    """The business system timed out or failed; ``reason`` is short and safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LookupProvider(Protocol):
    async def lookup(self, kind: str, key: str) -> Record | None:
        """The record for ``key`` of ``kind``, None if none; raise ``LookupFailed`` on errors."""
        ...


class InMemoryLookup:
    """Records held in memory: ``{kind: {key: record}}``."""

    def __init__(self, data: Mapping[str, Mapping[str, Mapping[str, object]]]) -> None:
        self._data = {kind: {k: dict(v) for k, v in rows.items()} for kind, rows in data.items()}

    async def lookup(self, kind: str, key: str) -> Record | None:
        if kind not in self._data:
            raise LookupFailed(f"unknown lookup kind {kind!r}")
        record = self._data[kind].get(key)
        return None if record is None else dict(record)


class RoutedLookup:
    """Dispatch by kind to one provider per kind."""

    def __init__(self, providers: Mapping[str, LookupProvider]) -> None:
        self._providers = dict(providers)

    async def lookup(self, kind: str, key: str) -> Record | None:
        provider = self._providers.get(kind)
        if provider is None:
            raise LookupFailed(f"unknown lookup kind {kind!r}")
        return await provider.lookup(kind, key)


async def resolve(
    provider: LookupProvider, command: ivr.Lookup, timeout: float = 5.0
) -> ivr.LookupResult:
    """Run ``command``; a timeout or ``LookupFailed`` becomes ``ivr.LookupFailed(reason)``."""
    try:
        return await asyncio.wait_for(provider.lookup(command.kind, command.key), timeout)
    except TimeoutError:
        return ivr.LookupFailed("timeout")
    except LookupFailed as exc:
        return ivr.LookupFailed(exc.reason)
