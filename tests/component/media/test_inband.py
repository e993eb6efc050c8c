"""In-band DTMF on a leg whose remote offered no telephone-event: tones in the audio become the
same ``DtmfReceived`` events as RFC 4733 digits, once per key press."""

from __future__ import annotations

import asyncio

import numpy as np

from callcenter.media.codec import PCMU
from callcenter.media.dtmf import InbandTap
from callcenter.media.engine import DtmfReceived, MediaEngine
from callcenter.media.player import PlayOutcome, Tone
from callcenter.rtp.tones import dtmf_tone

from .phone import open_phone, tone, wait_for

HOST = "127.0.0.1"


def keyed(digits: str, on_ms: int = 100, off_ms: int = 100) -> np.ndarray:
    """Speech-level 440 Hz filler, then each digit's tone pair followed by a pause."""
    parts = [tone(440.0, 0.2, amp=3000.0)]
    for digit in digits:
        parts += [dtmf_tone(digit, on_ms), np.zeros(8 * off_ms, np.int16)]
    return np.concatenate([*parts, np.zeros(1600, np.int16)])


async def test_inband_tones_without_telephone_event_report_each_digit_once(
    engine: MediaEngine,
) -> None:
    digits: list[DtmfReceived] = []
    engine.on_dtmf = digits.append
    phone = await open_phone()
    ep = await engine.create_endpoint("inband", HOST)
    engine.set_remote(ep, HOST, phone.port, PCMU, telephone_event_pt=None)
    await phone.send_audio(keyed("05"), (HOST, ep.local_port))
    await wait_for(lambda: ep.packets_in == len(keyed("05")) // 160)
    assert [(d.digit, d.call_id, d.endpoint_id) for d in digits] == [
        ("0", "inband", ep.id),
        ("5", "inband", ep.id),
    ]
    assert all(80 <= d.duration_ms <= 120 for d in digits)
    phone.close()


async def test_telephone_event_legs_do_not_listen_in_band(engine: MediaEngine) -> None:
    digits: list[DtmfReceived] = []
    engine.on_dtmf = digits.append
    phone = await open_phone()
    ep = await engine.create_endpoint("rfc4733", HOST)
    engine.set_remote(ep, HOST, phone.port, PCMU, telephone_event_pt=None)
    assert any(isinstance(t, InbandTap) for t in ep.taps)
    engine.set_remote(ep, HOST, phone.port, PCMU, telephone_event_pt=101)  # re-INVITE adds it
    assert not ep.taps
    await phone.send_audio(keyed("7"), (HOST, ep.local_port))
    await wait_for(lambda: ep.packets_in == len(keyed("7")) // 160)
    assert digits == []
    phone.send_dtmf("7", (HOST, ep.local_port))
    await wait_for(lambda: len(digits) == 1)
    assert digits[0].digit == "7"
    phone.close()


async def test_an_inband_digit_interrupts_a_prompt(engine: MediaEngine) -> None:
    phone = await open_phone()
    ep = await engine.create_endpoint("barge-in", HOST)
    engine.set_remote(ep, HOST, phone.port, PCMU, telephone_event_pt=None)
    playing = asyncio.ensure_future(engine.play(ep, [Tone((425.0,), 20_000)]))
    await phone.send_audio(keyed("3"), (HOST, ep.local_port))
    result = await asyncio.wait_for(playing, 5)
    assert result.outcome is PlayOutcome.INTERRUPTED and result.digit == "3"
    phone.close()
