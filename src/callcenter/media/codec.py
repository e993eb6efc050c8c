"""G.711 frames as numpy int16 (RFC 3551 §4.5.14: payload type 0 PCMU, 8 PCMA, 8 kHz).

Thin adapters over the pure tables of ``callcenter.rtp.g711``: a ``Codec`` decodes a payload
into an int16 array and encodes an array back, and ``transcode_table`` gives the 256-byte map
the relay uses to turn one law into the other without decoding (``bytes.translate``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from callcenter.rtp.g711 import (
    ALAW_DECODE,
    ALAW_ENCODE,
    ALAW_TO_ULAW,
    ULAW_DECODE,
    ULAW_ENCODE,
    ULAW_TO_ALAW,
)

Pcm = npt.NDArray[np.int16]
PCMU = 0
PCMA = 8
RATE = 8000
FRAME = 160  # samples in 20 ms


class UnsupportedCodecError(ValueError):
    """A payload type the engine cannot decode (only G.711 is spoken)."""


@dataclass(frozen=True)
class Codec:
    payload_type: int
    name: str
    decode_table: npt.NDArray[np.int16]
    encode_table: npt.NDArray[np.uint8]

    def decode(self, payload: bytes) -> Pcm:
        return self.decode_table[np.frombuffer(payload, np.uint8)]

    def encode(self, pcm: Pcm) -> bytes:
        return self.encode_table[pcm.astype(np.int16, copy=False).view(np.uint16)].tobytes()


CODECS = {
    PCMU: Codec(PCMU, "PCMU", ULAW_DECODE, ULAW_ENCODE),
    PCMA: Codec(PCMA, "PCMA", ALAW_DECODE, ALAW_ENCODE),
}


def codec_for(payload_type: int) -> Codec:
    try:
        return CODECS[payload_type]
    except KeyError:
        raise UnsupportedCodecError(f"payload type {payload_type} is not G.711") from None


def transcode_table(src_pt: int, dst_pt: int) -> bytes | None:
    """The byte map from ``src_pt`` to ``dst_pt``; None when both are the same law."""
    codec_for(src_pt)
    codec_for(dst_pt)
    if src_pt == dst_pt:
        return None
    return ULAW_TO_ALAW if src_pt == PCMU else ALAW_TO_ULAW


def payload_offset(data: bytes) -> int:
    """Where the payload starts (RFC 3550 §5.1: 12 + 4·CC, plus a §5.3.1 extension)."""
    offset = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10 and len(data) >= offset + 4:
        offset += 4 + 4 * int.from_bytes(data[offset + 2 : offset + 4], "big")
    return offset


def payload_of(data: bytes) -> bytes:
    """The payload of an RTP packet without header, CSRCs, extension or padding."""
    end = len(data) - data[-1] if data[0] & 0x20 else len(data)
    return data[payload_offset(data) : end]
