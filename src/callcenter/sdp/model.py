"""SDP session descriptions (RFC 4566): parse and serialize ``v o s i u e p c b t r z k a m``
lines, with typed access to what offer/answer needs (RFC 3264, RFC 3551): ``rtpmap``, ``fmtp``,
``ptime``, the direction attributes (§6), ``rtcp`` (RFC 3605), and the old-style hold
address ``c=0.0.0.0`` (RFC 3264 §8.4).

Parsing is lenient where RFC 4566 §5 asks parsers to be (CRLF or LF, unknown line types and
attributes kept and re-emitted in place) and strict where a wrong value would misroute media
(``v=0``, the ``o=``, ``c=`` and ``m=`` syntax, port and payload-type numbers): those raise
``SdpError``. ``serialize()`` writes session lines in the §5 order and CRLF line ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "DIRECTIONS",
    "Connection",
    "MediaDescription",
    "Origin",
    "RtpMap",
    "SdpError",
    "SessionDescription",
    "parse_sdp",
]

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_SESSION_ORDER = "vosiuepcbtrzkam"
_MEDIA_ORDER = "micbka"


class SdpError(ValueError):
    """A session description that cannot be used."""


@dataclass(slots=True)
class Origin:
    """``o=`` (§5.2)."""

    username: str = "-"
    session_id: str = "0"
    session_version: int = 0
    nettype: str = "IN"
    addrtype: str = "IP4"
    address: str = "127.0.0.1"

    def __str__(self) -> str:
        return (
            f"{self.username} {self.session_id} {self.session_version} "
            f"{self.nettype} {self.addrtype} {self.address}"
        )


@dataclass(slots=True)
class Connection:
    """``c=`` (§5.7); ``address`` keeps any ``/ttl/count`` suffix."""

    address: str
    addrtype: str = "IP4"
    nettype: str = "IN"

    def __str__(self) -> str:
        return f"{self.nettype} {self.addrtype} {self.address}"

    @property
    def host(self) -> str:
        return self.address.split("/", 1)[0]

    @property
    def is_hold(self) -> bool:
        """RFC 2543 hold: ``c=IN IP4 0.0.0.0`` (RFC 3264 §8.4)."""
        return self.addrtype == "IP4" and self.host == "0.0.0.0"  # noqa: S104


@dataclass(frozen=True, slots=True)
class RtpMap:
    """``a=rtpmap:<pt> <encoding>/<clock>[/<channels>]`` (§6)."""

    payload_type: int
    encoding: str
    clock_rate: int
    channels: int | None = None

    def __str__(self) -> str:
        tail = f"/{self.channels}" if self.channels is not None else ""
        return f"{self.payload_type} {self.encoding}/{self.clock_rate}{tail}"


Attribute = tuple[str, str | None]


def _attr_lines(attributes: list[Attribute]) -> list[str]:
    return [f"a={k}" if v is None else f"a={k}:{v}" for k, v in attributes]


def _find(attributes: list[Attribute], name: str) -> list[str]:
    return [v for k, v in attributes if k == name and v is not None]


def _direction(attributes: list[Attribute]) -> str | None:
    found = [k for k, v in attributes if k in DIRECTIONS and v is None]
    return found[-1] if found else None


@dataclass(slots=True)
class MediaDescription:
    """One ``m=`` section (§5.14) and its lines."""

    media: str
    port: int
    proto: str
    formats: list[str]
    port_count: int | None = None
    connection: Connection | None = None
    bandwidths: list[str] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)

    def attribute(self, name: str) -> str | None:
        """The value of the first ``a=name:value``."""
        values = _find(self.attributes, name)
        return values[0] if values else None

    @property
    def payload_types(self) -> list[int]:
        """Formats as RTP payload types (for RTP/AVP and RTP/SAVP profiles)."""
        return [int(f) for f in self.formats if f.isdigit()]

    def rtpmaps(self) -> dict[int, RtpMap]:
        """``rtpmap`` attributes by payload type."""
        out = {}
        for value in _find(self.attributes, "rtpmap"):
            rtpmap = _parse_rtpmap(value)
            out[rtpmap.payload_type] = rtpmap
        return out

    def fmtp(self, payload_type: int) -> str | None:
        """The ``fmtp`` parameters of one payload type."""
        for value in _find(self.attributes, "fmtp"):
            pt, _, params = value.partition(" ")
            if pt == str(payload_type):
                return params.strip()
        return None

    @property
    def ptime(self) -> int | None:
        value = self.attribute("ptime")
        try:
            return round(float(value)) if value is not None else None
        except ValueError:
            return None

    @property
    def rtcp(self) -> tuple[int, str | None] | None:
        """RFC 3605 ``a=rtcp:port [IN IP4 addr]``."""
        value = self.attribute("rtcp")
        if value is None:
            return None
        parts = value.split()
        if not parts[0].isdigit():
            raise SdpError(f"bad a=rtcp: {value!r}")
        return int(parts[0]), (parts[3] if len(parts) >= 4 else None)

    def direction_attribute(self) -> str | None:
        return _direction(self.attributes)

    def set_direction(self, direction: str) -> None:
        self.attributes = [(k, v) for k, v in self.attributes if k not in DIRECTIONS]
        self.attributes.append((direction, None))

    def lines(self) -> list[str]:
        ports = f"{self.port}/{self.port_count}" if self.port_count is not None else str(self.port)
        out = [f"m={self.media} {ports} {self.proto} {' '.join(self.formats)}".rstrip()]
        extras = {kind: [v for k, v in self.extra if k == kind] for kind in "ik"}
        out += [f"i={v}" for v in extras["i"]]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += [f"b={b}" for b in self.bandwidths]
        out += [f"k={v}" for v in extras["k"]]
        return out + _attr_lines(self.attributes)


def _parse_rtpmap(value: str) -> RtpMap:
    try:
        pt, _, spec = value.partition(" ")
        parts = spec.strip().split("/")
        channels = int(parts[2]) if len(parts) > 2 else None
        return RtpMap(int(pt), parts[0], int(parts[1]), channels)
    except (ValueError, IndexError):
        raise SdpError(f"bad a=rtpmap: {value!r}") from None


@dataclass(slots=True)
class SessionDescription:
    """A whole SDP body (§5)."""

    origin: Origin = field(default_factory=Origin)
    session_name: str = "-"
    connection: Connection | None = None
    times: list[str] = field(default_factory=lambda: ["0 0"])
    attributes: list[Attribute] = field(default_factory=list)
    media: list[MediaDescription] = field(default_factory=list)
    bandwidths: list[str] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)

    def direction(self, media: MediaDescription) -> str:
        """The effective direction of a stream: media level, else session level, else sendrecv."""
        return media.direction_attribute() or _direction(self.attributes) or "sendrecv"

    def connection_for(self, media: MediaDescription) -> Connection | None:
        return media.connection or self.connection

    def serialize(self) -> str:
        """CRLF-terminated text in RFC 4566 §5 order."""
        extras = {kind: [f"{kind}={v}" for k, v in self.extra if k == kind] for kind in "iuepzkr"}
        out = ["v=0", f"o={self.origin}", f"s={self.session_name or '-'}"]
        out += extras["i"] + extras["u"] + extras["e"] + extras["p"]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += [f"b={b}" for b in self.bandwidths]
        out += [f"t={t}" for t in self.times] + extras["r"] + extras["z"] + extras["k"]
        out += _attr_lines(self.attributes)
        for media in self.media:
            out += media.lines()
        return "\r\n".join(out) + "\r\n"

    def __bytes__(self) -> bytes:
        return self.serialize().encode("utf-8")


def _parse_origin(value: str) -> Origin:
    parts = value.split()
    if len(parts) != 6 or not parts[2].isdigit():
        raise SdpError(f"bad o= line: {value!r}")
    return Origin(parts[0], parts[1], int(parts[2]), parts[3], parts[4], parts[5])


def _parse_connection(value: str) -> Connection:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SdpError(f"bad c= line: {value!r}")
    return Connection(parts[2], parts[1], parts[0])


def _parse_media(value: str) -> MediaDescription:
    parts = value.split()
    if len(parts) < 3:
        raise SdpError(f"bad m= line: {value!r}")
    port_text, _, count = parts[1].partition("/")
    if not port_text.isdigit() or int(port_text) > 65535 or (count and not count.isdigit()):
        raise SdpError(f"bad port in m= line: {value!r}")
    formats = parts[3:]
    if parts[2].startswith("RTP/") and any(not f.isdigit() or int(f) > 127 for f in formats):
        raise SdpError(f"bad payload type in m= line: {value!r}")
    return MediaDescription(
        parts[0], int(port_text), parts[2], formats, int(count) if count else None
    )


def _parse_attribute(value: str) -> Attribute:
    name, sep, rest = value.partition(":")
    return (name, rest if sep else None)


def _split_lines(text: str | bytes) -> list[tuple[str, str]]:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    out = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip("\r")
        if not line:
            continue
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"not an SDP line: {line!r}")
        out.append((line[0], line[2:]))
    return out


def _apply_session(sdp: SessionDescription, kind: str, value: str) -> None:
    if kind == "o":
        sdp.origin = _parse_origin(value)
    elif kind == "s":
        sdp.session_name = value
    elif kind == "c":
        sdp.connection = _parse_connection(value)
    elif kind == "b":
        sdp.bandwidths.append(value)
    elif kind == "t":
        sdp.times.append(value)
    elif kind == "a":
        sdp.attributes.append(_parse_attribute(value))
    else:
        sdp.extra.append((kind, value))


def _apply_media(media: MediaDescription, kind: str, value: str) -> None:
    if kind == "c":
        media.connection = _parse_connection(value)
    elif kind == "b":
        media.bandwidths.append(value)
    elif kind == "a":
        media.attributes.append(_parse_attribute(value))
    else:
        media.extra.append((kind, value))


def parse_sdp(text: str | bytes) -> SessionDescription:
    """Parse an SDP body; raise ``SdpError`` when it is unusable."""
    lines = _split_lines(text)
    if not lines or lines[0] != ("v", "0"):
        raise SdpError("SDP must start with v=0")
    sdp = SessionDescription(times=[])
    seen_origin = False
    current: MediaDescription | None = None
    for kind, value in lines[1:]:
        if kind == "m":
            current = _parse_media(value)
            sdp.media.append(current)
        elif current is not None:
            _apply_media(current, kind, value)
        else:
            seen_origin |= kind == "o"
            _apply_session(sdp, kind, value)
    if not seen_origin:
        raise SdpError("SDP without o= line")
    if not sdp.times:
        sdp.times.append("0 0")
    return sdp
