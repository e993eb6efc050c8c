"""Adaptive jitter buffer: order, loss, lateness, duplicates, SSRC change, wrap and adaptation,
driven by simulated arrival times (a 20 ms playout tick, as the media player calls it)."""

import random

from callcenter.rtp.jitterbuffer import JitterBuffer, PlayoutFrame
from callcenter.rtp.packet import RtpPacket

TICK = 0.02


def pkt(seq: int, ssrc: int = 1, ts0: int = 0, marker: bool = False) -> RtpPacket:
    return RtpPacket(
        0, seq & 0xFFFF, (ts0 + seq * 160) & 0xFFFFFFFF, ssrc, bytes([seq & 0xFF]), marker
    )


def run(
    jb: JitterBuffer, arrivals: list[tuple[float, RtpPacket]], until: float
) -> list[tuple[float, PlayoutFrame]]:
    """Push packets at their arrival times and pop every tick; return (tick, frame) pairs."""
    arrivals = sorted(arrivals, key=lambda a: a[0])
    out = []
    i = 0
    for n in range(round(until / TICK) + 1):
        now = n * TICK
        while i < len(arrivals) and arrivals[i][0] <= now:
            jb.push(arrivals[i][1], arrivals[i][0])
            i += 1
        out += [(now, f) for f in jb.pop(now)]
    return out


def seqs(frames: list[tuple[float, PlayoutFrame]]) -> list[int | None]:
    return [f.packet.sequence if f.packet else None for _, f in frames]


def test_steady_stream_plays_in_order_after_the_initial_delay() -> None:
    jb = JitterBuffer(initial_delay=0.06)
    frames = run(jb, [(i * TICK, pkt(i)) for i in range(20)], until=0.5)
    assert seqs(frames)[:20] == list(range(20))
    assert frames[0][0] == 0.06 or abs(frames[0][0] - 0.06) < 1e-9
    assert len({round(t, 6) for t, _ in frames[:20]}) == 20  # one frame per tick


def test_reordered_packets_come_out_in_order() -> None:
    order = [0, 1, 3, 2, 5, 4, 6, 7]
    jb = JitterBuffer()
    frames = run(jb, [(k * TICK, pkt(s)) for k, s in enumerate(order)], until=0.3)
    assert seqs(frames)[:8] == list(range(8))
    assert jb.stats.late == 0


def test_loss_gives_a_none_frame_and_late_packet_is_dropped() -> None:
    arrivals = [(i * TICK, pkt(i)) for i in range(10) if i != 4]
    arrivals.append((0.2, pkt(4)))  # after its playout time (0.06 + 4 * 0.02)
    jb = JitterBuffer()
    frames = run(jb, arrivals, until=0.24)
    assert seqs(frames)[:10] == [0, 1, 2, 3, None, 5, 6, 7, 8, 9]
    assert frames[4][1].timestamp == 4 * 160
    assert (jb.stats.concealed, jb.stats.late) == (1, 1)


def test_duplicates_are_dropped() -> None:
    arrivals = [(i * TICK, pkt(i)) for i in range(5)] + [(0.05, pkt(2)), (0.2, pkt(2))]
    jb = JitterBuffer()
    assert seqs(run(jb, arrivals, until=0.2))[:5] == [0, 1, 2, 3, 4]
    assert jb.stats.duplicate == 1  # the other copy arrived after 2 was played: late
    assert jb.stats.late == 1


def test_ssrc_change_resets() -> None:
    arrivals = [(i * TICK, pkt(i)) for i in range(5)]
    arrivals += [(0.1 + i * TICK, pkt(i, ssrc=2, ts0=999_999)) for i in range(5)]
    jb = JitterBuffer()
    frames = run(jb, arrivals, until=0.5)
    assert jb.stats.resets == 1
    ssrcs = [f.packet.ssrc for _, f in frames if f.packet]
    assert ssrcs == sorted(ssrcs)  # what was still buffered of SSRC 1 is flushed
    assert ssrcs.count(2) == 5
    assert ssrcs[0] == 1


def test_timestamp_and_sequence_wrap() -> None:
    base = 2**32 - 3 * 160
    jb = JitterBuffer()
    frames = run(jb, [(i * TICK, pkt(i, ts0=base)) for i in range(8)], until=0.3)
    assert seqs(frames)[:8] == list(range(8))
    assert frames[3][1].timestamp == 0


def test_pause_conceals_a_few_frames_then_waits_and_reanchors() -> None:
    jb = JitterBuffer(max_concealed=3)
    first = [(i * TICK, pkt(i)) for i in range(5)]
    second = [(2.0 + i * TICK, pkt(50 + i, marker=i == 0)) for i in range(5)]
    frames = run(jb, first + second, until=2.3)
    assert seqs(frames) == [0, 1, 2, 3, 4, None, None, None, 50, 51, 52, 53, 54, None, None, None]
    assert 0 <= frames[8][0] - (2.0 + jb.delay) < TICK


def test_timestamp_jump_resyncs() -> None:
    arrivals = [(i * TICK, pkt(i)) for i in range(5)]
    arrivals += [(0.1 + i * TICK, pkt(100_000 + i)) for i in range(5)]
    jb = JitterBuffer()
    frames = run(jb, arrivals, until=0.5)
    assert jb.stats.resets == 1
    assert [s for s in seqs(frames) if s is not None][-5:] == [
        (100_000 + i) & 0xFFFF for i in range(5)
    ]


def test_capacity_overflow() -> None:
    jb = JitterBuffer(capacity=4)
    for i in range(6):
        jb.push(pkt(i), 0.0)
    assert len(jb) == 4
    assert jb.stats.overflow == 2


def jittery(
    count: int, spread: float, seed: int, start: float = 0.0, first: int = 0
) -> list[tuple[float, RtpPacket]]:
    rng = random.Random(seed)
    return [
        (start + i * TICK + rng.uniform(0, spread), pkt(first + i, marker=i == 0))
        for i in range(count)
    ]


def test_delay_grows_with_jitter_and_shrinks_when_it_calms() -> None:
    jb = JitterBuffer(initial_delay=0.02, adapt_interval=0.5)
    frames = run(jb, jittery(500, 0.08, seed=1), until=10.2)
    grown = jb.delay
    assert grown > 0.06
    assert jb.target_delay > 0.06
    early = sum(1 for _, f in frames[:100] if f.packet is None)
    late = sum(1 for _, f in frames[-100:] if f.packet is None)
    assert late < early  # fewer concealed frames once the delay has grown
    # calm stream, no talkspurt boundaries: the delay walks back down by skipping frames
    frames = run_more(jb, jittery(600, 0.0, seed=2, start=10.2, first=500)[1:], 10.2, 22.5)
    assert jb.delay < grown
    assert jb.stats.skipped > 0
    assert frames


def run_more(
    jb: JitterBuffer, arrivals: list[tuple[float, RtpPacket]], start: float, until: float
) -> list[tuple[float, PlayoutFrame]]:
    out = []
    i = 0
    for n in range(round(start / TICK), round(until / TICK) + 1):
        now = n * TICK
        while i < len(arrivals) and arrivals[i][0] <= now:
            jb.push(arrivals[i][1], arrivals[i][0])
            i += 1
        out += [(now, f) for f in jb.pop(now)]
    return out


def test_talkspurt_start_takes_the_target_delay_at_once() -> None:
    jb = JitterBuffer(initial_delay=0.2, adapt_interval=100.0)
    run(jb, [(i * TICK, pkt(i)) for i in range(50)], until=1.5)
    assert jb.delay == 0.2
    run_more(jb, [(2.0 + i * TICK, pkt(60 + i, marker=i == 0)) for i in range(5)], 1.5, 2.5)
    assert jb.delay < 0.2
    assert abs(jb.delay - jb.target_delay) < 0.005
