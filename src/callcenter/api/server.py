"""The API's HTTP server inside the call center's own event loop (uvicorn, no signal capture).

``uvicorn.Server.serve`` installs SIGINT/SIGTERM handlers of its own; embedded in the runtime,
which owns the signals and stops every service in order, that would take them away. Stop it by
setting ``should_exit`` (``stop_api``). On shutdown it stops listening, closes every event
stream at once (``EventHub.close``: the clients get close code 1001) and waits briefly for
them before uvicorn's own shutdown, which would otherwise wait for each open WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from callcenter.api.stream import EventHub
from callcenter.logs import get_logger

log = get_logger("callcenter.api")
STREAMS_GRACE = 2.0  # seconds for the event streams to close before uvicorn drops them


class EmbeddedServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, hub: EventHub | None = None) -> None:
        super().__init__(config)
        self.hub = hub

    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.hub is not None:
            for server in self.servers:
                server.close()  # no new connections meanwhile
            self.hub.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.hub.wait_closed(), STREAMS_GRACE)
        await super().shutdown(sockets)


async def start_api(
    app: ASGIApp, host: str, port: int
) -> tuple[EmbeddedServer, asyncio.Task[None]]:
    """Serve ``app`` in this loop; return once it listens (or raise if it could not start)."""
    # no permessage-deflate: compressing each small event once per client cost more CPU than
    # the bytes it saved on a LAN (bench/api.py)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on",
                            ws_per_message_deflate=False)  # fmt: skip
    hub = getattr(getattr(app, "state", None), "hub", None)  # create_app's event hub
    server = EmbeddedServer(config, hub if isinstance(hub, EventHub) else None)
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
