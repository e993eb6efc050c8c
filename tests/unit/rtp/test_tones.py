"""Chinese call-progress tones and DTMF tone generation, measured back with an FFT."""

import numpy as np
import numpy.typing as npt
import pytest

from callcenter.rtp.tones import (
    BEEP,
    BUSY,
    CALL_WAITING,
    CONGESTION,
    DIAL_TONE,
    DTMF_FREQUENCIES,
    RINGBACK,
    ToneGenerator,
    TonePlan,
    dtmf_tone,
    tone,
)


def pull(gen: ToneGenerator, seconds: float, frame: int = 160) -> npt.NDArray[np.int16]:
    count = round(seconds * gen.sample_rate / frame)
    return np.frombuffer(b"".join(gen.frame(frame) for _ in range(count)), "<i2")


def on_off_pattern(samples: npt.NDArray[np.int16], step: int = 400) -> list[bool]:
    """Per 50 ms slice: is the tone sounding?"""
    return [bool(np.abs(samples[i : i + step]).max() > 100) for i in range(0, len(samples), step)]


def peak_hz(samples: npt.NDArray[np.int16], rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    return float(np.argmax(spectrum) * rate / len(samples))


@pytest.mark.parametrize(
    ("plan", "on_s", "off_s"),
    [(RINGBACK, 1.0, 4.0), (BUSY, 0.35, 0.35), (CONGESTION, 0.7, 0.7), (CALL_WAITING, 0.4, 4.0)],
)
def test_cadences_of_the_chinese_tone_plan(plan: TonePlan, on_s: float, off_s: float) -> None:
    gen = ToneGenerator(plan)
    period = on_s + off_s
    samples = pull(gen, 2 * period)
    slices = on_off_pattern(samples)
    per_period = round(period / 0.05)
    on = round(on_s / 0.05)
    assert slices == ([True] * on + [False] * (per_period - on)) * 2
    assert abs(peak_hz(samples[: int(on_s * 8000)]) - 450.0) <= 2.0
    assert not gen.finished


def test_dial_tone_is_continuous_with_continuous_phase() -> None:
    gen = ToneGenerator(DIAL_TONE, level_dbfs=-10.0)
    samples = pull(gen, 1.0, frame=137)  # odd frame size: phase must carry across frames
    reference = tone((450.0,), len(samples) / 8, level_dbfs=-10.0)
    assert np.abs(samples.astype(int) - reference.astype(int)).max() <= 1
    rms_dbfs = 20 * np.log10(np.sqrt(np.mean(samples.astype(float) ** 2)) * np.sqrt(2) / 32767)
    assert abs(rms_dbfs - (-10.0)) < 0.1


def test_beep_plays_once_then_silence() -> None:
    gen = ToneGenerator(BEEP)
    first = pull(gen, 0.2)
    assert not gen.finished
    first = np.concatenate([first, pull(gen, 0.06)])
    assert gen.finished
    assert abs(peak_hz(first) - 1000.0) <= 4.0
    assert not pull(gen, 0.5).any()


@pytest.mark.parametrize("digit", list(DTMF_FREQUENCIES))
def test_dtmf_tone_has_the_q23_pair(digit: str) -> None:
    samples = dtmf_tone(digit, 500, level_dbfs=-10.0, twist_db=2.0)
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    split = round(1100 * len(samples) / 8000)  # the low group is below 1100 Hz, the high above
    low_bin, high_bin = np.argmax(spectrum[:split]), split + np.argmax(spectrum[split:])
    low, high = DTMF_FREQUENCIES[digit]
    assert abs(low_bin * 8000 / len(samples) - low) <= 2
    assert abs(high_bin * 8000 / len(samples) - high) <= 2
    t = np.arange(len(samples)) / 8000
    level = [
        2 * abs(np.dot(samples, np.exp(-2j * np.pi * f * t))) / len(samples) for f in (low, high)
    ]
    assert 20 * np.log10(level[1] / level[0]) == pytest.approx(2.0, abs=0.05)  # twist


def test_levels_clip_instead_of_wrapping() -> None:
    loud = tone((450.0, 451.0), 100, level_dbfs=0.0)
    assert loud.max() == 32767 and loud.min() == -32768
    assert dtmf_tone("1", 10).dtype == np.int16


def test_frames_match_one_long_tone_across_cycle_wraps_and_odd_frequencies() -> None:
    for freq in (450.0, 451.3):  # 451.3 Hz does not fit a second in whole cycles: computed
        gen = ToneGenerator(TonePlan((freq,)), level_dbfs=-10.0)
        samples = pull(gen, 2.5, frame=137)
        reference = tone((freq,), len(samples) / 8, level_dbfs=-10.0)
        assert np.abs(samples.astype(int) - reference.astype(int)).max() <= 1, freq
