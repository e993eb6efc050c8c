"""A small pure reader and writer for classic libpcap capture files (the ``tcpdump -w`` format,
both byte orders, micro- and nanosecond variants) carrying UDP over IPv4/IPv6 on Ethernet
(with 802.1Q tags), Linux cooked (SLL), BSD loopback or raw IP links.

It exists so tests and tools can replay the RTP in SIPp's ``/usr/share/sip-tester/*.pcap`` and
captures of our own traffic without a dependency; it does not reassemble IP fragments (a
fragment other than the first is skipped) and ignores everything but UDP. Bytes in, records out.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["PcapError", "PcapRecord", "UdpDatagram", "read_pcap", "udp_datagrams", "write_pcap"]

_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
LINK_NULL, LINK_ETHERNET, LINK_RAW, LINK_LINUX_SLL = 0, 1, 101, 113
_ETH_IPV4, _ETH_IPV6, _ETH_VLAN = 0x0800, 0x86DD, 0x8100
_UDP = 17


class PcapError(ValueError):
    """Not a classic pcap file, or a truncated one."""


@dataclass(frozen=True, slots=True)
class PcapRecord:
    """One captured frame: capture time in seconds and the link-layer bytes."""

    timestamp: float
    linktype: int
    data: bytes


@dataclass(frozen=True, slots=True)
class UdpDatagram:
    """A UDP datagram found in a capture."""

    timestamp: float
    src: tuple[str, int]
    dst: tuple[str, int]
    payload: bytes


def read_pcap(data: bytes) -> Iterator[PcapRecord]:
    """Yield the records of a classic pcap file held in memory."""
    if len(data) < 24 or data[:4] not in _MAGICS:
        raise PcapError("not a classic pcap file")
    order, unit = _MAGICS[data[:4]]
    (linktype,) = struct.unpack_from(order + "I", data, 20)
    record = struct.Struct(order + "IIII")
    offset = 24
    while offset < len(data):
        if offset + 16 > len(data):
            raise PcapError("truncated record header")
        seconds, fraction, caplen, _ = record.unpack_from(data, offset)
        offset += 16
        if offset + caplen > len(data):
            raise PcapError("truncated record")
        yield PcapRecord(
            seconds + fraction * unit, linktype & 0xFFFF, data[offset : offset + caplen]
        )
        offset += caplen


def _network_layer(linktype: int, frame: bytes) -> tuple[int, bytes] | None:
    """(ethertype, IP packet) for the supported link types."""
    if linktype == LINK_ETHERNET:
        offset, ethertype = 14, int.from_bytes(frame[12:14], "big")
        while ethertype == _ETH_VLAN:
            ethertype = int.from_bytes(frame[offset + 2 : offset + 4], "big")
            offset += 4
        return ethertype, frame[offset:]
    if linktype == LINK_LINUX_SLL:
        return int.from_bytes(frame[14:16], "big"), frame[16:]
    if linktype == LINK_NULL:
        family = int.from_bytes(frame[:4], "little")
        return (_ETH_IPV4 if family == 2 else _ETH_IPV6), frame[4:]
    if linktype == LINK_RAW and frame:
        return (_ETH_IPV4 if frame[0] >> 4 == 4 else _ETH_IPV6), frame
    return None


def _udp_in_ip(ethertype: int, packet: bytes) -> tuple[str, str, bytes] | None:
    """(src address, dst address, UDP segment) when ``packet`` is an unfragmented-start UDP."""
    if ethertype == _ETH_IPV4 and len(packet) >= 20 and packet[0] >> 4 == 4:
        header = (packet[0] & 0x0F) * 4
        fragment_offset = int.from_bytes(packet[6:8], "big") & 0x1FFF
        if packet[9] != _UDP or fragment_offset:
            return None
        total = int.from_bytes(packet[2:4], "big")
        src, dst = ipaddress.IPv4Address(packet[12:16]), ipaddress.IPv4Address(packet[16:20])
        return str(src), str(dst), packet[header:total]
    if ethertype == _ETH_IPV6 and len(packet) >= 40 and packet[6] == _UDP:
        src6, dst6 = ipaddress.IPv6Address(packet[8:24]), ipaddress.IPv6Address(packet[24:40])
        length = int.from_bytes(packet[4:6], "big")
        return str(src6), str(dst6), packet[40 : 40 + length]
    return None


def udp_datagrams(data: bytes) -> Iterator[UdpDatagram]:
    """Yield every UDP datagram in a pcap file (others frames are skipped)."""
    for record in read_pcap(data):
        network = _network_layer(record.linktype, record.data)
        if network is None:
            continue
        found = _udp_in_ip(*network)
        if found is None or len(found[2]) < 8:
            continue
        src, dst, segment = found
        sport, dport, length = struct.unpack_from("!HHH", segment)
        payload = segment[8:length]
        yield UdpDatagram(record.timestamp, (src, sport), (dst, dport), payload)


def _ipv4_udp_frame(datagram: UdpDatagram) -> bytes:
    udp_len = 8 + len(datagram.payload)
    udp = struct.pack("!HHHH", datagram.src[1], datagram.dst[1], udp_len, 0) + datagram.payload
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + udp_len,
        0,
        0,
        64,
        _UDP,
        0,
        ipaddress.IPv4Address(datagram.src[0]).packed,
        ipaddress.IPv4Address(datagram.dst[0]).packed,
    )
    return bytes(12) + _ETH_IPV4.to_bytes(2, "big") + ip + udp


def write_pcap(datagrams: Iterable[UdpDatagram]) -> bytes:
    """A little-endian microsecond pcap of IPv4 UDP datagrams on Ethernet (checksums zero)."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINK_ETHERNET)]
    for datagram in datagrams:
        frame = _ipv4_udp_frame(datagram)
        seconds = int(datagram.timestamp)
        micros = round((datagram.timestamp - seconds) * 1e6)
        out.append(struct.pack("<IIII", seconds, micros, len(frame), len(frame)) + frame)
    return b"".join(out)
