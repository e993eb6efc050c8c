"""RTCP on loopback: the RR/SR + SDES each leg sends, and the remote's reports in stats()."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.media.codec import PCMU
from callcenter.media.engine import MediaEngine
from callcenter.media.player import Tone
from callcenter.media.rtcp import LegRtcp
from callcenter.rtp.packet import RtpPacket
from callcenter.rtp.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    SenderReport,
    SourceDescription,
    compact_ntp,
    parse_rtcp,
)
from callcenter.rtp.stats import RtpStats

from .conftest import port_base
from .phone import Phone, open_phone, wait_for

HOST = "127.0.0.1"


@pytest.fixture
async def fast(tmp_path: Path) -> AsyncIterator[MediaEngine]:
    """An engine reporting every ~0.2 s instead of ~5 s, so tests see several reports."""
    base = port_base() + 60
    eng = MediaEngine(base, base + 59, cache_dir=tmp_path / "tts", rtcp_interval=0.2)
    yield eng
    await eng.close()
    assert eng.pool.in_use == 0


def reports(rtcp: Phone) -> list[list[RtcpPacket]]:
    return [parse_rtcp(d) for d in rtcp.received]


def blocks_about(rtcp: Phone, ssrc: int) -> list[ReportBlock]:
    return [
        b
        for compound in reports(rtcp)
        for p in compound
        if isinstance(p, ReceiverReport | SenderReport)
        for b in p.reports
        if b.ssrc == ssrc
    ]


async def test_induced_loss_shows_in_the_rr_and_in_stats(fast: MediaEngine) -> None:
    phone, rtcp = await open_phone(), await open_phone()
    ep = await fast.create_endpoint("lossy", HOST)
    fast.set_remote(ep, HOST, phone.port, PCMU)
    # The phone's own RR (about a stream it got from us) latches our RTCP to its socket.
    theirs = ReceiverReport(0x9999, (ReportBlock(ep.sender.ssrc, 64, 7, 500, 80),))
    rtcp.send(theirs.serialize(), (HOST, ep.local_port + 1))
    for k in range(100):
        packet = phone.packet(PCMU, b"\xff" * 160)
        phone.ts += 160
        if k % 10 != 5:  # 10 of 100 packets never leave: 5, 15, ..., 95
            phone.send(packet, (HOST, ep.local_port))
    await wait_for(lambda: ep.packets_in == 90)
    await wait_for(lambda: any(b.cumulative_lost == 10 for b in blocks_about(rtcp, phone.ssrc)))
    compound = next(
        c for c in reports(rtcp) if any(b.cumulative_lost == 10 for b in _blocks(c, phone.ssrc))
    )
    assert isinstance(compound[0], ReceiverReport)  # we sent nothing of our own: RR
    assert compound[0].ssrc == ep.sender.ssrc
    sdes = compound[1]
    assert isinstance(sdes, SourceDescription)
    cname = sdes.cname(ep.sender.ssrc)
    assert cname is not None and cname.endswith(b"@127.0.0.1")
    (leg,) = fast.stats()["legs"]
    assert leg["lost"] == 10 and leg["expected"] == 99  # the first packet is probation (A.1)
    assert leg["loss"] == pytest.approx(10 / 99)
    assert leg["remote_lost"] == 7 and leg["remote_fraction_lost"] == 0.25
    assert leg["remote_jitter_ms"] == 10.0 and leg["rtt_ms"] is None
    assert leg["rtcp_in"] == 1 and leg["rtcp_out"] >= 1
    phone.close()
    rtcp.close()


def _blocks(compound: list[RtcpPacket], ssrc: int) -> list[ReportBlock]:
    return [
        b
        for p in compound
        if isinstance(p, ReceiverReport | SenderReport)
        for b in p.reports
        if b.ssrc == ssrc
    ]


async def test_a_playing_leg_sends_sr_and_measures_round_trip(fast: MediaEngine) -> None:
    phone, rtcp = await open_phone(), await open_phone()
    ep = await fast.create_endpoint("sr", HOST)
    fast.set_remote(ep, HOST, phone.port, PCMU)
    rtcp.send(ReceiverReport(0x9999).serialize(), (HOST, ep.local_port + 1))
    await wait_for(lambda: ep.rtcp_in == 1)
    await fast.play(ep, [Tone((440.0,), 600)])
    await wait_for(
        lambda: any(isinstance(c[0], SenderReport) and c[0].packet_count for c in reports(rtcp))
    )
    sr = next(c[0] for c in reports(rtcp) if isinstance(c[0], SenderReport))
    assert sr.ssrc == ep.sender.ssrc and 0 < sr.packet_count <= len(phone.received)
    assert sr.octet_count == 160 * sr.packet_count
    # The phone answers with a block echoing the SR time (LSR) and no delay (DLSR 0).
    block = ReportBlock(ep.sender.ssrc, 0, 0, 0, 0, compact_ntp(sr.ntp_timestamp), 0)
    rtcp.send(ReceiverReport(0x9999, (block,)).serialize(), (HOST, ep.local_port + 1))
    await wait_for(lambda: ep.rtcp_in == 2)
    (leg,) = fast.stats()["legs"]
    assert leg["rtt_ms"] is not None and leg["rtt_ms"] >= 0
    phone.close()
    rtcp.close()


async def test_release_says_bye_and_rtcp_follows_the_latched_rtp(fast: MediaEngine) -> None:
    sdp_phone, phone = await open_phone(), await open_phone()
    rtcp_next_to_rtp = await _phone_with_rtcp_at(phone.port + 1)
    ep = await fast.create_endpoint("bye", HOST)
    fast.set_remote(ep, HOST, sdp_phone.port, PCMU)  # the SDP says one port...
    for _ in range(3):
        phone.send(phone.packet(PCMU, b"\xff" * 160), (HOST, ep.local_port))  # ...RTP another
    await wait_for(lambda: ep.packets_in == 3)
    await wait_for(lambda: len(reports(rtcp_next_to_rtp)) >= 1)  # a report went out first
    await fast.release(ep)
    await wait_for(lambda: any(isinstance(p, Bye) for c in reports(rtcp_next_to_rtp) for p in c))
    assert sdp_phone.received == []
    for p in (sdp_phone, phone, rtcp_next_to_rtp):
        p.close()


async def test_a_leg_that_never_sent_leaves_without_bye(tmp_path: Path) -> None:
    """RFC 3550 §6.3.7: no RTP and no RTCP sent yet (the first report is seconds away):
    releasing the leg sends nothing at all."""
    base = port_base() + 100
    eng = MediaEngine(base, base + 19, cache_dir=tmp_path / "tts", rtcp_interval=60.0)
    try:
        phone = await open_phone()
        rtcp = await _phone_with_rtcp_at(phone.port + 1)
        ep = await eng.create_endpoint("quiet", HOST)
        eng.set_remote(ep, HOST, phone.port, PCMU)
        phone.send(phone.packet(PCMU, b"\xff" * 160), (HOST, ep.local_port))
        await wait_for(lambda: ep.packets_in == 1)
        await eng.release(ep)
        await asyncio.sleep(0.3)  # a BYE would have arrived by now on loopback
        assert rtcp.received == [] and phone.received == []
        phone.close()
        rtcp.close()
    finally:
        await eng.close()


async def _phone_with_rtcp_at(port: int) -> Phone:
    loop = asyncio.get_running_loop()
    try:
        _, proto = await loop.create_datagram_endpoint(Phone, local_addr=(HOST, port))
    except OSError:
        pytest.skip(f"port {port} is taken by another process")
    return proto


async def test_without_rtcp_the_relay_keeps_no_statistics(tmp_path: Path) -> None:
    base = port_base() + 60
    eng = MediaEngine(base, base + 59, cache_dir=tmp_path, rtcp_interval=None)
    phone = await open_phone()
    ep = await eng.create_endpoint("plain", HOST)
    eng.set_remote(ep, HOST, phone.port, PCMU)
    phone.send(phone.packet(PCMU, b"\xff" * 160), (HOST, ep.local_port))
    await wait_for(lambda: ep.packets_in == 1)
    assert ep.rtcp is None
    assert eng.stats()["legs"] == [
        {"id": ep.id, "call_id": "plain", "packets_in": 1, "packets_out": 0}
    ]
    await eng.close()
    phone.close()


def test_inline_accounting_matches_rtp_stats(monkeypatch: pytest.MonkeyPatch) -> None:
    """The relay's inline in-order path leaves exactly the state ``RtpStats.receive`` would,
    through loss, reordering, duplicates, a sequence wrap and an SSRC change."""
    rng = random.Random(5)
    clock = [100.0]
    monkeypatch.setattr("callcenter.media.rtcp._clock", lambda: clock[0])
    leg, reference = LegRtcp(1, b"x", 0.0), RtpStats()
    seq, ts, ssrc = 65000, 123, 0xAB
    for k in range(3000):
        if k == 2000:
            ssrc, seq = 0xCD, 7  # the phone restarted its stream
        step = rng.choice([1] * 20 + [2, 3, 0, -1, -2])
        seq, ts = (seq + step) & 0xFFFF, (ts + 160 * step) & 0xFFFFFFFF
        clock[0] += 0.02 + rng.uniform(-0.004, 0.004)
        data = RtpPacket(0, seq, ts, ssrc, b"\xff" * 160).serialize()
        leg.receive_rtp(data)
        reference.receive(ssrc, seq, ts, clock[0], 160)
    assert leg.rx.active_ssrc == reference.active_ssrc
    assert leg.rx.sources == reference.sources
    assert leg.rx.sources[0xCD].received > 900


async def test_rtcp_on_the_rtp_port_does_not_steal_the_latch(engine: MediaEngine) -> None:
    """Another leg's reports sent to "its phone's port + 1" may land on our RTP port (ports are
    shared between phones and engines on one host): they must not latch it."""
    a, b, stray = await open_phone(), await open_phone(), await open_phone()
    ea = await engine.create_endpoint("call", HOST)
    eb = await engine.create_endpoint("call-b", HOST)
    engine.set_remote(ea, HOST, a.port, PCMU)
    engine.set_remote(eb, HOST, b.port, PCMU)
    engine.bridge(ea, eb)
    report = ReceiverReport(0x5555, (ReportBlock(0x1234, 0, 0, 0, 0),))
    stray.send(report.serialize(), (HOST, ea.local_port))
    real = await open_phone()  # the caller's real source port, as SIPp does
    real.send(real.packet(PCMU, b"\xff" * 160), (HOST, ea.local_port))
    await wait_for(lambda: len(b.received) == 1)
    b.send(b.packet(PCMU, b"\x7f" * 160), (HOST, eb.local_port))
    await wait_for(lambda: len(real.received) == 1)
    ea.native_sync()  # the native relay's latch and counters, when it owns the pair
    assert stray.received == [] and ea.remote == (HOST, real.port) and ea.packets_in == 1
    for p in (a, b, stray, real):
        p.close()
