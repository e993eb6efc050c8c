"""One call leg's media: the SDP offer/answer of the leg and the media engine leg behind it.

``answer_offer`` negotiates the remote offer (RFC 3264) against what the engine speaks
(PCMU, PCMA, telephone-event) and builds our answer with the leg's RTP address; ``reoffer``
does the same for a re-INVITE (hold: ``sendonly`` is answered ``recvonly``, §8.4);
``apply_remote`` points the engine at the negotiated address and codec. DTMF sent as SIP INFO
(``application/dtmf-relay``) is turned into the same digit events as RFC 4733 packets.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from callcenter.media.control import Leg, MediaControl
from callcenter.sip.ua import Call

_versions = itertools.count(1)
SUPPORTED = {"PCMU": 0, "PCMA": 8}


class NoCommonCodec(Exception):
    """The offer has no codec we can use: answer 488 (RFC 3264 §6)."""


@dataclass
class Offer:
    host: str
    port: int
    codecs: list[tuple[int, str]]  # (payload type, encoding name) in offer order
    telephone_event: int | None
    ptime: int
    direction: str


@dataclass
class _Reader:
    host: str = ""
    media_host: str = ""
    port: int = -1
    pts: list[int] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    ptime: int = 20
    direction: str = "sendrecv"
    in_audio: bool = False

    def media(self, line: str) -> bool:
        """An ``m=`` line; returns False when a second audio stream ends the first."""
        if self.in_audio:
            return False
        parts = line[2:].split()
        self.in_audio = len(parts) >= 4 and parts[0] == "audio" and parts[1].isdigit()
        if self.in_audio:
            self.port = int(parts[1])
            self.pts = [int(p) for p in parts[3:] if p.isdigit()]
        return True

    def attribute(self, line: str) -> None:
        name, _, value = line[2:].partition(":")
        if name in ("sendrecv", "sendonly", "recvonly", "inactive"):
            self.direction = name
        elif not self.in_audio:
            return
        elif name == "rtpmap":
            pt_text, _, enc = value.partition(" ")
            if pt_text.isdigit():
                self.names[int(pt_text)] = enc.split("/")[0].upper()
        elif name == "ptime" and value.isdigit():
            self.ptime = int(value)


def parse_offer(sdp: bytes) -> Offer:
    """Read the first audio stream of an SDP body; raise NoCommonCodec when unusable."""
    r = _Reader()
    for raw in sdp.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.startswith("m=") and not r.media(line):
            break
        if line.startswith("c=") and len(line.split()) >= 3:
            if r.in_audio:
                r.media_host = line.split()[-1]
            else:
                r.host = line.split()[-1]
        elif line.startswith("a="):
            r.attribute(line)
    if r.port < 0:
        raise NoCommonCodec("no audio stream")
    static = {0: "PCMU", 8: "PCMA"}
    codecs = [(pt, r.names.get(pt, static.get(pt, ""))) for pt in r.pts]
    te = next((pt for pt, name in codecs if name == "TELEPHONE-EVENT"), None)
    return Offer(r.media_host or r.host, r.port, codecs, te, r.ptime, r.direction)


_ANSWER_DIRECTION = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}


@dataclass
class MediaSession:
    call: Call
    leg: Leg
    local_sdp: bytes = b""
    remote: Offer | None = None
    payload_type: int = 0
    session_id: int = field(default_factory=lambda: next(_versions))
    version: int = 0
    on_info_digit: Callable[[str, int], None] | None = None

    def answer_offer(self, offer_sdp: bytes) -> bytes:
        offer = parse_offer(offer_sdp)
        chosen = next(((pt, n) for pt, n in offer.codecs if n in SUPPORTED), None)
        if chosen is None:
            raise NoCommonCodec("no PCMU/PCMA in the offer")
        self.remote = offer
        self.payload_type = chosen[0]
        self.local_sdp = self._build(chosen, offer)
        return self.local_sdp

    def reoffer(self, offer_sdp: bytes) -> bytes:
        if not offer_sdp:  # an offerless re-INVITE: we offer what we have (§14.2)
            return self.local_sdp
        return self.answer_offer(offer_sdp)

    def _build(self, chosen: tuple[int, str], offer: Offer) -> bytes:
        self.version += 1
        ip = self.leg.local_ip
        fmt = [str(chosen[0])]
        lines = [
            "v=0",
            f"o=callcenter {self.session_id} {self.version} IN IP{6 if ':' in ip else 4} {ip}",
            "s=callcenter",
            f"c=IN IP{6 if ':' in ip else 4} {ip}",
            "t=0 0",
        ]
        attrs = [f"a=rtpmap:{chosen[0]} {chosen[1]}/8000"]
        if offer.telephone_event is not None:
            fmt.append(str(offer.telephone_event))
            attrs.append(f"a=rtpmap:{offer.telephone_event} telephone-event/8000")
            attrs.append(f"a=fmtp:{offer.telephone_event} 0-16")
        lines.append(f"m=audio {self.leg.local_port} RTP/AVP {' '.join(fmt)}")
        lines += attrs
        lines.append(f"a=ptime:{offer.ptime}")
        lines.append(f"a={_ANSWER_DIRECTION.get(offer.direction, 'sendrecv')}")
        return ("\r\n".join(lines) + "\r\n").encode()

    @property
    def on_hold(self) -> bool:
        r = self.remote
        return r is not None and (r.direction in ("sendonly", "inactive") or r.host == "0.0.0.0")  # noqa: S104

    async def apply_remote(self, media: MediaControl) -> None:
        r = self.remote
        if r is None:
            return
        await media.set_remote(
            self.leg, r.host, r.port, self.payload_type, r.telephone_event, r.ptime
        )

    def info_dtmf(self, body: bytes) -> str | None:
        """``Signal=5\\r\\nDuration=160`` (application/dtmf-relay) -> the digit."""
        fields = {}
        for line in body.decode("utf-8", "replace").splitlines():
            name, _, value = line.partition("=")
            fields[name.strip().lower()] = value.strip()
        digit = fields.get("signal", "")
        if len(digit) != 1 or digit.upper() not in "0123456789*#ABCD":
            return None
        duration = int(fields["duration"]) if fields.get("duration", "").isdigit() else 100
        if self.on_info_digit is not None:
            self.on_info_digit(digit.upper(), duration)
        return digit.upper()
