"""Building responses to requests (RFC 3261 §8.2.6): copy Via, From, To, Call-ID and CSeq.

The headers are copied as text from the request, so a 400 can answer a request whose From or
To did not parse (RFC 4475 §3.1.2). The To tag is added unless the request already has one.
"""

from __future__ import annotations

from collections.abc import Iterable

from callcenter.sip.errors import SipSyntaxError
from callcenter.sip.message import Headers, Request, Response
from callcenter.sip.uri import parse_name_addr

REASONS = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "Version Not Supported",
    600: "Busy Everywhere",
    603: "Decline",
}
_COPIED = ("via", "from", "to", "call-id", "cseq")


def _needs_tag(req: Request | None, to: str) -> bool:
    try:
        return (req.to if req is not None else parse_name_addr(to)).tag is None
    except SipSyntaxError:
        return False  # an unparsable To is echoed unchanged in the error response


def build_response(
    req: Request | None,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    request_headers: Headers | None = None,
) -> Response:
    """A response to ``req`` (or to the raw ``request_headers`` of an unparsable request)."""
    src = req.headers if req is not None else request_headers
    copied = {} if src is None else {name: v for name in _COPIED if (v := src.get_all(name))}
    out = Headers(copied)
    if to_tag is not None and status > 100:
        to = out.get("to")
        if to is not None and _needs_tag(req, to):
            out.set("to", f"{to};tag={to_tag}")
    for name, value in headers:
        out.add(name, value)
    return Response(status, reason or REASONS.get(status, "Unknown"), out, body)
