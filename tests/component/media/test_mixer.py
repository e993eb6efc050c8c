"""Conferences and supervisor mixes: each party sends its own tone; FFT tells who hears whom."""

from __future__ import annotations

import asyncio

import pytest

from callcenter.media.codec import PCMA, PCMU
from callcenter.media.engine import MediaEngine

from .phone import Phone, band_energy, open_phone, tone, wait_for

HOST = "127.0.0.1"
FREQS = {"caller": 400.0, "agent": 1000.0, "supervisor": 1700.0}


async def _run_mix(engine: MediaEngine, mode: str) -> dict[str, dict[str, float]]:
    phones: dict[str, Phone] = {}
    eps = {}
    for k, name in enumerate(FREQS):
        phones[name] = await open_phone()
        eps[name] = await engine.create_endpoint(name, HOST)
        pt = PCMA if k == 1 else PCMU  # the mixer decodes and encodes per leg
        engine.set_remote(eps[name], HOST, phones[name].port, pt)
    legs = (eps["caller"], eps["agent"], eps["supervisor"])
    if mode == "conference":
        engine.conference(list(legs))
    else:
        getattr(engine, mode)(*legs)
    await asyncio.gather(
        *(
            phones[n].send_audio(tone(f, 0.6), (HOST, eps[n].local_port), eps[n].payload_type)
            for n, f in FREQS.items()
        )
    )
    await wait_for(lambda: all(len(p.received) >= 30 for p in phones.values()))
    heard = {}
    for listener, phone in phones.items():
        audio = phone.audio()[800:]  # skip the first 100 ms while streams line up
        heard[listener] = {sp: band_energy(audio, f) for sp, f in FREQS.items()}
        assert heard[listener][listener] < 0.01  # never your own voice
    for phone in phones.values():
        phone.close()
    return heard


EXPECTED = {
    "conference": {"caller": {"agent", "supervisor"}, "agent": {"caller", "supervisor"}},
    "barge": {"caller": {"agent", "supervisor"}, "agent": {"caller", "supervisor"}},
    "monitor": {"caller": {"agent"}, "agent": {"caller"}, "supervisor": {"caller", "agent"}},
    "whisper": {
        "caller": {"agent"},
        "agent": {"caller", "supervisor"},
        "supervisor": {"caller", "agent"},
    },
}


@pytest.mark.parametrize("mode", sorted(EXPECTED))
async def test_who_hears_whom(engine: MediaEngine, mode: str) -> None:
    heard = await _run_mix(engine, mode)
    for listener, expected in EXPECTED[mode].items():
        loud = {sp for sp, share in heard[listener].items() if share > 0.1}
        silent = {sp for sp, share in heard[listener].items() if share < 0.01}
        assert loud == expected, (listener, heard[listener])
        assert silent == set(FREQS) - expected, (listener, heard[listener])


async def test_unmix_then_bridge_restores_the_relay(engine: MediaEngine) -> None:
    a, b = await open_phone(), await open_phone()
    ea = await engine.create_endpoint("a", HOST)
    eb = await engine.create_endpoint("b", HOST)
    engine.set_remote(ea, HOST, a.port, PCMU)
    engine.set_remote(eb, HOST, b.port, PCMU)
    mix = engine.conference([ea, eb])
    assert engine._ticking
    engine.unmix(mix)
    assert not engine._ticking and ea.source is None
    engine.bridge(ea, eb)
    sent = a.packet(PCMU, b"\x11" * 160)
    a.send(sent, (HOST, ea.local_port))
    await wait_for(lambda: sent in b.received)
    a.close()
    b.close()
