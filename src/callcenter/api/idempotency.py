"""Idempotency keys (``Idempotency-Key`` header) on mutating requests: a retry is answered once.

A pure ASGI middleware. The key is scoped to the caller's credential, the method and the path;
the first response below 500 is kept (with a time to live) and replayed for a retry with the
same body. The same key with a different body is refused (422 ``idempotency_key_reused``); a
retry while the first request is still running gets 409 ``idempotency_in_progress``. Like
Stripe's keys, a 5xx is not kept, so it can be retried.

Kept responses live in two tiers: a bounded in-memory LRU, and the ``idempotency_keys`` table
(storage, SQLite or PostgreSQL) so that a retry after a restart is still answered from the first
response. Only the SHA-256 of the scoped key is stored, never the credential. Responses of the
``/api/v1/auth/`` routes stay in memory only: they carry session tokens, of which the database
keeps nothing but hashes. Expired rows are purged every ``PURGE_EVERY`` at most.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from callcenter.api.errors import error_body
from callcenter.storage.aio import AsyncStorage
from callcenter.storage.repos.idempotency import KeptResponse

MUTATING = frozenset({b"POST", b"PUT", b"PATCH", b"DELETE"})
MAX_KEY = 255
MAX_KEPT_BODY = 1 << 20  # larger responses are kept in memory only
MEMORY_ONLY = ("/api/v1/auth/",)
PURGE_EVERY = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Stored:
    body_hash: str
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    at: datetime


def _utcnow() -> datetime:
    return datetime.now(UTC)


class IdempotencyCache:
    def __init__(
        self,
        ttl: float,
        max_entries: int,
        store: AsyncStorage | None = None,
        wall: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.ttl = timedelta(seconds=ttl)
        self.max_entries = max_entries
        self.store = store
        self.wall = wall
        self.done: OrderedDict[str, Stored] = OrderedDict()
        self.running: set[str] = set()
        self.purged_at: datetime | None = None

    async def get(self, key: str, now: datetime) -> Stored | None:
        hit = self.done.get(key)
        if hit is not None and now - hit.at >= self.ttl:
            del self.done[key]
            hit = None
        if hit is None and self.store is not None:
            kept = await self.store.run(self.store.sync.idempotency.get, key, now)
            if kept is not None:
                headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in kept.headers]
                hit = Stored(kept.body_hash, kept.status, headers, kept.body, kept.created_at)
                self._remember(key, hit)
        return hit

    async def put(self, key: str, stored: Stored, *, durable: bool = True) -> None:
        self._remember(key, stored)
        if self.store is None or not durable or len(stored.body) > MAX_KEPT_BODY:
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in stored.headers]
        kept = KeptResponse(key, stored.body_hash, stored.status, headers, stored.body,
                            stored.at, stored.at + self.ttl)  # fmt: skip
        repo = self.store.sync.idempotency
        await self.store.run(repo.put, kept)
        if self.purged_at is None or stored.at - self.purged_at >= PURGE_EVERY:
            self.purged_at = stored.at
            await self.store.run(repo.purge, stored.at)

    def _remember(self, key: str, stored: Stored) -> None:
        self.done[key] = stored
        self.done.move_to_end(key)
        while len(self.done) > self.max_entries:
            self.done.popitem(last=False)


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value)
    return b""


def _scope_key(scope: Scope, key: bytes) -> str:
    who = _header(scope, b"authorization") or _header(scope, b"cookie")
    parts = [who, scope["method"].encode(), scope["path"].encode(), key]
    return hashlib.sha256(b"\x00".join(parts)).hexdigest()


async def _send_json(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, cache: IdempotencyCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, b"idempotency-key") if scope["type"] == "http" else b""
        if not key or scope["method"].encode() not in MUTATING:
            await self.app(scope, receive, send)
            return
        if len(key) > MAX_KEY:
            await _send_json(send, 422, "invalid", f"Idempotency-Key longer than {MAX_KEY}")
            return
        body = await _read_body(receive)
        await self._keyed(scope, _scope_key(scope, key), body, send)

    async def _keyed(self, scope: Scope, key: str, body: bytes, send: Send) -> None:
        body_hash = hashlib.sha256(body).hexdigest()
        hit = await self.cache.get(key, self.cache.wall())
        if hit is not None:
            if hit.body_hash != body_hash:
                message = "this Idempotency-Key was used with another request body"
                await _send_json(send, 422, "idempotency_key_reused", message)
                return
            headers = [*hit.headers, (b"idempotent-replayed", b"true")]
            await send({"type": "http.response.start", "status": hit.status, "headers": headers})
            await send({"type": "http.response.body", "body": hit.body})
            return
        if key in self.cache.running:
            await _send_json(
                send,
                409,
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still running",
            )
            return
        self.cache.running.add(key)
        try:
            await self._run_and_keep(scope, key, body, body_hash, send)
        finally:
            self.cache.running.discard(key)

    async def _run_and_keep(
        self, scope: Scope, key: str, body: bytes, body_hash: str, send: Send
    ) -> None:
        start: Message = {}
        chunks: list[bytes] = []
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        status = int(start.get("status", 500))
        if status < 500:
            headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
            stored = Stored(body_hash, status, headers, b"".join(chunks), self.cache.wall())
            durable = not str(scope["path"]).startswith(MEMORY_ONLY)
            await self.cache.put(key, stored, durable=durable)


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(parts)
