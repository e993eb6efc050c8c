"""SIP, SIPS and TEL URIs (RFC 3261 §19.1, §25.1; RFC 3966) and name-addr headers (§20.10).

``parse_uri`` turns text into a :class:`SipUri` (sip/sips) or :class:`AbsoluteUri` (any other
scheme, kept opaque so that novel schemes round-trip, RFC 4475 §3.3.1). ``parse_name_addr``
reads the ``display-name <uri>;params`` / ``addr-spec;params`` forms of From, To, Contact,
Route, Record-Route, Refer-To: in the addr-spec form the URI may not contain ``,``, ``;`` or
``?`` (§20.10), so parameters after it belong to the header. Hostnames are lower-cased;
user parts keep their escapes and are compared unescaped (§19.1.4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from callcenter.sip.errors import SipSyntaxError

_SIP_SCHEMES = frozenset({"sip", "sips"})

_TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
# An unquoted display-name is *(token LWS) (§25.1): words of token characters.
_DISPLAY_RE = re.compile(rf"{_TOKEN_RE.pattern}(?:\s+{_TOKEN_RE.pattern})*")
_ADDR_SPEC_BAD = re.compile(r"[?, ]")  # §20.10: not in an addr-spec without <>
_URI_BAD = re.compile(r"[ \t\r\n<>\"]")
_HOST_BAD = re.compile(r"[ \t<>\"@]")
_USER_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+")


def is_token(text: str) -> bool:
    """RFC 3261 §25.1 ``token``: a non-empty run of token characters."""
    return _TOKEN_RE.fullmatch(text) is not None


@dataclass(slots=True)
class SipUri:
    """A sip: or sips: URI. ``params`` keys are lower-case; a flag parameter maps to None."""

    scheme: str
    host: str
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: str | None = None

    @property
    def transport(self) -> str | None:
        value = self.params.get("transport")
        return value.lower() if value else None

    @property
    def user_unescaped(self) -> str | None:
        return None if self.user is None else unquote(self.user)

    def __str__(self) -> str:
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out.append(":" + self.password)
            out.append("@")
        out.append(f"[{self.host}]" if ":" in self.host else self.host)
        if self.port is not None:
            out.append(f":{self.port}")
        for key, value in self.params.items():
            out.append(f";{key}" if value is None else f";{key}={value}")
        if self.headers:
            out.append("?" + self.headers)
        return "".join(out)


@dataclass(slots=True)
class AbsoluteUri:
    """Any URI whose scheme we do not interpret (tel:, http:, urn:, novel ones)."""

    scheme: str
    rest: str

    def __str__(self) -> str:
        return f"{self.scheme}:{self.rest}"


Uri = SipUri | AbsoluteUri


def _parse_hostport(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipSyntaxError(f"unterminated IPv6 reference in {text!r}")
        host, rest = text[1:end], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise SipSyntaxError(f"bad host {text!r}")
        port_text = rest[1:] if rest else ""
    else:
        host, _, port_text = text.partition(":")
    if not host or _HOST_BAD.search(host):
        raise SipSyntaxError(f"bad host {text!r}")
    port: int | None = None
    if port_text:
        if not port_text.isdigit() or len(port_text) > 5 or int(port_text) > 65535:
            raise SipSyntaxError(f"bad port in {text!r}")
        port = int(port_text)
    return host.lower(), port


def _parse_params(text: str) -> dict[str, str | None]:
    params: dict[str, str | None] = {}
    if not text:
        return params
    for part in text.split(";"):
        name, eq, value = part.partition("=")
        if not name:
            raise SipSyntaxError(f"empty URI parameter in {text!r}")
        params[name.lower()] = value if eq else None
    return params


def parse_uri(text: str) -> Uri:
    """Parse a URI; raise SipSyntaxError on anything that is not one."""
    scheme, colon, rest = text.partition(":")
    if not colon or not scheme or not scheme[0].isalpha() or not rest:
        raise SipSyntaxError(f"not a URI: {text!r}")
    if _URI_BAD.search(text):
        raise SipSyntaxError(f"URI contains whitespace or delimiters: {text!r}")
    low = scheme.lower()
    if low not in _SIP_SCHEMES:
        if not all(c.isalnum() or c in "+-." for c in scheme):
            raise SipSyntaxError(f"bad URI scheme in {text!r}")
        return AbsoluteUri(low, rest)
    user: str | None = None
    password: str | None = None
    # The user part may hold ';' and '?' (RFC 4475 §3.1.1.10, §3.1.1.2); params and headers
    # after the host never hold a raw '@', so the last '@' ends the userinfo.
    at = rest.rfind("@")
    if at >= 0:
        userinfo, rest = rest[:at], rest[at + 1 :]
        user, pcolon, pw = userinfo.partition(":")
        password = pw if pcolon else None
        if not user or _USER_RE.fullmatch(user) is None:
            raise SipSyntaxError(f"bad user part in {text!r}")
    rest, _, headers = rest.partition("?")
    hostport, _, param_text = rest.partition(";")
    host, port = _parse_hostport(hostport)
    return SipUri(low, host, user, password, port, _parse_params(param_text), headers or None)


@dataclass(slots=True)
class NameAddr:
    """``"Display" <uri>;params``: From, To, Contact, Route and friends (§20.10, §25.1)."""

    uri: Uri
    display: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    wildcard: bool = False

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def __str__(self) -> str:
        if self.wildcard:
            return "*"
        head = f"{self.display} <{self.uri}>" if self.display else f"<{self.uri}>"
        return head + "".join(f";{k}" if v is None else f";{k}={v}" for k, v in self.params.items())


def _scan_quoted(text: str, start: int) -> int:
    """Index just past the closing quote of the quoted-string starting at ``text[start]``."""
    i = start + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        i += 1
    raise SipSyntaxError(f"unterminated quoted string in {text!r}")


def _param_value(text: str, k: int, name: str) -> tuple[str, int]:
    """The value starting at ``text[k]`` (after '=' and LWS) and the index after it."""
    if k < len(text) and text[k] == '"':
        end = _scan_quoted(text, k)
        return text[k:end], end
    end = text.find(";", k)
    end = len(text) if end < 0 else end
    value = text[k:end].strip()
    if not value or " " in value:
        raise SipSyntaxError(f"bad value for parameter {name!r}")
    return value, end


def parse_header_params(text: str) -> dict[str, str | None]:
    """``;name=value;flag`` with LWS allowed around ``;`` and ``=`` and quoted values."""
    if '"' in text:
        return _scan_header_params(text)  # a quoted value may hold ';' and '='
    head, *parts = text.split(";")
    if head.strip(" \t"):
        raise SipSyntaxError(f"expected ';' in parameters {text!r}")
    params: dict[str, str | None] = {}
    for part in parts:
        name, eq, value = part.partition("=")
        name = name.strip()
        if not is_token(name):
            raise SipSyntaxError(f"bad parameter name {name!r}")
        if not eq:
            params[name.lower()] = None
            continue
        value = value.strip()
        if not value or " " in value:
            raise SipSyntaxError(f"bad value for parameter {name!r}")
        params[name.lower()] = value
    return params


def _scan_header_params(text: str) -> dict[str, str | None]:
    """``parse_header_params`` for text with quoted strings: a scanner that skips them."""
    params: dict[str, str | None] = {}
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            return params
        if text[i] != ";":
            raise SipSyntaxError(f"expected ';' in parameters {text!r}")
        j = i + 1
        while j < n and text[j] not in ";=":
            j += 1
        name = text[i + 1 : j].strip()
        if not is_token(name):
            raise SipSyntaxError(f"bad parameter name {name!r}")
        value: str | None = None
        if j < n and text[j] == "=":
            k = j + 1
            while k < n and text[k] in " \t":
                k += 1
            value, j = _param_value(text, k, name)
        params[name.lower()] = value
        i = j


def parse_name_addr(text: str) -> NameAddr:
    """Parse one From/To/Contact/Route value; raise SipSyntaxError when malformed."""
    s = text.strip()
    if s == "*":
        return NameAddr(AbsoluteUri("*", ""), wildcard=True)
    display: str | None = None
    if s.startswith('"'):
        end = _scan_quoted(s, 0)
        display, s = s[:end], s[end:].lstrip()
        if not s.startswith("<"):
            raise SipSyntaxError(f"quoted display name without <uri> in {text!r}")
    lt = s.find("<") if "<" in s else -1
    if lt >= 0:
        if display is None and lt > 0:
            raw = s[:lt].strip()
            if raw and _DISPLAY_RE.fullmatch(raw) is None:
                raise SipSyntaxError(f"bad display name {raw!r}")
            display = raw or None
        gt = s.find(">", lt)
        if gt < 0:
            raise SipSyntaxError(f"unterminated <uri> in {text!r}")
        uri = parse_uri(s[lt + 1 : gt])
        rest = s[gt + 1 :]
    else:
        semi = s.find(";")
        uri_text, rest = (s, "") if semi < 0 else (s[:semi], s[semi:])
        uri_text = uri_text.strip()
        if _ADDR_SPEC_BAD.search(uri_text):
            raise SipSyntaxError(f"addr-spec with reserved characters: {text!r}")
        uri = parse_uri(uri_text)
    return NameAddr(uri, display, parse_header_params(rest))
