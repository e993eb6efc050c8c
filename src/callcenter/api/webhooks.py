"""Webhooks (SPEC §14): the event stream, POSTed to the URLs an administrator configured.

Configuration is in system parameters: ``webhooks.urls`` (a list of http(s) URLs),
``webhooks.secret`` (the HMAC key) and optionally ``webhooks.events`` (event types to send;
all when unset). Each delivery is the event's JSON with headers ``X-CC-Event``, ``X-CC-Seq``,
``X-CC-Timestamp`` and ``X-CC-Signature: sha256=<hex>``, the HMAC-SHA256 of
``<timestamp>.<body>`` (receivers check it and the timestamp's age). A failed delivery (a
connection error or a non-2xx answer) is retried with a doubling back-off, then logged and
dropped; events go out one at a time, in sequence order, per URL.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from typing import Any

import httpx

from callcenter.api.deps import ApiDeps
from callcenter.api.stream import EventHub, StreamEvent, Subscription, Visibility
from callcenter.logs import get_logger

log = get_logger("callcenter.webhooks")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookDispatcher:
    def __init__(self, deps: ApiDeps, hub: EventHub) -> None:
        self.deps = deps
        self.hub = hub
        self.urls: list[str] = []
        self.secret = ""
        self.types: frozenset[str] | None = None
        self.sub: Subscription | None = None
        self.task: asyncio.Task[None] | None = None
        self.client: httpx.AsyncClient | None = None
        self.delivered = 0
        self.failed = 0

    async def reload(self) -> None:
        params = self.deps.store.sync.params
        urls = await self.deps.store.run(params.get, "webhooks.urls")
        secret = await self.deps.store.run(params.get, "webhooks.secret")
        types = await self.deps.store.run(params.get, "webhooks.events")
        self.urls = [u for u in urls if isinstance(u, str)] if isinstance(urls, list) else []
        self.urls = [u for u in self.urls if u.startswith(("http://", "https://"))]
        self.secret = secret if isinstance(secret, str) else ""
        self.types = frozenset(map(str, types)) if isinstance(types, list) else None

    async def start(self) -> None:
        await self.reload()
        timeout = self.deps.settings.webhook_timeout
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self.sub = self.hub.subscribe(Visibility(everything=True), closable=False)
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.sub is not None:
            self.hub.unsubscribe(self.sub)
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        if self.client is not None:
            await self.client.aclose()

    async def _run(self) -> None:
        assert self.sub is not None
        while True:
            ev = await self.sub.queue.get()
            if ev is None:  # fell behind: keep going with what comes next
                log.warning("webhooks.lagged")
                self.sub.lagged = False
                continue
            if not self.urls or (self.types is not None and ev.type not in self.types):
                continue
            for url in list(self.urls):
                await self.deliver(url, ev)

    async def deliver(self, url: str, ev: StreamEvent) -> bool:
        body = json.dumps(ev.to_json(), ensure_ascii=False, separators=(",", ":")).encode()
        stamp = ev.at.isoformat()
        headers = {
            "content-type": "application/json",
            "x-cc-event": ev.type,
            "x-cc-seq": str(ev.seq),
            "x-cc-timestamp": stamp,
            "x-cc-signature": sign(self.secret, stamp, body),
        }
        settings = self.deps.settings
        delay = settings.webhook_backoff
        for attempt in range(1, settings.webhook_attempts + 1):
            error = await self._post(url, body, headers)
            if error is None:
                self.delivered += 1
                return True
            log.info("webhooks.retry", url=url, seq=ev.seq, attempt=attempt, error=error)
            if attempt < settings.webhook_attempts:
                await asyncio.sleep(delay)
                delay *= 2
        self.failed += 1
        log.warning("webhooks.dropped", url=url, seq=ev.seq, event=ev.type)
        return False

    async def _post(self, url: str, body: bytes, headers: dict[str, Any]) -> str | None:
        assert self.client is not None
        try:
            response = await self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return repr(exc)
        return None if 200 <= response.status_code < 300 else f"status {response.status_code}"
