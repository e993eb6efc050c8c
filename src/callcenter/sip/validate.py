"""What a message must carry before a transaction may touch it (RFC 3261 §8.2, §16.3, §20).

``check_request`` returns ``(status, reason)`` for the response a UAS sends to a request it
cannot accept, or None. ``check_response`` says whether a response is usable; an unusable one
is dropped (§18.1.2). The checks are the RFC 4475 torture cases: missing mandatory headers,
duplicated single-valued headers, CSeq/method mismatch, scalar overflow, unbalanced quotes,
bad name-addr forms, a Request-URI with escaped headers, non-GMT dates.
"""

from __future__ import annotations

from callcenter.sip.errors import SipSyntaxError
from callcenter.sip.message import SINGLE_HEADERS, Message, Request, Response
from callcenter.sip.uri import SipUri

_REQUIRED = ("via", "from", "to", "call-id", "cseq")
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _common(msg: Message) -> str | None:
    """The reason a message is malformed, or None. Parses the views transactions need."""
    for name in _REQUIRED:
        if name not in msg.headers:
            return f"Missing {name} header"
    for name in SINGLE_HEADERS:
        if msg.headers.count(name) > 1:
            return f"Multiple {name} headers"
    try:
        _ = msg.vias, msg.cseq, msg.from_, msg.to
    except SipSyntaxError as exc:
        return str(exc)
    return None


def _date_ok(value: str) -> bool:
    # §20.17: rfc1123-date, and the time zone MUST be "GMT"
    parts = value.split()
    return len(parts) == 6 and parts[0].rstrip(",") in _DAY_NAMES and parts[5] == "GMT"


def _max_forwards_ok(value: str | None) -> bool:
    return value is None or (value.isdigit() and len(value) <= 10 and int(value) <= 255)


def _check_fields(req: Request) -> str | None:
    if req.cseq.method != req.method:
        return "CSeq method does not match request method"
    if not _max_forwards_ok(req.headers.get("max-forwards")):
        return "Bad Max-Forwards"
    date = req.headers.get("date")
    if date is not None and not _date_ok(date):
        return "Bad Date header"
    expires = req.headers.get("expires")
    if expires is not None and (not expires.isdigit() or len(expires) > 10):
        return "Bad Expires header"
    try:
        req.contacts()
    except SipSyntaxError as exc:
        return f"Bad Contact: {exc}"
    return None


def check_request(req: Request) -> tuple[int, str] | None:
    """The (status, reason) to reject ``req`` with, or None when it is well formed."""
    reason = _common(req)
    if reason is None:
        reason = _check_fields(req)
    if reason is None:
        try:
            ruri = req.ruri
        except SipSyntaxError as exc:
            reason = f"Bad Request-URI: {exc}"
        else:
            if isinstance(ruri, SipUri) and ruri.headers is not None:
                reason = "Request-URI must not contain headers"
    return None if reason is None else (400, reason)


def check_response(resp: Response) -> bool:
    return _common(resp) is None
