"""Prompt playback: WAV conversion, TTS, pacing by the shared ticker, barge-in, looping MOH."""

from __future__ import annotations

import asyncio
import itertools
import wave
from pathlib import Path

import numpy as np
import pytest

from callcenter.media.codec import PCMA, PCMU
from callcenter.media.engine import MediaEngine
from callcenter.media.player import Moh, PlayOutcome, Say, Silence, Tone
from callcenter.rtp.packet import parse_rtp

from .phone import open_phone, peak_hz, wait_for

HOST = "127.0.0.1"


def _write_wav(path: Path, freq: float, seconds: float, rate: int, channels: int) -> None:
    t = np.arange(int(rate * seconds)) / rate
    mono = (10000 * np.sin(2 * np.pi * freq * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(mono, channels).tobytes())


async def test_plays_a_44k_stereo_wav_as_8k_packets(engine: MediaEngine, tmp_path: Path) -> None:
    path = tmp_path / "prompt.wav"
    _write_wav(path, 1000.0, 0.6, 44100, 2)
    phone = await open_phone()
    ep = await engine.create_endpoint("c", HOST)
    engine.set_remote(ep, HOST, phone.port, PCMA)
    result = await engine.play(ep, [path])
    assert result.outcome is PlayOutcome.FINISHED
    await wait_for(lambda: len(phone.received) == 30)
    pkts = [parse_rtp(d) for d in phone.received]
    assert {p.payload_type for p in pkts} == {PCMA}
    assert all(len(p.payload) == 160 for p in pkts)
    seqs = [p.sequence for p in pkts]
    assert seqs == [(seqs[0] + k) & 0xFFFF for k in range(30)]
    assert [p.timestamp - pkts[0].timestamp for p in pkts] == [160 * k for k in range(30)]
    assert pkts[0].marker and not any(p.marker for p in pkts[1:])
    audio = phone.audio()
    assert len(audio) == 4800
    assert abs(peak_hz(audio) - 1000.0) < 20
    assert 6000 < np.sqrt(np.mean(audio.astype(float) ** 2)) < 8000
    assert not engine._ticking  # the ticker stops when nothing plays
    phone.close()


async def test_tts_prompt_in_mandarin_and_english(engine: MediaEngine) -> None:
    phone = await open_phone()
    ep = await engine.create_endpoint("c", HOST)
    engine.set_remote(ep, HOST, phone.port, PCMU)
    sources = [Say("您好", "zh"), Silence(100), Say("Hello")]
    result = await engine.play(ep, sources)
    assert result.outcome is PlayOutcome.FINISHED
    await wait_for(lambda: len(phone.received) == result.played_ms // 20)
    audio = phone.audio().astype(np.float64)
    assert len(audio) > 4000  # half a second of speech at least
    frames = audio[: len(audio) // 160 * 160].reshape(-1, 160)
    voiced = np.sqrt((frames**2).mean(axis=1)) > 300
    assert voiced.mean() > 0.3
    assert engine.player.tts.synthesised == 2
    again = await engine.play(ep, [Say("Hello")])  # second time from the disk cache
    assert again.outcome is PlayOutcome.FINISHED
    assert engine.player.tts.synthesised == 2
    phone.close()


async def test_dtmf_interrupts_an_interruptible_prompt(engine: MediaEngine) -> None:
    phone = await open_phone()
    ep = await engine.create_endpoint("c", HOST)
    engine.set_remote(ep, HOST, phone.port, PCMU)
    play = asyncio.create_task(engine.play(ep, [Tone((440.0,), 5000)]))
    await wait_for(lambda: len(phone.received) >= 5)
    phone.send_dtmf("7", (HOST, ep.local_port))
    result = await play
    assert result.outcome is PlayOutcome.INTERRUPTED
    assert result.digit == "7"
    assert result.played_ms < 5000
    phone.close()


async def test_moh_loops_until_stopped_and_is_not_interrupted(engine: MediaEngine) -> None:
    phone = await open_phone()
    ep = await engine.create_endpoint("c", HOST)
    engine.set_remote(ep, HOST, phone.port, PCMU)
    play = asyncio.create_task(engine.play(ep, [Moh()], loop=True, interruptible=False))
    await wait_for(lambda: len(phone.received) >= 25)
    phone.send_dtmf("1", (HOST, ep.local_port))
    await asyncio.sleep(0.1)
    assert not play.done()
    engine.stop_play(ep)
    result = await play
    assert result.outcome is PlayOutcome.STOPPED
    assert np.abs(phone.audio()).max() > 1000  # the generated music is audible
    phone.close()


async def test_play_to_a_bridged_leg_pauses_the_relay_toward_it(engine: MediaEngine) -> None:
    a, b = await open_phone(), await open_phone()
    ea = await engine.create_endpoint("a", HOST)
    eb = await engine.create_endpoint("b", HOST)
    engine.set_remote(ea, HOST, a.port, PCMU)
    engine.set_remote(eb, HOST, b.port, PCMU)
    engine.bridge(ea, eb)
    play = asyncio.create_task(engine.play(eb, [Tone((1000.0,), 200)]))
    await asyncio.sleep(0.05)
    a.send(a.packet(PCMU, b"\x55" * 160), (HOST, ea.local_port))
    await play
    await wait_for(lambda: len(b.received) >= 10)
    assert all(parse_rtp(d).ssrc != a.ssrc for d in b.received)
    a.send(a.packet(PCMU, b"\x56" * 160), (HOST, ea.local_port))
    await wait_for(lambda: any(parse_rtp(d).ssrc == a.ssrc for d in b.received))
    a.close()
    b.close()


def test_mandarin_text_is_normalised_before_speaking(tmp_path: Path) -> None:
    from callcenter.media.tts import MANDARIN, Tts

    tts = Tts(tmp_path)
    spoken = tts.text_for("余额为123.40元", MANDARIN)
    assert "123" not in spoken  # digits become Chinese words (ivr.textnorm)
    assert tts.text_for("Pay 123 now", "en") == "Pay 123 now"
    assert tts.path_for("余额为123.40元", MANDARIN) != tts.path_for("余额为123.41元", MANDARIN)


@pytest.mark.parametrize(("ptime", "sizes"), [(20, [160] * 7), (40, [320, 320, 320, 160]),
                                              (60, [480, 480, 160]), (30, [160] * 7)])  # fmt: skip
async def test_ptime_sets_the_packet_size(
    engine: MediaEngine, tmp_path: Path, ptime: int, sizes: list[int]
) -> None:
    """RFC 4566 §6: 140 ms of audio goes out in packets of the remote's ptime (whole 20 ms
    frames: 30 ms is sent as 20); the rest is flushed when the prompt ends."""
    path = tmp_path / "short.wav"
    _write_wav(path, 1000.0, 0.14, 8000, 1)
    phone = await open_phone()
    ep = await engine.create_endpoint("p", HOST)
    engine.set_remote(ep, HOST, phone.port, PCMA, ptime=ptime)
    await engine.play(ep, [path])
    await wait_for(lambda: sum(len(parse_rtp(d).payload) for d in phone.received) == 1120)
    pkts = [parse_rtp(d) for d in phone.received]
    assert [len(p.payload) for p in pkts] == sizes
    steps = [b.timestamp - a.timestamp for a, b in itertools.pairwise(pkts)]
    assert steps == sizes[:-1]  # each packet's timestamp follows the samples before it
    seqs = [p.sequence for p in pkts]
    assert seqs == [(seqs[0] + k) & 0xFFFF for k in range(len(pkts))]
    audio = phone.audio()
    assert len(audio) == 1120 and abs(peak_hz(audio) - 1000.0) < 30
    phone.close()
