"""The media control interface the call controller programs against: ``MediaControl``.

Every call is async and takes or returns small picklable handles (``Leg``, ``Recording``,
``Mix``), so the same controller code drives ``LocalMedia`` (the engine in this process, the
default) or ``worker.WorkerPool`` (one engine per worker process, each with its own uvloop and
sockets). Digits arrive on the ``on_dtmf`` callback as ``DtmfReceived`` events. Legs that will
be bridged or mixed must live in one process: give them the same ``group`` (e.g. the A-leg's
call id) when creating them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from callcenter.media.engine import DtmfReceived, MediaEngine
from callcenter.media.player import PlayResult, PromptSource


@dataclass(frozen=True)
class Leg:
    """A handle on an endpoint: where to point the SDP (``local_ip``, ``local_port``)."""

    id: int
    call_id: str
    local_ip: str
    local_port: int
    worker: int = 0


@dataclass(frozen=True)
class Recording:
    id: int
    path: Path
    worker: int = 0


@dataclass(frozen=True)
class Mix:
    id: int
    worker: int = 0


DtmfCallback = Callable[[DtmfReceived], None]


class MediaControl(Protocol):
    on_dtmf: DtmfCallback | None

    async def create_endpoint(
        self, call_id: str, local_ip: str = "127.0.0.1", group: str | None = None
    ) -> Leg: ...

    async def set_remote(
        self,
        leg: Leg,
        host: str,
        port: int,
        payload_type: int = 0,
        telephone_event_pt: int | None = 101,
        ptime: int = 20,
    ) -> None: ...

    async def bridge(self, a: Leg, b: Leg) -> None: ...
    async def unbridge(self, leg: Leg) -> None: ...
    async def echo(self, leg: Leg, on: bool = True) -> None: ...

    async def play(
        self,
        leg: Leg,
        sources: Sequence[PromptSource],
        loop: bool = False,
        interruptible: bool = True,
    ) -> PlayResult: ...

    async def stop_play(self, leg: Leg) -> None: ...
    async def record(self, leg: Leg, path: Path, other: Leg | None = None) -> Recording: ...
    async def pause_record(self, rec: Recording) -> None: ...
    async def resume_record(self, rec: Recording) -> None: ...
    async def stop_record(self, rec: Recording) -> Path | None: ...
    async def conference(self, legs: Sequence[Leg]) -> Mix: ...
    async def monitor(self, caller: Leg, agent: Leg, supervisor: Leg) -> Mix: ...
    async def whisper(self, caller: Leg, agent: Leg, supervisor: Leg) -> Mix: ...
    async def barge(self, caller: Leg, agent: Leg, supervisor: Leg) -> Mix: ...
    async def unmix(self, mix: Mix) -> None: ...
    async def release(self, leg: Leg) -> None: ...
    async def stats(self) -> dict[str, Any]: ...
    async def close(self) -> None: ...


class LocalMedia:
    """``MediaControl`` over a ``MediaEngine`` in this process (also what each worker runs)."""

    def __init__(self, engine: MediaEngine, worker: int = 0) -> None:
        self.engine = engine
        self.worker = worker
        self.on_dtmf: DtmfCallback | None = None
        engine.on_dtmf = self._dtmf

    def _dtmf(self, event: DtmfReceived) -> None:
        if self.on_dtmf is not None:
            self.on_dtmf(event)

    async def create_endpoint(
        self, call_id: str, local_ip: str = "127.0.0.1", group: str | None = None
    ) -> Leg:
        ep = await self.engine.create_endpoint(call_id, local_ip, group)
        return Leg(ep.id, call_id, local_ip, ep.local_port, self.worker)

    async def set_remote(
        self,
        leg: Leg,
        host: str,
        port: int,
        payload_type: int = 0,
        telephone_event_pt: int | None = 101,
        ptime: int = 20,
    ) -> None:
        self.engine.set_remote(leg.id, host, port, payload_type, telephone_event_pt, ptime)

    async def bridge(self, a: Leg, b: Leg) -> None:
        self.engine.bridge(a.id, b.id)

    async def unbridge(self, leg: Leg) -> None:
        self.engine.unbridge(leg.id)

    async def echo(self, leg: Leg, on: bool = True) -> None:
        self.engine.echo(leg.id, on)

    async def play(
        self,
        leg: Leg,
        sources: Sequence[PromptSource],
        loop: bool = False,
        interruptible: bool = True,
    ) -> PlayResult:
        return await self.engine.play(leg.id, sources, loop, interruptible)

    async def stop_play(self, leg: Leg) -> None:
        self.engine.stop_play(leg.id)

    async def record(self, leg: Leg, path: Path, other: Leg | None = None) -> Recording:
        handle = self.engine.record(leg.id, path, None if other is None else other.id)
        return Recording(handle.id, handle.path, self.worker)

    async def pause_record(self, rec: Recording) -> None:
        self.engine.pause_record(rec.id)

    async def resume_record(self, rec: Recording) -> None:
        self.engine.resume_record(rec.id)

    async def stop_record(self, rec: Recording) -> Path | None:
        return self.engine.stop_record(rec.id)

    async def conference(self, legs: Sequence[Leg]) -> Mix:
        return Mix(self.engine.conference([leg.id for leg in legs]), self.worker)

    async def monitor(self, caller: Leg, agent: Leg, supervisor: Leg) -> Mix:
        return Mix(self.engine.monitor(caller.id, agent.id, supervisor.id), self.worker)

    async def whisper(self, caller: Leg, agent: Leg, supervisor: Leg) -> Mix:
        return Mix(self.engine.whisper(caller.id, agent.id, supervisor.id), self.worker)

    async def barge(self, caller: Leg, agent: Leg, supervisor: Leg) -> Mix:
        return Mix(self.engine.barge(caller.id, agent.id, supervisor.id), self.worker)

    async def unmix(self, mix: Mix) -> None:
        self.engine.unmix(mix.id)

    async def release(self, leg: Leg) -> None:
        await self.engine.release(leg.id)

    async def stats(self) -> dict[str, Any]:
        """Engine counters; ``legs`` lists each leg's figures (id, worker, call_id, packets,
        and with RTCP: expected, lost, loss, jitter_ms, remote_fraction_lost, remote_lost,
        remote_jitter_ms, rtt_ms, rtcp_in, rtcp_out)."""
        stats = self.engine.stats()
        for leg in stats["legs"]:
            leg["worker"] = self.worker
        return stats

    async def close(self) -> None:
        await self.engine.close()
