"""Hypothesis over every (state, input) pair of the four transaction machines and the dialog.

A machine either moves along an edge of its RFC 3261 figure or stays put; once terminated it
produces nothing; over reliable transports it never retransmits; left alone it ends.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.sip.dialog import Dialog
from callcenter.sip.endpoint import Address
from callcenter.sip.message import Headers, Request, Response
from callcenter.sip.responses import build_response
from callcenter.sip.transaction import (
    ClientInvite,
    ClientNonInvite,
    PassUp,
    Send,
    ServerInvite,
    ServerNonInvite,
    State,
    Terminated,
    TimedOut,
    Transaction,
)

S = State
EDGES = {
    "ict": {(S.CALLING, S.PROCEEDING), (S.CALLING, S.COMPLETED), (S.CALLING, S.ACCEPTED),
            (S.CALLING, S.TERMINATED), (S.PROCEEDING, S.COMPLETED), (S.PROCEEDING, S.ACCEPTED),
            (S.COMPLETED, S.TERMINATED), (S.ACCEPTED, S.TERMINATED),
            (S.PROCEEDING, S.TERMINATED)},
    "nict": {(S.TRYING, S.PROCEEDING), (S.TRYING, S.COMPLETED), (S.TRYING, S.TERMINATED),
             (S.PROCEEDING, S.COMPLETED), (S.PROCEEDING, S.TERMINATED),
             (S.COMPLETED, S.TERMINATED)},
    "ist": {(S.PROCEEDING, S.COMPLETED), (S.PROCEEDING, S.ACCEPTED), (S.COMPLETED, S.CONFIRMED),
            (S.COMPLETED, S.TERMINATED), (S.CONFIRMED, S.TERMINATED), (S.ACCEPTED, S.TERMINATED),
            (S.PROCEEDING, S.TERMINATED)},
    "nist": {(S.TRYING, S.PROCEEDING), (S.TRYING, S.COMPLETED), (S.PROCEEDING, S.COMPLETED),
             (S.COMPLETED, S.TERMINATED), (S.TRYING, S.TERMINATED),
             (S.PROCEEDING, S.TERMINATED)},
}  # fmt: skip
STATUSES = [100, 180, 183, 200, 202, 302, 401, 404, 487, 500, 603]
DELAYS = [0.0, 0.1, 0.5, 1.0, 4.0, 5.0, 16.0, 32.0, 40.0]


def request(method: str) -> Request:
    h = Headers()
    h.set("via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc")
    h.set("from", "<sip:a@h>;tag=1")
    h.set("to", "<sip:b@h>")
    h.set("call-id", "c1")
    h.set("cseq", f"1 {method}")
    return Request(method, "sip:b@h", h)


client_inputs = st.lists(
    st.one_of(
        st.tuples(st.just("response"), st.sampled_from(STATUSES)),
        st.tuples(st.just("timer"), st.sampled_from(DELAYS)),
        st.tuples(st.just("error"), st.just(0)),
    ),
    max_size=25,
)
server_inputs = st.lists(
    st.one_of(
        st.tuples(st.just("respond"), st.sampled_from(STATUSES)),
        st.tuples(st.just("retransmit"), st.just(0)),
        st.tuples(st.just("ack"), st.just(0)),
        st.tuples(st.just("timer"), st.sampled_from(DELAYS)),
        st.tuples(st.just("error"), st.just(0)),
    ),
    max_size=25,
)


def check_step(txn: Transaction, before: State, actions: list, kind: str, now: float) -> None:  # type: ignore[type-arg]
    after = txn.state
    if before is not after:
        assert (before, after) in EDGES[kind], (kind, before, after)
    if before is S.TERMINATED:
        assert actions == []
    if any(isinstance(a, Terminated) for a in actions):
        assert after is S.TERMINATED
        assert not txn.timers
    for at in txn.timers.values():
        assert at >= now


def run_out(txn: Transaction, now: float) -> float:
    for _ in range(200):
        deadline = txn.next_deadline()
        if deadline is None:
            break
        now = max(now, deadline)
        txn.on_timer(now)
    return now


@settings(max_examples=300, deadline=None)
@given(client_inputs, st.booleans(), st.booleans())
def test_client_machines(inputs: list[tuple[str, int]], invite: bool, reliable: bool) -> None:
    now = 0.0
    req = request("INVITE" if invite else "OPTIONS")
    txn: Transaction = (ClientInvite if invite else ClientNonInvite)("k", req, reliable, now)
    kind = "ict" if invite else "nict"
    actions = txn.start(now)  # type: ignore[attr-defined]
    sends = [a for a in actions if isinstance(a, Send)]
    finals = 0
    for op, value in inputs:
        before = txn.state
        if op == "response":
            resp = build_response(req, value, to_tag="t")
            actions = txn.on_response(resp, now)  # type: ignore[attr-defined]
            finals += value >= 300 and invite
        elif op == "timer":
            now += value
            actions = txn.on_timer(now)
        else:
            actions = txn.transport_error()
        check_step(txn, before, actions, kind, now)
        sends += [a for a in actions if isinstance(a, Send)]
    if reliable:
        requests = [s for s in sends if s.data.startswith(req.method.encode())]
        assert len(requests) == 1  # no retransmission over TCP/TLS
    now = run_out(txn, now)
    if txn.state is not S.PROCEEDING or not invite:
        assert txn.state in (S.TERMINATED, S.PROCEEDING)


@settings(max_examples=300, deadline=None)
@given(server_inputs, st.booleans(), st.booleans())
def test_server_machines(inputs: list[tuple[str, int]], invite: bool, reliable: bool) -> None:
    now = 0.0
    req = request("INVITE" if invite else "OPTIONS")
    cls = ServerInvite if invite else ServerNonInvite
    txn = cls("k", req, reliable, now)
    kind = "ist" if invite else "nist"
    responded_final = False
    responded = False  # anything sent yet (a response, or the deferred 100 Trying)
    for op, value in inputs:
        before = txn.state
        if op == "respond":
            responded = True
            actions = txn.respond(build_response(req, value, to_tag="t"), now)
            if before in (S.TRYING, S.PROCEEDING) and value >= 200:
                responded_final = True
        elif op == "retransmit":
            actions = txn.on_request(req, now)
            assert not any(isinstance(a, PassUp) for a in actions)
        elif op == "ack":
            ack = request("ACK")
            actions = txn.on_request(ack, now)
        elif op == "timer":
            now += value
            actions = txn.on_timer(now)
        else:
            actions = txn.transport_error()
        check_step(txn, before, actions, kind, now)
        sent = [a.data for a in actions if isinstance(a, Send)]
        if invite and not responded and op in ("timer", "retransmit"):
            # §17.2.1: nothing answered yet: the 100 Trying goes out after 200 ms or on a
            # retransmission, once, over any transport
            assert all(d.startswith(b"SIP/2.0 100 ") for d in sent), sent
            responded = bool(sent) or responded
            assert bool(sent) == (txn.state is S.PROCEEDING and (op == "retransmit" or now >= 0.2))
        elif reliable and op == "timer":
            assert not sent
    run_out(txn, now)
    if responded_final:
        assert txn.state is S.TERMINATED


def test_ist_timeout_without_ack() -> None:
    req = request("INVITE")
    txn = ServerInvite("k", req, False, 0.0)
    txn.respond(build_response(req, 486, to_tag="t"), 0.0)
    sends = 0
    timed_out = False
    now = 0.0
    while txn.state is not S.TERMINATED:
        now = txn.next_deadline() or now
        for a in txn.on_timer(now):
            sends += isinstance(a, Send)
            timed_out = timed_out or isinstance(a, TimedOut)
    assert timed_out and now == 32.0
    assert sends >= 9  # G: 0.5, 1, 2, 4, 4, 4 ... until H at 64*T1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["INFO", "BYE", "INVITE", "ACK", "NOTIFY"]),
                          st.integers(0, 2**31 - 1)), max_size=20))  # fmt: skip
def test_dialog_cseq_order(reqs: list[tuple[str, int]]) -> None:
    invite = request("INVITE")
    invite.headers.set("contact", "<sip:a@10.0.0.1>")
    d = Dialog.as_uas(invite, "lt", "sip:me@h", Address("udp", "127.0.0.1", 5070), 1)
    highest = d.remote_seq
    for method, seq in reqs:
        r = request(method)
        r.headers.set("cseq", f"{seq} {method}")
        r.headers.set("contact", f"<sip:new{seq}@h>")
        before_target = d.remote_target
        err = d.receive_request(r)
        if method == "ACK":
            assert err is None
            continue
        assert highest is not None
        if seq <= highest:
            assert err == 500
            assert d.remote_target == before_target
        else:
            assert err is None
            highest = seq
            if method == "INVITE":
                assert d.remote_target == f"sip:new{seq}@h"
        assert d.remote_seq == highest
    out = d.new_request("BYE")
    assert out.cseq.number == 2 and out.uri == d.remote_target
    assert out.to.tag == "1" and out.from_.tag == "lt"


def test_uac_dialog_route_set_reversed() -> None:
    invite = request("INVITE")
    resp = Response(200, "OK", invite.headers.copy())
    resp.headers.set("to", "<sip:b@h>;tag=rt")
    resp.headers.set("record-route", ["<sip:p1;lr>", "<sip:p2;lr>"])
    resp.headers.set("contact", "<sip:b@10.0.0.2>")
    d = Dialog.as_uac(invite, resp, Address("udp", "127.0.0.1", 5060), "sip:me@h")
    assert d.route_set == ["<sip:p2;lr>", "<sip:p1;lr>"]
    bye = d.new_request("BYE")
    assert bye.headers.get_all("route") == d.route_set and bye.uri == "sip:b@10.0.0.2"
