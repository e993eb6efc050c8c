"""The API's HTTP server inside the call center's own event loop (uvicorn, no signal capture).

``uvicorn.Server.serve`` installs SIGINT/SIGTERM handlers of its own; embedded in the runtime,
which owns the signals and stops every service in order, that would take them away. Stop it by
setting ``should_exit``.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager

import uvicorn


class EmbeddedServer(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield
