"""``MediaEngine``: the control interface the call controller drives, in one process.

It owns the port pool, the endpoints (legs), the shared 20 ms ticker and the playout order of a
tick: mixers first (they consume what arrived), then every leg with a frame source (player or
mixer output) sends one frame, then recorders write. Handles given out (``Endpoint``,
``RecordingHandle``, mix ids) are what ``worker.WorkerPool`` hands out too, so the controller is
written once for both. No control call blocks on I/O except the awaited ones (endpoint creation
and release, playback, recording stop), and those only await this process's own loop.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callcenter.logs import get_logger
from callcenter.media.codec import Pcm, codec_for, payload_offset, transcode_table
from callcenter.media.dtmf import (
    DtmfBegan,
    DtmfEnded,
    DtmfEvent,
    InbandTap,
    TelephoneEventTracker,
)
from callcenter.media.endpoint import Endpoint
from callcenter.media.mixer import (
    Mixer,
    barge_matrix,
    conference_matrix,
    monitor_matrix,
    whisper_matrix,
)
from callcenter.media.native import NativeRelay, load_library, wanted
from callcenter.media.player import Player, PlayJob, PlayOutcome, PlayResult, PromptSource
from callcenter.media.ports import PortPool, bind_pair
from callcenter.media.recorder import Recorder
from callcenter.media.rtcp import RtcpScheduler
from callcenter.media.ticker import Ticker
from callcenter.media.tts import Tts

log = get_logger("callcenter.media.engine")


class MediaError(Exception):
    """A control call that cannot be done (unknown or released leg, bad wiring)."""


@dataclass(frozen=True)
class DtmfReceived:
    """A digit pressed on a leg (RFC 4733), reported when the key is released."""

    endpoint_id: int
    call_id: str
    digit: str
    duration_ms: int


@dataclass(frozen=True)
class RecordingHandle:
    id: int
    path: Path


DtmfCallback = Callable[[DtmfReceived], None]


class MediaEngine:
    """All media of one process. ``await engine.start()`` is not needed: it is lazy."""

    def __init__(
        self,
        port_min: int = 20000,
        port_max: int = 30000,
        cache_dir: Path = Path("var/prompts"),
        moh_file: Path | None = None,
        rng: random.Random | None = None,
        rtcp_interval: float | None = 5.0,
        native_relay: str | None = None,
    ) -> None:
        """``rtcp_interval`` None: no RTCP and no reception statistics (cheapest relay).
        ``native_relay``: ``auto``, ``on`` or ``off`` (None: ``CALLCENTER_NATIVE_RELAY``, else
        ``auto``), see ``callcenter.media.native``."""
        self.pool = PortPool(port_min, port_max)
        self.rng = rng or random.Random()
        self.rtcp = None if rtcp_interval is None else RtcpScheduler(rtcp_interval, self.rng)
        self.player = Player(Tts(cache_dir), moh_file)
        self.ticker = Ticker()
        self.on_dtmf: DtmfCallback | None = None
        self._eps: dict[int, Endpoint] = {}
        self._jobs: dict[int, PlayJob] = {}
        self._mixers: dict[int, Mixer] = {}
        self._mix_of: dict[int, int] = {}
        self._recorders: dict[int, Recorder] = {}
        self._rec_taps: dict[int, list[tuple[Endpoint, bool]]] = {}
        self._dtmf_queues: list[asyncio.Queue[DtmfReceived]] = []
        self._ids = itertools.count(1)
        self._ticking = False
        self.use_native = wanted(native_relay)
        self.native: NativeRelay | None = None  # built with the first leg (needs the loop)

    # -- legs ---------------------------------------------------------------------------------

    def endpoint(self, leg: Endpoint | int) -> Endpoint:
        eid = leg if isinstance(leg, int) else leg.id
        ep = self._eps.get(eid)
        if ep is None:
            raise MediaError(f"no endpoint {eid} (released?)")
        return ep

    @property
    def endpoints(self) -> int:
        return len(self._eps)

    async def create_endpoint(
        self, call_id: str, local_ip: str = "127.0.0.1", group: str | None = None
    ) -> Endpoint:
        """Bind an RTP/RTCP pair on ``local_ip``; ``group`` only matters for worker pools."""
        pair, rtp, rtcp = bind_pair(self.pool, local_ip)
        ep = Endpoint(next(self._ids), call_id, local_ip, pair, self.rng)
        try:
            await ep.open(rtp, rtcp)
        except BaseException:
            rtp.close()
            rtcp.close()
            ep.close()
            self.pool.release(pair)
            raise
        ep.on_event = self._event_sink(ep)
        if self.use_native:
            if self.native is None:
                lib = load_library()
                assert lib is not None
                self.native = NativeRelay(lib, asyncio.get_running_loop().add_reader)
            ep.native_relay = self.native
        self._eps[ep.id] = ep
        if self.rtcp is not None:
            self.rtcp.add(ep, local_ip, ep.sender.ssrc)
        ep.reconfigure()
        return ep

    def set_remote(
        self,
        leg: Endpoint | int,
        host: str,
        port: int,
        payload_type: int = 0,
        telephone_event_pt: int | None = 101,
        ptime: int = 20,
    ) -> None:
        """Where the leg sends (until the remote's own packets latch it) and in which codec."""
        ep = self.endpoint(leg)
        ep.set_remote((host, port), payload_type, telephone_event_pt, ptime)
        self._inband(ep)
        self._rewire(ep)
        if ep.peer is not None:
            self._rewire(ep.peer)

    async def release(self, leg: Endpoint | int) -> None:
        """Close the leg's sockets and free its ports; every wiring that used it is undone."""
        ep = self._eps.get(leg if isinstance(leg, int) else leg.id)
        if ep is None:
            return
        self.stop_play(ep)
        self.unbridge(ep)
        self._leave_mix(ep)
        for rid, taps in list(self._rec_taps.items()):
            if any(t is ep for t, _ in taps):
                self.stop_record(rid)
        del self._eps[ep.id]
        if self.rtcp is not None:
            self.rtcp.remove(ep)
        ep.close()
        self.pool.release(ep.pair)
        await asyncio.sleep(0)  # let the transports finish closing before the port is reused

    def stats(self) -> dict[str, Any]:
        """Counters for benches and health pages."""
        eps = self._eps.values()
        for ep in eps:
            ep.native_sync()
        return {
            "endpoints": len(self._eps),
            "ports_in_use": self.pool.in_use,
            "packets_in": sum(ep.packets_in for ep in eps),
            "packets_out": sum(ep.packets_out for ep in eps),
            "playing": len(self._jobs),
            "recording": len(self._recorders),
            "mixes": len(self._mixers),
            "ticks": self.ticker.ticks,
            "tick_resyncs": self.ticker.resyncs,
            "rtcp_in": sum(ep.rtcp_in for ep in eps),
            "native_pairs": 0 if self.native is None else self.native.pairs,
            "legs": [_leg_figures(ep) for ep in eps],
        }

    async def close(self) -> None:
        for eid in list(self._eps):
            await self.release(eid)
        self.ticker.stop()
        if self.rtcp is not None:
            self.rtcp.stop()
        if self.native is not None:
            self.native.close(asyncio.get_running_loop().remove_reader)
            self.native = None

    # -- wiring -------------------------------------------------------------------------------

    def _rewire(self, ep: Endpoint) -> None:
        peer = ep.peer
        ep.relay_map = None if peer is None else transcode_table(ep.payload_type, peer.payload_type)
        ep.reconfigure()

    def bridge(self, a: Endpoint | int, b: Endpoint | int) -> None:
        """Relay a→b and b→a (zero-decode when both use one codec, else byte-map transcoding)."""
        ea, eb = self.endpoint(a), self.endpoint(b)
        if ea is eb:
            raise MediaError("cannot bridge a leg to itself")
        for ep in (ea, eb):
            self.unbridge(ep)
            self._leave_mix(ep)
            ep.echo = False
        ea.peer, eb.peer = eb, ea
        self._rewire(ea)
        self._rewire(eb)

    def unbridge(self, leg: Endpoint | int) -> None:
        ep = self.endpoint(leg)
        peer = ep.peer
        ep.peer = None
        self._rewire(ep)
        if peer is not None and peer.peer is ep:
            peer.peer = None
            self._rewire(peer)

    def echo(self, leg: Endpoint | int, on: bool = True) -> None:
        """Send back whatever arrives (echo-test extension)."""
        ep = self.endpoint(leg)
        if on:
            self.unbridge(ep)
            self._leave_mix(ep)
        ep.echo = on
        ep.reconfigure()

    # -- the 20 ms tick -----------------------------------------------------------------------

    def _update_ticking(self) -> None:
        busy = bool(self._mixers or self._recorders) or any(
            ep.source is not None for ep in self._eps.values()
        )
        if busy and not self._ticking:
            self.ticker.add(self)
            self._ticking = True
        elif not busy and self._ticking:
            self.ticker.remove(self)
            self._ticking = False

    def tick(self) -> None:
        for mixer in list(self._mixers.values()):
            mixer.tick()
        for ep in list(self._eps.values()):
            source = ep.source
            if source is None:
                continue
            frame = source.next_frame(ep)
            if frame is None:
                ep.send_silence()
            else:
                ep.send_frame(frame)
        for rec in list(self._recorders.values()):
            rec.tick()

    # -- playback -----------------------------------------------------------------------------

    async def play(
        self,
        leg: Endpoint | int,
        sources: Sequence[PromptSource],
        loop: bool = False,
        interruptible: bool = True,
    ) -> PlayResult:
        """Play the prompts in order; returns when done, on a DTMF digit, or on ``stop_play``."""
        ep = self.endpoint(leg)
        audio = await self.player.resolve(sources)
        if ep.closed:
            return PlayResult(PlayOutcome.STOPPED)
        self.stop_play(ep)
        job = PlayJob(audio, loop, interruptible)
        self._jobs[ep.id] = job
        ep.source = job
        ep.sender.marker = True
        self._source_changed(ep)
        try:
            return await asyncio.shield(job.done)
        finally:
            if not job.done.done():  # the caller was cancelled: stop the audio too
                job.finish(PlayOutcome.STOPPED)
            self._play_ended(ep, job)

    def stop_play(self, leg: Endpoint | int) -> None:
        ep = self.endpoint(leg)
        job = self._jobs.get(ep.id)
        if job is not None:
            job.finish(PlayOutcome.STOPPED)
            self._play_ended(ep, job)

    def is_playing(self, leg: Endpoint | int) -> bool:
        return self.endpoint(leg).id in self._jobs

    def _play_ended(self, ep: Endpoint, job: PlayJob) -> None:
        if self._jobs.get(ep.id) is not job:
            return
        del self._jobs[ep.id]
        mix_id = self._mix_of.get(ep.id)
        ep.source = self._mixers[mix_id] if mix_id is not None else None
        self._source_changed(ep)

    def _source_changed(self, ep: Endpoint) -> None:
        if ep.source is None:
            ep.flush_frames()  # the last frames gathered for a long ptime
        ep.reconfigure()
        if ep.peer is not None:
            ep.peer.reconfigure()  # the peer's relay toward ep pauses while ep plays
        self._update_ticking()

    # -- DTMF ---------------------------------------------------------------------------------

    def _event_sink(self, ep: Endpoint) -> Callable[[Endpoint, bytes], None]:
        tracker = TelephoneEventTracker(lambda event: self._dtmf(ep, event))

        def sink(_: Endpoint, packet: bytes) -> None:
            tracker.packet(packet, payload_offset(packet))

        return sink

    def _inband(self, ep: Endpoint) -> None:
        """In-band DTMF detection on exactly the legs without telephone-event (RFC 4733)."""
        has = any(isinstance(t, InbandTap) for t in ep.taps)
        if ep.te_pt < 0 and not has:
            ep.taps.append(InbandTap(lambda event: self._dtmf(ep, event)))
        elif ep.te_pt >= 0 and has:
            ep.taps = [t for t in ep.taps if not isinstance(t, InbandTap)]

    def _dtmf(self, ep: Endpoint, event: DtmfEvent) -> None:
        if isinstance(event, DtmfBegan):
            job = self._jobs.get(ep.id)
            if job is not None and job.interruptible:
                job.finish(PlayOutcome.INTERRUPTED, event.digit)
            return
        if isinstance(event, DtmfEnded):
            received = DtmfReceived(ep.id, ep.call_id, event.digit, event.duration_ms)
            if self.on_dtmf is not None:
                self.on_dtmf(received)
            for queue in self._dtmf_queues:
                queue.put_nowait(received)

    async def dtmf_events(self) -> AsyncIterator[DtmfReceived]:
        """Every digit of every leg, from now on, as an async iterator."""
        queue: asyncio.Queue[DtmfReceived] = asyncio.Queue()
        self._dtmf_queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._dtmf_queues.remove(queue)

    # -- recording ----------------------------------------------------------------------------

    def record(
        self, leg: Endpoint | int, path: Path, other: Endpoint | int | None = None
    ) -> RecordingHandle:
        """Record a stereo WAV: left what ``leg`` says, right what ``other`` says (default:
        the leg's bridge peer, or else what the engine plays to ``leg``)."""
        ep = self.endpoint(leg)
        right = self.endpoint(other) if other is not None else ep.peer
        rec = Recorder(path)
        rid = next(self._ids)
        taps: list[tuple[Endpoint, bool]] = [(ep, False)]
        ep.taps.append(_channel_tap(rec, 0))
        if right is not None:
            right.taps.append(_channel_tap(rec, 1))
            taps.append((right, False))
        else:
            ep.out_taps.append(_channel_tap(rec, 1))
            taps.append((ep, True))
        self._recorders[rid] = rec
        self._rec_taps[rid] = taps
        for tapped, _ in taps:
            tapped.reconfigure()
        self._update_ticking()
        return RecordingHandle(rid, path)

    def recorder(self, handle: RecordingHandle | int) -> Recorder:
        rid = handle if isinstance(handle, int) else handle.id
        rec = self._recorders.get(rid)
        if rec is None:
            raise MediaError(f"no recording {rid}")
        return rec

    def pause_record(self, handle: RecordingHandle | int) -> None:
        self.recorder(handle).pause()

    def resume_record(self, handle: RecordingHandle | int) -> None:
        self.recorder(handle).resume()

    def stop_record(self, handle: RecordingHandle | int) -> Path | None:
        rid = handle if isinstance(handle, int) else handle.id
        rec = self._recorders.pop(rid, None)
        if rec is None:
            return None
        for ep, _ in self._rec_taps.pop(rid, []):
            ep.taps = [t for t in ep.taps if getattr(t, "recorder", None) is not rec]
            ep.out_taps = [t for t in ep.out_taps if getattr(t, "recorder", None) is not rec]
            ep.reconfigure()
        self._update_ticking()
        return rec.stop()

    # -- mixing -------------------------------------------------------------------------------

    def mix(self, hears: dict[int, set[int]]) -> int:
        """Put the legs named in ``hears`` (endpoint ids) in one mix; returns the mix id."""
        mixer = Mixer(hears)
        mix_id = next(self._ids)
        members = [self.endpoint(eid) for eid in mixer.ids]
        for ep in members:
            self.unbridge(ep)
            self._leave_mix(ep)
            ep.echo = False
        self._mixers[mix_id] = mixer
        for ep in members:
            self._mix_of[ep.id] = mix_id
            ep.taps.append(_mixer_tap(mixer))
            if ep.id not in self._jobs:
                ep.source = mixer
            self._source_changed(ep)
        return mix_id

    def conference(self, legs: Sequence[Endpoint | int]) -> int:
        return self.mix(conference_matrix([self.endpoint(leg).id for leg in legs]))

    def monitor(self, caller: Endpoint | int, agent: Endpoint | int, sup: Endpoint | int) -> int:
        """Supervisor hears both parties; nobody hears the supervisor (监听)."""
        return self.mix(monitor_matrix(*self._ids_of(caller, agent, sup)))

    def whisper(self, caller: Endpoint | int, agent: Endpoint | int, sup: Endpoint | int) -> int:
        """Supervisor hears both, and is heard by the agent only."""
        return self.mix(whisper_matrix(*self._ids_of(caller, agent, sup)))

    def barge(self, caller: Endpoint | int, agent: Endpoint | int, sup: Endpoint | int) -> int:
        """Three-way: everyone hears everyone else (强插)."""
        return self.mix(barge_matrix(*self._ids_of(caller, agent, sup)))

    def _ids_of(self, *legs: Endpoint | int) -> tuple[int, int, int]:
        a, b, c = (self.endpoint(leg).id for leg in legs)
        return a, b, c

    def unmix(self, mix_id: int) -> None:
        """Dissolve a mix; its legs are left unwired (bridge them again if wanted)."""
        mixer = self._mixers.pop(mix_id, None)
        if mixer is None:
            return
        for eid in mixer.ids:
            ep = self._eps.get(eid)
            self._mix_of.pop(eid, None)
            if ep is None:
                continue
            ep.taps = [t for t in ep.taps if getattr(t, "mixer", None) is not mixer]
            if ep.source is mixer:
                ep.source = None
            self._source_changed(ep)

    def _leave_mix(self, ep: Endpoint) -> None:
        mix_id = self._mix_of.get(ep.id)
        if mix_id is not None:
            self.unmix(mix_id)


class _ChannelTap:
    def __init__(self, recorder: Recorder, channel: int) -> None:
        self.recorder = recorder
        self.channel = channel

    def __call__(self, ep: Endpoint, pcm: Pcm) -> None:
        self.recorder.feed(self.channel, pcm)


class _MixerTap:
    def __init__(self, mixer: Mixer) -> None:
        self.mixer = mixer

    def __call__(self, ep: Endpoint, pcm: Pcm) -> None:
        self.mixer.feed(ep.id, pcm)


def _leg_figures(ep: Endpoint) -> dict[str, Any]:
    """One leg's counters and, with RTCP on, its loss/jitter both ways (see ``LegRtcp``)."""
    out: dict[str, Any] = {"id": ep.id, "call_id": ep.call_id, "packets_in": ep.packets_in,
                           "packets_out": ep.packets_out}  # fmt: skip
    if ep.rtcp is not None:
        out.update(ep.rtcp.figures())
    return out


def _channel_tap(rec: Recorder, channel: int) -> _ChannelTap:
    return _ChannelTap(rec, channel)


def _mixer_tap(mixer: Mixer) -> _MixerTap:
    return _MixerTap(mixer)


__all__ = ["DtmfReceived", "MediaEngine", "MediaError", "RecordingHandle", "codec_for"]
