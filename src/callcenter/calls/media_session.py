"""One call leg's media: the SDP offer/answer of the leg and the media engine leg behind it.

``answer_offer`` negotiates the remote offer (RFC 3264, ``callcenter.sdp``) and keeps our answer;
``make_offer``/``accept_answer`` do the other direction for legs we place (agent phones);
``reoffer`` answers a re-INVITE (hold: ``sendonly`` is answered ``recvonly``, §8.4);
``apply_remote`` points the engine at the negotiated address and codec. DTMF sent as SIP INFO
(``application/dtmf-relay``) is read into the same digits as RFC 4733 packets.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from callcenter.media.control import Leg, MediaControl
from callcenter.sdp import (
    LocalMedia,
    NegotiatedMedia,
    NoCommonCodec,
    SdpError,
    SessionDescription,
    build_offer,
    negotiate,
    parse_sdp,
    read_answer,
)
from callcenter.sip.ua import Call

_sessions = itertools.count(1)
DTMF_SIGNALS = frozenset("0123456789*#ABCD")


class NoCodec(Exception):
    """The offer (or answer) has nothing we can use: answer 488 (RFC 3264 §6)."""


@dataclass
class MediaSession:
    call: Call | None  # None for a leg we offer before its INVITE exists (agent phones)
    leg: Leg
    local_sdp: bytes = b""
    media: NegotiatedMedia | None = None
    session_id: int = field(default_factory=lambda: next(_sessions))
    version: int = 0
    _offer: SessionDescription | None = None

    def _local(self) -> LocalMedia:
        self.version += 1
        return LocalMedia(
            self.leg.local_ip,
            self.leg.local_port,
            session_id=str(self.session_id),
            session_version=self.version,
        )

    def answer_offer(self, offer_sdp: bytes) -> bytes:
        try:
            offer = parse_sdp(offer_sdp)
        except SdpError as exc:
            raise NoCodec(str(exc)) from exc
        result = negotiate(offer, self._local())
        if isinstance(result, NoCommonCodec):
            raise NoCodec(result.reason)
        self.media = result.media
        self.local_sdp = bytes(result.sdp)
        return self.local_sdp

    def make_offer(self) -> bytes:
        self._offer = build_offer(self._local())
        self.local_sdp = bytes(self._offer)
        return self.local_sdp

    def accept_answer(self, answer_sdp: bytes) -> None:
        if self._offer is None:
            raise NoCodec("no offer was made")
        try:
            result = read_answer(self._offer, parse_sdp(answer_sdp))
        except SdpError as exc:
            raise NoCodec(str(exc)) from exc
        if isinstance(result, NoCommonCodec):
            raise NoCodec(result.reason)
        self.media = result

    def reoffer(self, offer_sdp: bytes) -> bytes:
        if not offer_sdp:  # an offerless re-INVITE: we offer what we have (§14.2)
            return self.local_sdp
        return self.answer_offer(offer_sdp)

    @property
    def on_hold(self) -> bool:
        return self.media is not None and self.media.on_hold

    async def apply_remote(self, media: MediaControl) -> None:
        m = self.media
        if m is None:
            return
        await media.set_remote(
            self.leg, m.remote_address, m.remote_port, m.payload_type, m.telephone_event, m.ptime
        )

    @staticmethod
    def info_dtmf(body: bytes) -> str | None:
        """``Signal=5\\r\\nDuration=160`` (application/dtmf-relay) -> the digit."""
        fields = {}
        for line in body.decode("utf-8", "replace").splitlines():
            name, _, value = line.partition("=")
            fields[name.strip().lower()] = value.strip()
        digit = fields.get("signal", "").upper()
        return digit if len(digit) == 1 and digit in DTMF_SIGNALS else None
