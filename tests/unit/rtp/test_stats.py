"""Reception statistics: RFC 3550 A.1 validation, A.3 loss, A.8 jitter, SR/RR builders."""

from callcenter.rtp.rtcp import SenderReport, ntp_from_unix, parse_rtcp
from callcenter.rtp.stats import MAX_DROPOUT, Received, RtpStats, SenderStats

SSRC = 0x1234


def feed(stats: RtpStats, seqs: list[int], ssrc: int = SSRC) -> list[Received]:
    # 20 ms packets, 160 timestamp units apart, arriving exactly on time (zero jitter)
    return [stats.receive(ssrc, s, s * 160, s * 0.02, 160) for s in seqs]


def test_probation_then_valid() -> None:
    stats = RtpStats()
    assert feed(stats, [100, 101, 102]) == [Received.PROBATION, Received.VALID, Received.VALID]
    source = stats.sources[SSRC]
    assert (source.base_seq, source.received, source.lost) == (101, 2, 0)


def test_probation_restarts_on_out_of_order() -> None:
    stats = RtpStats()
    assert feed(stats, [100, 105, 106]) == [Received.PROBATION] * 2 + [Received.VALID]
    assert stats.report_blocks(1.0)[0].highest_sequence == 106


def test_sequence_wrap_extends_the_number() -> None:
    stats = RtpStats()
    feed(stats, [65533, 65534, 65535, 0, 1])
    source = stats.sources[SSRC]
    assert source.cycles == 65536
    assert source.extended_max == 65536 + 1
    assert source.lost == 0


def test_loss_and_fraction_lost() -> None:
    stats = RtpStats()
    feed(stats, [1, 2, 3, 5, 6, 9, 10])  # counted from 2: 7 and 8 lost, 4 lost -> 3 of 9
    (block,) = stats.report_blocks(1.0)
    assert block.cumulative_lost == 3
    assert block.fraction_lost == (3 << 8) // 9
    assert block.highest_sequence == 10
    feed(stats, [11, 12])  # next interval: nothing lost
    (block,) = stats.report_blocks(2.0)
    assert (block.fraction_lost, block.cumulative_lost) == (0, 3)


def test_duplicates_make_loss_negative_and_fraction_zero() -> None:
    stats = RtpStats()
    feed(stats, [1, 2, 3, 3, 3])
    (block,) = stats.report_blocks(1.0)
    assert block.cumulative_lost == -2
    assert block.fraction_lost == 0


def test_no_block_for_silent_or_unvalidated_sources() -> None:
    stats = RtpStats()
    feed(stats, [1, 2])
    feed(stats, [50], ssrc=99)  # still on probation
    assert [b.ssrc for b in stats.report_blocks(1.0)] == [SSRC]
    assert stats.report_blocks(2.0) == []  # nothing new since the last report


def test_large_jump_needs_two_sequential_packets() -> None:
    stats = RtpStats()
    feed(stats, [10, 11, 12])
    jump = 12 + MAX_DROPOUT + 10
    assert feed(stats, [jump]) == [Received.INVALID]
    assert feed(stats, [jump + 1]) == [Received.VALID]
    source = stats.sources[SSRC]
    assert (source.base_seq, source.received) == (jump + 1, 1)


def test_late_packet_within_misorder_window_counts() -> None:
    stats = RtpStats()
    feed(stats, [10, 11, 13, 12])
    assert stats.sources[SSRC].lost == 0
    assert stats.sources[SSRC].max_seq == 13


def test_jitter_from_alternating_transit() -> None:
    stats = RtpStats()
    # Every other packet arrives 10 ms (80 units) late: |D| = 80 on each packet after the first.
    for i in range(200):
        stats.receive(SSRC, i, i * 160, i * 0.02 + (0.01 if i % 2 else 0.0))
    assert abs(stats.sources[SSRC].jitter - 80) < 1.0
    stats2 = RtpStats()
    feed(stats2, list(range(50)))
    assert stats2.sources[SSRC].jitter == 0


def test_jitter_handles_timestamp_wrap() -> None:
    stats = RtpStats()
    base = 2**32 - 320
    for i in range(6):
        stats.receive(SSRC, i, (base + i * 160) & 0xFFFFFFFF, i * 0.02)
    assert stats.sources[SSRC].jitter < 1.0


def test_ssrc_change_is_reported_once() -> None:
    stats = RtpStats()
    feed(stats, [1, 2, 3])
    assert feed(stats, [900, 901, 902], ssrc=77) == [
        Received.PROBATION,
        Received.NEW_SOURCE,
        Received.VALID,
    ]
    assert stats.active_ssrc == 77
    stats.forget(77)
    assert stats.active_ssrc is None
    stats.forget(SSRC)
    assert stats.sources == {}
    stats.forget(12345)


def test_lsr_and_dlsr_from_last_sender_report() -> None:
    stats = RtpStats()
    feed(stats, [1, 2])
    ntp = 0x0000_1234_5678_0000
    stats.on_sender_report(SenderReport(SSRC, ntp, 0, 0, 0), now=10.0)
    stats.on_sender_report(SenderReport(999, ntp, 0, 0, 0), now=10.0)  # unknown: ignored
    feed(stats, [3])
    rr = stats.receiver_report(own_ssrc=5, now=11.5)
    (block,) = rr.reports
    assert block.lsr == 0x12345678
    assert block.dlsr == int(1.5 * 65536)
    assert parse_rtcp(rr.serialize()) == [rr]


def test_sender_report_extrapolates_rtp_timestamp() -> None:
    sender = SenderStats(ssrc=1)
    empty = sender.sender_report(now=0.0, wallclock=100.0)
    assert (empty.packet_count, empty.rtp_timestamp) == (0, 0)
    for i in range(10):
        sender.on_sent(i * 160, 160, i * 0.02)
    stats = RtpStats()
    feed(stats, [1, 2])
    sr = sender.sender_report(now=0.18 + 0.01, wallclock=1000.25, stats=stats)
    assert sr.rtp_timestamp == 9 * 160 + 80
    assert (sr.packet_count, sr.octet_count) == (10, 1600)
    assert sr.ntp_timestamp == ntp_from_unix(1000.25)
    assert len(sr.reports) == 1
