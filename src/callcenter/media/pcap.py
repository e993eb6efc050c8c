"""Replay the RTP of a capture file at an endpoint: a helper for tests and e2e runs.

Reads classic libpcap files (either byte order, micro- or nanosecond stamps; link types
Ethernet, raw IPv4 and Linux cooked) and keeps the UDP payloads that look like RTP (RFC 3550
§5.1 version 2, RFC 5761 §4 not RTCP), with their capture times. ``send_pcap`` sends them to an
address on the capture's own schedule (optionally faster), from one local socket, as SIPp's
``rtp_stream``/``play_pcap_audio`` do, e.g. /usr/share/sip-tester/g711a.pcap (PCMA, 30 ms).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

from callcenter.rtp.packet import is_rtp

_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_ETHERNET, _RAW, _LINUX_SLL = 1, 101, 113


class PcapError(ValueError):
    """Not a classic pcap file, or a link type this reader does not know."""


@dataclass(frozen=True)
class CapturedRtp:
    time: float  # seconds since the first packet kept
    data: bytes


def _ip_payload(frame: bytes, link: int) -> bytes | None:
    if link == _ETHERNET:
        ethertype, off = struct.unpack_from("!H", frame, 12)[0], 14
        if ethertype == 0x8100:  # one 802.1Q tag
            ethertype, off = struct.unpack_from("!H", frame, 16)[0], 18
    elif link == _LINUX_SLL:
        ethertype, off = struct.unpack_from("!H", frame, 14)[0], 16
    elif link == _RAW:
        ethertype, off = 0x0800, 0
    else:
        raise PcapError(f"link type {link} not supported")
    if ethertype != 0x0800 or len(frame) < off + 20:
        return None
    ihl = (frame[off] & 0x0F) * 4
    if frame[off + 9] != 17:  # UDP only
        return None
    udp = off + ihl
    length = struct.unpack_from("!H", frame, udp + 4)[0]
    return frame[udp + 8 : udp + length]


def read_rtp(path: Path) -> list[CapturedRtp]:
    """Every RTP packet of an IPv4/UDP capture, timed from the first one."""
    data = path.read_bytes()
    if data[:4] not in _MAGIC:
        raise PcapError(f"{path} is not a classic pcap file")
    order, unit = _MAGIC[data[:4]]
    link = struct.unpack_from(order + "I", data, 20)[0]
    out: list[CapturedRtp] = []
    pos, first = 24, None
    while pos + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack_from(order + "IIII", data, pos)
        frame = data[pos + 16 : pos + 16 + incl]
        pos += 16 + incl
        payload = _ip_payload(frame, link)
        if payload is None or not is_rtp(payload):
            continue
        t = sec + frac * unit
        first = t if first is None else first
        out.append(CapturedRtp(t - first, payload))
    return out


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
