"""RTCP SR/RR/SDES/BYE/APP and compound packets (RFC 3550 §6.4-6.7) on wire fixtures."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcenter.rtp.rtcp import (
    NTP_EPOCH_OFFSET,
    App,
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpError,
    RtcpPacket,
    RtcpUnknown,
    SdesChunk,
    SdesItem,
    SenderReport,
    SourceDescription,
    compact_ntp,
    ntp_from_unix,
    parse_rtcp,
    report_blocks_chunks,
    serialize_compound,
)

SR_WIRE = bytes.fromhex(
    "81c8000c 11223344 e3a2b1c0 80000000 00001f40 00000032 00001f40"
    "55667788 19000003 00010010 00000020 a1b2c3d4 00010000"
)
SDES_WIRE = bytes.fromhex("81ca0004 11223344 0107") + b"u@host1" + bytes(3)
BYE_WIRE = bytes.fromhex("81cb0003 11223344 04") + b"gone" + bytes(3)
BLOCK = ReportBlock(0x55667788, 0x19, 3, 0x10010, 0x20, 0xA1B2C3D4, 0x10000)


def test_compound_sr_sdes_bye_fixture() -> None:
    packets = parse_rtcp(SR_WIRE + SDES_WIRE + BYE_WIRE)
    sr, sdes, bye = packets
    assert sr == SenderReport(0x11223344, 0xE3A2B1C080000000, 8000, 50, 8000, (BLOCK,))
    assert isinstance(sdes, SourceDescription)
    assert sdes.cname(0x11223344) == b"u@host1"
    assert sdes.cname(1) is None
    two = SourceDescription((SdesChunk(1, ((SdesItem.NAME, b"x"),)), SdesChunk(2, ())))
    assert two.cname(1) is None
    assert two.cname(2) is None
    assert bye == Bye((0x11223344,), b"gone")
    assert serialize_compound(packets) == SR_WIRE + SDES_WIRE + BYE_WIRE


def test_rr_with_negative_cumulative_loss_and_extension() -> None:
    block = ReportBlock(9, 0, -2, 70000, 5)
    rr = ReceiverReport(7, (block,), b"\x01\x02\x03\x04")
    wire = rr.serialize()
    assert wire[:4] == bytes.fromhex("81c90008")
    assert wire[12:16] == bytes.fromhex("00fffffe")
    assert parse_rtcp(wire) == [rr]


def test_cumulative_loss_is_clamped_to_24_bits() -> None:
    wire = ReceiverReport(1, (ReportBlock(2, 0, 1 << 30, 0, 0),)).serialize()
    (rr,) = parse_rtcp(wire)
    assert isinstance(rr, ReceiverReport)
    assert rr.reports[0].cumulative_lost == 0x7FFFFF


def test_empty_rr_and_sdes_without_items() -> None:
    wire = ReceiverReport(5).serialize() + SourceDescription((SdesChunk(5, ()),)).serialize()
    assert wire == bytes.fromhex("80c90001 00000005 81ca0002 00000005 00000000")
    assert parse_rtcp(wire) == [ReceiverReport(5), SourceDescription((SdesChunk(5, ()),))]


def test_app_bye_without_reason_and_unknown_types() -> None:
    app = App(3, 42, b"CCTR", b"abcd")
    feedback = RtcpUnknown(205, 1, bytes(8))
    wire = serialize_compound([app, Bye((1, 2)), feedback])
    assert parse_rtcp(wire) == [app, Bye((1, 2)), feedback]


def test_padding_on_last_packet_is_stripped() -> None:
    body = bytes.fromhex("00000005") + bytes.fromhex("00000004")  # SSRC + 4 octets of padding
    wire = bytes.fromhex("a0c90002") + body
    assert parse_rtcp(wire) == [ReceiverReport(5)]


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        (b"\x80\xc9\x00", "short"),
        (bytes.fromhex("40c90001 00000005"), "version"),
        (bytes.fromhex("80c90002 00000005"), "length past end"),
        (bytes.fromhex("80c90001 00000005 80"), "trailing"),
        (bytes.fromhex("a0c90001 00000000"), "zero padding"),
        (bytes.fromhex("a0c90000"), "padding on empty body"),
        (bytes.fromhex("80c80001 00000005"), "SR without sender info"),
        (bytes.fromhex("80c90000"), "RR without SSRC"),
        (bytes.fromhex("81c90001 00000005"), "RR block past end"),
        (bytes.fromhex("81ca0000"), "SDES chunk past end"),
        (bytes.fromhex("81ca0001 00000005"), "SDES unterminated"),
        (bytes.fromhex("81ca0002 00000005 0109aaaa"), "SDES item past end"),
        (bytes.fromhex("82cb0001 00000005"), "BYE past end"),
        (bytes.fromhex("81cb0002 00000005 09aaaaaa"), "BYE reason past end"),
        (bytes.fromhex("80cc0001 00000005"), "APP without name"),
    ],
)
def test_malformed(wire: bytes, why: str) -> None:
    with pytest.raises(RtcpError):
        parse_rtcp(wire)
    assert why


def test_serialize_rejects_bad_fields() -> None:
    with pytest.raises(RtcpError):
        ReceiverReport(1, (BLOCK,) * 32).serialize()
    with pytest.raises(RtcpError):
        SdesChunk(1, ((SdesItem.NOTE, bytes(256)),)).serialize()
    with pytest.raises(RtcpError):
        App(0, 1, b"ABC").serialize()
    with pytest.raises(RtcpError):
        RtcpUnknown(207, 0, b"abc").serialize()


def test_ntp_helpers() -> None:
    assert ntp_from_unix(0.5) == (NTP_EPOCH_OFFSET << 32) | 0x80000000
    assert compact_ntp(0xE3A2B1C080000000) == 0xB1C08000


def test_report_block_chunks() -> None:
    assert report_blocks_chunks([]) == [()]
    chunks = report_blocks_chunks([BLOCK] * 40)
    assert [len(c) for c in chunks] == [31, 9]


items = st.lists(st.tuples(st.integers(1, 8), st.binary(max_size=20)), max_size=4).map(tuple)


@given(
    chunks=st.lists(st.builds(SdesChunk, st.integers(0, 2**32 - 1), items), max_size=4),
    reason=st.binary(max_size=30),
    ssrcs=st.lists(st.integers(0, 2**32 - 1), max_size=5).map(tuple),
)
def test_sdes_and_bye_roundtrip(
    chunks: list[SdesChunk], reason: bytes, ssrcs: tuple[int, ...]
) -> None:
    packets: list[RtcpPacket] = [SourceDescription(tuple(chunks)), Bye(ssrcs, reason)]
    assert parse_rtcp(serialize_compound(packets)) == packets
