"""RTCP of one leg (RFC 3550 §6): reception statistics, the SR/RR + SDES compound we send about
every 5 s, and the figures taken from the reports the remote sends us.

``LegRtcp`` wraps the pure ``callcenter.rtp.stats`` (A.1 sequence validation, A.3 loss, A.8
jitter) and ``callcenter.rtp.rtcp`` (packet formats) for one endpoint: ``receive_rtp`` is called
for every RTP packet that arrives (only the 12-octet fixed header is unpacked), ``on_sent`` for
every packet of our own stream (player, mixer), ``on_rtcp`` for every RTCP datagram, and
``report`` builds the compound packet of §6.1: an SR when we sent our own packets since the
previous report (§6.4), otherwise an RR, then SDES with our CNAME (§6.5.1), plus BYE (§6.6)
when the leg is released. ``RtcpScheduler`` sends every leg's report from one engine timer: the
§6.3.1 deterministic interval (5 s, the minimum, for a two-party call at 64 kbit/s) times a
random factor in [0.5, 1.5], the first at half of it (§6.2). Round-trip time comes from
LSR/DLSR of the remote's report blocks (§6.4.1).
"""

from __future__ import annotations

import asyncio
import random
import struct
import time
from dataclasses import dataclass
from typing import Any, Protocol

from callcenter.rtp.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpError,
    SdesChunk,
    SdesItem,
    SenderReport,
    SourceDescription,
    compact_ntp,
    ntp_from_unix,
    parse_rtcp,
    serialize_compound,
)
from callcenter.rtp.stats import Received, RtpStats, SenderStats, SourceStats

_FIXED = struct.Struct("!xxHII")  # sequence, timestamp, SSRC of the RTP fixed header
_clock = time.monotonic  # arrival times (a module global so tests can drive it)


@dataclass(frozen=True, slots=True)
class RemoteReport:
    """What the remote said about the stream we send it (one report block, §6.4.1)."""

    fraction_lost: float  # 0..1 in the interval before the report
    cumulative_lost: int
    jitter_ms: float
    rtt_ms: float | None  # None until a block echoes one of our SRs


class LegRtcp:
    """Statistics and reports of one leg; ``ssrc`` is the leg's own sending SSRC."""

    def __init__(self, ssrc: int, cname: bytes, due: float) -> None:
        self.ssrc = ssrc
        self.cname = cname
        self.due = due
        self.rx = RtpStats()
        self.tx = SenderStats(ssrc)
        self.remote: RemoteReport | None = None
        self.reports_in = 0
        self.reports_out = 0
        self.malformed = 0
        self._sent_prior = 0
        self._fast: SourceStats | None = None  # the active validated source, for the fast path
        self._fast_ssrc = -1
        self._sr_sent: dict[int, float] = {}  # compact NTP of our recent SRs -> wall clock

    # -- what flows through the leg ---------------------------------------------------------

    def receive_rtp(self, data: bytes) -> None:
        """Account one arriving RTP packet (at least 12 octets).

        The next in-order packet of the validated active source - nearly every packet - is
        accounted inline exactly as ``RtpStats.receive`` would (A.1 in-order branch, A.8);
        anything else (first packets, loss, reordering, a new SSRC) goes through it."""
        seq, ts, ssrc = _FIXED.unpack_from(data)
        now = _clock()
        src = self._fast
        if src is not None and ssrc == self._fast_ssrc and seq == (src.max_seq + 1) & 0xFFFF:
            if seq == 0:
                src.cycles += 0x10000  # sequence number wrapped
            src.max_seq = seq
            src.received += 1
            src.octets += len(data) - 12
            transit = (int(now * src.clock_rate) - ts) & 0xFFFFFFFF
            if src.transit is not None:
                d = (transit - src.transit) & 0xFFFFFFFF
                if d & 0x80000000:
                    d = 0x100000000 - d
                src.jitter += (d - src.jitter) / 16.0
            src.transit = transit
            return
        verdict = self.rx.receive(ssrc, seq, ts, now, len(data) - 12)
        if verdict is Received.VALID or verdict is Received.NEW_SOURCE:
            self._fast, self._fast_ssrc = self.rx.sources[ssrc], ssrc

    def on_sent(self, timestamp: int, payload_size: int) -> None:
        self.tx.on_sent(timestamp, payload_size, time.monotonic())

    def on_rtcp(self, data: bytes) -> None:
        """Take the remote's SR/RR: its view of our stream, and its SR time for our LSR."""
        try:
            packets = parse_rtcp(data)
        except RtcpError:
            self.malformed += 1
            return
        self.reports_in += 1
        now, wall = time.monotonic(), time.time()
        for packet in packets:
            if isinstance(packet, SenderReport):
                self.rx.on_sender_report(packet, now)
            if isinstance(packet, SenderReport | ReceiverReport) and packet.reports:
                self.remote = self._remote_report(packet.reports, wall)

    def _remote_report(self, blocks: tuple[ReportBlock, ...], wall: float) -> RemoteReport:
        block = next((b for b in blocks if b.ssrc == self.ssrc), blocks[0])
        rtt = None
        if block.lsr and block.lsr in self._sr_sent:
            arrival = compact_ntp(ntp_from_unix(wall))
            rtt = ((arrival - block.lsr - block.dlsr) & 0xFFFFFFFF) / 65.536
        return RemoteReport(
            block.fraction_lost / 256, block.cumulative_lost, block.jitter / 8.0, rtt
        )

    # -- what we send --------------------------------------------------------------------------

    def report(self, bye: bool = False) -> bytes:
        """The compound packet of §6.1: SR (we sent) or RR, SDES CNAME, and BYE if leaving."""
        now, wall = time.monotonic(), time.time()
        first: SenderReport | ReceiverReport
        if self.tx.packet_count != self._sent_prior:
            first = self.tx.sender_report(now, wall, self.rx)
            self._sr_sent[compact_ntp(first.ntp_timestamp)] = wall
            if len(self._sr_sent) > 8:
                del self._sr_sent[next(iter(self._sr_sent))]
        else:
            first = self.rx.receiver_report(self.ssrc, now)
        self._sent_prior = self.tx.packet_count
        sdes = SourceDescription((SdesChunk(self.ssrc, ((SdesItem.CNAME, self.cname),)),))
        packets: list[SenderReport | ReceiverReport | SourceDescription | Bye] = [first, sdes]
        if bye:
            packets.append(Bye((self.ssrc,)))
        self.reports_out += 1
        return serialize_compound(packets)

    # -- figures -------------------------------------------------------------------------------

    def figures(self) -> dict[str, Any]:
        """Loss and jitter of what we receive, and the remote's view of what we send."""
        out: dict[str, Any] = {"rtcp_in": self.reports_in, "rtcp_out": self.reports_out}
        ssrc = self.rx.active_ssrc
        source = self.rx.sources.get(ssrc) if ssrc is not None else None
        if source is not None:
            out.update(
                expected=source.expected,
                lost=max(0, source.lost),
                loss=max(0, source.lost) / source.expected if source.expected > 0 else 0.0,
                jitter_ms=source.jitter / 8.0,
            )
        if self.remote is not None:
            r = self.remote
            out.update(
                remote_fraction_lost=r.fraction_lost,
                remote_lost=r.cumulative_lost,
                remote_jitter_ms=r.jitter_ms,
                rtt_ms=r.rtt_ms,
            )
        return out


class Reporting(Protocol):
    """A leg as the scheduler sees it (``endpoint.Endpoint``)."""

    id: int
    rtcp: LegRtcp | None

    def send_rtcp(self, bye: bool = False) -> None: ...


class RtcpScheduler:
    """Sends every leg's report when due: one timer for the whole engine, waking every
    ``interval / 5``. Each leg's next report is the interval times a random factor in
    [0.5, 1.5] after its previous one (§6.3.1); the first comes at half of that (§6.2)."""

    def __init__(self, interval: float, rng: random.Random) -> None:
        self.interval = interval
        self.rng = rng
        self.cname_base = f"cc-{rng.getrandbits(48):012x}"
        self._legs: dict[int, Reporting] = {}
        self._handle: asyncio.TimerHandle | None = None

    def add(self, leg: Reporting, local_ip: str, ssrc: int) -> None:
        due = time.monotonic() + self.interval * 0.5 * self.rng.uniform(0.5, 1.5)
        leg.rtcp = LegRtcp(ssrc, f"{self.cname_base}@{local_ip}".encode(), due)
        self._legs[leg.id] = leg
        if self._handle is None:
            self._handle = asyncio.get_running_loop().call_later(self.interval / 5, self._run)

    def remove(self, leg: Reporting) -> None:
        """The leg leaves: it says BYE (§6.6) and is not reported any more. A leg that never
        sent an RTP or RTCP packet leaves silently (§6.3.7: it MUST NOT send a BYE) - most
        short calls, e.g. one rejected or hung up within the first report interval."""
        if self._legs.pop(leg.id, None) is not None:
            rtcp = leg.rtcp
            if rtcp is not None and (rtcp.reports_out or rtcp.tx.packet_count):
                leg.send_rtcp(bye=True)
        if not self._legs and self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _run(self) -> None:
        now = time.monotonic()
        for leg in list(self._legs.values()):
            rtcp = leg.rtcp
            if rtcp is not None and rtcp.due <= now:
                rtcp.due = now + self.interval * self.rng.uniform(0.5, 1.5)
                leg.send_rtcp()
        self._handle = asyncio.get_running_loop().call_later(self.interval / 5, self._run)

    def stop(self) -> None:
        self._legs.clear()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


__all__ = ["LegRtcp", "RemoteReport", "Reporting", "RtcpScheduler"]
