"""RTP packet parse/serialize (RFC 3550 §5.1, §5.3.1) against hand-built wire fixtures."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcenter.rtp.packet import RtpError, RtpExtension, RtpPacket, is_rtcp, is_rtp, parse_rtp

# V=2 P=0 X=0 CC=0 | M=1 PT=0 | seq 0x1234 | ts 0x00000a00 | ssrc 0xdeadbeef | 4 payload octets
SIMPLE = bytes.fromhex("80 80 1234 00000a00 deadbeef 01020304")
# V=2 P=1 X=1 CC=2 | M=0 PT=101 | two CSRCs | ext profile 0xbede len 1 | payload 2 | 3 pad
FULL = bytes.fromhex("b2 65 ffff ffffffff 00000001 00000002 00000003 bede0001 10ab0000 aabb 000003")


def test_parse_simple_fixture() -> None:
    p = parse_rtp(SIMPLE)
    assert (p.payload_type, p.sequence, p.timestamp, p.ssrc) == (0, 0x1234, 0xA00, 0xDEADBEEF)
    assert p.marker is True
    assert p.payload == b"\x01\x02\x03\x04"
    assert p.csrcs == ()
    assert p.extension is None
    assert p.serialize() == SIMPLE


def test_parse_full_fixture_strips_padding() -> None:
    p = parse_rtp(FULL)
    assert p.payload_type == 101
    assert p.marker is False
    assert p.csrcs == (2, 3)
    assert p.ssrc == 1
    assert p.extension == RtpExtension(0xBEDE, bytes.fromhex("10ab0000"))
    assert p.payload == b"\xaa\xbb"
    assert p.serialize(padding=3) == FULL
    assert parse_rtp(p.serialize()) == p


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (SIMPLE[:11], "short"),
        (b"\x40" + SIMPLE[1:], "version 1"),
        (bytes([0xA0]) + SIMPLE[1:-1] + b"\x00", "padding count zero"),
        (bytes([0xA0]) + SIMPLE[1:-1] + b"\xff", "padding longer than packet"),
        (bytes([0x81]) + SIMPLE[1:12], "CSRC past end"),
        (bytes([0x90]) + SIMPLE[1:12] + b"\xbe\xde", "ext header past end"),
        (bytes([0x90]) + SIMPLE[1:12] + b"\xbe\xde\x00\x02\x00\x00\x00\x00", "ext past end"),
    ],
)
def test_malformed_raises(data: bytes, why: str) -> None:
    with pytest.raises(RtpError):
        parse_rtp(data)
    assert issubclass(RtpError, ValueError), why


def test_serialize_rejects_bad_fields() -> None:
    with pytest.raises(RtpError):
        RtpPacket(0, 0, 0, 0, b"", csrcs=tuple(range(16))).serialize()
    with pytest.raises(RtpError):
        RtpPacket(0, 0, 0, 0, b"").serialize(padding=256)
    with pytest.raises(RtpError):
        RtpPacket(0, 0, 0, 0, b"", extension=RtpExtension(1, b"abc")).serialize()


def test_serialize_wraps_sequence_and_timestamp() -> None:
    p = parse_rtp(RtpPacket(8, 0x10001, 0x100000002, 7, b"x").serialize())
    assert (p.sequence, p.timestamp) == (1, 2)


def test_demultiplex_rtp_and_rtcp() -> None:
    rr = bytes.fromhex("80c9 0001 00000001")
    assert is_rtcp(rr)
    assert not is_rtp(rr)
    assert is_rtp(SIMPLE)
    assert not is_rtcp(SIMPLE)
    assert not is_rtcp(rr[:7])
    assert not is_rtp(b"\x00" * 12)


@given(
    pt=st.integers(0, 127),
    seq=st.integers(0, 0xFFFF),
    ts=st.integers(0, 0xFFFFFFFF),
    ssrc=st.integers(0, 0xFFFFFFFF),
    payload=st.binary(max_size=64),
    marker=st.booleans(),
    csrcs=st.lists(st.integers(0, 0xFFFFFFFF), max_size=15).map(tuple),
    ext=st.none() | st.builds(RtpExtension, st.integers(0, 0xFFFF), st.binary(max_size=3)),
    padding=st.integers(0, 255),
)
def test_roundtrip(
    pt: int,
    seq: int,
    ts: int,
    ssrc: int,
    payload: bytes,
    marker: bool,
    csrcs: tuple[int, ...],
    ext: RtpExtension | None,
    padding: int,
) -> None:
    if ext is not None:
        ext = RtpExtension(ext.profile, ext.data * 4)
    p = RtpPacket(pt, seq, ts, ssrc, payload, marker, csrcs, ext)
    assert parse_rtp(p.serialize(padding=padding)) == p


def test_parse_accepts_memoryview() -> None:
    assert parse_rtp(memoryview(SIMPLE)).payload == b"\x01\x02\x03\x04"  # type: ignore[arg-type]
