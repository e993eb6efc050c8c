"""Relay, latching, echo and transcoding on loopback through a real MediaEngine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from callcenter.media import native
from callcenter.media.codec import PCMA, PCMU
from callcenter.media.engine import MediaEngine
from callcenter.rtp.g711 import ulaw_to_alaw
from callcenter.rtp.packet import parse_rtp

from .conftest import port_base
from .phone import open_phone, wait_for

HOST = "127.0.0.1"


@pytest.fixture(params=["native", "python"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MediaEngine]:
    """Every relay test on both paths: the native relay (when built) and the Python one."""
    if request.param == "native" and native.load_library() is None:
        pytest.skip(f"native relay not built: {native.load_error()}")
    mode = "on" if request.param == "native" else "off"
    eng = MediaEngine(port_base(), port_base() + 59, cache_dir=tmp_path / "tts", native_relay=mode)
    yield eng
    await eng.close()
    assert eng.pool.in_use == 0


async def _call(engine: MediaEngine, pt_a: int = PCMU, pt_b: int = PCMU):  # type: ignore[no-untyped-def]
    a, b = await open_phone(), await open_phone()
    ea = await engine.create_endpoint("call-1", HOST)
    eb = await engine.create_endpoint("call-1b", HOST)
    engine.set_remote(ea, HOST, a.port, pt_a)
    engine.set_remote(eb, HOST, b.port, pt_b)
    engine.bridge(ea, eb)
    return a, b, ea, eb


async def test_relay_both_directions_forwards_packets_untouched(engine: MediaEngine) -> None:
    a, b, ea, eb = await _call(engine)
    sent_ab = [a.packet(PCMU, bytes([k]) * 160) for k in range(20)]
    sent_ba = [b.packet(PCMU, bytes([200 - k]) * 160) for k in range(20)]
    for pa, pb in zip(sent_ab, sent_ba, strict=True):
        a.send(pa, (HOST, ea.local_port))
        b.send(pb, (HOST, eb.local_port))
    await wait_for(lambda: len(a.received) == 20 and len(b.received) == 20)
    assert sorted(b.received) == sorted(sent_ab)
    assert sorted(a.received) == sorted(sent_ba)
    assert {src[1] for src in b.sources} == {eb.local_port}
    assert ea.handle == ea._handle_relay  # the zero-decode path was the one taken
    a.close()
    b.close()


async def test_latches_to_the_address_packets_come_from(engine: MediaEngine) -> None:
    a, b, ea, eb = await _call(engine)
    real_a = await open_phone()  # SIPp-style: audio comes from another port than the SDP's
    real_a.send(real_a.packet(PCMU, b"\xff" * 160), (HOST, ea.local_port))
    await wait_for(lambda: len(b.received) == 1)
    b.send(b.packet(PCMU, b"\x7f" * 160), (HOST, eb.local_port))
    await wait_for(lambda: len(real_a.received) == 1)
    assert a.received == []
    ea.native_sync()  # the native relay's latch, when it owns the pair
    assert ea.remote == (HOST, real_a.port)
    # A stray packet from elsewhere does not steal the latched leg.
    a.send(a.packet(PCMU, b"\x00" * 160), (HOST, ea.local_port))
    b.send(b.packet(PCMU, b"\x7e" * 160), (HOST, eb.local_port))
    await wait_for(lambda: len(real_a.received) == 2)
    assert a.received == []
    for p in (a, b, real_a):
        p.close()


async def test_set_remote_again_relatches(engine: MediaEngine) -> None:
    a, b, ea, eb = await _call(engine)
    a.send(a.packet(PCMU, b"\x01" * 160), (HOST, ea.local_port))
    await wait_for(lambda: len(b.received) == 1)
    moved = await open_phone()
    engine.set_remote(ea, HOST, moved.port, PCMU)  # a re-INVITE moved the phone
    b.send(b.packet(PCMU, b"\x02" * 160), (HOST, eb.local_port))
    await wait_for(lambda: len(moved.received) == 1)
    assert len(a.received) == 0
    for p in (a, b, moved):
        p.close()


async def test_echo_sends_back_what_arrives(engine: MediaEngine) -> None:
    phone = await open_phone()
    ep = await engine.create_endpoint("echo", HOST)
    engine.set_remote(ep, HOST, 9, PCMU)  # SDP says port 9; the packets tell the truth
    engine.echo(ep)
    sent = [phone.packet(PCMU, bytes([k]) * 160) for k in range(10)]
    for p in sent:
        phone.send(p, (HOST, ep.local_port))
    await wait_for(lambda: len(phone.received) == 10)
    assert phone.received == sent
    phone.close()


async def test_transcodes_pcmu_to_pcma_and_back(engine: MediaEngine) -> None:
    a, b, ea, eb = await _call(engine, PCMU, PCMA)
    rng = np.random.default_rng(7)
    payload = rng.integers(0, 256, 160, dtype=np.uint8).tobytes()
    sent = a.packet(PCMU, payload)
    a.send(sent, (HOST, ea.local_port))
    await wait_for(lambda: len(b.received) == 1)
    got = parse_rtp(b.received[0])
    assert got.payload_type == PCMA
    assert got.payload == ulaw_to_alaw(payload)
    assert got.sequence == parse_rtp(sent).sequence
    b.send(b.packet(PCMA, got.payload), (HOST, eb.local_port))
    await wait_for(lambda: len(a.received) == 1)
    back = parse_rtp(a.received[0])
    assert back.payload_type == PCMU
    assert len(back.payload) == 160
    a.close()
    b.close()


async def test_dtmf_packets_become_one_event_per_key(engine: MediaEngine) -> None:
    a, b, ea, _ = await _call(engine)
    events = []
    engine.on_dtmf = events.append
    for digit in "15#":
        a.send_dtmf(digit, (HOST, ea.local_port))
    await wait_for(lambda: len(events) == 3)
    assert [e.digit for e in events] == ["1", "5", "#"]
    assert all(e.duration_ms == 100 and e.endpoint_id == ea.id for e in events)
    await wait_for(lambda: len(b.received) == 24)  # telephone-events are relayed too
    assert ea.native is engine.native  # on the native path the pair never left it
    a.close()
    b.close()


async def test_unbridge_stops_the_relay(engine: MediaEngine) -> None:
    a, b, ea, eb = await _call(engine)
    engine.unbridge(ea)
    assert ea.peer is None and eb.peer is None
    a.send(a.packet(PCMU, b"\x01" * 160), (HOST, ea.local_port))
    b.send(b.packet(PCMU, b"\x01" * 160), (HOST, eb.local_port))
    await wait_for(lambda: ea.packets_in == 1 and eb.packets_in == 1)
    assert a.received == [] and b.received == []
    a.close()
    b.close()
