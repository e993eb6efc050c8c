"""RFC 4733 telephone-event receiver and sender, checked on SIPp's RFC 2833 captures."""

import struct

import pytest

from callcenter.rtp.dtmf import (
    DIGITS,
    DigitDetected,
    DtmfError,
    DtmfReceiver,
    dtmf_packets,
    event_of,
)
from callcenter.rtp.packet import RtpPacket, parse_rtp

from .conftest import DTMF_NAMES, sipp_rtp


@pytest.mark.parametrize("name", DTMF_NAMES)
def test_sipp_rfc2833_capture_gives_its_digit_once(name: str) -> None:
    packets = sipp_rtp(f"dtmf_2833_{name}.pcap")
    receiver = DtmfReceiver()
    digits = [d for now, p in packets for d in receiver.receive(p, now)]
    last_duration = struct.unpack("!H", packets[-1][1].payload[2:4])[0]
    expected = {"star": "*", "pound": "#"}.get(name, name)
    assert digits == [DigitDetected(expected, last_duration * 1000 // 8000)]
    assert receiver.poll(packets[-1][0] + 10) == []


def test_all_sixteen_digits_from_captures_in_one_stream() -> None:
    # The twelve files are cut from one SIPp session; replayed in RTP timestamp order they are
    # one stream ("1" was sent before "0" in it), and a receiver must see each digit once.
    captures = sorted(
        (sipp_rtp(f"dtmf_2833_{n}.pcap") for n in DTMF_NAMES), key=lambda c: c[0][1].timestamp
    )
    receiver = DtmfReceiver()
    got = ""
    for capture in captures:
        for now, packet in capture:
            got += "".join(d.digit for d in receiver.receive(packet, now))
    assert got == "1023456789*#"
    # A-D are not in SIPp's set: they come from our sender, end to end through the receiver.
    for i, digit in enumerate("ABCD"):
        for packet in dtmf_packets(digit, ssrc=1, sequence=0, timestamp=10_000_000 + i * 8000):
            got += "".join(d.digit for d in receiver.receive(parse_rtp(packet.serialize()), 0.0))
    assert sorted(got) == sorted(DIGITS)


def event(code: int, ts: int, duration: int, end: bool = False) -> RtpPacket:
    payload = struct.pack("!BBH", code, (0x80 if end else 0) | 10, duration)
    return RtpPacket(101, 0, ts, 1, payload)


def test_lost_end_packets_emit_on_next_event() -> None:
    rx = DtmfReceiver()
    assert rx.receive(event(5, 1000, 160), 0.0) == []
    assert rx.receive(event(5, 1000, 320), 0.02) == []
    assert rx.receive(event(7, 5000, 160), 0.5) == [DigitDetected("5", 40)]
    assert rx.receive(event(5, 1000, 480, end=True), 0.51) == []  # stale: older event
    assert rx.receive(event(7, 5000, 800, end=True), 0.6) == [DigitDetected("7", 100)]


def test_poll_closes_an_event_without_end() -> None:
    rx = DtmfReceiver(end_timeout=0.25)
    rx.receive(event(11, 1000, 400), 1.0)
    assert rx.poll(1.2) == []
    assert rx.poll(1.25) == [DigitDetected("#", 50)]
    assert rx.poll(2.0) == []
    assert rx.receive(event(11, 1000, 480, end=True), 2.1) == []  # late end: already emitted


def test_emit_on_start_and_reset() -> None:
    rx = DtmfReceiver(emit_on_start=True)
    assert rx.receive(event(1, 1000, 0), 0.0) == [DigitDetected("1", 0)]
    assert rx.receive(event(1, 1000, 800, end=True), 0.1) == []
    rx.reset()
    assert rx.receive(event(1, 1000, 800, end=True), 0.2) == [DigitDetected("1", 0)]


def test_non_digit_events_are_ignored_and_malformed_rejected() -> None:
    rx = DtmfReceiver()
    assert rx.receive(event(16, 1000, 800, end=True), 0.0) == []  # flash
    with pytest.raises(DtmfError):
        rx.receive(RtpPacket(101, 0, 0, 1, b"\x01\x02"), 0.0)


def test_timestamp_wrap_is_a_newer_event() -> None:
    rx = DtmfReceiver()
    assert rx.receive(event(3, 0xFFFFFF00, 800, end=True), 0.0) == [DigitDetected("3", 100)]
    assert rx.receive(event(4, 0x00000100, 800, end=True), 1.0) == [DigitDetected("4", 100)]


def test_sender_packet_sequence() -> None:
    packets = dtmf_packets("#", ssrc=9, sequence=65534, timestamp=4242, duration_ms=100)
    fields = [struct.unpack("!BBH", p.payload) for p in packets]
    assert [p.sequence for p in packets] == [65534, 65535, 0, 1, 2, 3, 4]
    assert {p.timestamp for p in packets} == {4242}
    assert [p.marker for p in packets] == [True] + [False] * 6
    assert [f[0] for f in fields] == [11] * 7
    assert [f[2] for f in fields] == [160, 320, 480, 640, 800, 800, 800]
    assert [bool(f[1] & 0x80) for f in fields] == [False] * 4 + [True] * 3
    assert {f[1] & 0x3F for f in fields} == {10}


def test_sender_minimum_duration_is_one_packet() -> None:
    packets = dtmf_packets("a", ssrc=1, sequence=0, timestamp=0, duration_ms=5)
    assert len(packets) == 3
    assert {p.payload for p in packets} == {struct.pack("!BBH", 12, 0x8A, 160)}


@pytest.mark.parametrize("bad", ["", "E", "12", "x"])
def test_event_of_rejects_non_digits(bad: str) -> None:
    with pytest.raises(DtmfError):
        event_of(bad)


def test_packet_older_than_the_current_event_is_dropped() -> None:
    rx = DtmfReceiver()
    assert rx.receive(event(2, 5000, 160), 0.0) == []
    assert rx.receive(event(9, 4000, 800, end=True), 0.01) == []
    assert rx.receive(event(2, 5000, 480, end=True), 0.02) == [DigitDetected("2", 60)]
