"""In-band DTMF detector: all 16 digits at -30 dBFS in white noise, Q.24-style rejections,
and no false digit in a minute of SIPp's recorded speech."""

import numpy as np
import numpy.typing as npt
import pytest

from callcenter.rtp.dtmf import DIGITS, DigitDetected
from callcenter.rtp.inband import InbandDtmfDetector
from callcenter.rtp.tones import dtmf_tone


def noisy(signal: npt.NDArray[np.float64], noise_dbfs: float, seed: int) -> npt.NDArray[np.int16]:
    """Add white noise whose RMS is ``noise_dbfs`` relative to a full-scale sine."""
    rng = np.random.default_rng(seed)
    rms = 32767 * 10 ** (noise_dbfs / 20) / np.sqrt(2)
    return np.clip(np.rint(signal + rng.normal(0, rms, len(signal))), -32768, 32767).astype(
        np.int16
    )


def detect(samples: npt.NDArray[np.int16], chunk: int = 160) -> list[DigitDetected]:
    detector = InbandDtmfDetector()
    found: list[DigitDetected] = []
    for start in range(0, len(samples), chunk):
        found += detector.process(samples[start : start + chunk].astype("<i2").tobytes())
    return found + detector.flush()


def sequence(digits: str, tone_ms: float, pause_ms: float, level: float) -> npt.NDArray[np.float64]:
    silence = np.zeros(round(pause_ms * 8))
    parts = [silence]
    for digit in digits:
        parts += [dtmf_tone(digit, tone_ms, level_dbfs=level).astype(np.float64), silence]
    return np.concatenate(parts)


def test_all_sixteen_digits_at_minus_30_dbfs_in_noise() -> None:
    # each tone -30 dBFS, white noise -45 dBFS (about 15 dB below each tone), 50/50 ms timing
    samples = noisy(sequence(DIGITS, 50, 50, -30.0), -45.0, seed=1)
    found = detect(samples)
    assert "".join(d.digit for d in found) == DIGITS
    assert all(40 <= d.duration_ms <= 70 for d in found)


@pytest.mark.parametrize("offset", [0, 37, 80, 123])
def test_40_ms_tone_is_detected_at_any_alignment(offset: int) -> None:
    signal = np.concatenate([np.zeros(offset), sequence("5", 40, 40, -30.0)])
    assert [d.digit for d in detect(noisy(signal, -50.0, seed=offset))] == ["5"]


@pytest.mark.parametrize("offset", [0, 20, 40, 60])
def test_20_ms_tone_is_rejected(offset: int) -> None:
    signal = np.concatenate([np.zeros(offset), sequence("5", 20, 60, -20.0)])
    assert detect(noisy(signal, -60.0, seed=2)) == []


@pytest.mark.parametrize(
    ("error", "accepted"),
    [(-0.035, False), (-0.015, True), (0.015, True), (0.035, False), (0.05, False)],
)
def test_frequency_tolerance(error: float, accepted: bool) -> None:
    for digit in DIGITS:
        tone = dtmf_tone(digit, 100, level_dbfs=-20, frequency_error=error)
        found = detect(np.concatenate([tone, np.zeros(400, np.int16)]))
        assert ([d.digit for d in found] == [digit]) is accepted, digit


@pytest.mark.parametrize(
    ("twist", "accepted"), [(-6.0, True), (6.0, True), (-12.0, False), (12.0, False)]
)
def test_twist(twist: float, accepted: bool) -> None:
    tone = dtmf_tone("8", 100, level_dbfs=-20, twist_db=twist)
    assert bool(detect(np.concatenate([tone, np.zeros(400, np.int16)]))) is accepted


def test_too_quiet_is_ignored() -> None:
    assert detect(sequence("1", 100, 50, -50.0).astype(np.int16)) == []


def test_single_tone_is_not_a_digit() -> None:
    t = np.arange(800) / 8000
    assert detect((8000 * np.sin(2 * np.pi * 770 * t)).astype(np.int16)) == []


def test_forty_ms_pause_separates_repeated_digits() -> None:
    found = detect(noisy(sequence("77", 60, 40, -25.0), -50.0, seed=3))
    assert [d.digit for d in found] == ["7", "7"]


def test_short_dropout_does_not_split_a_digit() -> None:
    tone = dtmf_tone("9", 200, level_dbfs=-20).copy()
    tone[800:840] = 0  # 5 ms gap
    found = detect(np.concatenate([tone, np.zeros(400, np.int16)]))
    assert [d.digit for d in found] == ["9"]
    assert 190 <= found[0].duration_ms <= 220


@pytest.mark.parametrize("chunk", [1, 100, 240, 4000])
def test_result_does_not_depend_on_chunking(chunk: int) -> None:
    samples = noisy(sequence("159#", 60, 60, -25.0), -50.0, seed=4)
    assert detect(samples, chunk) == detect(samples, 160)


def test_flush_emits_a_digit_still_sounding() -> None:
    detector = InbandDtmfDetector()
    assert detector.process(dtmf_tone("D", 100, level_dbfs=-20)) == []
    (found,) = detector.flush()
    assert found.digit == "D"
    assert 80 <= found.duration_ms <= 100
    assert detector.flush() == []


def test_no_false_digit_in_a_minute_of_speech(sipp_speech: npt.NDArray[np.int16]) -> None:
    minute = np.tile(sipp_speech, 60 * 8000 // len(sipp_speech) + 1)
    for gain in (0.25, 1.0, 4.0):
        scaled = np.clip(minute * gain, -32768, 32767).astype(np.int16)
        assert detect(scaled, chunk=240) == [], gain


def test_digit_over_speech_background_is_found(sipp_speech: npt.NDArray[np.int16]) -> None:
    speech = sipp_speech[8000 : 8000 + 1600].astype(np.float64) * 0.1
    tone = dtmf_tone("3", 200, level_dbfs=-15).astype(np.float64)
    mixed = np.concatenate([speech[:400], tone + speech, np.zeros(400)])
    assert [d.digit for d in detect(mixed.astype(np.int16))] == ["3"]


def two_tones(low: float, high: float, extra: float | None = None) -> npt.NDArray[np.int16]:
    t = np.arange(1600) / 8000
    freqs = [low, high] + ([extra] if extra else [])
    signal = sum(3000 * np.sin(2 * np.pi * f * t) for f in freqs)
    return np.concatenate([np.asarray(signal), np.zeros(400)]).astype(np.int16)


def test_one_tone_off_frequency_is_rejected_even_with_the_other_exact() -> None:
    assert [d.digit for d in detect(two_tones(697, 1209))] == ["1"]
    assert detect(two_tones(697 * 1.035, 1209)) == []
    assert detect(two_tones(697, 1209 * 0.965)) == []


def test_a_second_row_tone_fails_the_relative_peak_check() -> None:
    assert detect(two_tones(697, 1209, extra=770)) == []
