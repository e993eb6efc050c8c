"""Business lookup against an existing HTTP/JSON service, via httpx with a timeout.

``HttpLookup(url_template)`` fills ``{kind}`` and ``{key}`` (percent-encoded) into the URL and
GETs it: 200 with a JSON object is the record, 404 or a JSON ``null`` is "not found", anything
else (other status, not JSON, a connection error, the timeout) raises ``LookupFailed``. The
timeout bounds the whole exchange, not just each socket operation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from urllib.parse import quote

import httpx

from callcenter.lookup.base import LookupFailed, Record

__all__ = ["HttpLookup"]


class HttpLookup:
    """GET ``url_template.format(kind=..., key=...)``; see the module docstring for outcomes."""

    def __init__(
        self,
        url_template: str,
        timeout: float = 3.0,
        headers: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if "{key}" not in url_template:
            raise ValueError("the URL template must contain {key}")
        self.url_template = url_template
        self.timeout = timeout
        self._client = client or httpx.AsyncClient(headers=dict(headers or {}), timeout=timeout)
        self._owns_client = client is None

    def url_for(self, kind: str, key: str) -> str:
        return self.url_template.format(kind=quote(kind, safe=""), key=quote(key, safe=""))

    async def _get(self, url: str) -> httpx.Response:
        try:
            return await asyncio.wait_for(self._client.get(url), self.timeout)
        except (TimeoutError, httpx.TimeoutException):
            raise LookupFailed("timeout") from None
        except httpx.HTTPError as exc:
            raise LookupFailed(f"http error: {type(exc).__name__}") from exc

    async def lookup(self, kind: str, key: str) -> Record | None:
        response = await self._get(self.url_for(kind, key))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise LookupFailed(f"http status {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise LookupFailed("response is not JSON") from None
        if data is None:
            return None
        if not isinstance(data, dict):
            raise LookupFailed("response is not a JSON object")
        return {str(k): v for k, v in data.items()}

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()
