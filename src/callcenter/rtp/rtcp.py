"""RTCP packets (RFC 3550 §6.4-6.7): SR, RR, SDES, BYE, APP and compound packets, parsed from
and serialized to bytes, plus NTP timestamp helpers (§4) for LSR/DLSR.

``parse_rtcp`` splits a compound datagram into typed packets and checks what §A.2 asks of each
header (version 2, the length field inside the datagram, padding only where it fits); it does
not insist on SR/RR coming first so reduced-size RTCP (RFC 5506) and feedback packets parse.
Unknown packet types (RTPFB/PSFB 205/206, XR 207, ...) are kept as ``RtcpUnknown`` untouched.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "NTP_EPOCH_OFFSET",
    "App",
    "Bye",
    "ReceiverReport",
    "ReportBlock",
    "RtcpError",
    "RtcpPacket",
    "RtcpUnknown",
    "SdesChunk",
    "SdesItem",
    "SenderReport",
    "SourceDescription",
    "compact_ntp",
    "ntp_from_unix",
    "parse_rtcp",
    "serialize_compound",
]

SR, RR, SDES, BYE, APP = 200, 201, 202, 203, 204
NTP_EPOCH_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01
_HEADER = struct.Struct("!BBH")
_BLOCK = struct.Struct("!IIIIII")
_SR_INFO = struct.Struct("!IQIII")


class RtcpError(ValueError):
    """A datagram that is not a valid (compound) RTCP packet."""


class SdesItem:
    """SDES item types (§6.5)."""

    END, CNAME, NAME, EMAIL, PHONE, LOC, TOOL, NOTE, PRIV = range(9)


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """One reception report block (§6.4.1); ``cumulative_lost`` is signed 24-bit."""

    ssrc: int
    fraction_lost: int
    cumulative_lost: int
    highest_sequence: int
    jitter: int
    lsr: int = 0
    dlsr: int = 0

    def serialize(self) -> bytes:
        lost = max(-0x800000, min(0x7FFFFF, self.cumulative_lost)) & 0xFFFFFF
        return _BLOCK.pack(
            self.ssrc,
            (self.fraction_lost & 0xFF) << 24 | lost,
            self.highest_sequence & 0xFFFFFFFF,
            self.jitter & 0xFFFFFFFF,
            self.lsr,
            self.dlsr,
        )


def _parse_blocks(body: bytes, offset: int, count: int) -> tuple[ReportBlock, ...]:
    if offset + count * 24 > len(body):
        raise RtcpError("report blocks run past the packet")
    blocks = []
    for i in range(count):
        ssrc, word, ext, jitter, lsr, dlsr = _BLOCK.unpack_from(body, offset + 24 * i)
        lost = word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 0x1000000
        blocks.append(ReportBlock(ssrc, word >> 24, lost, ext, jitter, lsr, dlsr))
    return tuple(blocks)


def _header(packet_type: int, count: int, body_len: int) -> bytes:
    if count > 31:
        raise RtcpError("at most 31 items per RTCP packet")
    return _HEADER.pack(0x80 | count, packet_type, body_len // 4)


@dataclass(frozen=True, slots=True)
class SenderReport:
    """SR (§6.4.1): sender info and up to 31 report blocks."""

    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""

    def serialize(self) -> bytes:
        body = _SR_INFO.pack(
            self.ssrc,
            self.ntp_timestamp,
            self.rtp_timestamp & 0xFFFFFFFF,
            self.packet_count & 0xFFFFFFFF,
            self.octet_count & 0xFFFFFFFF,
        )
        body += b"".join(r.serialize() for r in self.reports) + self.extension
        return _header(SR, len(self.reports), len(body)) + body


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    """RR (§6.4.2): the reporter's SSRC and up to 31 report blocks."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()
    extension: bytes = b""

    def serialize(self) -> bytes:
        body = struct.pack("!I", self.ssrc)
        body += b"".join(r.serialize() for r in self.reports) + self.extension
        return _header(RR, len(self.reports), len(body)) + body


@dataclass(frozen=True, slots=True)
class SdesChunk:
    """One SDES chunk: a source and its (type, value) items (§6.5)."""

    ssrc: int
    items: tuple[tuple[int, bytes], ...]

    def serialize(self) -> bytes:
        out = bytearray(struct.pack("!I", self.ssrc))
        for kind, value in self.items:
            if len(value) > 255:
                raise RtcpError("SDES item longer than 255 octets")
            out += bytes((kind, len(value))) + value
        # "terminated by one or more null octets ... to the next 32-bit boundary" (§6.5)
        out += bytes(4 - len(out) % 4)
        return bytes(out)


@dataclass(frozen=True, slots=True)
class SourceDescription:
    """SDES (§6.5)."""

    chunks: tuple[SdesChunk, ...]

    def serialize(self) -> bytes:
        body = b"".join(c.serialize() for c in self.chunks)
        return _header(SDES, len(self.chunks), len(body)) + body

    def cname(self, ssrc: int) -> bytes | None:
        """The CNAME item of ``ssrc``, if present."""
        for chunk in self.chunks:
            if chunk.ssrc == ssrc:
                for kind, value in chunk.items:
                    if kind == SdesItem.CNAME:
                        return value
        return None


@dataclass(frozen=True, slots=True)
class Bye:
    """BYE (§6.6): the leaving sources and an optional reason."""

    ssrcs: tuple[int, ...]
    reason: bytes = b""

    def serialize(self) -> bytes:
        body = struct.pack(f"!{len(self.ssrcs)}I", *self.ssrcs)
        if self.reason:
            text = bytes((len(self.reason),)) + self.reason
            body += text + bytes(-len(text) % 4)
        return _header(BYE, len(self.ssrcs), len(body)) + body


@dataclass(frozen=True, slots=True)
class App:
    """APP (§6.7): application-defined packet with a 4-octet ASCII name."""

    subtype: int
    ssrc: int
    name: bytes
    data: bytes = b""

    def serialize(self) -> bytes:
        if len(self.name) != 4 or len(self.data) % 4:
            raise RtcpError("APP name must be 4 octets and data a multiple of 4")
        body = struct.pack("!I", self.ssrc) + self.name + self.data
        return _header(APP, self.subtype, len(body)) + body


@dataclass(frozen=True, slots=True)
class RtcpUnknown:
    """A packet type this module does not model, kept as its header fields and body."""

    packet_type: int
    count: int
    body: bytes

    def serialize(self) -> bytes:
        if len(self.body) % 4:
            raise RtcpError("RTCP body must be a multiple of 4 octets")
        return _header(self.packet_type, self.count, len(self.body)) + self.body


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Bye | App | RtcpUnknown


def _parse_sr(count: int, body: bytes) -> SenderReport:
    if len(body) < 24:
        raise RtcpError("SR shorter than its sender info")
    ssrc, ntp, rtp_ts, packets, octets = _SR_INFO.unpack_from(body)
    reports = _parse_blocks(body, 24, count)
    return SenderReport(ssrc, ntp, rtp_ts, packets, octets, reports, body[24 + 24 * count :])


def _parse_rr(count: int, body: bytes) -> ReceiverReport:
    if len(body) < 4:
        raise RtcpError("RR without SSRC")
    (ssrc,) = struct.unpack_from("!I", body)
    return ReceiverReport(ssrc, _parse_blocks(body, 4, count), body[4 + 24 * count :])


def _parse_chunk(body: bytes, offset: int) -> tuple[SdesChunk, int]:
    if offset + 4 > len(body):
        raise RtcpError("SDES chunk runs past the packet")
    (ssrc,) = struct.unpack_from("!I", body, offset)
    pos = offset + 4
    items: list[tuple[int, bytes]] = []
    while True:
        if pos >= len(body):
            raise RtcpError("SDES chunk is not terminated")
        kind = body[pos]
        if kind == SdesItem.END:
            break
        if pos + 2 > len(body) or pos + 2 + body[pos + 1] > len(body):
            raise RtcpError("SDES item runs past the packet")
        length = body[pos + 1]
        items.append((kind, body[pos + 2 : pos + 2 + length]))
        pos += 2 + length
    pos += 4 - (pos - offset) % 4  # skip the terminating null octets to the boundary
    return SdesChunk(ssrc, tuple(items)), pos


def _parse_sdes(count: int, body: bytes) -> SourceDescription:
    chunks = []
    offset = 0
    for _ in range(count):
        chunk, offset = _parse_chunk(body, offset)
        chunks.append(chunk)
    return SourceDescription(tuple(chunks))


def _parse_bye(count: int, body: bytes) -> Bye:
    if 4 * count > len(body):
        raise RtcpError("BYE SSRC list runs past the packet")
    ssrcs = struct.unpack_from(f"!{count}I", body)
    rest = body[4 * count :]
    reason = b""
    if rest:
        if 1 + rest[0] > len(rest):
            raise RtcpError("BYE reason runs past the packet")
        reason = rest[1 : 1 + rest[0]]
    return Bye(ssrcs, reason)


def _parse_app(count: int, body: bytes) -> App:
    if len(body) < 8:
        raise RtcpError("APP shorter than SSRC and name")
    (ssrc,) = struct.unpack_from("!I", body)
    return App(count, ssrc, body[4:8], body[8:])


_PARSERS: dict[int, Callable[[int, bytes], RtcpPacket]] = {
    SR: _parse_sr,
    RR: _parse_rr,
    SDES: _parse_sdes,
    BYE: _parse_bye,
    APP: _parse_app,
}


def parse_rtcp(data: bytes) -> list[RtcpPacket]:
    """Split and decode a (compound) RTCP datagram; raise ``RtcpError`` when malformed."""
    data = bytes(data)
    if len(data) < 4:
        raise RtcpError("shorter than an RTCP header")
    packets: list[RtcpPacket] = []
    offset = 0
    while offset < len(data):
        if offset + 4 > len(data):
            raise RtcpError("trailing octets after the last RTCP packet")
        first, packet_type, words = _HEADER.unpack_from(data, offset)
        end = offset + 4 + 4 * words
        if first >> 6 != 2:
            raise RtcpError("RTCP version is not 2")
        if end > len(data):
            raise RtcpError("RTCP length field runs past the datagram")
        body = data[offset + 4 : end]
        if first & 0x20:
            if not body or body[-1] == 0 or body[-1] > len(body):
                raise RtcpError("bad RTCP padding count")
            body = body[: -body[-1]]
        parser = _PARSERS.get(packet_type)
        count = first & 0x1F
        packets.append(parser(count, body) if parser else RtcpUnknown(packet_type, count, body))
        offset = end
    return packets


def serialize_compound(packets: Iterable[RtcpPacket]) -> bytes:
    """Concatenate packets into one compound datagram (§6.1)."""
    return b"".join(p.serialize() for p in packets)


def ntp_from_unix(seconds: float) -> int:
    """64-bit NTP timestamp (§4) for a Unix wall-clock time in seconds."""
    whole = int(seconds // 1)
    fraction = int((seconds - whole) * (1 << 32)) & 0xFFFFFFFF
    return ((whole + NTP_EPOCH_OFFSET) & 0xFFFFFFFF) << 32 | fraction


def compact_ntp(ntp: int) -> int:
    """The middle 32 bits of an NTP timestamp: the LSR field of a report block (§6.4.1)."""
    return (ntp >> 16) & 0xFFFFFFFF


def report_blocks_chunks(blocks: Sequence[ReportBlock]) -> list[tuple[ReportBlock, ...]]:
    """Split report blocks into groups of at most 31 (one RR per group, §6.4.2)."""
    return [tuple(blocks[i : i + 31]) for i in range(0, len(blocks), 31)] or [()]
