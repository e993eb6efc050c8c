"""The native relay (``callcenter.media.native``): it owns plain bridged pairs, forwards them
byte for byte, latches, reports DTMF, keeps the same statistics as the Python path, and gives
a pair back mid-stream without losing a packet."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from callcenter.media import native
from callcenter.media.codec import PCMU
from callcenter.media.engine import MediaEngine
from callcenter.media.rtcp import LegRtcp
from callcenter.rtp.packet import RtpPacket
from callcenter.rtp.rtcp import ReceiverReport, ReportBlock, SenderReport, parse_rtcp

from .conftest import port_base
from .phone import Phone, open_phone, wait_for
from .test_relay import _call

HOST = "127.0.0.1"

pytestmark = pytest.mark.skipif(
    native.load_library() is None, reason=f"native relay not built: {native.load_error()}"
)


@pytest.fixture
async def eng(tmp_path: Path):  # type: ignore[no-untyped-def]
    e = MediaEngine(port_base(), port_base() + 59, cache_dir=tmp_path / "tts", native_relay="on")
    yield e
    await e.close()
    assert e.pool.in_use == 0


def _close(*phones: Phone) -> None:
    for p in phones:
        p.close()


async def test_a_plain_bridge_is_relayed_natively_in_order_and_untouched(
    eng: MediaEngine,
) -> None:
    a, b, ea, eb = await _call(eng)
    assert eng.native is not None and eng.native.pairs == 1
    assert ea.native is eng.native and eb.native is eng.native
    sent_ab = [a.packet(PCMU, bytes([k % 256]) * 160) for k in range(300)]
    sent_ba = [b.packet(PCMU, bytes([k % 200]) * 172) for k in range(300)]
    for k in range(300):
        a.send(sent_ab[k], (HOST, ea.local_port))
        b.send(sent_ba[k], (HOST, eb.local_port))
        if k % 50 == 49:
            await asyncio.sleep(0.005)
    await wait_for(lambda: len(a.received) == 300 and len(b.received) == 300)
    assert b.received == sent_ab and a.received == sent_ba  # byte-identical, in order
    assert {src[1] for src in b.sources} == {eb.local_port}
    figures = {leg["id"]: leg for leg in eng.stats()["legs"]}
    assert figures[ea.id]["packets_in"] == 300 and figures[eb.id]["packets_out"] == 300
    assert figures[ea.id]["expected"] == 299 and figures[ea.id]["lost"] == 0  # A.1 probation
    eng.unbridge(ea)
    assert eng.native.pairs == 0 and ea.native is None and eb.native is None
    _close(a, b)


async def test_drops_short_and_non_rtp_and_latches_on_the_real_source(eng: MediaEngine) -> None:
    a, b, ea, eb = await _call(eng)
    stray, real = await open_phone(), await open_phone()
    stray.send(b"\x80\x00\x00", (HOST, ea.local_port))  # too short
    stray.send(b"\x40" + bytes(171), (HOST, ea.local_port))  # version 1
    stray.send(b"\x80\xc9" + bytes(30), (HOST, ea.local_port))  # RTCP RR on the RTP port
    pkt = real.packet(PCMU, b"\x11" * 160)
    real.send(pkt, (HOST, ea.local_port))
    await wait_for(lambda: len(b.received) == 1)
    assert b.received == [pkt]
    b.send(b.packet(PCMU, b"\x22" * 160), (HOST, eb.local_port))
    await wait_for(lambda: len(real.received) == 1)
    assert a.received == [] and stray.received == []
    ea.native_sync()
    assert ea.remote == (HOST, real.port) and ea.latched and ea.packets_in == 1
    assert ea.rtcp_remote == (HOST, real.port + 1)
    _close(a, b, stray, real)


async def test_take_back_mid_stream_loses_nothing(eng: MediaEngine, tmp_path: Path) -> None:
    a, b, ea, eb = await _call(eng)
    sent = [a.packet(PCMU, bytes([k % 256]) * 160) for k in range(600)]
    for k, pkt in enumerate(sent):
        a.send(pkt, (HOST, ea.local_port))
        if k == 200:
            rec = eng.record(ea, tmp_path / "r.wav")  # taps: back to the Python path
            assert ea.native is None
        if k == 400:
            eng.stop_record(rec)  # plain again: native again
            assert ea.native is not None
        if k % 20 == 19:
            await asyncio.sleep(0.002)
    await wait_for(lambda: len(b.received) == 600)
    assert sorted(b.received) == sorted(sent)
    eng.stats()
    assert ea.packets_in == 600 and eb.packets_out == 600
    assert ea.rtcp is not None
    source = ea.rtcp.rx.sources[a.ssrc]
    assert source.received == source.expected == 599  # A.1: the first packet is probation
    _close(a, b)


async def test_set_remote_takes_the_pair_back_before_it_changes(eng: MediaEngine) -> None:
    a, b, ea, eb = await _call(eng)
    a.send(a.packet(PCMU, b"\x01" * 160), (HOST, ea.local_port))
    await wait_for(lambda: len(b.received) == 1)
    moved = await open_phone()
    eng.set_remote(ea, HOST, moved.port, PCMU)  # a re-INVITE: latch again
    assert ea.remote == (HOST, moved.port) and not ea.latched
    assert ea.native is not None  # handed over again with the new remote
    b.send(b.packet(PCMU, b"\x02" * 160), (HOST, eb.local_port))
    await wait_for(lambda: len(moved.received) == 1)
    assert a.received == []
    _close(a, b, moved)


async def test_release_closes_each_socket_once_and_frees_the_ports(eng: MediaEngine) -> None:
    a, b, ea, eb = await _call(eng)
    a.send(a.packet(PCMU, b"\x01" * 160), (HOST, ea.local_port))
    await wait_for(lambda: len(b.received) == 1)
    socks = [ep.transport.sock for ep in (ea, eb) if ep.transport is not None]
    await eng.release(ea)
    assert eng.native is not None and eng.native.pairs == 0 and eb.native is None
    await eng.release(eb)
    assert [s.fileno() for s in socks] == [-1, -1]
    assert eng.pool.in_use == 0 and eng.endpoints == 0
    _close(a, b)


def test_native_statistics_equal_the_python_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same packets, same arrival times: loss, reordering, duplicates, a sequence wrap, a big
    jump (A.1 restart) and an SSRC change give identical ``SourceStats`` on both sides."""
    rng = random.Random(11)
    clock = [100.0]
    monkeypatch.setattr("callcenter.media.rtcp._clock", lambda: clock[0])
    leg, c = LegRtcp(1, b"x", 0.0), native.new_leg()
    seq, ts, ssrc = 64000, 123, 0xAB
    for k in range(4000):
        if k == 1500:
            seq += 20000  # a restart (two packets in a row after a big jump)
        if k == 2500:
            ssrc, seq = 0xCD, 7  # the phone restarted its stream
        step = rng.choice([1] * 20 + [2, 3, 0, -1, -2])
        seq, ts = (seq + step) & 0xFFFF, (ts + 160 * step) & 0xFFFFFFFF
        clock[0] += 0.02 + rng.uniform(-0.004, 0.004)
        data = RtpPacket(0, seq, ts, ssrc, b"\xff" * rng.choice([160, 80])).serialize()
        leg.receive_rtp(data)
        native.feed_stats(c, data, clock[0])
        if k % 997 == 0:  # an RTCP report in between moves the A.3 priors on both sides
            leg.rx.report_blocks(clock[0])
            mirrored = native.new_leg()
            native.stats_to_c(leg.rx.sources, None, mirrored)
            for i in range(native.MAX_SRC):
                for j in range(native.MAX_SRC):
                    if c.src[i].ssrc >= 0 and c.src[i].ssrc == mirrored.src[j].ssrc:
                        c.src[i].expected_prior = mirrored.src[j].expected_prior
                        c.src[i].received_prior = mirrored.src[j].received_prior
    from_c: dict[int, object] = {}
    active = native.stats_from_c(c, from_c, 8000)  # type: ignore[arg-type]
    assert active == leg.rx.active_ssrc == 0xCD
    assert from_c == leg.rx.sources
    assert leg.rx.sources[0xCD].received > 1000


async def test_rtcp_reports_of_a_native_pair_carry_its_statistics(tmp_path: Path) -> None:
    """Reports are built in Python from the native statistics, and the A.3 interval state a
    report moves goes back to the native side: the next report's fraction lost is fresh."""
    base = port_base() + 60
    eng = MediaEngine(base, base + 59, cache_dir=tmp_path, rtcp_interval=0.2, native_relay="on")
    try:
        a, b, ea, _ = await _call(eng)
        rtcp = await open_phone()
        theirs = ReceiverReport(0x9999, (ReportBlock(ea.sender.ssrc, 0, 0, 0, 0),))
        rtcp.send(theirs.serialize(), (HOST, ea.local_port + 1))  # latches ea's RTCP here
        await wait_for(lambda: ea.rtcp_in == 1)
        assert ea.native is not None
        for k in range(100):
            packet = a.packet(PCMU, b"\xff" * 160)
            a.ts += 160
            if k % 10 != 5:  # 10 of 100 never leave
                a.send(packet, (HOST, ea.local_port))
        await wait_for(lambda: len(b.received) == 90)

        def blocks() -> list[ReportBlock]:
            return [
                blk
                for d in rtcp.received
                for p in parse_rtcp(d)
                if isinstance(p, ReceiverReport | SenderReport)
                for blk in p.reports
                if blk.ssrc == a.ssrc
            ]

        await wait_for(lambda: any(blk.cumulative_lost == 10 for blk in blocks()))
        first = next(blk for blk in blocks() if blk.cumulative_lost == 10)
        assert first.fraction_lost > 0
        for _ in range(20):  # no loss now: the next block's interval starts after the first
            packet = a.packet(PCMU, b"\xff" * 160)
            a.ts += 160
            a.send(packet, (HOST, ea.local_port))
        await wait_for(lambda: any(blk.highest_sequence == a.seq - 1 for blk in blocks()))
        last = next(blk for blk in blocks() if blk.highest_sequence == a.seq - 1)
        assert last.cumulative_lost == 10 and last.fraction_lost == 0
        assert ea.native is not None  # reports never took the pair back
        _close(a, b, rtcp)
    finally:
        await eng.close()
