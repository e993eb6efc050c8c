"""Per-stream RTP reception statistics and RTCP report builders (RFC 3550 §6.4, A.1, A.3, A.8).

``SourceStats`` is one source's sequence state: extended sequence numbers with wrap-around,
the A.1 probation/validation algorithm (``MIN_SEQUENTIAL`` packets in order before a source
counts, ``MAX_DROPOUT``/``MAX_MISORDER`` jumps treated as restarts when two arrive in a row),
A.3 cumulative and interval loss, and the A.8 interarrival jitter estimate. ``RtpStats`` keeps
one ``SourceStats`` per SSRC, tells the caller when the active SSRC changes, records the last
SR of each source for LSR/DLSR, and produces ``ReportBlock``s. ``SenderStats`` counts what we
send and builds SRs. Time comes in as ``now`` (seconds, any monotonic origin) and wall clock as
``wallclock`` (Unix seconds) - this module reads neither clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from callcenter.rtp.rtcp import (
    ReceiverReport,
    ReportBlock,
    SenderReport,
    compact_ntp,
    ntp_from_unix,
)

__all__ = ["MAX_DROPOUT", "MAX_MISORDER", "MIN_SEQUENTIAL", "Received", "RtpStats", "SenderStats"]

RTP_SEQ_MOD = 1 << 16
MAX_DROPOUT = 3000
MAX_MISORDER = 100
MIN_SEQUENTIAL = 2


class Received(enum.Enum):
    """What ``RtpStats.receive`` made of a packet."""

    VALID = "valid"  # counted; deliver it
    PROBATION = "probation"  # source not yet validated (A.1): hold or drop
    INVALID = "invalid"  # a large jump, not yet confirmed by a second packet
    NEW_SOURCE = "new_source"  # valid, and a different SSRC than the previous valid packet


@dataclass(slots=True)
class SourceStats:
    """Sequence, loss and jitter state of one SSRC (RFC 3550 A.1, A.3, A.8)."""

    clock_rate: int
    max_seq: int = 0
    cycles: int = 0
    base_seq: int = 0
    bad_seq: int = RTP_SEQ_MOD + 1
    probation: int = MIN_SEQUENTIAL
    received: int = 0
    expected_prior: int = 0
    received_prior: int = 0
    transit: int | None = None
    jitter: float = 0.0
    octets: int = 0
    lsr: int = 0
    sr_arrival: float | None = None

    @classmethod
    def first(cls, seq: int, clock_rate: int) -> SourceStats:
        """A.1: the first packet starts probation with ``max_seq = seq - 1``."""
        stats = cls(clock_rate)
        stats.init_seq(seq)
        stats.max_seq = (seq - 1) & 0xFFFF
        stats.probation = MIN_SEQUENTIAL
        return stats

    def init_seq(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self.bad_seq = RTP_SEQ_MOD + 1
        self.cycles = 0
        self.received = 0
        self.received_prior = 0
        self.expected_prior = 0

    def update_seq(self, seq: int) -> Received:
        """A.1 ``update_seq``: VALID, PROBATION or INVALID."""
        udelta = (seq - self.max_seq) & 0xFFFF
        if self.probation:
            if seq == (self.max_seq + 1) & 0xFFFF:
                self.probation -= 1
                self.max_seq = seq
                if self.probation == 0:
                    self.init_seq(seq)
                    self.received += 1
                    return Received.VALID
            else:
                self.probation = MIN_SEQUENTIAL - 1
                self.max_seq = seq
            return Received.PROBATION
        if udelta < MAX_DROPOUT:
            if seq < self.max_seq:
                self.cycles += RTP_SEQ_MOD  # "Sequence number wrapped - count another cycle"
            self.max_seq = seq
        elif udelta <= RTP_SEQ_MOD - MAX_MISORDER:
            if seq != self.bad_seq:
                self.bad_seq = (seq + 1) & 0xFFFF
                return Received.INVALID
            # "Two sequential packets -- assume that the other side restarted"
            self.init_seq(seq)
        self.received += 1  # in order, or duplicate/reordered within MAX_MISORDER
        return Received.VALID

    @property
    def extended_max(self) -> int:
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        return self.extended_max - self.base_seq + 1

    @property
    def lost(self) -> int:
        """A.3 cumulative number of packets lost (negative with duplicates)."""
        return self.expected - self.received

    def update_jitter(self, timestamp: int, now: float) -> None:
        """A.8: J += (|D(i-1,i)| - J) / 16, in timestamp units."""
        arrival = int(now * self.clock_rate)
        transit = (arrival - timestamp) & 0xFFFFFFFF
        if self.transit is not None:
            d = (transit - self.transit) & 0xFFFFFFFF
            if d & 0x80000000:
                d = 0x100000000 - d
            self.jitter += (d - self.jitter) / 16.0
        self.transit = transit

    def report_block(self, ssrc: int, now: float) -> ReportBlock:
        """A.3 interval loss since the previous block, and the fields of §6.4.1."""
        expected = self.expected
        expected_interval = expected - self.expected_prior
        self.expected_prior = expected
        received_interval = self.received - self.received_prior
        self.received_prior = self.received
        lost_interval = expected_interval - received_interval
        fraction = 0
        if expected_interval and lost_interval > 0:
            fraction = (lost_interval << 8) // expected_interval
        dlsr = 0
        if self.sr_arrival is not None:
            dlsr = int((now - self.sr_arrival) * 65536) & 0xFFFFFFFF
        return ReportBlock(
            ssrc, fraction, self.lost, self.extended_max, int(self.jitter), self.lsr, dlsr
        )


@dataclass(slots=True)
class RtpStats:
    """Reception statistics for every SSRC heard on one RTP session."""

    clock_rate: int = 8000
    sources: dict[int, SourceStats] = field(default_factory=dict)
    active_ssrc: int | None = None

    def receive(
        self, ssrc: int, sequence: int, timestamp: int, now: float, size: int = 0
    ) -> Received:
        """Account one RTP packet; NEW_SOURCE marks an SSRC change of the valid stream."""
        source = self.sources.get(ssrc)
        if source is None:
            source = self.sources[ssrc] = SourceStats.first(sequence, self.clock_rate)
        verdict = source.update_seq(sequence)
        if verdict is not Received.VALID:
            return verdict
        source.update_jitter(timestamp, now)
        source.octets += size
        if self.active_ssrc != ssrc:
            changed = self.active_ssrc is not None
            self.active_ssrc = ssrc
            if changed:
                return Received.NEW_SOURCE
        return Received.VALID

    def on_sender_report(self, report: SenderReport, now: float) -> None:
        """Remember the SR's NTP time and our arrival time for LSR/DLSR (§6.4.1)."""
        source = self.sources.get(report.ssrc)
        if source is not None:
            source.lsr = compact_ntp(report.ntp_timestamp)
            source.sr_arrival = now

    def forget(self, ssrc: int) -> None:
        """Drop a source (on RTCP BYE or timeout)."""
        self.sources.pop(ssrc, None)
        if self.active_ssrc == ssrc:
            self.active_ssrc = None

    def report_blocks(self, now: float) -> list[ReportBlock]:
        """One block per validated source that sent since the previous report (§6.4)."""
        blocks = []
        for ssrc, source in self.sources.items():
            if source.probation == 0 and source.received != source.received_prior:
                blocks.append(source.report_block(ssrc, now))
        return blocks[:31]

    def receiver_report(self, own_ssrc: int, now: float) -> ReceiverReport:
        """An RR carrying ``report_blocks(now)``."""
        return ReceiverReport(own_ssrc, tuple(self.report_blocks(now)))


@dataclass(slots=True)
class SenderStats:
    """What we have sent on one SSRC, for the sender info of an SR (§6.4.1)."""

    ssrc: int
    clock_rate: int = 8000
    packet_count: int = 0
    octet_count: int = 0
    last_timestamp: int = 0
    last_sent: float | None = None

    def on_sent(self, timestamp: int, payload_size: int, now: float) -> None:
        self.packet_count += 1
        self.octet_count += payload_size
        self.last_timestamp = timestamp
        self.last_sent = now

    def sender_report(
        self, now: float, wallclock: float, stats: RtpStats | None = None
    ) -> SenderReport:
        """SR whose RTP timestamp is extrapolated to ``now`` from the last packet sent."""
        rtp_ts = self.last_timestamp
        if self.last_sent is not None:
            rtp_ts += int((now - self.last_sent) * self.clock_rate)
        blocks = tuple(stats.report_blocks(now)) if stats is not None else ()
        return SenderReport(
            self.ssrc,
            ntp_from_unix(wallclock),
            rtp_ts & 0xFFFFFFFF,
            self.packet_count,
            self.octet_count,
            blocks,
        )
