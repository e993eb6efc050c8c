"""The SIP endpoint: datagrams and stream messages in, transactions matched, bytes and events out.

Theory of operation (sans-IO, like h11 and aioquic): a transport shell calls
``receive(data, source, now)`` for every message; the endpoint parses it, answers what is
malformed (400/505, RFC 3261 §8.2, RFC 4475) or drops it when no answer is possible, matches it
to a transaction (§17.1.3, §17.2.3, with the RFC 2543 fallback for branches without the magic
cookie) and queues events for the transaction user in ``events``. Everything to send waits in
``outgoing`` as ``(bytes, Address)``; the shell drains it after each call. Timers are absolute
deadlines: the shell sleeps until ``next_deadline()`` and calls ``handle_timer(now)``.

Responses always go back to the address the request came from (RFC 3581 symmetric response
routing, applied to every request): the endpoint never resolves a host named in a message.
The ``received`` and ``rport`` Via parameters are recorded when the request asked for rport.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from callcenter.sip.errors import SipParseError, SipSyntaxError
from callcenter.sip.headers import MAGIC_COOKIE, parse_via
from callcenter.sip.message import Headers, Request, Response, parse_message
from callcenter.sip.responses import build_response
from callcenter.sip.transaction import (
    Action,
    ClientInvite,
    ClientNonInvite,
    ClientTransaction,
    PassUp,
    Send,
    ServerInvite,
    ServerNonInvite,
    ServerTransaction,
    Terminated,
    TimedOut,
    Transaction,
)
from callcenter.sip.validate import check_request, check_response


class Address(NamedTuple):
    """Where a message came from or goes to. ``conn`` names a stream connection (0 for UDP)."""

    transport: str  # "udp", "tcp" or "tls"
    host: str
    port: int
    conn: int = 0

    @property
    def reliable(self) -> bool:
        return self.transport != "udp"


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A new request (not a retransmission). ACKs for 2xx come as AckReceived instead."""

    request: Request
    source: Address
    txn: str


@dataclass(frozen=True, slots=True)
class AckReceived:
    """An ACK that matched no INVITE server transaction: the ACK for a 2xx (§13.3.1.4)."""

    request: Request
    source: Address


@dataclass(frozen=True, slots=True)
class CancelReceived:
    """A CANCEL matched the INVITE server transaction ``txn``; it was answered 200 already."""

    request: Request
    txn: str


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    response: Response
    txn: str


@dataclass(frozen=True, slots=True)
class TransactionTimedOut:
    txn: str
    timer: str


@dataclass(frozen=True, slots=True)
class MessageRejected:
    """A message was answered with an error or dropped; for logs and scanner detection."""

    source: Address
    status: int
    reason: str
    call_id: str


Event = (
    RequestReceived
    | AckReceived
    | CancelReceived
    | ResponseReceived
    | TransactionTimedOut
    | MessageRejected
)


def _ack_method(method: str) -> str:
    return "INVITE" if method == "ACK" else method


def server_key(req: Request) -> str:
    """§17.2.3 matching key; RFC 2543 requests fall back to dialog identifiers."""
    via = req.top_via
    branch = via.branch
    method = _ack_method(req.method)
    if branch and branch.startswith(MAGIC_COOKIE) and len(branch) > len(MAGIC_COOKIE):
        return f"{branch}|{via.sent_by}|{method}"
    return f"2543|{req.call_id}|{req.from_.tag}|{req.cseq.number}|{via.sent_by}|{method}"


class SipEndpoint:
    """Transaction layer plus the stateless parts of the UAS core."""

    def __init__(self, rng: random.Random, *, server_name: str = "callcenter") -> None:
        self.rng = rng
        self.server_name = server_name
        self.outgoing: list[tuple[bytes, Address]] = []
        self.events: list[Event] = []
        self._server: dict[str, ServerTransaction] = {}
        self._client: dict[str, ClientTransaction] = {}
        self._peers: dict[str, Address] = {}
        self._merge: dict[str, str] = {}  # (from-tag, call-id, cseq) -> server key, §8.2.2.2
        self._merged_of: dict[str, str] = {}  # server key -> its entry in _merge
        self._timers: list[tuple[float, int, str]] = []
        self._timer_seq = 0
        self.local: dict[str, tuple[str, int]] = {}  # transport -> the address we listen on
        # The shell may answer "which local address reaches this peer" for wildcard binds.
        self.local_resolver: Callable[[Address], tuple[str, int]] | None = None

    def set_local(self, transport: str, host: str, port: int) -> None:
        """The shell tells the endpoint where it listens (for Via and Contact)."""
        self.local[transport] = (host, port)

    def local_for(self, dest: Address) -> tuple[str, int]:
        if self.local_resolver is not None:
            return self.local_resolver(dest)
        return self.local.get(dest.transport, ("127.0.0.1", 5060))

    def via_host(self, dest: Address) -> str:
        host, port = self.local_for(dest)
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    # ----------------------------------------------------------------- inputs
    def receive(self, data: bytes, source: Address, now: float) -> None:
        if not data.strip(b"\r\n"):
            return  # CRLF keep-alive (RFC 5626 §3.5.1)
        try:
            msg = parse_message(data, stream=source.reliable)
        except SipParseError as exc:
            self._reject_unparsable(exc, source)
            return
        if isinstance(msg, Request):
            self._receive_request(msg, source, now)
        else:
            self._receive_response(msg, now)

    def handle_timer(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            _, _, key = heapq.heappop(self._timers)
            txn = self._server.get(key) or self._client.get(key)
            if txn is None:
                continue
            self._apply(txn, txn.on_timer(now), now)

    def next_deadline(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    def transport_failed(self, dest: Address, now: float) -> None:
        """A stream connection closed or a send failed: its client transactions time out."""
        for key, peer in list(self._peers.items()):
            txn = self._client.get(key)
            if txn is not None and peer == dest:
                self._apply(txn, txn.transport_error(), now)

    # ---------------------------------------------------------------- outputs
    def respond(self, txn: str, resp: Response, now: float) -> None:
        """Send ``resp`` through the server transaction ``txn`` (ignored if it is gone)."""
        server = self._server.get(txn)
        if server is None:
            return
        if self.server_name and "server" not in resp.headers:
            resp.headers.set("server", self.server_name)
        self._apply(server, server.respond(resp, now), now)

    def repeat_2xx(self, txn: str, now: float) -> bool:
        """Retransmit the 2xx already sent through INVITE server transaction ``txn``
        (§13.3.1.4) without building it again; False when the transaction is gone."""
        server = self._server.get(txn)
        if not isinstance(server, ServerInvite):
            return False
        self._apply(server, server.repeat_2xx(), now)
        return True

    def send_request(
        self, req: Request, dest: Address, now: float, *, via: str | None = None
    ) -> str:
        """Start a client transaction for ``req`` to ``dest``; returns its key.

        The endpoint adds the top Via (fresh branch, ``rport``) and Max-Forwards if missing;
        a CANCEL passes its INVITE's ``via`` to reuse the branch (§9.1).
        """
        if via is None:
            branch = f"{MAGIC_COOKIE}{self.rng.getrandbits(64):016x}"
            sent_by = self.via_host(dest)
            via = f"SIP/2.0/{dest.transport.upper()} {sent_by};branch={branch};rport"
        else:
            branch = parse_via(via).branch or ""
        req.headers.add("via", via, first=True)
        if "max-forwards" not in req.headers:
            req.headers.set("max-forwards", "70")
        req.invalidate()
        key = f"{branch}|{req.method}"
        cls = ClientInvite if req.method == "INVITE" else ClientNonInvite
        txn = cls(key, req, dest.reliable, now)
        self._client[key] = txn
        self._peers[key] = dest
        self._apply(txn, txn.start(now), now)
        return key

    def send_stateless(self, msg: Request | Response, dest: Address) -> None:
        """Messages outside transactions: the ACK for a 2xx, retransmitted 2xx responses."""
        self.outgoing.append((msg.serialize(), dest))

    def server_transaction(self, txn: str) -> ServerTransaction | None:
        return self._server.get(txn)

    def client_transaction(self, txn: str) -> ClientTransaction | None:
        return self._client.get(txn)

    @property
    def transaction_count(self) -> int:
        return len(self._server) + len(self._client)

    # -------------------------------------------------------------- internals
    def _reject_unparsable(self, exc: SipParseError, source: Address) -> None:
        headers: Headers | None = exc.headers
        call_id = headers.get("call-id", "") if headers is not None else ""
        self.events.append(MessageRejected(source, exc.status, exc.reason, call_id or ""))
        if not exc.answerable or headers is None or "via" not in headers or exc.method == "ACK":
            return  # §18.3 / RFC 4475: a malformed response or ACK is silently discarded
        if not exc.method:
            return
        resp = build_response(None, exc.status, exc.reason, request_headers=headers)
        self.outgoing.append((resp.serialize(), source))

    def _reject(self, req: Request, status: int, reason: str, source: Address) -> None:
        self.events.append(MessageRejected(source, status, reason, req.call_id))
        if req.method != "ACK":
            resp = build_response(req, status, reason, to_tag=self._tag())
            self.outgoing.append((resp.serialize(), source))

    def _tag(self) -> str:
        return f"{self.rng.getrandbits(48):012x}"

    def _receive_request(self, req: Request, source: Address, now: float) -> None:
        key = self._key_of(req)
        txn = None if key is None else self._server.get(key)
        if txn is not None:  # a retransmission, or the ACK of a non-2xx final response
            self._apply(txn, txn.on_request(req, now), now)
            return
        problem = check_request(req)
        if problem is not None:
            self._reject(req, problem[0], problem[1], source)
            return
        self._stamp_via(req, source)  # adds received/rport: the key (branch, sent-by) stays
        if key is None:  # pragma: no cover - a request that passed the checks has a key
            key = server_key(req)
        if req.method == "ACK":
            self.events.append(AckReceived(req, source))
            return
        if req.method == "CANCEL":
            self._receive_cancel(req, source, now)
            return
        merged = self._merged_key(req)
        if merged is not None and self._merge.get(merged) in self._server:
            self._reject(req, 482, "Loop Detected", source)
            return
        self._new_server_transaction(req, key, source, now, merged)

    @staticmethod
    def _key_of(req: Request) -> str | None:
        """The §17.2.3 key ``req``'s server transaction has, from its top Via, before the full
        check: its first copy was checked when it came. An overloaded server sees many
        retransmissions; they cost a Via parse, not a whole validation. None: no usable Via
        (the check rejects it)."""
        try:
            return server_key(req)
        except SipSyntaxError:
            return None

    def _new_server_transaction(
        self, req: Request, key: str, source: Address, now: float, merged: str | None
    ) -> None:
        cls = ServerInvite if req.method == "INVITE" else ServerNonInvite
        txn = cls(key, req, source.reliable, now)
        self._server[key] = txn
        self._peers[key] = source
        if merged is not None:
            self._merge[merged] = key
            self._merged_of[key] = merged
        if req.method == "INVITE":  # §17.2.1: 100 Trying after 200 ms unless answered first
            self._apply(txn, [], now)
        self.events.append(RequestReceived(req, source, key))

    def _merged_key(self, req: Request) -> str | None:
        if req.to.tag is not None:
            return None
        return f"{req.from_.tag}|{req.call_id}|{req.cseq.number}|{req.method}"

    def _receive_cancel(self, req: Request, source: Address, now: float) -> None:
        invite_key = server_key(req).rsplit("|", 1)[0] + "|INVITE"
        txn = self._server.get(invite_key)
        if txn is None:
            self._reject(req, 481, "Call/Transaction Does Not Exist", source)
            return
        ok = build_response(req, 200, to_tag=txn.to_tag or self._tag())
        self.outgoing.append((ok.serialize(), source))
        self.events.append(CancelReceived(req, invite_key))

    def _stamp_via(self, req: Request, source: Address) -> None:
        """RFC 3581 §4: record where the request really came from in the top Via."""
        via = req.top_via
        if "rport" not in via.params and via.host == source.host:
            return
        via.params["received"] = source.host
        if "rport" in via.params:
            via.params["rport"] = str(source.port)
        vias = req.headers.get_all("via")
        vias[0] = str(via)
        req.headers.set("via", vias)
        req.invalidate()

    def _receive_response(self, resp: Response, now: float) -> None:
        if not check_response(resp):
            return
        via = resp.top_via
        key = f"{via.branch}|{resp.cseq.method}"
        txn = self._client.get(key)
        if txn is None:
            return  # stray response (§17.1.3): a proxy would forward it; a UA drops it
        self._apply(txn, txn.on_response(resp, now), now)

    def _apply(self, txn: Transaction, actions: list[Action], now: float) -> None:
        key = txn.key
        for action in actions:
            if isinstance(action, Send):
                self.outgoing.append((action.data, self._peers[key]))
            elif isinstance(action, PassUp):
                msg = action.message
                if isinstance(msg, Response):
                    self.events.append(ResponseReceived(msg, key))
            elif isinstance(action, TimedOut):
                self.events.append(TransactionTimedOut(key, action.timer))
            elif isinstance(action, Terminated):
                self._forget(txn)
                return
        deadline = txn.next_deadline()
        if deadline is not None:
            self._timer_seq += 1
            heapq.heappush(self._timers, (deadline, self._timer_seq, key))

    def _forget(self, txn: Transaction) -> None:
        key = txn.key
        self._peers.pop(key, None)
        if isinstance(txn, ServerTransaction):
            self._server.pop(key, None)
            merged = self._merged_of.pop(key, None)
            if merged is not None and self._merge.get(merged) == key:
                del self._merge[merged]
        else:
            self._client.pop(key, None)
