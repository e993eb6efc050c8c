"""Micro-benchmarks of the per-packet media paths in callcenter.rtp (prints µs per operation).

Figures are noisy on a shared 2-core machine; compare runs on the same host only.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable

import numpy as np

from callcenter.rtp import g711
from callcenter.rtp.dtmf import DtmfReceiver, dtmf_packets
from callcenter.rtp.inband import InbandDtmfDetector
from callcenter.rtp.jitterbuffer import JitterBuffer
from callcenter.rtp.packet import RtpPacket, parse_rtp
from callcenter.rtp.rtcp import parse_rtcp
from callcenter.rtp.stats import RtpStats
from callcenter.rtp.tones import RINGBACK, ToneGenerator
from callcenter.sdp.model import parse_sdp
from callcenter.sdp.negotiate import LocalMedia, negotiate


def per_call_us(fn: Callable[[], object], number: int) -> float:
    best = min(timeit.repeat(fn, number=number, repeat=5))
    return best / number * 1e6


def main() -> None:
    rng = np.random.default_rng(0)
    pcm = rng.integers(-8000, 8000, 160, dtype=np.int16).astype("<i2").tobytes()
    ulaw = g711.pcm16_to_ulaw(pcm)
    packet = RtpPacket(0, 1234, 160_000, 0xDEADBEEF, ulaw, marker=True)
    wire = packet.serialize()
    event_packets = dtmf_packets("5", ssrc=1, sequence=0, timestamp=0)
    rr = bytes.fromhex("81c90007 00000001 00000002 00000000 00010000 00000010 00000000 00000000")
    stats = RtpStats()
    seq = iter(range(10**9))
    detector = InbandDtmfDetector()
    jb = JitterBuffer()
    tick = iter(range(10**9))
    tones = ToneGenerator(RINGBACK)
    offer = parse_sdp(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n"
    )
    local = LocalMedia("127.0.0.1", 20000)

    def stats_receive() -> None:
        n = next(seq)
        stats.receive(1, n & 0xFFFF, n * 160, n * 0.02, 160)

    def dtmf_receive() -> None:
        rx = DtmfReceiver()
        for p in event_packets:
            rx.receive(p, 0.0)

    def jitter_push_pop() -> None:
        n = next(tick)
        jb.push(RtpPacket(0, n & 0xFFFF, n * 160, 1, ulaw), n * 0.02)
        jb.pop(n * 0.02)

    cases: list[tuple[str, Callable[[], object], int]] = [
        ("parse_rtp (172 B)", lambda: parse_rtp(wire), 100_000),
        ("RtpPacket.serialize", packet.serialize, 100_000),
        ("ulaw_to_pcm16 160 (active impl)", lambda: g711.ulaw_to_pcm16(ulaw), 100_000),
        ("pcm16_to_ulaw 160 (active impl)", lambda: g711.pcm16_to_ulaw(pcm), 100_000),
        ("numpy ulaw_to_pcm16 160", lambda: g711.numpy_ulaw_to_pcm16(ulaw), 100_000),
        ("numpy pcm16_to_ulaw 160", lambda: g711.numpy_pcm16_to_ulaw(pcm), 100_000),
        ("ulaw_to_alaw 160 (translate)", lambda: g711.ulaw_to_alaw(ulaw), 100_000),
        ("RtpStats.receive", stats_receive, 100_000),
        ("parse_rtcp RR", lambda: parse_rtcp(rr), 50_000),
        ("DtmfReceiver: one 100 ms digit (7 pkts)", dtmf_receive, 20_000),
        ("in-band detector per 20 ms frame", lambda: detector.process(pcm), 20_000),
        ("jitter buffer push+pop", jitter_push_pop, 50_000),
        ("ToneGenerator 20 ms frame", lambda: tones.frame(160), 20_000),
        ("SDP parse+negotiate", lambda: negotiate(parse_sdp(offer.serialize()), local), 5_000),
    ]
    print(f"g711 active implementation: {'audioop' if g711.AUDIOOP else 'numpy'}")
    for name, fn, number in cases:
        print(f"{name:40s} {per_call_us(fn, number):8.2f} µs")


if __name__ == "__main__":
    main()
