"""Recording: stereo channel assignment, correlation with the audio sent, crash safety."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import numpy as np

from callcenter.media.codec import PCMA, PCMU
from callcenter.media.engine import MediaEngine
from callcenter.media.player import Tone
from callcenter.media.recorder import compress

from .phone import open_phone, wait_for

HOST = "127.0.0.1"


def _read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 8000)
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    return data[:, 0], data[:, 1]


def _best_correlation(recorded: np.ndarray, reference: np.ndarray) -> float:
    """Peak normalised cross-correlation over all lags (the recording starts at any offset)."""
    r = recorded.astype(np.float64) - recorded.mean()
    s = reference.astype(np.float64) - reference.mean()
    n = len(r) + len(s)
    xc = np.fft.irfft(np.fft.rfft(r, n) * np.conj(np.fft.rfft(s, n)), n)
    return float(xc.max() / (np.linalg.norm(r) * np.linalg.norm(s)))


async def test_bridge_recording_puts_caller_left_agent_right(
    engine: MediaEngine, tmp_path: Path
) -> None:
    a, b = await open_phone(), await open_phone()
    ea = await engine.create_endpoint("a", HOST)
    eb = await engine.create_endpoint("b", HOST)
    engine.set_remote(ea, HOST, a.port, PCMU)
    engine.set_remote(eb, HOST, b.port, PCMA)
    engine.bridge(ea, eb)
    handle = engine.record(ea, tmp_path / "call.wav")
    rng = np.random.default_rng(1)
    caller = (rng.standard_normal(8000) * 3000).astype(np.int16)  # 1 s of noise-like "speech"
    agent = (np.sin(2 * np.pi * 700 * np.arange(8000) / 8000) * 6000).astype(np.int16)
    await asyncio.gather(
        a.send_audio(caller, (HOST, ea.local_port), PCMU),
        b.send_audio(agent, (HOST, eb.local_port), PCMA),
    )
    await wait_for(lambda: len(b.received) == 50 and len(a.received) == 50)  # relay went on
    await asyncio.sleep(0.1)  # the recorder drains its last frames on the next ticks
    path = engine.stop_record(handle)
    assert path == tmp_path / "call.wav"
    left, right = _read(path)
    assert len(left) >= 7000
    assert _best_correlation(left, caller) > 0.9
    assert _best_correlation(right, agent) > 0.9
    assert _best_correlation(left, agent) < 0.2
    a.close()
    b.close()


async def test_single_leg_recording_has_what_we_played_on_the_right(
    engine: MediaEngine, tmp_path: Path
) -> None:
    phone = await open_phone()
    ep = await engine.create_endpoint("vm", HOST)
    engine.set_remote(ep, HOST, phone.port, PCMU)
    handle = engine.record(ep, tmp_path / "vm.wav")
    await engine.play(ep, [Tone((500.0,), 400)])
    engine.pause_record(handle)
    await engine.play(ep, [Tone((500.0,), 200)])
    engine.resume_record(handle)
    engine.stop_record(handle)
    left, right = _read(tmp_path / "vm.wav")
    assert np.abs(left).max() == 0  # the phone said nothing
    assert 3200 <= len(right) <= 3200 + 480  # the paused 200 ms are not in the file
    assert np.sqrt(np.mean(right[160:3000].astype(float) ** 2)) > 1000
    phone.close()


CRASHER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    import numpy as np
    from callcenter.media.engine import MediaEngine
    from callcenter.media.player import Tone

    async def main() -> None:
        eng = MediaEngine(int(sys.argv[2]), int(sys.argv[2]) + 9, cache_dir=Path(sys.argv[1]))
        ep = await eng.create_endpoint("crash", "127.0.0.1")
        eng.set_remote(ep, "127.0.0.1", 9, 0)
        handle = eng.record(ep, Path(sys.argv[1]) / "crash.wav")
        asyncio.ensure_future(eng.play(ep, [Tone((600.0,), 60000)]))
        while eng.recorder(handle).seconds < 1.5:
            await asyncio.sleep(0.02)
        print("recording", flush=True)
        await asyncio.sleep(60)

    asyncio.run(main())
    """
)


def test_recording_is_readable_after_a_crash(tmp_path: Path) -> None:
    port = 38000 + (os.getpid() % 100) * 10
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHER, str(tmp_path), str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "recording"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    left, right = _read(tmp_path / "crash.wav")
    assert len(right) >= 8000  # at least the last synced second survived
    assert np.sqrt(np.mean(right[1000:].astype(float) ** 2)) > 1000
    assert np.abs(left).max() == 0


async def test_compress_to_mp3(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    t = np.arange(8000) / 8000
    stereo = np.repeat((np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2"), 2)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(stereo.tobytes())
    out = await compress(path, "mp3")
    assert out.suffix == ".mp3" and out.stat().st_size > 1000
    assert path.exists()
    out2 = await compress(path, "opus", keep_wav=False)
    assert out2.stat().st_size > 500 and not path.exists()
