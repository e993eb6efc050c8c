"""Replay the RTP of a capture file at an endpoint: a helper for tests and e2e runs.

The capture is read by the pure ``callcenter.rtp.pcap`` reader; this module keeps the UDP
payloads that look like RTP (RFC 3550 §5.1 version 2, RFC 5761 §4 not RTCP) with their capture
times, and ``send_pcap`` sends them to an address on the capture's own schedule (optionally
faster), from one local socket, as SIPp's ``rtp_stream``/``play_pcap_audio`` do, e.g.
/usr/share/sip-tester/g711a.pcap (PCMA, 30 ms packets).
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from pathlib import Path

from callcenter.rtp.packet import is_rtp
from callcenter.rtp.pcap import PcapError, udp_datagrams

__all__ = ["CapturedRtp", "PcapError", "read_rtp", "send_pcap"]


@dataclass(frozen=True)
class CapturedRtp:
    time: float  # seconds since the first packet kept
    data: bytes


def read_rtp(path: Path) -> list[CapturedRtp]:
    """Every RTP packet of a UDP capture, timed from the first one."""
    found = [d for d in udp_datagrams(path.read_bytes()) if is_rtp(d.payload)]
    if not found:
        return []
    first = found[0].timestamp
    return [CapturedRtp(d.timestamp - first, d.payload) for d in found]


async def send_pcap(
    path: Path,
    dest: tuple[str, int],
    speed: float = 1.0,
    sock: socket.socket | None = None,
) -> int:
    """Send the capture's RTP to ``dest`` paced like the capture (``speed`` > 1: faster).

    Uses ``sock`` if given (to send from a chosen port, e.g. to test latching), else a fresh
    socket on an ephemeral port. Returns how many packets were sent.
    """
    packets = read_rtp(path)
    own = sock is None
    if sock is None:
        family = socket.AF_INET6 if ":" in dest[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        for pkt in packets:
            delay = start + pkt.time / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            sock.sendto(pkt.data, dest)
    finally:
        if own:
            sock.close()
    return len(packets)
