"""SDP (RFC 4566) model and offer/answer negotiation (RFC 3264). Pure, no I/O."""

from callcenter.sdp.model import SdpError, SessionDescription, parse_sdp
from callcenter.sdp.negotiate import (
    PCMA,
    PCMU,
    Answer,
    Codec,
    LocalMedia,
    NegotiatedMedia,
    NoCommonCodec,
    build_offer,
    negotiate,
    read_answer,
)

__all__ = [
    "PCMA",
    "PCMU",
    "Answer",
    "Codec",
    "LocalMedia",
    "NegotiatedMedia",
    "NoCommonCodec",
    "SdpError",
    "SessionDescription",
    "build_offer",
    "negotiate",
    "parse_sdp",
    "read_answer",
]
