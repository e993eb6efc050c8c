"""Kept idempotency responses: read back byte for byte, replaced, never served once expired,
purged; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from callcenter.storage import Storage
from callcenter.storage.errors import ValidationFailed
from callcenter.storage.repos.idempotency import KeptResponse

from .helpers import at


def kept(
    key: str, body: bytes = b'{"ok":true}', ttl: float = 60, status: int = 201
) -> KeptResponse:
    headers = [("content-type", "application/json"), ("x-note", "caf\u00e9")]
    return KeptResponse(key, "b" * 64, status, headers, body, at(0), at(ttl))


def test_kept_response_reads_back_until_it_expires(store: Storage) -> None:
    binary = bytes(range(256))
    store.idempotency.put(kept("k1", binary))
    got = store.idempotency.get("k1", at(59))
    assert got == kept("k1", binary)
    assert store.idempotency.get("k1", at(60)) is None
    assert store.idempotency.get("nope", at(0)) is None


def test_put_replaces_and_purge_deletes_only_the_expired(store: Storage) -> None:
    store.idempotency.put(kept("k1", ttl=10))
    store.idempotency.put(kept("k1", b"second", ttl=100, status=200))
    store.idempotency.put(kept("k2", ttl=20))
    got = store.idempotency.get("k1", at(50))
    assert got is not None and (got.body, got.status) == (b"second", 200)
    assert store.idempotency.purge(at(30)) == 1
    assert store.idempotency.get("k2", at(0)) is None
    assert store.idempotency.get("k1", at(0)) is not None


def test_naive_times_are_refused(store: Storage) -> None:
    with pytest.raises(ValidationFailed):
        store.idempotency.get("k", at(0).replace(tzinfo=None))
    bad = kept("k")
    with pytest.raises(ValidationFailed):
        store.idempotency.put(KeptResponse(bad.key_hash, bad.body_hash, 200, [], b"",
                                           bad.created_at.replace(tzinfo=None),
                                           bad.expires_at + timedelta(0)))  # fmt: skip
