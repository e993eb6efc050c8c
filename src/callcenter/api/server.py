"""The API's HTTP server inside the call center's own event loop (uvicorn, no signal capture).

``uvicorn.Server.serve`` installs SIGINT/SIGTERM handlers of its own; embedded in the runtime,
which owns the signals and stops every service in order, that would take them away. Stop it by
setting ``should_exit`` (``stop_api``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from callcenter.logs import get_logger

log = get_logger("callcenter.api")


class EmbeddedServer(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def start_api(
    app: ASGIApp, host: str, port: int
) -> tuple[EmbeddedServer, asyncio.Task[None]]:
    """Serve ``app`` in this loop; return once it listens (or raise if it could not start)."""
    config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on")
    server = EmbeddedServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            exc = task.exception()
            raise RuntimeError(f"API server did not start on {host}:{port}") from exc
        await asyncio.sleep(0.01)
    log.info("api.listening", host=host, port=port)
    return server, task


async def stop_api(server: EmbeddedServer, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    await task
