"""Shared fixtures: SIPp's sample captures (Debian ``sip-tester``) read with our pcap reader."""

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from callcenter.rtp import g711
from callcenter.rtp.packet import RtpPacket, parse_rtp
from callcenter.rtp.pcap import udp_datagrams

SIPP = Path("/usr/share/sip-tester")
DTMF_NAMES = [*"0123456789", "star", "pound"]


def sipp_rtp(name: str) -> list[tuple[float, RtpPacket]]:
    path = SIPP / name
    if not path.exists():
        pytest.skip(f"{path} not installed (Debian package sip-tester)")
    return [(d.timestamp, parse_rtp(d.payload)) for d in udp_datagrams(path.read_bytes())]


@pytest.fixture(scope="session")
def sipp_speech() -> npt.NDArray[np.int16]:
    """The ~7 s of PCMA speech in SIPp's g711a.pcap, decoded to PCM16."""
    packets = sipp_rtp("g711a.pcap")
    pcm = b"".join(g711.alaw_to_pcm16(p.payload) for _, p in packets)
    return np.frombuffer(pcm, "<i2")
