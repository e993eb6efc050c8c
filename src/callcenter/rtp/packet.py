"""RTP data packets (RFC 3550 §5.1): the fixed header, CSRC list, header extension (§5.3.1)
and padding, parsed from and serialized to bytes without per-byte Python loops.

``parse_rtp`` accepts exactly what §5.1 and A.1 call a syntactically valid packet (version 2,
padding count within the packet, CSRCs and extension inside the datagram) and raises
``RtpError`` otherwise; padding is stripped on parse. ``is_rtcp`` tells RTCP from RTP on a
multiplexed port the way RFC 5761 §4 does (second octet 192..223).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = [
    "RTP_HEADER_SIZE",
    "RtpError",
    "RtpExtension",
    "RtpPacket",
    "is_rtcp",
    "is_rtp",
    "parse_rtp",
]

RTP_HEADER_SIZE = 12
_HEADER = struct.Struct("!BBHII")
_EXT_HEADER = struct.Struct("!HH")


class RtpError(ValueError):
    """A datagram that is not a valid RTP (or RTCP) packet."""


@dataclass(slots=True, frozen=True)
class RtpExtension:
    """A header extension (§5.3.1): 16 profile-defined bits and a body of 32-bit words."""

    profile: int
    data: bytes


@dataclass(slots=True)
class RtpPacket:
    """One RTP packet; ``payload`` excludes padding, which ``parse_rtp`` strips."""

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: RtpExtension | None = None

    def serialize(self, padding: int = 0) -> bytes:
        """Encode to wire bytes; ``padding`` > 0 appends that many padding octets (§5.1 P)."""
        if len(self.csrcs) > 15:
            raise RtpError("at most 15 CSRCs")
        if padding < 0 or padding > 255:
            raise RtpError("padding must be 0..255 octets")
        first = 0x80 | len(self.csrcs)
        if padding:
            first |= 0x20
        if self.extension is not None:
            first |= 0x10
        second = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        head = _HEADER.pack(
            first, second, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc
        )
        if not self.csrcs and self.extension is None and not padding:
            return head + self.payload
        parts = [head]
        if self.csrcs:
            parts.append(struct.pack(f"!{len(self.csrcs)}I", *self.csrcs))
        if self.extension is not None:
            parts.append(_serialize_extension(self.extension))
        parts.append(self.payload)
        if padding:
            parts.append(bytes(padding - 1) + bytes((padding,)))
        return b"".join(parts)


def _serialize_extension(ext: RtpExtension) -> bytes:
    if len(ext.data) % 4:
        raise RtpError("extension data must be a multiple of 4 octets")
    return _EXT_HEADER.pack(ext.profile & 0xFFFF, len(ext.data) // 4) + ext.data


def parse_rtp(data: bytes) -> RtpPacket:
    """Decode one RTP packet; raise ``RtpError`` when it is malformed."""
    if len(data) < RTP_HEADER_SIZE:
        raise RtpError("shorter than the RTP fixed header")
    first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
    if first >> 6 != 2:
        raise RtpError("RTP version is not 2")
    end = len(data)
    if first & 0x20:
        pad = data[-1]
        if pad == 0 or pad > end - RTP_HEADER_SIZE:
            raise RtpError("bad padding count")
        end -= pad
    offset = RTP_HEADER_SIZE
    csrcs: tuple[int, ...] = ()
    cc = first & 0x0F
    if cc:
        offset += 4 * cc
        if offset > end:
            raise RtpError("CSRC list runs past the packet")
        csrcs = struct.unpack_from(f"!{cc}I", data, RTP_HEADER_SIZE)
    extension = None
    if first & 0x10:
        if offset + 4 > end:
            raise RtpError("extension header runs past the packet")
        profile, words = _EXT_HEADER.unpack_from(data, offset)
        start = offset + 4
        offset = start + 4 * words
        if offset > end:
            raise RtpError("extension runs past the packet")
        extension = RtpExtension(profile, bytes(data[start:offset]))
    return RtpPacket(
        second & 0x7F,
        sequence,
        timestamp,
        ssrc,
        bytes(data[offset:end]),
        bool(second & 0x80),
        csrcs,
        extension,
    )


def is_rtcp(data: bytes) -> bool:
    """RFC 5761 §4: version 2 and a second octet in 192..223 (RTCP packet types 192..223)."""
    return len(data) >= 8 and data[0] >> 6 == 2 and 192 <= data[1] <= 223


def is_rtp(data: bytes) -> bool:
    """Version 2, at least a fixed header, and not RTCP (RFC 5761 §4)."""
    return len(data) >= RTP_HEADER_SIZE and data[0] >> 6 == 2 and not 192 <= data[1] <= 223
