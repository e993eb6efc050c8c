"""Errors of the SIP core. A parse error carries the status a server should answer with."""

from __future__ import annotations

from typing import Any


class SipError(Exception):
    """Base of every SIP core error."""


class SipSyntaxError(SipError):
    """A message or a header value does not follow the RFC 3261 §25 grammar."""


class SipParseError(SipError):
    """A whole message cannot be accepted: ``status`` is the response to send (400, 505...).

    ``request_like`` tells whether enough of a request was read to answer it at all; when False
    the datagram is dropped silently (RFC 3261 §18.3: a response is impossible).
    """

    def __init__(self, status: int, reason: str, *, answerable: bool = True) -> None:
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.answerable = answerable
        self.headers: Any = None  # the Headers read before the error, when any
        self.method = ""  # the request method, when the start line was a request
