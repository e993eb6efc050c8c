"""Structured header values (RFC 3261 §20, §25.1): Via, CSeq, comma lists, auth parameters.

Each parser takes the text of one header value (already unfolded) and returns a small
dataclass, or raises SipSyntaxError. LWS is allowed wherever §25.1 allows it
(``SIP / 2.0 / UDP``, spaces around ``;`` and ``=``), tokens compare case-insensitively
(``transport=UDP`` equals ``udp``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from callcenter.sip.errors import SipSyntaxError
from callcenter.sip.uri import is_token, parse_header_params

MAGIC_COOKIE = "z9hG4bK"
_HOST_RE = re.compile(r"[A-Za-z0-9.\-_:]+")
_BLANK_RE = re.compile(r"[ \t]")
MAX_CSEQ = 2**31 - 1  # §8.1.1.5: the sequence number MUST be less than 2**31


def split_list(value: str) -> list[str]:
    """Split a comma-separated header value, respecting quotes and <...>; drop empties."""
    if "," not in value:
        return [value] if value.strip() else []
    items: list[str] = []
    depth_angle = False
    quoted = False
    start = 0
    i = 0
    n = len(value)
    while i < n:
        c = value[i]
        if quoted:
            if c == "\\":
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == "<":
            depth_angle = True
        elif c == ">":
            depth_angle = False
        elif c == "," and not depth_angle:
            items.append(value[start:i].strip())
            start = i + 1
        i += 1
    items.append(value[start:].strip())
    return [item for item in items if item]


@dataclass(slots=True)
class Via:
    """One Via value: ``SIP/2.0/UDP host:port;branch=...;rport;received=...``."""

    transport: str
    host: str
    port: int | None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def sent_by(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port is None else f":{self.port}"
        params = "".join(f";{k}" if v is None else f";{k}={v}" for k, v in self.params.items())
        return f"SIP/2.0/{self.transport} {host}{port}{params}"


def _sent_by(text: str) -> tuple[str, int | None]:
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipSyntaxError(f"bad Via host {text!r}")
        host, rest = text[1:end], text[end + 1 :].strip()
    else:
        host, sep, port_part = text.partition(":")
        host, rest = host.strip(), (":" + port_part) if sep else ""
    if not host or _HOST_RE.fullmatch(host) is None:
        raise SipSyntaxError(f"bad Via host {text!r}")
    if not rest:
        return host.lower(), None
    port_text = rest[1:].strip()
    if not rest.startswith(":") or not port_text.isdigit() or int(port_text) > 65535:
        raise SipSyntaxError(f"bad Via port {text!r}")
    return host.lower(), int(port_text)


def parse_via(value: str) -> Via:
    proto, sep, rest = value.partition("/")
    if not sep or proto.strip().upper() != "SIP":
        raise SipSyntaxError(f"bad Via protocol {value!r}")
    version, sep, rest = rest.partition("/")
    if not sep or version.strip() != "2.0":
        raise SipSyntaxError(f"bad Via version {value!r}")
    rest = rest.lstrip()
    blank = _BLANK_RE.search(rest)
    end = len(rest) if blank is None else blank.start()
    transport = rest[:end].upper()
    if not is_token(transport):
        raise SipSyntaxError(f"bad Via transport {value!r}")
    sent_by, semi, params = rest[end:].partition(";")
    host, port = _sent_by(sent_by)
    return Via(transport, host, port, parse_header_params(semi + params))


@dataclass(frozen=True, slots=True)
class CSeq:
    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


def parse_cseq(value: str) -> CSeq:
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit() or not is_token(parts[1]):
        raise SipSyntaxError(f"bad CSeq {value!r}")
    if len(parts[0]) > 10 or int(parts[0]) > MAX_CSEQ:
        raise SipSyntaxError(f"CSeq number out of range {value!r}")
    return CSeq(int(parts[0]), parts[1])


def parse_auth_params(value: str) -> tuple[str, dict[str, str]]:
    """``Digest realm="x", nonce="y", qop=auth`` -> ("digest", {...}) with quotes removed."""
    scheme, _, rest = value.strip().partition(" ")
    params: dict[str, str] = {}
    for item in split_list(rest):
        name, eq, val = item.partition("=")
        if not eq:
            raise SipSyntaxError(f"bad auth parameter {item!r}")
        val = val.strip()
        if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
            val = val[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[name.strip().lower()] = val
    return scheme.lower(), params
