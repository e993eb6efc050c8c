"""``WorkerPool``: the ``MediaControl`` interface over one media process per core.

Each worker is a spawned process running its own uvloop, its own ``MediaEngine`` and sockets on
a disjoint slice of the RTP port range, so relaying scales across cores while the SIP core and
the ACD stay in the parent and never block on media. Parent and worker talk over a
``multiprocessing`` pipe with pickled tuples: ``("call", id, method, args)`` →
``("reply", id, ok, value)``, plus unsolicited ``("dtmf", DtmfReceived)``. A leg's worker is
chosen by a stable hash of its ``group`` (default: its call id); handles carry their worker, so
every later call goes to the right process. A worker that dies fails its pending calls with
``MediaError`` instead of hanging them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import multiprocessing
import zlib
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from callcenter.logs import get_logger
from callcenter.media.control import DtmfCallback, Leg, LocalMedia, Mix, Recording
from callcenter.media.engine import DtmfReceived, MediaEngine, MediaError
from callcenter.media.player import PlayResult, PromptSource

log = get_logger("callcenter.media.worker")

_METHODS = frozenset(
    {
        "create_endpoint",
        "set_remote",
        "bridge",
        "unbridge",
        "echo",
        "play",
        "stop_play",
        "record",
        "pause_record",
        "resume_record",
        "stop_record",
        "conference",
        "monitor",
        "whisper",
        "barge",
        "unmix",
        "release",
        "stats",
    }
)


def split_range(port_min: int, port_max: int, parts: int) -> list[tuple[int, int]]:
    """Disjoint even-aligned slices of the range, one per worker."""
    first = port_min + port_min % 2
    pairs = (port_max - first + 1) // 2
    if pairs < parts:
        raise ValueError(f"port range {port_min}-{port_max} too small for {parts} workers")
    per = pairs // parts
    return [(first + 2 * per * k, first + 2 * per * (k + 1) - 1) for k in range(parts)]


class _Worker:
    def __init__(self, index: int, proc: BaseProcess, conn: Connection) -> None:
        self.index = index
        self.proc = proc
        self.conn = conn
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.alive = True


class WorkerPool:
    """Start with ``await pool.start()``; then use it like ``LocalMedia``."""

    def __init__(
        self,
        workers: int,
        port_min: int = 20000,
        port_max: int = 30000,
        cache_dir: Path = Path("var/prompts"),
        moh_file: Path | None = None,
        rtcp_interval: float | None = 5.0,
        native_relay: str | None = None,
    ) -> None:
        """``native_relay``: each worker engine's (``auto``/``on``/``off``, None: from the
        environment), see ``callcenter.media.native``."""
        self.ranges = split_range(port_min, port_max, workers)
        self.native_relay = native_relay
        self.cache_dir = cache_dir
        self.moh_file = moh_file
        self.rtcp_interval = rtcp_interval
        self.on_dtmf: DtmfCallback | None = None
        self._workers: list[_Worker] = []
        self._ids = itertools.count(1)

    async def start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        loop = asyncio.get_running_loop()
        for index, (lo, hi) in enumerate(self.ranges):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=worker_main,
                args=(
                    index,
                    child,
                    lo,
                    hi,
                    self.cache_dir,
                    self.moh_file,
                    self.rtcp_interval,
                    self.native_relay,
                ),
                name=f"media-{index}",
                daemon=True,
            )
            proc.start()
            child.close()
            worker = _Worker(index, proc, parent)
            self._workers.append(worker)
            worker.pending[0] = loop.create_future()  # id 0: the "ready" message
            loop.add_reader(parent.fileno(), self._readable, worker)
        await asyncio.gather(*(w.pending[0] for w in self._workers))

    def _readable(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                self._dispatch(worker, worker.conn.recv())
        except (EOFError, OSError):
            self._lost(worker)

    def _dispatch(self, worker: _Worker, msg: tuple[Any, ...]) -> None:
        if msg[0] == "reply":
            _, rid, ok, value = msg
            fut = worker.pending.pop(rid, None)
            if fut is None or fut.done():
                return
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(MediaError(value))
        elif msg[0] == "dtmf" and self.on_dtmf is not None:
            self.on_dtmf(msg[1])

    def _lost(self, worker: _Worker) -> None:
        if not worker.alive:
            return
        worker.alive = False
        asyncio.get_running_loop().remove_reader(worker.conn.fileno())
        log.error("media.worker_lost", worker=worker.index, exitcode=worker.proc.exitcode)
        for fut in worker.pending.values():
            if not fut.done():
                fut.set_exception(MediaError(f"media worker {worker.index} died"))
        worker.pending.clear()

    async def _call(self, index: int, method: str, *args: Any) -> Any:
        worker = self._workers[index]
        if not worker.alive:
            raise MediaError(f"media worker {index} is not running")
        rid = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        worker.pending[rid] = fut
        worker.conn.send(("call", rid, method, args))
        return await fut

    def worker_for(self, key: str) -> int:
        return zlib.crc32(key.encode()) % len(self._workers)

    @staticmethod
    def _same(*legs: Leg) -> int:
        workers = {leg.worker for leg in legs}
        if len(workers) != 1:
            raise MediaError("legs live in different media workers: create them with one group")
        return workers.pop()

    async def create_endpoint(
        self, call_id: str, local_ip: str = "127.0.0.1", group: str | None = None
    ) -> Leg:
        leg: Leg = await self._call(
            self.worker_for(group or call_id), "create_endpoint", call_id, local_ip
        )
        return leg

    async def set_remote(
        self,
        leg: Leg,
        host: str,
        port: int,
        payload_type: int = 0,
        telephone_event_pt: int | None = 101,
        ptime: int = 20,
    ) -> None:
        args = (leg, host, port, payload_type, telephone_event_pt, ptime)
        await self._call(leg.worker, "set_remote", *args)

    async def bridge(self, a: Leg, b: Leg) -> None:
        await self._call(self._same(a, b), "bridge", a, b)

    async def unbridge(self, leg: Leg) -> None:
        await self._call(leg.worker, "unbridge", leg)

    async def echo(self, leg: Leg, on: bool = True) -> None:
        await self._call(leg.worker, "echo", leg, on)

    async def play(
        self,
        leg: Leg,
        sources: Sequence[PromptSource],
        loop: bool = False,
        interruptible: bool = True,
    ) -> PlayResult:
        result: PlayResult = await self._call(
            leg.worker, "play", leg, list(sources), loop, interruptible
        )
        return result

    async def stop_play(self, leg: Leg) -> None:
        await self._call(leg.worker, "stop_play", leg)

    async def record(self, leg: Leg, path: Path, other: Leg | None = None) -> Recording:
        index = leg.worker if other is None else self._same(leg, other)
        rec: Recording = await self._call(index, "record", leg, path, other)
        return rec

    async def pause_record(self, rec: Recording) -> None:
        await self._call(rec.worker, "pause_record", rec)

    async def resume_record(self, rec: Recording) -> None:
        await self._call(rec.worker, "resume_record", rec)

    async def stop_record(self, rec: Recording) -> Path | None:
        path: Path | None = await self._call(rec.worker, "stop_record", rec)
        return path

    async def conference(self, legs: Sequence[Leg]) -> Mix:
        mix: Mix = await self._call(self._same(*legs), "conference", list(legs))
        return mix

    async def _three(self, method: str, caller: Leg, agent: Leg, supervisor: Leg) -> Mix:
        mix: Mix = await self._call(
            self._same(caller, agent, supervisor), method, caller, agent, supervisor
        )
        return mix

    async def monitor(self, caller: Leg, agent: Leg, supervisor: Leg) -> Mix:
        return await self._three("monitor", caller, agent, supervisor)

    async def whisper(self, caller: Leg, agent: Leg, supervisor: Leg) -> Mix:
        return await self._three("whisper", caller, agent, supervisor)

    async def barge(self, caller: Leg, agent: Leg, supervisor: Leg) -> Mix:
        return await self._three("barge", caller, agent, supervisor)

    async def unmix(self, mix: Mix) -> None:
        await self._call(mix.worker, "unmix", mix)

    async def release(self, leg: Leg) -> None:
        await self._call(leg.worker, "release", leg)

    async def stats(self) -> dict[str, Any]:
        """Counters summed over the live workers, ``legs`` joined, plus ``workers`` (how many
        are alive)."""
        live = [w.index for w in self._workers if w.alive]
        parts = await asyncio.gather(*(self._call(i, "stats") for i in live))
        total: dict[str, Any] = {"workers": len(live), "legs": []}
        for part in parts:
            for key, value in part.items():
                if isinstance(value, list):
                    total[key] = total.get(key, []) + value
                else:
                    total[key] = total.get(key, 0) + value
        return total

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for worker in self._workers:
            if worker.alive:
                worker.alive = False
                loop.remove_reader(worker.conn.fileno())
                with contextlib.suppress(OSError):
                    worker.conn.send(("close",))
        for worker in self._workers:
            await asyncio.to_thread(worker.proc.join, 10)
            if worker.proc.is_alive():
                worker.proc.kill()
            worker.conn.close()


def worker_main(
    index: int,
    conn: Connection,
    lo: int,
    hi: int,
    cache_dir: Path,
    moh: Path | None,
    rtcp_interval: float | None = 5.0,
    native_relay: str | None = None,
) -> None:
    """Entry point of a worker process: one engine on its own uvloop until told to close."""
    engine = functools.partial(
        MediaEngine, lo, hi, cache_dir, moh, rtcp_interval=rtcp_interval, native_relay=native_relay
    )
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(_serve(index, conn, engine))
    else:
        uvloop.run(_serve(index, conn, engine))


async def _serve(index: int, conn: Connection, engine: Callable[[], MediaEngine]) -> None:
    media = LocalMedia(engine(), index)
    media.on_dtmf = lambda event: conn.send(("dtmf", event))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[Any]] = set()

    def readable() -> None:
        try:
            while conn.poll():
                msg = conn.recv()
                if msg[0] == "close":
                    stop.set()
                    return
                _, rid, method, args = msg
                task = asyncio.ensure_future(_run(media, method, args))
                tasks.add(task)
                task.add_done_callback(functools.partial(_reply, conn, rid, tasks=tasks))
        except (EOFError, OSError):
            stop.set()  # the parent is gone: do not outlive it

    loop.add_reader(conn.fileno(), readable)
    conn.send(("reply", 0, True, index))
    await stop.wait()
    loop.remove_reader(conn.fileno())
    await media.close()


async def _run(media: LocalMedia, method: str, args: tuple[Any, ...]) -> Any:
    if method not in _METHODS:
        raise MediaError(f"unknown media method {method!r}")
    return await getattr(media, method)(*args)


def _reply(conn: Connection, rid: int, task: asyncio.Task[Any], *, tasks: set[Any]) -> None:
    tasks.discard(task)
    try:
        if task.cancelled():
            conn.send(("reply", rid, False, "cancelled"))
        elif task.exception() is not None:
            conn.send(
                ("reply", rid, False, f"{type(task.exception()).__name__}: {task.exception()}")
            )
        else:
            conn.send(("reply", rid, True, task.result()))
    except (OSError, ValueError):
        pass  # the parent went away while we were answering


__all__ = ["DtmfReceived", "WorkerPool", "split_range"]
