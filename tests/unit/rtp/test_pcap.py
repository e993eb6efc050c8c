"""Pure pcap reader/writer: SIPp's captures, byte orders, link types, and malformed files."""

import itertools
import struct

import pytest

from callcenter.rtp.pcap import (
    LINK_LINUX_SLL,
    LINK_NULL,
    LINK_RAW,
    PcapError,
    UdpDatagram,
    read_pcap,
    udp_datagrams,
    write_pcap,
)

from .conftest import sipp_rtp

DGRAMS = [
    UdpDatagram(1000.25, ("127.0.0.1", 4000), ("127.0.0.2", 5000), b"hello"),
    UdpDatagram(1000.5, ("10.0.0.1", 1), ("10.0.0.2", 2), b""),
]


def test_sipp_speech_capture() -> None:
    packets = sipp_rtp("g711a.pcap")
    assert len(packets) > 200
    assert {p.payload_type for _, p in packets} == {8}
    assert {len(p.payload) for _, p in packets} == {240}  # 30 ms of PCMA
    seqs = [p.sequence for _, p in packets]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(seqs))


def test_write_then_read_roundtrip() -> None:
    assert list(udp_datagrams(write_pcap(DGRAMS))) == DGRAMS


def header(magic: int, linktype: int, order: str = "<") -> bytes:
    return struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)


def record(frame: bytes, order: str = "<", fraction: int = 0) -> bytes:
    return struct.pack(order + "IIII", 7, fraction, len(frame), len(frame)) + frame


def ipv4_udp(payload: bytes, proto: int = 17, frag: int = 0) -> bytes:
    udp = struct.pack("!HHHH", 1111, 2222, 8 + len(payload), 0) + payload
    ip = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(udp),
        0,
        frag,
        64,
        proto,
        0,
        bytes([192, 0, 2, 1]),
        bytes([192, 0, 2, 2]),
    )
    return ip + udp


def ipv6_udp(payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", 3333, 4444, 8 + len(payload), 0) + payload
    src = bytes(15) + b"\x01"
    return struct.pack("!IHBB", 0x60000000, len(udp), 17, 64) + src + src + udp


def test_big_endian_nanosecond_raw_ip() -> None:
    data = header(0xA1B23C4D, LINK_RAW, ">") + record(ipv4_udp(b"x"), ">", 500_000_000)
    (d,) = udp_datagrams(data)
    assert d == UdpDatagram(7.5, ("192.0.2.1", 1111), ("192.0.2.2", 2222), b"x")


def test_linux_sll_and_bsd_loopback_and_ipv6() -> None:
    sll = bytes(14) + b"\x86\xdd" + ipv6_udp(b"six")
    null = struct.pack("<I", 2) + ipv4_udp(b"four")
    raw6 = ipv6_udp(b"raw")
    got = [d.payload for d in udp_datagrams(header(0xA1B2C3D4, LINK_LINUX_SLL) + record(sll))]
    got += [d.payload for d in udp_datagrams(header(0xA1B2C3D4, LINK_NULL) + record(null))]
    got += [d.payload for d in udp_datagrams(header(0xA1B2C3D4, LINK_RAW) + record(raw6))]
    assert got == [b"six", b"four", b"raw"]
    (d,) = udp_datagrams(header(0xA1B2C3D4, LINK_LINUX_SLL) + record(sll))
    assert d.src == ("::1", 3333)


def test_vlan_tagged_ethernet() -> None:
    frame = bytes(12) + b"\x81\x00\x00\x05\x08\x00" + ipv4_udp(b"tagged")
    (d,) = udp_datagrams(header(0xA1B2C3D4, 1) + record(frame))
    assert d.payload == b"tagged"


def test_non_udp_fragments_and_unknown_links_are_skipped() -> None:
    eth = bytes(12) + b"\x08\x00"
    frames = [
        eth + ipv4_udp(b"tcp", proto=6),
        eth + ipv4_udp(b"frag", frag=0x0010),
        bytes(12) + b"\x08\x06" + bytes(28),  # ARP
        eth + ipv4_udp(b"")[:20] + b"\x00\x01",  # UDP header cut short
    ]
    data = header(0xA1B2C3D4, 1) + b"".join(record(f) for f in frames)
    assert list(udp_datagrams(data)) == []
    assert list(udp_datagrams(header(0xA1B2C3D4, 228) + record(b"zz"))) == []
    assert list(udp_datagrams(header(0xA1B2C3D4, LINK_RAW) + record(b""))) == []
    assert len(list(read_pcap(data))) == 4


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00" * 24,
        header(0xA1B2C3D4, 1) + b"\x00" * 10,
        header(0xA1B2C3D4, 1) + struct.pack("<IIII", 0, 0, 50, 50) + b"\x00",
    ],
)
def test_malformed_files(data: bytes) -> None:
    with pytest.raises(PcapError):
        list(read_pcap(data))
