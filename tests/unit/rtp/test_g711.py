"""G.711 tables are bit-exact with the ITU reference arithmetic (CPython ``audioop``)."""

import numpy as np
import pytest

from callcenter.rtp import g711

ALL_CODES = bytes(range(256))
ALL_SAMPLES = np.arange(65536, dtype=np.uint16).astype("<u2").tobytes()
AUDIOOP = g711.load_audioop()
needs_audioop = pytest.mark.skipif(AUDIOOP is None, reason="audioop removed in Python 3.13")


@needs_audioop
def test_numpy_tables_match_audioop_for_every_input() -> None:
    assert AUDIOOP is not None
    assert g711.numpy_ulaw_to_pcm16(ALL_CODES) == AUDIOOP.ulaw2lin(ALL_CODES, 2)
    assert g711.numpy_alaw_to_pcm16(ALL_CODES) == AUDIOOP.alaw2lin(ALL_CODES, 2)
    assert g711.numpy_pcm16_to_ulaw(ALL_SAMPLES) == AUDIOOP.lin2ulaw(ALL_SAMPLES, 2)
    assert g711.numpy_pcm16_to_alaw(ALL_SAMPLES) == AUDIOOP.lin2alaw(ALL_SAMPLES, 2)


@pytest.mark.parametrize("impl", [None, AUDIOOP], ids=["numpy", "audioop"])
def test_both_paths_agree(impl: object) -> None:
    if impl is None and AUDIOOP is None:
        pytest.skip("nothing to compare")
    codecs = g711.select_codecs(impl)  # type: ignore[arg-type]
    u2l, l2u, a2l, l2a = codecs
    assert u2l(ALL_CODES) == g711.numpy_ulaw_to_pcm16(ALL_CODES)
    assert a2l(ALL_CODES) == g711.numpy_alaw_to_pcm16(ALL_CODES)
    assert l2u(ALL_SAMPLES) == g711.numpy_pcm16_to_ulaw(ALL_SAMPLES)
    assert l2a(ALL_SAMPLES) == g711.numpy_pcm16_to_alaw(ALL_SAMPLES)
    for encode in (l2u, l2a):
        with pytest.raises(ValueError, match="even"):
            encode(b"\x00\x01\x02")


@pytest.mark.parametrize(
    ("code", "law", "linear"),
    [
        # ITU G.711 Table 2a/2b anchor points (decoder output scaled to 16 bits)
        (0xFF, "u", 0),
        (0x7F, "u", 0),
        (0x80, "u", 32124),
        (0x00, "u", -32124),
        (0xD5, "a", 8),
        (0x55, "a", -8),
        (0xAA, "a", 32256),
        (0x2A, "a", -32256),
    ],
)
def test_known_code_points(code: int, law: str, linear: int) -> None:
    decode = g711.ulaw_to_pcm16 if law == "u" else g711.alaw_to_pcm16
    assert int(np.frombuffer(decode(bytes([code])), "<i2")[0]) == linear


def test_silence_encodes_to_idle_codes() -> None:
    silence = bytes(320)
    assert g711.pcm16_to_ulaw(silence) == b"\xff" * 160
    assert g711.pcm16_to_alaw(silence) == b"\xd5" * 160


def test_decode_encode_is_identity_on_codes() -> None:
    # Every code decodes to its segment midpoint, which re-encodes to itself (except -0 in µ-law).
    u = g711.pcm16_to_ulaw(g711.ulaw_to_pcm16(ALL_CODES))
    assert u == ALL_CODES.replace(b"\x7f", b"\xff")
    assert g711.pcm16_to_alaw(g711.alaw_to_pcm16(ALL_CODES)) == ALL_CODES


def test_law_to_law_equals_decode_then_encode() -> None:
    assert g711.ulaw_to_alaw(ALL_CODES) == g711.pcm16_to_alaw(g711.ulaw_to_pcm16(ALL_CODES))
    assert g711.alaw_to_ulaw(ALL_CODES) == g711.pcm16_to_ulaw(g711.alaw_to_pcm16(ALL_CODES))
    assert g711.ulaw_to_alaw(bytearray(b"\xff")) == b"\xd5"  # type: ignore[arg-type]


def test_encode_is_monotonic_in_amplitude() -> None:
    samples = np.arange(-32768, 32768, 7, dtype="<i2")
    decoded = np.frombuffer(g711.ulaw_to_pcm16(g711.pcm16_to_ulaw(samples.tobytes())), "<i2")
    assert np.all(np.diff(decoded.astype(np.int32)) >= 0)
    err = np.abs(decoded.astype(np.int32) - samples)
    assert int(err.max()) <= 1024  # half the top segment step (1024), plus clipping above 32124
