"""G.711 µ-law and A-law (ITU-T G.711, RTP payload types 0 PCMU and 8 PCMA, RFC 3551 §4.5.14)
to and from 16-bit signed little-endian PCM, plus direct law-to-law transcoding.

The tables are the ITU segment rules, built once with numpy (the same arithmetic as the
reference ``g711.c`` behind CPython's ``audioop``): decoding is one fancy-index of a 256-entry
int16 table, encoding one index of a 65,536-entry table keyed by the raw 16-bit sample, and
µ-law⇄A-law is ``bytes.translate`` with a 256-byte table (decode to linear, then encode; this is
what ``audioop`` does too, not the G.711 Table 3/4 direct mapping). When the deprecated stdlib
``audioop`` is importable (Python <= 3.12) and faster, the public functions use it; both paths
are bit-exact and tests compare them over every input.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from types import ModuleType

import numpy as np
import numpy.typing as npt

__all__ = [
    "ALAW_DECODE",
    "ALAW_ENCODE",
    "ALAW_TO_ULAW",
    "ULAW_DECODE",
    "ULAW_ENCODE",
    "ULAW_TO_ALAW",
    "alaw_to_pcm16",
    "alaw_to_ulaw",
    "numpy_alaw_to_pcm16",
    "numpy_pcm16_to_alaw",
    "numpy_pcm16_to_ulaw",
    "numpy_ulaw_to_pcm16",
    "pcm16_to_alaw",
    "pcm16_to_ulaw",
    "ulaw_to_alaw",
    "ulaw_to_pcm16",
]

_BIAS = 0x84
_U16LE: np.dtype[np.uint16] = np.dtype("<u2")
_ULAW_CLIP = 8159


def _ulaw_decode_table() -> npt.NDArray[np.int16]:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    t = (((u & 0x0F) << 3) + _BIAS) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, _BIAS - t, t - _BIAS).astype("<i2")


def _alaw_decode_table() -> npt.NDArray[np.int16]:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype("<i2")


def _all_samples() -> npt.NDArray[np.int32]:
    # Index i of an encode table is the raw little-endian 16-bit word i, i.e. sample int16(i).
    return np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32)


def _ulaw_encode_table() -> npt.NDArray[np.uint8]:
    pcm = _all_samples() >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), _ULAW_CLIP) + (_BIAS >> 2)
    ends = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    seg = np.searchsorted(ends, mag, side="left")
    uval = np.where(seg >= 8, 0x7F, (seg << 4) | ((mag >> (seg + 1)) & 0x0F))
    return ((uval ^ mask) & 0xFF).astype(np.uint8)


def _alaw_encode_table() -> npt.NDArray[np.uint8]:
    pcm = _all_samples() >> 3
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    mag = np.where(pcm >= 0, pcm, -pcm - 1)
    ends = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    seg = np.searchsorted(ends, mag, side="left")
    shift = np.where(seg < 2, 1, seg)
    aval = np.where(seg >= 8, 0x7F, (seg << 4) | ((mag >> shift) & 0x0F))
    return ((aval ^ mask) & 0xFF).astype(np.uint8)


ULAW_DECODE = _ulaw_decode_table()
ALAW_DECODE = _alaw_decode_table()
ULAW_ENCODE = _ulaw_encode_table()
ALAW_ENCODE = _alaw_encode_table()
ULAW_TO_ALAW = ALAW_ENCODE[ULAW_DECODE.view(np.uint16)].tobytes()
ALAW_TO_ULAW = ULAW_ENCODE[ALAW_DECODE.view(np.uint16)].tobytes()


def _check_pcm(b: bytes) -> None:
    if len(b) & 1:
        raise ValueError("PCM16 data must have an even number of bytes")


def numpy_ulaw_to_pcm16(b: bytes) -> bytes:
    """µ-law octets to PCM16 LE via the numpy table."""
    return ULAW_DECODE[np.frombuffer(b, np.uint8)].tobytes()


def numpy_alaw_to_pcm16(b: bytes) -> bytes:
    """A-law octets to PCM16 LE via the numpy table."""
    return ALAW_DECODE[np.frombuffer(b, np.uint8)].tobytes()


def numpy_pcm16_to_ulaw(b: bytes) -> bytes:
    """PCM16 LE to µ-law octets via the numpy table."""
    _check_pcm(b)
    return ULAW_ENCODE[np.frombuffer(b, _U16LE)].tobytes()


def numpy_pcm16_to_alaw(b: bytes) -> bytes:
    """PCM16 LE to A-law octets via the numpy table."""
    _check_pcm(b)
    return ALAW_ENCODE[np.frombuffer(b, _U16LE)].tobytes()


def ulaw_to_alaw(b: bytes) -> bytes:
    """Transcode µ-law to A-law octet by octet (``bytes.translate``)."""
    return bytes(b).translate(ULAW_TO_ALAW)


def alaw_to_ulaw(b: bytes) -> bytes:
    """Transcode A-law to µ-law octet by octet (``bytes.translate``)."""
    return bytes(b).translate(ALAW_TO_ULAW)


def load_audioop() -> ModuleType | None:
    """The stdlib ``audioop`` (removed in 3.13) with its DeprecationWarning silenced, or None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import audioop
        except ImportError:  # pragma: no cover - Python >= 3.13
            return None
    return audioop


Codec = Callable[[bytes], bytes]


def select_codecs(audioop: ModuleType | None) -> tuple[Codec, Codec, Codec, Codec]:
    """(ulaw→pcm, pcm→ulaw, alaw→pcm, pcm→alaw): ``audioop`` if given (native LE), else numpy."""
    if audioop is None:
        return numpy_ulaw_to_pcm16, numpy_pcm16_to_ulaw, numpy_alaw_to_pcm16, numpy_pcm16_to_alaw
    ulaw2lin, lin2ulaw = audioop.ulaw2lin, audioop.lin2ulaw
    alaw2lin, lin2alaw = audioop.alaw2lin, audioop.lin2alaw

    def a_ulaw_to_pcm16(b: bytes) -> bytes:
        return bytes(ulaw2lin(b, 2))

    def a_pcm16_to_ulaw(b: bytes) -> bytes:
        _check_pcm(b)
        return bytes(lin2ulaw(b, 2))

    def a_alaw_to_pcm16(b: bytes) -> bytes:
        return bytes(alaw2lin(b, 2))

    def a_pcm16_to_alaw(b: bytes) -> bytes:
        _check_pcm(b)
        return bytes(lin2alaw(b, 2))

    return a_ulaw_to_pcm16, a_pcm16_to_ulaw, a_alaw_to_pcm16, a_pcm16_to_alaw


# audioop works in native byte order; only a little-endian host gives the LE layout we promise.
AUDIOOP = load_audioop() if sys.byteorder == "little" else None
ulaw_to_pcm16, pcm16_to_ulaw, alaw_to_pcm16, pcm16_to_alaw = select_codecs(AUDIOOP)
