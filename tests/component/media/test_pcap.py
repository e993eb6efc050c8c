"""Replaying SIPp's PCMA capture at an engine endpoint (the helper e2e tests use)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from callcenter.media.codec import PCMA
from callcenter.media.engine import MediaEngine
from callcenter.media.pcap import PcapError, read_rtp, send_pcap
from callcenter.rtp.packet import parse_rtp

from .phone import open_phone, wait_for

G711A = Path("/usr/share/sip-tester/g711a.pcap")
needs_pcap = pytest.mark.skipif(not G711A.exists(), reason="sip-tester is not installed")


@needs_pcap
def test_reads_the_rtp_of_the_sipp_capture() -> None:
    packets = read_rtp(G711A)
    assert len(packets) > 100
    parsed = [parse_rtp(p.data) for p in packets]
    assert {p.payload_type for p in parsed} == {PCMA}
    assert {len(p.payload) for p in parsed} == {240}  # 30 ms packets
    gaps = np.diff([p.time for p in packets])
    assert 0.025 < float(np.median(gaps)) < 0.035


def test_rejects_a_file_that_is_not_pcap(tmp_path: Path) -> None:
    bad = tmp_path / "x.pcap"
    bad.write_bytes(b"not a capture at all")
    with pytest.raises(PcapError):
        read_rtp(bad)


@needs_pcap
async def test_pcap_audio_reaches_the_peer_and_the_recording(
    engine: MediaEngine, tmp_path: Path
) -> None:
    peer = await open_phone()
    ea = await engine.create_endpoint("pcap", "127.0.0.1")
    eb = await engine.create_endpoint("pcap-b", "127.0.0.1")
    engine.set_remote(ea, "127.0.0.1", 9, PCMA)
    engine.set_remote(eb, "127.0.0.1", peer.port, PCMA)
    engine.bridge(ea, eb)
    handle = engine.record(ea, tmp_path / "pcap.wav")
    sent = await send_pcap(G711A, ("127.0.0.1", ea.local_port), speed=4.0)
    await wait_for(lambda: len(peer.received) == sent)
    path = engine.stop_record(handle)
    assert path is not None
    with wave.open(str(path), "rb") as w:
        left = np.frombuffer(w.readframes(w.getnframes()), "<i2")[0::2]
    assert np.sqrt(np.mean(left.astype(float) ** 2)) > 100  # speech made it to the file
    peer.close()
