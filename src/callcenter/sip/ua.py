"""The user-agent core (RFC 3261 §8.2, §12-§15): calls on top of the transaction layer.

Theory of operation: ``UserAgent.process(now)`` drains the endpoint's events and turns them into
call-level events in ``self.events`` (IncomingCall, CallConfirmed, CallEnded, ...). The
application answers through methods (``ring``, ``answer``, ``reject``, ``bye``, ``invite``,
``request``) that queue bytes on the endpoint. Nothing here does I/O or reads a clock.

The UAS core screens every new request (§8.2.1-§8.2.3): unsupported URI scheme 416, unknown
``Require`` 420, unsupported body 415, ``Accept`` without SDP 406, unknown method 501, known but
unsupported method 405; OPTIONS outside a dialog is answered here (§11.2). A UAS that answered an
INVITE retransmits its 2xx until the ACK arrives (§13.3.1.4) and sends BYE when none comes. A
UAC ACKs every 2xx (§13.2.2.4) and BYEs a 2xx that raced its CANCEL (§9.1). A re-INVITE
arriving while ours is pending gets 491 (§14.2).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from callcenter.sip.auth import DigestCredentials, authorize_request, select_challenge
from callcenter.sip.dialog import Dialog, DialogState
from callcenter.sip.endpoint import (
    AckReceived,
    Address,
    CancelReceived,
    MessageRejected,
    RequestReceived,
    ResponseReceived,
    SipEndpoint,
    TransactionTimedOut,
)
from callcenter.sip.errors import SipSyntaxError
from callcenter.sip.message import Headers, Request, Response
from callcenter.sip.replaces import Replaces
from callcenter.sip.responses import build_response
from callcenter.sip.transaction import T1, T2
from callcenter.sip.uri import AbsoluteUri, SipUri

ALLOW = ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "REFER", "NOTIFY")
KNOWN_UNSUPPORTED = frozenset({"MESSAGE", "SUBSCRIBE", "PUBLISH", "PRACK", "UPDATE"})
SUPPORTED = ("timer", "replaces")
ACCEPT = {
    "INVITE": ("application/sdp",),
    "ACK": ("application/sdp",),
    "INFO": ("application/dtmf-relay", "application/dtmf"),
    "NOTIFY": ("message/sipfrag",),
    "OPTIONS": ("application/sdp",),
}


@dataclass(eq=False, slots=True)
class Call:
    """One INVITE dialog usage: an incoming or outgoing leg."""

    id: str
    invite: Request
    peer: Address
    incoming: bool
    local_tag: str
    state: str = "new"  # new, ringing, answered, confirmed, ended
    dialog: Dialog | None = None
    invite_txn: str = ""
    remote_sdp: bytes = b""
    cancelled: bool = False
    end_reason: str = ""
    ack_bytes: bytes = b""
    reinvite_txn: str | None = None
    answer_resp: Response | None = None
    credentials: DigestCredentials | None = None  # for a trunk that challenges our INVITE
    auth_tries: int = 0
    user_data: dict[str, object] = field(default_factory=dict)

    @property
    def caller(self) -> str:
        uri = self.invite.from_.uri
        return (uri.user_unescaped or "") if isinstance(uri, SipUri) else str(uri)

    @property
    def called(self) -> str:
        uri = self.invite.ruri
        return (uri.user_unescaped or "") if isinstance(uri, SipUri) else str(uri)


@dataclass(frozen=True, slots=True)
class IncomingCall:
    call: Call


@dataclass(frozen=True, slots=True)
class CallConfirmed:
    """The ACK for our 2xx arrived (incoming) or the 2xx arrived (outgoing)."""

    call: Call


@dataclass(frozen=True, slots=True)
class CallProgress:
    call: Call
    response: Response


@dataclass(frozen=True, slots=True)
class CallFailed:
    call: Call
    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class CallEnded:
    call: Call
    reason: str  # "remote bye", "cancelled", "no ack", "local bye"


@dataclass(frozen=True, slots=True)
class InDialogRequest:
    """INFO, REFER, NOTIFY or re-INVITE in a call; the app must ``respond`` to ``txn``."""

    call: Call
    request: Request
    txn: str


@dataclass(frozen=True, slots=True)
class InDialogResponse:
    call: Call
    response: Response


@dataclass(frozen=True, slots=True)
class NonDialogRequest:
    """REGISTER and other requests the app answers itself (``respond`` to ``txn``)."""

    request: Request
    source: Address
    txn: str


UaEvent = (
    IncomingCall
    | CallConfirmed
    | CallProgress
    | CallFailed
    | CallEnded
    | InDialogRequest
    | InDialogResponse
    | NonDialogRequest
    | MessageRejected
)


def _media_ok(value: str, accepted: Iterable[str]) -> bool:
    mime = value.split(";", 1)[0].strip().lower()
    return mime in accepted


def _accepts_sdp(accept_values: list[str]) -> bool:
    for value in accept_values:
        mime = value.split(";", 1)[0].strip().lower()
        if mime in ("application/sdp", "*/*", "application/*"):
            return True
    return not accept_values


class UserAgent:
    """Calls, dialogs and the UAS screening rules over one SipEndpoint."""

    def __init__(
        self,
        endpoint: SipEndpoint,
        rng: random.Random,
        *,
        contact_user: str = "callcenter",
        accept_call: Callable[[Request], bool] | None = None,
        min_session_expires: int = 90,
    ) -> None:
        self.endpoint = endpoint
        self.rng = rng
        self.contact_user = contact_user
        self.events: list[UaEvent] = []
        self.calls: dict[str, Call] = {}
        self._by_dialog: dict[tuple[str, str, str], Call] = {}
        self._by_txn: dict[str, Call] = {}
        self._timers: list[tuple[float, int, str, str]] = []  # (at, seq, kind, call id)
        self._seq = 0
        self._accept_call = accept_call
        self.min_se = min_session_expires  # RFC 4028 §5: smaller intervals get 422
        self._requests: dict[str, Callable[[Response | None], None]] = {}

    def find_dialog(self, replaces: Replaces) -> Call | None:
        """The live call whose dialog a Replaces header names (RFC 3891 §3), or None."""
        for local, remote in ((replaces.to_tag, replaces.from_tag),
                              (replaces.from_tag, replaces.to_tag)):  # fmt: skip
            call = self._by_dialog.get((replaces.call_id, local, remote))
            if call is not None and call.state != "ended":
                return call
        return None

    # ------------------------------------------------------------------ input
    def process(self, now: float) -> None:
        """Turn the endpoint's pending events into call events."""
        events, self.endpoint.events = self.endpoint.events, []
        for ev in events:
            if isinstance(ev, RequestReceived):
                self._on_request(ev.request, ev.source, ev.txn, now)
            elif isinstance(ev, ResponseReceived):
                self._on_response(ev.response, ev.txn, now)
            elif isinstance(ev, AckReceived):
                self._on_ack(ev.request)
            elif isinstance(ev, CancelReceived):
                self._on_cancel(ev.txn, now)
            elif isinstance(ev, TransactionTimedOut):
                self._on_timeout(ev.txn, ev.timer, now)
            else:
                self.events.append(ev)  # MessageRejected: for logs and scanner detection

    def next_deadline(self) -> float | None:
        own = self._timers[0][0] if self._timers else None
        ep = self.endpoint.next_deadline()
        if own is None:
            return ep
        return own if ep is None else min(own, ep)

    def handle_timer(self, now: float) -> None:
        self.endpoint.handle_timer(now)
        while self._timers and self._timers[0][0] <= now:
            _, _, kind, call_id = heapq.heappop(self._timers)
            call = self.calls.get(call_id)
            if call is not None and kind.startswith("2xx:"):
                self._retransmit_2xx(call, float(kind[4:]), now)
        self.process(now)

    # ------------------------------------------------------------- UAS API
    def ring(self, call: Call, now: float, sdp: bytes | None = None) -> None:
        if call.state not in ("new", "ringing"):
            return
        call.state = "ringing"
        status = 183 if sdp else 180
        self._send_final_or_provisional(call, status, now, sdp or b"")

    def answer(
        self, call: Call, sdp: bytes, now: float, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        if call.state not in ("new", "ringing"):
            return
        extra = list(headers)
        session = call.invite.headers.get("session-expires")
        if session is not None:  # RFC 4028 §9: accept the interval, the caller refreshes
            extra += [("session-expires", f"{session.split(';')[0].strip()};refresher=uac")]
            extra += [("require", "timer")]
        resp = self._send_final_or_provisional(call, 200, now, sdp, extra)
        call.state = "answered"
        call.answer_resp = resp
        call.dialog = Dialog.as_uas(
            call.invite, call.local_tag, self._contact(call.peer), call.peer, self._initial_seq()
        )
        self._by_dialog[call.dialog.id] = call
        self._schedule(now + T1, f"2xx:{T1}", call.id)

    def reject(
        self,
        call: Call,
        status: int,
        now: float,
        reason: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        if call.state not in ("new", "ringing"):
            return
        self._send_final_or_provisional(call, status, now, b"", headers, reason=reason)
        self._end(call, f"rejected {status}")

    def respond(
        self,
        txn: str,
        request: Request,
        status: int,
        now: float,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        reason: str | None = None,
    ) -> None:
        extra = list(headers)
        if content_type:
            extra.append(("content-type", content_type))
        tag = request.to.tag or self._tag()
        resp = build_response(request, status, reason, to_tag=tag, headers=extra, body=body)
        self.endpoint.respond(txn, resp, now)

    # ------------------------------------------------------------- UAC API
    def invite(
        self,
        dest: Address,
        request_uri: str,
        from_uri: str,
        to_uri: str,
        sdp: bytes,
        now: float,
        headers: Iterable[tuple[str, str]] = (),
        credentials: DigestCredentials | None = None,
    ) -> Call:
        tag = self._tag()
        h = Headers()
        h.set("from", f"{from_uri};tag={tag}")
        h.set("to", to_uri)
        h.set("call-id", f"{self.rng.getrandbits(96):024x}")
        h.set("cseq", f"{self._initial_seq()} INVITE")
        h.set("contact", f"<{self._contact(dest)}>")
        h.set("allow", ", ".join(ALLOW))
        h.set("supported", ", ".join(SUPPORTED))
        for name, value in headers:
            h.add(name, value)
        if sdp:
            h.set("content-type", "application/sdp")
        req = Request("INVITE", request_uri, h, sdp)
        call = Call(f"{req.call_id}", req, dest, incoming=False, local_tag=tag)
        call.credentials = credentials
        call.invite_txn = self.endpoint.send_request(req, dest, now)
        self.calls[call.id] = call
        self._by_txn[call.invite_txn] = call
        return call

    def send(
        self,
        request: Request,
        dest: Address,
        now: float,
        on_final: Callable[[Response | None], None],
    ) -> str:
        """A request outside any call (REGISTER to a carrier, OPTIONS ping); ``on_final``
        gets its final response, or None when the transaction timed out."""
        txn = self.endpoint.send_request(request, dest, now)
        self._requests[txn] = on_final
        return txn

    def cancel(self, call: Call, now: float) -> None:
        """§9.1: CANCEL an outgoing INVITE that has no final response yet."""
        if call.incoming or call.state not in ("new", "ringing") or call.cancelled:
            return
        call.cancelled = True
        h = Headers()
        for name in ("from", "to", "call-id", "route"):
            values = call.invite.headers.get_all(name)
            if values:
                h.set(name, values)
        h.set("cseq", f"{call.invite.cseq.number} CANCEL")
        cancel = Request("CANCEL", call.invite.uri, h)
        # §9.1: the CANCEL's Via is the INVITE's top Via, branch included.
        self.endpoint.send_request(cancel, call.peer, now, via=call.invite.headers.get("via"))

    def bye(self, call: Call, now: float) -> None:
        """Hang up a call: BYE when confirmed, CANCEL when ringing out, reject when ringing in."""
        if call.state == "ended":
            return
        if call.incoming and call.state in ("new", "ringing"):
            self.reject(call, 480, now)
            return
        if not call.incoming and call.state in ("new", "ringing"):
            self.cancel(call, now)
            return
        if call.dialog is not None:
            bye = call.dialog.new_request("BYE")
            self.endpoint.send_request(bye, call.peer, now)
        self._end(call, "local bye")

    def request(
        self,
        call: Call,
        method: str,
        now: float,
        body: bytes = b"",
        content_type: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> str | None:
        """Send INFO, REFER, NOTIFY or a re-INVITE inside ``call``; returns the txn key."""
        if call.dialog is None or call.state == "ended":
            return None
        req = call.dialog.new_request(method, body, content_type)
        for name, value in headers:
            req.headers.add(name, value)
        txn = self.endpoint.send_request(req, call.peer, now)
        self._by_txn[txn] = call
        if method == "INVITE":
            call.reinvite_txn = txn
        return txn

    # ------------------------------------------------------------ internals
    def _tag(self) -> str:
        return f"{self.rng.getrandbits(64):016x}"

    def _initial_seq(self) -> int:
        return self.rng.randrange(1, 2**20)

    def _contact(self, peer: Address) -> str:
        host, port = self.endpoint.local_for(peer)
        host = f"[{host}]" if ":" in host else host
        suffix = "" if peer.transport == "udp" else f";transport={peer.transport}"
        return f"sip:{self.contact_user}@{host}:{port}{suffix}"

    def _schedule(self, at: float, kind: str, call_id: str) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (at, self._seq, kind, call_id))

    def _send_final_or_provisional(
        self,
        call: Call,
        status: int,
        now: float,
        body: bytes,
        extra: Iterable[tuple[str, str]] = (),
        reason: str | None = None,
    ) -> Response:
        headers = list(extra)
        if status < 300:
            headers.append(("contact", f"<{self._contact(call.peer)}>"))
            headers.append(("allow", ", ".join(ALLOW)))
        if body:
            headers.append(("content-type", "application/sdp"))
        resp = build_response(
            call.invite, status, reason, to_tag=call.local_tag, headers=headers, body=body
        )
        self.endpoint.respond(call.invite_txn, resp, now)
        return resp

    def _retransmit_2xx(self, call: Call, interval: float, now: float) -> None:
        if call.state != "answered" or call.answer_resp is None:
            return
        waited = call.user_data.get("2xx_waited", 0.0)
        assert isinstance(waited, float)
        waited += interval
        call.user_data["2xx_waited"] = waited
        if waited >= 64 * T1:  # §13.3.1.4: no ACK: confirm and end the session with BYE
            call.state = "confirmed"
            self.bye(call, now)
            self.events.append(CallEnded(call, "no ack"))
            return
        if not self.endpoint.repeat_2xx(call.invite_txn, now):
            self.endpoint.send_stateless(call.answer_resp, call.peer)
        nxt = min(2 * interval, T2)
        self._schedule(now + nxt, f"2xx:{nxt}", call.id)

    def _end(self, call: Call, reason: str) -> None:
        call.state = "ended"
        call.end_reason = reason
        self.calls.pop(call.id, None)
        if call.dialog is not None:
            call.dialog.state = DialogState.TERMINATED
            self._by_dialog.pop(call.dialog.id, None)
        self._by_txn.pop(call.invite_txn, None)

    def _screen(self, req: Request) -> tuple[int, str, list[tuple[str, str]]] | None:
        """§8.2.1-§8.2.3: the error for a request this UAS cannot handle, or None."""
        method = req.method
        if method not in ALLOW:
            if method in KNOWN_UNSUPPORTED:
                return 405, "Method Not Allowed", [("allow", ", ".join(ALLOW))]
            return 501, "Not Implemented", [("allow", ", ".join(ALLOW))]
        uri = req.ruri
        if isinstance(uri, AbsoluteUri) and uri.scheme != "tel":
            return 416, "Unsupported URI Scheme", []
        required = [
            opt
            for value in req.headers.get_all("require")
            for opt in (v.strip() for v in value.split(","))
            if opt and opt.lower() not in SUPPORTED
        ]
        if required:
            return 420, "Bad Extension", [("unsupported", ", ".join(required))]
        ctype = req.headers.get("content-type")
        accepted = ACCEPT.get(method, ())
        if req.body and ctype is not None and not _media_ok(ctype, accepted):
            return 415, "Unsupported Media Type", [("accept", ", ".join(accepted))]
        if method == "INVITE" and not _accepts_sdp(req.headers.get_all("accept")):
            return 406, "Not Acceptable", [("accept", "application/sdp")]
        session = req.headers.get("session-expires") if method == "INVITE" else None
        number = session.split(";", 1)[0].strip() if session else ""
        if number.isdigit() and int(number) < self.min_se:
            return 422, "Session Interval Too Small", [("min-se", str(self.min_se))]
        return None

    def _on_request(self, req: Request, source: Address, txn: str, now: float) -> None:
        problem = self._screen(req)
        if problem is not None:
            status, reason, headers = problem
            self.respond(txn, req, status, now, headers=headers, reason=reason)
            return
        if req.to.tag is not None:
            self._in_dialog(req, source, txn, now)
            return
        if req.method == "INVITE":
            self._new_call(req, source, txn, now)
        elif req.method == "OPTIONS":
            self.respond(txn, req, 200, now, headers=self._capabilities())
        elif req.method in ("REGISTER", "INFO", "NOTIFY", "REFER"):
            self.events.append(NonDialogRequest(req, source, txn))
        else:  # BYE/CANCEL-less methods outside a dialog
            self.respond(txn, req, 481, now)

    def _capabilities(self) -> list[tuple[str, str]]:
        return [
            ("allow", ", ".join(ALLOW)),
            ("accept", "application/sdp"),
            ("supported", ", ".join(SUPPORTED)),
            ("accept-language", "zh, en"),
        ]

    def _new_call(self, req: Request, source: Address, txn: str, now: float) -> None:
        call = Call(f"{req.call_id}|{self._tag()}", req, source, True, self._tag(), invite_txn=txn)
        call.remote_sdp = req.body
        self.calls[call.id] = call
        self._by_txn[txn] = call
        if self._accept_call is not None and not self._accept_call(req):
            self.reject(call, 403, now)
            return
        self.events.append(IncomingCall(call))

    def _dialog_call(self, req: Request) -> Call | None:
        return self._by_dialog.get((req.call_id, req.to.tag or "", req.from_.tag or ""))

    def _in_dialog(self, req: Request, source: Address, txn: str, now: float) -> None:
        call = self._dialog_call(req)
        if call is None or call.dialog is None:
            self.respond(txn, req, 481, now)
            return
        error = call.dialog.receive_request(req)
        if error is not None:
            self.respond(txn, req, error, now)
            return
        if req.method == "BYE":
            self.respond(txn, req, 200, now)
            self._end(call, "remote bye")
            self.events.append(CallEnded(call, "remote bye"))
        elif req.method == "INVITE" and call.reinvite_txn is not None:
            self.respond(txn, req, 491, now)  # §14.2 glare
        else:
            self.events.append(InDialogRequest(call, req, txn))

    def _on_ack(self, ack: Request) -> None:
        try:
            call = self._dialog_call(ack)
        except SipSyntaxError:  # pragma: no cover - validated by the endpoint
            return
        if call is not None and call.state == "answered":
            call.state = "confirmed"
            if ack.body:
                call.remote_sdp = ack.body
            self.events.append(CallConfirmed(call))

    def _on_cancel(self, txn: str, now: float) -> None:
        call = self._by_txn.get(txn)
        if call is None or call.state not in ("new", "ringing"):
            return
        self._send_final_or_provisional(call, 487, now, b"")
        call.cancelled = True
        self._end(call, "cancelled")
        self.events.append(CallEnded(call, "cancelled"))

    def _on_timeout(self, txn: str, timer: str, now: float) -> None:
        call = self._by_txn.pop(txn, None)
        if call is None:
            callback = self._requests.pop(txn, None)
            if callback is not None:
                callback(None)
            return
        if txn == call.invite_txn and not call.incoming and call.state in ("new", "ringing"):
            self._end(call, "timeout")
            self.events.append(CallFailed(call, 408, "Request Timeout"))
        elif txn == call.reinvite_txn:
            call.reinvite_txn = None

    def _on_response(self, resp: Response, txn: str, now: float) -> None:
        call = self._by_txn.get(txn)
        if call is None:
            callback = self._requests.pop(txn, None) if resp.status >= 200 else None
            if callback is not None:
                callback(resp)
            return
        if txn != call.invite_txn:
            if txn == call.reinvite_txn and resp.status >= 200:
                call.reinvite_txn = None
                if resp.status < 300 and call.dialog is not None:
                    call.dialog.receive_response(resp)
                    self._ack_2xx(call, resp)
            if resp.status >= 200:
                self._by_txn.pop(txn, None)
            self.events.append(InDialogResponse(call, resp))
            return
        self._on_invite_response(call, resp, now)

    def _on_invite_response(self, call: Call, resp: Response, now: float) -> None:
        if resp.status < 200:
            if call.state == "new":
                call.state = "ringing"
            self.events.append(CallProgress(call, resp))
            return
        if resp.status in (401, 407) and self._retry_with_auth(call, resp, now):
            return
        if resp.status >= 300:
            if call.state in ("new", "ringing"):
                self._end(call, f"failed {resp.status}")
                self.events.append(CallFailed(call, resp.status, resp.reason))
            return
        if call.dialog is None:
            call.dialog = Dialog.as_uac(call.invite, resp, call.peer, self._contact(call.peer))
            self._by_dialog[call.dialog.id] = call
            call.remote_sdp = resp.body
        self._ack_2xx(call, resp)
        if call.state in ("new", "ringing"):
            call.state = "confirmed"
            if call.cancelled:  # §9.1: the 2xx raced our CANCEL; end the session
                self.bye(call, now)
                self.events.append(CallFailed(call, 487, "Request Terminated"))
                return
            self.events.append(CallConfirmed(call))

    def _retry_with_auth(self, call: Call, resp: Response, now: float) -> bool:
        """§22.2: answer a trunk's challenge once (twice when the nonce went stale)."""
        creds = call.credentials
        if creds is None or call.auth_tries >= 2 or call.cancelled:
            return False
        challenge = select_challenge(resp, creds)
        if challenge is None or (call.auth_tries == 1 and not challenge.stale):
            return False
        call.auth_tries += 1
        retry = authorize_request(call.invite, resp.status, challenge, creds,
                                  f"{self.rng.getrandbits(64):016x}")  # fmt: skip
        self._by_txn.pop(call.invite_txn, None)
        call.invite = retry
        call.invite_txn = self.endpoint.send_request(retry, call.peer, now)
        self._by_txn[call.invite_txn] = call
        return True

    def _ack_2xx(self, call: Call, resp: Response) -> None:
        """§13.2.2.4: ACK every 2xx (retransmissions included) straight to the peer."""
        if call.dialog is None:
            return
        cseq = resp.cseq.number
        ack = call.dialog.new_request("ACK")
        ack.headers.set("cseq", f"{cseq} ACK")
        ack.headers.set("via", f"SIP/2.0/{call.peer.transport.upper()} "
                        f"{self.endpoint.via_host(call.peer)};"
                        f"branch=z9hG4bK{self.rng.getrandbits(64):016x};rport")  # fmt: skip
        ack.headers.set("max-forwards", "70")
        self.endpoint.send_stateless(ack, call.peer)
