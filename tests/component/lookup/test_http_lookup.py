"""HttpLookup against a real local HTTP server (uvicorn + Starlette on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from callcenter.lookup import HttpLookup, LookupFailed

CUSTOMERS = {"100200300": {"name": "张三", "balance_fen": 12340}}
SEEN: list[str] = []


async def customer(request: Request) -> Response:
    kind, key = request.path_params["kind"], request.path_params["key"]
    SEEN.append(f"{kind}:{key}:{request.headers.get('x-token')}")
    if key == "slow":
        await asyncio.sleep(30)
    answers: dict[str, Response] = {
        "boom": PlainTextResponse("boom", status_code=500),
        "text": PlainTextResponse("not json"),
        "list": JSONResponse([1, 2]),
        "null": JSONResponse(None),
    }
    if key in answers:
        return answers[key]
    if key in CUSTOMERS:
        return JSONResponse(CUSTOMERS[key])
    return JSONResponse({"error": "not found"}, status_code=404)


APP = Starlette(routes=[Route("/customers/{kind}/{key:path}", customer)])


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(APP, log_level="warning", lifespan="off", timeout_graceful_shutdown=0)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    server.force_exit = True
    await task
    sock.close()


async def test_found_not_found_and_key_encoding(base_url: str) -> None:
    lookup = HttpLookup(base_url + "/customers/{kind}/{key}", headers={"X-Token": "t"})
    try:
        assert await lookup.lookup("account", "100200300") == CUSTOMERS["100200300"]
        assert await lookup.lookup("account", "nobody") is None
        assert await lookup.lookup("account", "null") is None
        assert await lookup.lookup("account", "a/b c") is None
        assert "account:a/b c:t" in SEEN
        assert lookup.url_for("account", "a/b c").endswith("/customers/account/a%2Fb%20c")
    finally:
        await lookup.aclose()


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("boom", "http status 500"),
        ("text", "response is not JSON"),
        ("list", "response is not a JSON object"),
        ("slow", "timeout"),
    ],
)
async def test_failures(base_url: str, key: str, reason: str) -> None:
    lookup = HttpLookup(base_url + "/customers/{kind}/{key}", timeout=0.3)
    try:
        with pytest.raises(LookupFailed) as info:
            await lookup.lookup("account", key)
        assert info.value.reason == reason
    finally:
        await lookup.aclose()


async def test_connection_refused_is_a_failure() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens on this port now
    lookup = HttpLookup(f"http://127.0.0.1:{port}/{{key}}", timeout=1)
    try:
        with pytest.raises(LookupFailed, match="http error: ConnectError"):
            await lookup.lookup("account", "1")
    finally:
        await lookup.aclose()


def test_template_needs_key() -> None:
    with pytest.raises(ValueError, match=r"\{key\}"):
        HttpLookup("http://127.0.0.1/customers")
