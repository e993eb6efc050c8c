"""Composition root: the only place where the server's objects are built and wired together.

``run(config)`` installs uvloop when available, starts every shell (SIP transports, media, API),
and stops them all cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import signal
from contextlib import suppress

from callcenter import __version__
from callcenter.config import Config
from callcenter.logs import get_logger, setup_logging

log = get_logger("callcenter.runtime")


async def serve(config: Config, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set. Services are started here in dependency order."""
    config.server.data_dir.mkdir(parents=True, exist_ok=True)
    log.info("server.started", version=__version__, node=config.server.node_name)
    await stop.wait()
    log.info("server.stopped")


async def _main(config: Config) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await serve(config, stop)


def run(config: Config) -> int:
    setup_logging(config.server.log_level, config.server.log_format)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        log.warning("uvloop.missing")
        asyncio.run(_main(config))
    else:
        uvloop.run(_main(config))
    return 0
