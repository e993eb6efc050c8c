"""The port pool: even/odd pairs, exhaustion, and no leak on any allocate/release/error path."""

from __future__ import annotations

import asyncio
import random
import socket

import pytest

from callcenter.media.engine import MediaEngine, MediaError
from callcenter.media.player import Tone
from callcenter.media.ports import PortPool, PortsExhaustedError, bind_pair

from .conftest import port_base
from .phone import open_phone


def test_pairs_are_even_rtp_odd_rtcp_within_range() -> None:
    pool = PortPool(10001, 10010)
    pairs = [pool.allocate() for _ in range(pool.size)]
    assert [p.rtp for p in pairs] == [10002, 10004, 10006, 10008]
    assert all(p.rtcp == p.rtp + 1 <= 10010 for p in pairs)
    with pytest.raises(PortsExhaustedError):
        pool.allocate()
    pool.release(pairs[1])
    assert pool.allocate() == pairs[1]


def test_double_release_is_refused() -> None:
    pool = PortPool(10000, 10003)
    pair = pool.allocate()
    pool.release(pair)
    with pytest.raises(ValueError, match="not allocated"):
        pool.release(pair)
    assert pool.in_use == 0 and pool.available == 2


def test_context_manager_releases_on_error() -> None:
    pool = PortPool(10000, 10003)
    with pytest.raises(RuntimeError), pool.pair():
        raise RuntimeError("boom")
    assert pool.in_use == 0


def test_random_allocate_release_sequences_never_leak() -> None:
    rng = random.Random(3)
    pool = PortPool(12000, 12199)
    held = []
    for _ in range(5000):
        if held and (rng.random() < 0.5 or pool.available == 0):
            pool.release(held.pop(rng.randrange(len(held))))
        else:
            held.append(pool.allocate())
        assert pool.in_use == len(held) and pool.available + pool.in_use == pool.size
    assert len({p.rtp for p in held}) == len(held)


def test_bind_pair_skips_ports_another_socket_holds() -> None:
    base = port_base() + 60
    pool = PortPool(base, base + 9)
    squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        squatter.bind(("127.0.0.1", base + 1))  # the RTCP port of the first pair
        pair, rtp, rtcp = bind_pair(pool, "127.0.0.1")
        assert pair.rtp == base + 2
        assert pool.in_use == 1
        rtp.close()
        rtcp.close()
        pool.release(pair)
    finally:
        squatter.close()
    assert pool.in_use == 0


def test_bind_to_a_foreign_address_fails_without_leaking() -> None:
    pool = PortPool(port_base() + 70, port_base() + 79)
    with pytest.raises(OSError):
        bind_pair(pool, "192.0.2.1")  # TEST-NET-1: not an address of this host
    assert pool.in_use == 0


async def test_engine_frees_ports_on_every_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    base = port_base() + 80
    engine = MediaEngine(base, base + 9, cache_dir=tmp_path)  # room for 5 legs
    legs = [await engine.create_endpoint(f"c{k}", "127.0.0.1") for k in range(5)]
    with pytest.raises(PortsExhaustedError):
        await engine.create_endpoint("one-too-many", "127.0.0.1")
    assert engine.pool.in_use == 5
    engine.bridge(legs[0], legs[1])
    engine.echo(legs[2])
    engine.conference([legs[3], legs[4]])
    handle = engine.record(legs[0], tmp_path / "r.wav")
    await engine.release(legs[0])  # bridged and recorded
    assert engine._recorders == {} and legs[1].peer is None
    await engine.release(legs[3])  # in a mix
    assert engine._mixers == {}
    await engine.release(legs[3])  # twice is harmless
    with pytest.raises(MediaError):
        engine.bridge(legs[0], legs[1])
    assert engine.stop_record(handle) is None
    phone = await open_phone()
    engine.set_remote(legs[2], "127.0.0.1", phone.port, 0)
    play = engine.play(legs[2], [Tone((440.0,), 10_000)])
    task = asyncio.ensure_future(play)
    await asyncio.sleep(0.05)
    await engine.release(legs[2])  # while playing
    await task
    assert engine.pool.in_use == 2
    for _ in range(50):  # churn: create/release many legs through the same small pool
        ep = await engine.create_endpoint("churn", "127.0.0.1")
        await engine.release(ep)
    with pytest.raises(OSError):
        await engine.create_endpoint("bad", "192.0.2.1")
    await engine.close()
    assert engine.pool.in_use == 0 and engine.endpoints == 0
    assert not engine._ticking
    phone.close()
