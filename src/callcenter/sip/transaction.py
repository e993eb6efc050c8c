"""The four SIP transaction machines (RFC 3261 §17, with the RFC 6026 "Accepted" states).

Theory of operation: a transaction is a small state machine that owns retransmission and
absorption. It never touches a socket or a clock; every input carries ``now`` and every method
returns a list of actions for its owner (the endpoint) to carry out: send these bytes to the
peer, pass this message up to the transaction user (TU), report a timeout, or forget the
transaction. Timers are deadlines in ``self.timers`` (name -> absolute time); the owner calls
``on_timer(now)`` when ``next_deadline()`` has passed.

- ICT (INVITE client, §17.1.1, Figure 5 + RFC 6026 Accepted/timer M)
- NICT (non-INVITE client, §17.1.2, Figure 6)
- IST (INVITE server, §17.2.1, Figure 7 + RFC 6026 Accepted/timer L)
- NIST (non-INVITE server, §17.2.2, Figure 8)

Over reliable transports (TCP/TLS) nothing is retransmitted: timers A, E and G are not set and
timers D, I, J and K are zero (§17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from callcenter.sip.errors import SipSyntaxError
from callcenter.sip.message import Headers, Request, Response
from callcenter.sip.responses import build_response
from callcenter.sip.uri import parse_name_addr

T1 = 0.5  # §17.1.1.1: RTT estimate
T2 = 4.0  # maximum retransmit interval for non-INVITE requests and INVITE responses
T4 = 5.0  # maximum duration a message remains in the network
TRYING_DELAY = 0.2  # §17.2.1: a UAS answering within 200 ms need not send 100 Trying
TIMER_D_UDP = 32.0


class State(enum.Enum):
    CALLING = "calling"
    TRYING = "trying"
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"
    ACCEPTED = "accepted"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``data`` to the transaction's peer address."""

    data: bytes


@dataclass(frozen=True, slots=True)
class PassUp:
    """Give a message to the transaction user."""

    message: Request | Response


@dataclass(frozen=True, slots=True)
class TimedOut:
    """Timer B/F fired (client: no final response, §17.1.1.2) or H (server: no ACK)."""

    timer: str


@dataclass(frozen=True, slots=True)
class Terminated:
    """The transaction is over; the owner forgets it."""


Action = Send | PassUp | TimedOut | Terminated


class Transaction:
    """What the four machines share: state, timers, the peer and the reliability flag."""

    kind = "?"

    def __init__(self, key: str, reliable: bool, now: float) -> None:
        self.key = key
        self.reliable = reliable
        self.state = State.TRYING
        self.timers: dict[str, float] = {}
        self.created = now

    def next_deadline(self) -> float | None:
        return min(self.timers.values()) if self.timers else None

    def on_timer(self, now: float) -> list[Action]:
        actions: list[Action] = []
        for name in sorted(self.timers, key=self.timers.__getitem__):
            at = self.timers.get(name)
            if at is not None and at <= now and self.state is not State.TERMINATED:
                del self.timers[name]
                actions.extend(self._fire(name, now))
        return actions

    def _fire(self, name: str, now: float) -> list[Action]:
        raise NotImplementedError

    def _terminate(self) -> list[Action]:
        self.state = State.TERMINATED
        self.timers.clear()
        return [Terminated()]

    def _wait(self, name: str, now: float, unreliable_delay: float) -> list[Action]:
        """Timers D, I, J, K: wait over UDP, terminate at once over TCP/TLS."""
        if self.reliable:
            return self._terminate()
        self.timers[name] = now + unreliable_delay
        return []

    def transport_error(self) -> list[Action]:
        """§17.1.4 / §17.2.4: the transport failed; report as a timeout and end."""
        if self.state is State.TERMINATED:
            return []
        return [TimedOut("transport"), *self._terminate()]


class ClientTransaction(Transaction):
    def __init__(self, key: str, request: Request, reliable: bool, now: float) -> None:
        super().__init__(key, reliable, now)
        self.request = request
        self.request_bytes = request.serialize()
        self.last_response: Response | None = None

    def start(self, now: float) -> list[Action]:
        raise NotImplementedError

    def on_response(self, resp: Response, now: float) -> list[Action]:
        raise NotImplementedError


def build_ack_for(request: Request, response: Response) -> Request:
    """§17.1.1.3: the ACK for a non-2xx final response, inside the INVITE transaction."""
    h = Headers()
    h.set("via", request.headers.get_all("via")[:1])
    for name in ("max-forwards", "from", "call-id", "route"):
        values = request.headers.get_all(name)
        if values:
            h.set(name, values)
    h.set("to", response.headers.get("to") or "")
    h.set("cseq", f"{request.cseq.number} ACK")
    return Request("ACK", request.uri, h)


class ClientInvite(ClientTransaction):
    """ICT: Calling -> Proceeding -> Completed | Accepted -> Terminated."""

    kind = "ict"
    _interval = T1
    _ack_bytes = b""

    def start(self, now: float) -> list[Action]:
        self.state = State.CALLING
        if not self.reliable:
            self.timers["A"] = now + T1
        self.timers["B"] = now + 64 * T1
        self._interval = T1
        return [Send(self.request_bytes)]

    def _fire(self, name: str, now: float) -> list[Action]:
        if name == "A" and self.state is State.CALLING:
            self._interval *= 2
            self.timers["A"] = now + self._interval
            return [Send(self.request_bytes)]
        if name == "B" and self.state is State.CALLING:
            return [TimedOut("B"), *self._terminate()]
        if name in ("D", "M"):
            return self._terminate()
        return []

    def on_response(self, resp: Response, now: float) -> list[Action]:
        if self.state in (State.CALLING, State.PROCEEDING):
            return self._first_responses(resp, now)
        if self.state is State.COMPLETED and resp.status >= 300:
            return [Send(self._ack_bytes)]  # retransmitted final: ACK again, do not pass up
        if self.state is State.ACCEPTED and 200 <= resp.status < 300:
            return [PassUp(resp)]  # RFC 6026: 2xx retransmissions go to the TU (it ACKs)
        return []

    def _first_responses(self, resp: Response, now: float) -> list[Action]:
        self.last_response = resp
        if resp.status < 200:
            self.state = State.PROCEEDING
            self.timers.pop("A", None)
            self.timers.pop("B", None)
            return [PassUp(resp)]
        self.timers.pop("A", None)
        self.timers.pop("B", None)
        if resp.status < 300:
            self.state = State.ACCEPTED
            self.timers["M"] = now + 64 * T1
            return [PassUp(resp)]
        self.state = State.COMPLETED
        self._ack_bytes = build_ack_for(self.request, resp).serialize()
        actions: list[Action] = [Send(self._ack_bytes), PassUp(resp)]
        return actions + self._wait("D", now, TIMER_D_UDP)


class ClientNonInvite(ClientTransaction):
    """NICT: Trying -> Proceeding -> Completed -> Terminated."""

    kind = "nict"
    _interval = T1

    def start(self, now: float) -> list[Action]:
        self.state = State.TRYING
        if not self.reliable:
            self.timers["E"] = now + T1
        self.timers["F"] = now + 64 * T1
        self._interval = T1
        return [Send(self.request_bytes)]

    def _fire(self, name: str, now: float) -> list[Action]:
        if name == "E" and self.state in (State.TRYING, State.PROCEEDING):
            self._interval = T2 if self.state is State.PROCEEDING else min(2 * self._interval, T2)
            self.timers["E"] = now + self._interval
            return [Send(self.request_bytes)]
        if name == "F" and self.state in (State.TRYING, State.PROCEEDING):
            return [TimedOut("F"), *self._terminate()]
        if name == "K":
            return self._terminate()
        return []

    def on_response(self, resp: Response, now: float) -> list[Action]:
        if self.state not in (State.TRYING, State.PROCEEDING):
            return []  # Completed absorbs retransmitted finals (§17.1.2.2)
        self.last_response = resp
        if resp.status < 200:
            self.state = State.PROCEEDING
            return [PassUp(resp)]
        self.state = State.COMPLETED
        self.timers.pop("E", None)
        self.timers.pop("F", None)
        return [PassUp(resp), *self._wait("K", now, T4)]


class ServerTransaction(Transaction):
    """What IST and NIST share. Neither keeps the request nor the response objects: a server
    transaction lives 32 s after its final response (timers J, L) and only ever needs the bytes
    to repeat, so keeping the parsed messages would leave dozens of objects per call for the
    garbage collector to walk (docs/performance.md)."""

    def __init__(self, key: str, request: Request, reliable: bool, now: float) -> None:
        super().__init__(key, reliable, now)
        self.method = request.method
        self.last_status = 0
        self._last_to = ""  # the To header of the last response, as text
        self._last_bytes: bytes | None = None

    @property
    def to_tag(self) -> str | None:
        """The To tag of the last response sent (a CANCEL's 200 repeats it, §9.2)."""
        if not self._last_to:
            return None
        try:
            return parse_name_addr(self._last_to).tag
        except SipSyntaxError:  # pragma: no cover - we wrote that header ourselves
            return None

    def on_request(self, req: Request, now: float) -> list[Action]:
        raise NotImplementedError

    def respond(self, resp: Response, now: float) -> list[Action]:
        raise NotImplementedError

    def _remember(self, resp: Response) -> bytes:
        self.last_status = resp.status
        self._last_to = resp.headers.get("to") or ""
        self._last_bytes = resp.serialize()
        return self._last_bytes

    def _resend(self) -> list[Action]:
        return [] if self._last_bytes is None else [Send(self._last_bytes)]


class ServerInvite(ServerTransaction):
    """IST: Proceeding -> Completed -> Confirmed | Accepted -> Terminated."""

    kind = "ist"
    _interval = T1

    def __init__(self, key: str, request: Request, reliable: bool, now: float) -> None:
        super().__init__(key, request, reliable, now)
        self.state = State.PROCEEDING
        # §17.2.1: 100 Trying unless the TU answers within 200 ms (most calls answered at
        # once never need it); a retransmitted INVITE before any response gets it at once.
        self._trying_for: Request | None = request
        self.timers["trying"] = now + TRYING_DELAY

    def on_request(self, req: Request, now: float) -> list[Action]:
        if req.method == "ACK":
            if self.state is State.COMPLETED:
                self.state = State.CONFIRMED
                self.timers.pop("G", None)
                self.timers.pop("H", None)
                return self._wait("I", now, T4)
            return []  # absorbed in Confirmed; a 2xx ACK never matches this transaction
        if self.state in (State.PROCEEDING, State.COMPLETED):
            if self._trying_for is not None:
                return self._trying()
            return self._resend()  # retransmitted INVITE: repeat the last response
        return []  # Accepted (RFC 6026) and Confirmed absorb retransmissions

    def _trying(self) -> list[Action]:
        """The deferred 100: only while due (Proceeding, nothing sent yet; any response or
        the end of the transaction cancels it)."""
        req, self._trying_for = self._trying_for, None
        self.timers.pop("trying", None)
        assert req is not None and self.state is State.PROCEEDING
        return [Send(self._remember(build_response(req, 100)))]

    def respond(self, resp: Response, now: float) -> list[Action]:
        if self._trying_for is not None:  # the TU answered first: no 100 needed
            self._trying_for = None
            self.timers.pop("trying", None)
        if self.state is State.ACCEPTED and 200 <= resp.status < 300:
            return [Send(self._remember(resp))]  # the TU retransmits its 2xx through here
        if self.state is not State.PROCEEDING:
            return []
        data = self._remember(resp)
        if resp.status < 200:
            return [Send(data)]
        if resp.status < 300:
            self.state = State.ACCEPTED
            self.timers["L"] = now + 64 * T1
            return [Send(data)]
        self.state = State.COMPLETED
        if not self.reliable:
            self._interval = T1
            self.timers["G"] = now + T1
        self.timers["H"] = now + 64 * T1
        return [Send(data)]

    def repeat_2xx(self) -> list[Action]:
        """RFC 6026 Accepted: the TU retransmits its unchanged 2xx; send the same bytes."""
        return self._resend() if self.state is State.ACCEPTED else []

    def _fire(self, name: str, now: float) -> list[Action]:
        if name == "trying":
            return self._trying()
        if name == "G" and self.state is State.COMPLETED:
            self._interval = min(2 * self._interval, T2)
            self.timers["G"] = now + self._interval
            return self._resend()
        if name == "H" and self.state is State.COMPLETED:
            return [TimedOut("H"), *self._terminate()]
        if name in ("I", "L"):
            return self._terminate()
        return []


class ServerNonInvite(ServerTransaction):
    """NIST: Trying -> Proceeding -> Completed -> Terminated."""

    kind = "nist"

    def on_request(self, req: Request, now: float) -> list[Action]:
        if self.state in (State.PROCEEDING, State.COMPLETED):
            return self._resend()
        return []  # Trying: the TU has not answered yet; the retransmission is absorbed

    def respond(self, resp: Response, now: float) -> list[Action]:
        if self.state not in (State.TRYING, State.PROCEEDING):
            return []
        data = self._remember(resp)
        if resp.status < 200:
            self.state = State.PROCEEDING
            return [Send(data)]
        self.state = State.COMPLETED
        return [Send(data), *self._wait("J", now, 64 * T1)]

    def _fire(self, name: str, now: float) -> list[Action]:
        if name == "J":
            return self._terminate()
        return []
