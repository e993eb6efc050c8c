"""Responses kept for idempotency keys (``api/idempotency.py``), with an expiry.

A kept response outlives a restart: the retry of a request whose answer was lost is answered
from here instead of being run twice. ``get`` never returns an expired entry; ``purge`` deletes
the expired ones (the API calls it now and then).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete

from callcenter.storage.repos._base import Repo, check_aware
from callcenter.storage.schema import IdempotencyEntry


@dataclass(frozen=True, slots=True)
class KeptResponse:
    key_hash: str
    body_hash: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    created_at: datetime
    expires_at: datetime


class IdempotencyRepo(Repo):
    def get(self, key_hash: str, now: datetime) -> KeptResponse | None:
        """The response kept for ``key_hash``, unless it expired by ``now``."""
        check_aware(now, "now")
        with self._db.transaction() as s:
            row = s.get(IdempotencyEntry, key_hash)
            if row is None or row.expires_at <= now:
                return None
            headers = [(str(k), str(v)) for k, v in row.headers]
            return KeptResponse(row.key_hash, row.body_hash, row.status, headers, bytes(row.body),
                                row.created_at, row.expires_at)  # fmt: skip

    def put(self, kept: KeptResponse) -> None:
        """Keep (or replace) the response of one key."""
        check_aware(kept.created_at, "created_at")
        check_aware(kept.expires_at, "expires_at")
        with self._db.transaction() as s:
            row = s.get(IdempotencyEntry, kept.key_hash)
            if row is None:
                row = IdempotencyEntry(key_hash=kept.key_hash)
                s.add(row)
            row.body_hash = kept.body_hash
            row.status = kept.status
            row.headers = [[k, v] for k, v in kept.headers]
            row.body = kept.body
            row.created_at = kept.created_at
            row.expires_at = kept.expires_at

    def purge(self, now: datetime) -> int:
        """Delete the entries expired by ``now``; how many."""
        check_aware(now, "now")
        with self._db.transaction() as s:
            result = s.execute(delete(IdempotencyEntry).where(IdempotencyEntry.expires_at <= now))
            return int(getattr(result, "rowcount", 0) or 0)
