"""SIP messages (RFC 3261 §7, §20, §25): parse bytes into requests and responses, and back.

Parsing is split in two steps so that a server can always answer what it can read:
``parse_message`` reads the start line, the header fields (compact forms §7.3.3, folding §7.3.1,
comma lists §7.3.1) and frames the body by Content-Length; ``validate_request`` then checks the
fields a transaction needs (§8.2) and returns the 4xx to send, if any. Header values stay text
until asked for; structured views (Via, CSeq, From/To) are parsed once and cached.
Unknown headers and methods are kept and written back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator

from callcenter.sip.errors import SipParseError, SipSyntaxError
from callcenter.sip.headers import CSeq, Via, parse_cseq, parse_via, split_list
from callcenter.sip.uri import NameAddr, Uri, is_token, parse_name_addr, parse_uri

COMPACT = {
    "i": "call-id",
    "m": "contact",
    "e": "content-encoding",
    "l": "content-length",
    "c": "content-type",
    "f": "from",
    "s": "subject",
    "k": "supported",
    "t": "to",
    "v": "via",
    "r": "refer-to",
    "b": "referred-by",
    "o": "event",
    "u": "allow-events",
    "x": "session-expires",
}
_CANONICAL = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version",
    "rseq": "RSeq",
    "rack": "RAck",
    # the headers that carry the caller's context to an agent phone (calls/inbound.py)
    "x-cc-queue": "X-CC-Queue",
    "x-cc-agent": "X-CC-Agent",
    "x-cc-category": "X-CC-Category",
    "x-cc-customer": "X-CC-Customer",
}
# Headers whose values are comma-separated lists (RFC 3261 §7.3.1); others keep commas.
LIST_HEADERS = frozenset(
    {
        "via", "route", "record-route", "contact", "allow", "supported", "require",
        "proxy-require", "unsupported", "accept", "accept-encoding", "accept-language",
        "allow-events", "content-encoding", "in-reply-to", "path", "service-route",
    }
)  # fmt: skip
SINGLE_HEADERS = ("from", "to", "call-id", "cseq", "max-forwards", "content-length")


def canonical_name(lower: str) -> str:
    name = _CANONICAL.get(lower)
    if name is None:
        name = "-".join(p.capitalize() for p in lower.split("-"))
        _CANONICAL[lower] = name
    return name


class Headers:
    """Header fields by lower-case name, each a list of values in arrival order."""

    __slots__ = ("_fields",)

    def __init__(self, fields: dict[str, list[str]] | None = None) -> None:
        self._fields: dict[str, list[str]] = {} if fields is None else fields

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self._fields.get(name.lower())
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        return list(self._fields.get(name.lower(), ()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._fields

    def add(self, name: str, value: str, *, first: bool = False) -> None:
        values = self._fields.setdefault(name.lower(), [])
        if first:
            values.insert(0, value)
        else:
            values.append(value)

    def set(self, name: str, value: str | list[str]) -> None:
        self._fields[name.lower()] = [value] if isinstance(value, str) else list(value)

    def remove(self, name: str) -> None:
        self._fields.pop(name.lower(), None)

    def items(self) -> Iterator[tuple[str, list[str]]]:
        return iter(self._fields.items())

    def copy(self) -> Headers:
        return Headers({k: list(v) for k, v in self._fields.items()})

    def count(self, name: str) -> int:
        return len(self._fields.get(name.lower(), ()))


class Message:
    """What requests and responses share: headers, body and cached structured views."""

    __slots__ = ("_contacts", "_cseq", "_from", "_to", "_vias", "body", "headers")

    def __init__(self, headers: Headers, body: bytes = b"") -> None:
        self.headers = headers
        self.body = body
        self._vias: list[Via] | None = None
        self._cseq: CSeq | None = None
        self._from: NameAddr | None = None
        self._to: NameAddr | None = None
        self._contacts: list[NameAddr] | None = None

    @property
    def call_id(self) -> str:
        return self.headers.get("call-id") or ""

    @property
    def vias(self) -> list[Via]:
        if self._vias is None:
            self._vias = [parse_via(v) for v in self.headers.get_all("via")]
        return self._vias

    @property
    def top_via(self) -> Via:
        vias = self.vias
        if not vias:
            raise SipSyntaxError("no Via header")
        return vias[0]

    @property
    def cseq(self) -> CSeq:
        if self._cseq is None:
            self._cseq = parse_cseq(self.headers.get("cseq") or "")
        return self._cseq

    @property
    def from_(self) -> NameAddr:
        if self._from is None:
            self._from = parse_name_addr(self.headers.get("from") or "")
        return self._from

    @property
    def to(self) -> NameAddr:
        if self._to is None:
            self._to = parse_name_addr(self.headers.get("to") or "")
        return self._to

    def invalidate(self) -> None:
        """Forget cached views after the headers were edited."""
        self._vias = None
        self._cseq = None
        self._from = None
        self._to = None
        self._contacts = None

    def contacts(self) -> list[NameAddr]:
        if self._contacts is None:
            self._contacts = [parse_name_addr(v) for v in self.headers.get_all("contact")]
        return list(self._contacts)

    def _head_lines(self) -> list[str]:
        lines: list[str] = []
        for name, values in self.headers.items():
            if name == "content-length":
                continue
            cname = canonical_name(name)
            lines.extend(f"{cname}: {v}" for v in values)
        lines.append(f"Content-Length: {len(self.body)}")
        return lines

    def start_line(self) -> str:
        raise NotImplementedError

    def serialize(self) -> bytes:
        head = "\r\n".join([self.start_line(), *self._head_lines()])
        return (head + "\r\n\r\n").encode() + self.body


class Request(Message):
    __slots__ = ("_ruri", "method", "uri")

    def __init__(self, method: str, uri: str, headers: Headers, body: bytes = b"") -> None:
        super().__init__(headers, body)
        self.method = method
        self.uri = uri
        self._ruri: Uri | None = None

    @property
    def ruri(self) -> Uri:
        if self._ruri is None:
            self._ruri = parse_uri(self.uri)
        return self._ruri

    def start_line(self) -> str:
        return f"{self.method} {self.uri} SIP/2.0"

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri} call-id={self.call_id}>"


class Response(Message):
    __slots__ = ("reason", "status")

    def __init__(self, status: int, reason: str, headers: Headers, body: bytes = b"") -> None:
        super().__init__(headers, body)
        self.status = status
        self.reason = reason

    def start_line(self) -> str:
        return f"SIP/2.0 {self.status} {self.reason}"

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason} call-id={self.call_id}>"


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    end = data.find(b"\r\n\r\n")
    if end >= 0:
        return data[:end], data[end + 4 :]
    end = data.find(b"\n\n")
    if end >= 0:
        return data[:end], data[end + 2 :]
    return data.rstrip(b"\r\n"), b""


_NAMES: dict[str, str] = {}  # raw header name -> canonical lower-case name (a small cache)


def _header_name(raw: str) -> str | None:
    name = _NAMES.get(raw)
    if name is None:
        low = raw.rstrip(" \t").lower()
        if not is_token(low):
            return None
        name = COMPACT.get(low, low)
        if len(_NAMES) < 4096:
            _NAMES[raw] = name
    return name


def _read_fields(lines: list[str]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    last: list[str] | None = None
    for line in lines:
        if not line:
            continue
        if line[0] in " \t":  # folded continuation (§7.3.1)
            if last is None:
                raise SipParseError(400, "Continuation Line Without Header")
            last[-1] = last[-1] + " " + line.strip()
            continue
        raw, colon, value = line.partition(":")
        name = _header_name(raw) if colon else None
        if name is None:
            raise SipParseError(400, "Malformed Header Line")
        last = fields.setdefault(name, [])
        last.append(value.strip())
    for name in LIST_HEADERS.intersection(fields):
        values = fields[name]
        if any("," in v for v in values):
            fields[name] = [item for v in values for item in split_list(v)]
    return fields


def _frame_body(fields: dict[str, list[str]], rest: bytes, stream: bool) -> bytes:
    values = fields.get("content-length")
    if not values:
        if stream:
            raise SipParseError(400, "Content-Length Required")
        return rest
    if len(values) > 1:
        raise SipParseError(400, "Multiple Content-Length")
    text = values[0]
    if not text.isdigit() or len(text) > 9:
        raise SipParseError(400, "Bad Content-Length")
    length = int(text)
    if length > len(rest):
        raise SipParseError(400, "Content-Length Exceeds Body")
    return rest[:length]


def _parse_start(line: str) -> tuple[str, str, str]:
    parts = line.split(" ")
    if line.startswith("SIP/"):
        if len(parts) < 2:
            raise SipParseError(400, "Bad Status Line", answerable=False)
        return parts[0], parts[1], " ".join(parts[2:])
    if len(parts) != 3 or not all(parts):
        raise SipParseError(400, "Bad Request Line")
    return parts[0], parts[1], parts[2]


def parse_message(data: bytes, *, stream: bool = False) -> Request | Response:
    """Parse one message. ``stream`` (TCP/TLS) requires Content-Length (§18.3).

    Raises SipParseError; ``headers`` are attached to it when they could be read, so that a
    400 can still copy Via/From/To/Call-ID/CSeq.
    """
    head_b, rest = _split_head(data.lstrip(b"\r\n"))
    try:
        head = head_b.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError(400, "Invalid UTF-8 In Header", answerable=False) from exc
    lines = head.replace("\r\n", "\n").split("\n")
    fields = _read_fields(lines[1:])
    first = ""
    try:
        first, second, third = _parse_start(lines[0])
        body = _frame_body(fields, rest, stream)
        if first.startswith("SIP/"):
            return _make_response(first, second, third, fields, body)
        return _make_request(first, second, third, fields, body)
    except SipParseError as exc:
        exc.headers = Headers(fields)
        exc.method = "" if first.startswith("SIP/") else first
        if not exc.method and not lines[0].startswith("SIP/"):
            exc.method = lines[0].split(" ", 1)[0]
        raise


def _make_response(
    version: str, code: str, reason: str, fields: dict[str, list[str]], body: bytes
) -> Response:
    if version.upper() != "SIP/2.0":
        raise SipParseError(505, "Version Not Supported", answerable=False)
    if len(code) != 3 or not code.isdigit() or not 100 <= int(code) <= 699:
        raise SipParseError(400, "Bad Status Code", answerable=False)
    return Response(int(code), reason, Headers(fields), body)


def _make_request(
    method: str, uri: str, version: str, fields: dict[str, list[str]], body: bytes
) -> Request:
    if not is_token(method):
        raise SipParseError(400, "Bad Method")
    if not version.upper().startswith("SIP/"):
        raise SipParseError(400, "Bad Request Line")
    if version.upper() != "SIP/2.0":
        raise SipParseError(505, "Version Not Supported")
    return Request(method, uri, Headers(fields), body)
