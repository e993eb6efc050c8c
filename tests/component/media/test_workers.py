"""The worker-process pool behind the same control interface as the in-process engine."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.media.codec import PCMU
from callcenter.media.control import LocalMedia, MediaControl
from callcenter.media.engine import DtmfReceived, MediaEngine, MediaError
from callcenter.media.player import PlayOutcome, Tone
from callcenter.media.worker import WorkerPool, split_range

from .conftest import port_base
from .phone import open_phone, wait_for

HOST = "127.0.0.1"


def test_split_range_gives_disjoint_even_slices() -> None:
    slices = split_range(20001, 20100, 3)
    assert slices == [(20002, 20033), (20034, 20065), (20066, 20097)]
    with pytest.raises(ValueError, match="too small"):
        split_range(20000, 20003, 3)


@pytest.fixture(params=["local", "workers"])
async def media(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MediaControl]:
    base = port_base()
    control: MediaControl
    if request.param == "local":
        control = LocalMedia(MediaEngine(base, base + 59, tmp_path))
    else:
        pool = WorkerPool(2, base, base + 59, tmp_path)
        await pool.start()
        control = pool
    yield control
    await control.close()


async def test_bridge_play_and_dtmf_through_the_control_interface(media: MediaControl) -> None:
    digits: list[DtmfReceived] = []
    media.on_dtmf = digits.append
    a, b = await open_phone(), await open_phone()
    la = await media.create_endpoint("call-x", HOST)
    lb = await media.create_endpoint("call-x-b", HOST, group="call-x")
    assert la.worker == lb.worker
    await media.set_remote(la, HOST, a.port, PCMU)
    await media.set_remote(lb, HOST, b.port, PCMU)
    result = await media.play(la, [Tone((440.0,), 100)])
    assert result.outcome is PlayOutcome.FINISHED
    await wait_for(lambda: len(a.received) == 5)
    await media.bridge(la, lb)
    sent = a.packet(PCMU, b"\x33" * 160)
    a.send(sent, (HOST, la.local_port))
    await wait_for(lambda: sent in b.received)
    a.send_dtmf("9", (HOST, la.local_port))
    await wait_for(lambda: len(digits) == 1)
    assert digits[0].digit == "9" and digits[0].call_id == "call-x"
    stats = await media.stats()
    assert stats["endpoints"] == 2 and stats["packets_in"] >= 9
    legs = {leg["id"]: leg for leg in stats["legs"]}
    assert legs[la.id]["worker"] == la.worker and legs[la.id]["call_id"] == "call-x"
    assert legs[la.id]["packets_in"] == stats["packets_in"]  # only the caller's phone sent
    assert legs[la.id]["expected"] >= 1 and legs[la.id]["lost"] == 0  # RTCP statistics on
    await media.release(la)
    await media.release(lb)
    assert (await media.stats())["ports_in_use"] == 0
    a.close()
    b.close()


async def test_legs_in_different_workers_cannot_be_bridged(tmp_path: Path) -> None:
    base = port_base()
    pool = WorkerPool(2, base, base + 59, tmp_path)
    await pool.start()
    try:
        names = [f"call-{k}" for k in range(20)]
        by_worker = {pool.worker_for(n): n for n in names}
        assert len(by_worker) == 2  # the hash spreads calls over both workers
        legs = [await pool.create_endpoint(n, HOST) for n in by_worker.values()]
        with pytest.raises(MediaError, match="different media workers"):
            await pool.bridge(legs[0], legs[1])
        with pytest.raises(MediaError, match="no endpoint"):
            await pool.bridge(legs[0], legs[0].__class__(999, "x", HOST, 1, legs[0].worker))
    finally:
        await pool.close()


async def test_a_dead_worker_fails_calls_instead_of_hanging(tmp_path: Path) -> None:
    base = port_base()
    pool = WorkerPool(1, base, base + 59, tmp_path)
    await pool.start()
    leg = await pool.create_endpoint("doomed", HOST)
    pending = asyncio.ensure_future(pool.play(leg, [Tone((440.0,), 30_000)]))
    await asyncio.sleep(0.1)
    pid = pool._workers[0].proc.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(MediaError, match="died"):
        await asyncio.wait_for(pending, 10)
    with pytest.raises(MediaError, match="not running"):
        await pool.release(leg)
    await pool.close()
