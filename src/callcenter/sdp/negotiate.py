"""SDP offer/answer for our audio legs (RFC 3264 §5-§8), with PCMU (PT 0), PCMA (PT 8) and
RFC 4733 telephone-event (dynamic PT, the offerer's number kept).

``negotiate(offer, local)`` answers a remote offer: the same number of ``m=`` lines in the same
order (§6); the first audio stream with a codec in common is accepted, every other stream
rejected with port 0. The answer carries exactly ONE audio codec - the first of the offer's
list we support, or our first with ``prefer="local"`` - plus telephone-event when both sides
have it, so the media engine never has to follow codec switches. Direction follows §6.1: our
stream direction is the offer's, seen from our side, intersected with what we want (offer
sendonly -> answer recvonly, recvonly -> sendonly, inactive -> inactive). An offer holding us
with ``c=0.0.0.0`` (§8.4, RFC 2543) is read as "do not send to me". When nothing can be agreed
it returns ``NoCommonCodec``; the caller answers 488 Not Acceptable Here.

``build_offer(local)`` writes our offer (agent legs, re-INVITE for hold) and
``read_answer(offer, answer)`` reads the peer's answer into the same ``NegotiatedMedia``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from callcenter.sdp.model import (
    Connection,
    MediaDescription,
    Origin,
    RtpMap,
    SessionDescription,
)

__all__ = [
    "PCMA",
    "PCMU",
    "Answer",
    "Codec",
    "LocalMedia",
    "NegotiatedMedia",
    "NoCommonCodec",
    "build_offer",
    "negotiate",
    "read_answer",
]

TELEPHONE_EVENT = "telephone-event"
_STATIC = {0: ("PCMU", 8000), 8: ("PCMA", 8000)}
_CAPS = {
    "sendrecv": {"send", "recv"},
    "sendonly": {"send"},
    "recvonly": {"recv"},
    "inactive": set(),
}


@dataclass(frozen=True, slots=True)
class Codec:
    """An audio codec we can use: RFC 3551 name, clock rate and our payload type for it."""

    name: str
    clock_rate: int
    payload_type: int


PCMU = Codec("PCMU", 8000, 0)
PCMA = Codec("PCMA", 8000, 8)


@dataclass(frozen=True, slots=True)
class LocalMedia:
    """What our side offers or accepts on one audio leg."""

    address: str
    port: int
    codecs: tuple[Codec, ...] = (PCMU, PCMA)
    telephone_event: int | None = 101  # our PT for RFC 4733 events in offers; None: no DTMF
    ptime: int = 20
    direction: str = "sendrecv"
    session_id: str = "1"
    session_version: int = 1
    username: str = "callcenter"
    prefer: Literal["offer", "local"] = "offer"

    @property
    def addrtype(self) -> str:
        return "IP6" if ":" in self.address else "IP4"


@dataclass(frozen=True, slots=True)
class NegotiatedMedia:
    """What the media engine needs once offer and answer agree."""

    remote_address: str
    remote_port: int
    payload_type: int
    codec: str
    clock_rate: int
    ptime: int
    direction: str  # ours: sendrecv / sendonly / recvonly / inactive
    telephone_event: int | None = None
    remote_rtcp: tuple[str, int] | None = None
    on_hold: bool = False  # the peer does not want our media (sendonly/inactive/0.0.0.0)
    media_index: int = 0

    @property
    def sends(self) -> bool:
        return "send" in _CAPS[self.direction]

    @property
    def receives(self) -> bool:
        return "recv" in _CAPS[self.direction]


@dataclass(frozen=True, slots=True)
class Answer:
    """Our answer SDP and the parameters it fixes."""

    sdp: SessionDescription
    media: NegotiatedMedia


@dataclass(frozen=True, slots=True)
class NoCommonCodec:
    """Offer and capabilities cannot agree (answer the INVITE with 488)."""

    reason: str


def _codec_of(media: MediaDescription, pt: int) -> tuple[str, int] | None:
    rtpmap = media.rtpmaps().get(pt)
    if rtpmap is not None:
        return rtpmap.encoding.upper(), rtpmap.clock_rate
    return _STATIC.get(pt)


def _match(media: MediaDescription, local: LocalMedia) -> tuple[int, Codec] | None:
    """The chosen (remote payload type, codec) of one offered stream."""
    offered = [(pt, _codec_of(media, pt)) for pt in media.payload_types]
    pairs = [
        (pt, codec)
        for pt, spec in offered
        for codec in local.codecs
        if spec == (codec.name.upper(), codec.clock_rate)
    ]
    if not pairs:
        return None
    if local.prefer == "local":
        return min(pairs, key=lambda p: local.codecs.index(p[1]))
    return pairs[0]


def _telephone_event(media: MediaDescription) -> int | None:
    for pt in media.payload_types:
        spec = _codec_of(media, pt)
        if spec is not None and spec == (TELEPHONE_EVENT.upper(), 8000):
            return pt
    return None


def _answer_direction(offered: str, remote_hold_address: bool, local: str) -> str:
    theirs = _CAPS[offered]
    ours = set()
    if "send" in theirs:
        ours.add("recv")
    if "recv" in theirs and not remote_hold_address:
        ours.add("send")
    ours &= _CAPS[local]
    return next(name for name, caps in _CAPS.items() if caps == ours)


def _audio_media(
    local: LocalMedia, pt: int, codec: Codec, event_pt: int | None, fmtp: str | None
) -> MediaDescription:
    formats = [str(pt)] + ([str(event_pt)] if event_pt is not None else [])
    media = MediaDescription("audio", local.port, "RTP/AVP", formats)
    media.attributes.append(("rtpmap", str(RtpMap(pt, codec.name, codec.clock_rate))))
    if event_pt is not None:
        media.attributes.append(("rtpmap", str(RtpMap(event_pt, TELEPHONE_EVENT, 8000))))
        media.attributes.append(("fmtp", f"{event_pt} {fmtp or '0-15'}"))
    media.attributes.append(("ptime", str(local.ptime)))
    return media


def _session(local: LocalMedia) -> SessionDescription:
    origin = Origin(
        local.username,
        local.session_id,
        local.session_version,
        "IN",
        local.addrtype,
        local.address,
    )
    return SessionDescription(origin, "-", Connection(local.address, local.addrtype))


def _rejected(media: MediaDescription) -> MediaDescription:
    return MediaDescription(media.media, 0, media.proto, list(media.formats) or ["0"])


def _remote_rtcp(
    offer: SessionDescription, media: MediaDescription, address: str
) -> tuple[str, int] | None:
    rtcp = media.rtcp
    if rtcp is not None:
        return (rtcp[1] or address, rtcp[0])
    return (address, media.port + 1) if media.port else None


def _accept(
    offer: SessionDescription, index: int, local: LocalMedia
) -> tuple[MediaDescription, NegotiatedMedia] | None:
    media = offer.media[index]
    connection = offer.connection_for(media)
    matched = _match(media, local)
    if matched is None or connection is None:
        return None
    pt, codec = matched
    event_pt = _telephone_event(media) if local.telephone_event is not None else None
    hold_address = connection.is_hold
    direction = _answer_direction(offer.direction(media), hold_address, local.direction)
    ptime = media.ptime or local.ptime
    answer_local = replace(local, ptime=ptime)
    fmtp = media.fmtp(event_pt) if event_pt is not None else None
    answered = _audio_media(answer_local, pt, codec, event_pt, fmtp)
    answered.set_direction(direction)
    negotiated = NegotiatedMedia(
        connection.host,
        media.port,
        pt,
        codec.name,
        codec.clock_rate,
        ptime,
        direction,
        event_pt,
        _remote_rtcp(offer, media, connection.host),
        on_hold=hold_address or "recv" not in _CAPS[offer.direction(media)],
        media_index=index,
    )
    return answered, negotiated


def negotiate(offer: SessionDescription, local: LocalMedia) -> Answer | NoCommonCodec:
    """Answer ``offer`` (RFC 3264 §6) or explain why it cannot be answered."""
    answer = _session(local)
    chosen: NegotiatedMedia | None = None
    for index, media in enumerate(offer.media):
        accepted = None
        if chosen is None and media.media == "audio" and media.port != 0:
            accepted = _accept(offer, index, local)
        if accepted is None:
            answer.media.append(_rejected(media))
            continue
        answered, chosen = accepted
        answer.media.append(answered)
    if chosen is None:
        return NoCommonCodec("no offered audio stream with PCMU or PCMA")
    return Answer(answer, chosen)


def build_offer(local: LocalMedia) -> SessionDescription:
    """Our offer: every local codec, telephone-event, ptime and our direction."""
    sdp = _session(local)
    formats = [str(c.payload_type) for c in local.codecs]
    media = MediaDescription("audio", local.port, "RTP/AVP", formats)
    for codec in local.codecs:
        media.attributes.append(("rtpmap", str(RtpMap(codec.payload_type, codec.name, 8000))))
    if local.telephone_event is not None:
        media.formats.append(str(local.telephone_event))
        event = local.telephone_event
        media.attributes.append(("rtpmap", str(RtpMap(event, TELEPHONE_EVENT, 8000))))
        media.attributes.append(("fmtp", f"{event} 0-15"))
    media.attributes.append(("ptime", str(local.ptime)))
    media.set_direction(local.direction)
    sdp.media.append(media)
    return sdp


def read_answer(
    offer: SessionDescription, answer: SessionDescription
) -> NegotiatedMedia | NoCommonCodec:
    """What the peer's answer to our ``offer`` fixes (RFC 3264 §7)."""
    if len(answer.media) != len(offer.media):
        return NoCommonCodec("answer has a different number of m= lines than the offer")
    for index, (ours, theirs) in enumerate(zip(offer.media, answer.media, strict=True)):
        if ours.media != "audio" or theirs.port == 0:
            continue
        connection = answer.connection_for(theirs)
        offered = {_codec_of(ours, pt) for pt in ours.payload_types}
        for pt in theirs.payload_types:
            spec = _codec_of(theirs, pt)
            if spec is None or spec not in offered or spec[0] == TELEPHONE_EVENT.upper():
                continue
            if connection is None:
                break
            their_direction = answer.direction(theirs)
            ours_now = _answer_direction(their_direction, connection.is_hold, offer.direction(ours))
            return NegotiatedMedia(
                connection.host,
                theirs.port,
                pt,
                spec[0],
                spec[1],
                theirs.ptime or ours.ptime or 20,
                ours_now,
                _telephone_event(theirs),
                _remote_rtcp(answer, theirs, connection.host),
                on_hold=connection.is_hold or "recv" not in _CAPS[their_direction],
                media_index=index,
            )
    return NoCommonCodec("the answer accepted no audio codec we offered")
