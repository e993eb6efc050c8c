"""UAC <-> UAS in memory: call setup, retransmission, timeouts, CANCEL races, glare."""

from __future__ import annotations

from callcenter.sip.endpoint import Address
from callcenter.sip.ua import (
    CallConfirmed,
    CallEnded,
    CallFailed,
    CallProgress,
    IncomingCall,
    InDialogRequest,
    InDialogResponse,
)

from .harness import Net, Node, first_line

SDP = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 0\r\n"
)


def setup(transport: str = "udp") -> tuple[Net, Node, Node]:
    net = Net(transport=transport)
    a = net.add("alice", "127.0.0.1", 5070)
    b = net.add("bob", "127.0.0.2", 5060)
    return net, a, b


def call(net: Net, a: Node, b: Node):  # type: ignore[no-untyped-def]
    c = a.ua.invite(
        b.address,
        "sip:9196@127.0.0.2",
        "<sip:alice@127.0.0.1>",
        "<sip:9196@127.0.0.2>",
        SDP,
        net.now,
    )
    net.pump()
    incoming = [e for e in b.inbox if isinstance(e, IncomingCall)]
    assert len(incoming) == 1
    return c, incoming[0].call


def test_basic_call_and_bye() -> None:
    net, a, b = setup()
    out, inc = call(net, a, b)
    assert inc.called == "9196" and inc.caller == "alice"
    b.ua.ring(inc, net.now)
    net.pump()
    assert any(isinstance(e, CallProgress) for e in a.inbox)
    b.ua.answer(inc, SDP, net.now)
    net.pump()
    assert any(isinstance(e, CallConfirmed) and e.call is out for e in a.inbox)
    assert any(isinstance(e, CallConfirmed) and e.call is inc for e in b.inbox)
    assert out.remote_sdp == SDP
    a.ua.bye(out, net.now)
    net.pump()
    ended = [e for e in b.inbox if isinstance(e, CallEnded)]
    assert ended and ended[0].reason == "remote bye"
    assert not a.ua.calls and not b.ua.calls
    net.advance(40)
    assert a.ua.endpoint.transaction_count == 0
    assert b.ua.endpoint.transaction_count == 0


def test_invite_retransmitted_until_100_and_absorbed() -> None:
    net, a, b = setup()
    dropped: list[str] = []

    def lose_first_invite(data: bytes, src: Address, dst: Address) -> bool:
        if data.startswith(b"INVITE") and not dropped:
            dropped.append("x")
            return False
        return True

    net.filter = lose_first_invite
    a.ua.invite(b.address, "sip:x@127.0.0.2", "<sip:a@h>", "<sip:x@h>", SDP, net.now)
    net.pump()
    assert not [e for e in b.inbox if isinstance(e, IncomingCall)]
    net.advance(0.6)  # timer A fires at T1
    assert len([e for e in b.inbox if isinstance(e, IncomingCall)]) == 1
    invites = [d for d in a.sent if d.startswith(b"INVITE")]
    assert len(invites) == 2
    net.advance(5)  # after 100 Trying nothing more is retransmitted
    assert len([d for d in a.sent if d.startswith(b"INVITE")]) == 2
    assert len([e for e in b.inbox if isinstance(e, IncomingCall)]) == 1


def test_timeout_gives_408() -> None:
    net, a, b = setup()
    net.filter = lambda data, src, dst: False
    out = a.ua.invite(b.address, "sip:x@127.0.0.2", "<sip:a@h>", "<sip:x@h>", SDP, net.now)
    net.advance(33, step=0.5)
    failed = [e for e in a.inbox if isinstance(e, CallFailed)]
    assert failed and failed[0].status == 408 and failed[0].call is out
    # Timer A doubled: 0.5, 1, 2, 4, 8, 16 -> 7 INVITEs in 32 s
    assert len([d for d in a.sent if d.startswith(b"INVITE")]) == 7


def test_2xx_retransmitted_until_ack() -> None:
    net, a, b = setup()
    _out, inc = call(net, a, b)
    acks: list[int] = []

    def lose_two_acks(data: bytes, src: Address, dst: Address) -> bool:
        if data.startswith(b"ACK") and len(acks) < 2:
            acks.append(1)
            return False
        return True

    net.filter = lose_two_acks
    b.ua.answer(inc, SDP, net.now)
    net.pump()
    assert not any(isinstance(e, CallConfirmed) for e in b.inbox)
    net.advance(2)
    oks = [d for d in b.sent if first_line(d) == "SIP/2.0 200 OK"]
    assert len(oks) >= 3  # original + two retransmissions, each ACKed again by the UAC
    assert any(isinstance(e, CallConfirmed) and e.call is inc for e in b.inbox)
    before = len(oks)
    net.advance(10)
    assert len([d for d in b.sent if first_line(d) == "SIP/2.0 200 OK"]) == before


def test_no_ack_ends_with_bye() -> None:
    net, a, b = setup()
    _out, inc = call(net, a, b)
    net.filter = lambda data, src, dst: not data.startswith(b"ACK")
    b.ua.answer(inc, SDP, net.now)
    net.advance(40, step=0.25)
    assert any(isinstance(e, CallEnded) and e.reason == "no ack" for e in b.inbox)
    assert any(d.startswith(b"BYE") for d in b.sent)


def test_cancel_before_answer_gets_487() -> None:
    net, a, b = setup()
    out, inc = call(net, a, b)
    b.ua.ring(inc, net.now)
    net.pump()
    a.ua.bye(out, net.now)  # ringing: becomes CANCEL
    net.pump()
    assert any(first_line(d).startswith("SIP/2.0 487") for d in b.sent)
    assert any(first_line(d) == "SIP/2.0 200 OK" and b"CANCEL" in d for d in b.sent)
    assert any(isinstance(e, CallEnded) and e.reason == "cancelled" for e in b.inbox)
    failed = [e for e in a.inbox if isinstance(e, CallFailed)]
    assert failed and failed[0].status == 487


def test_cancel_racing_200_ends_with_bye() -> None:
    net, a, b = setup()
    out, inc = call(net, a, b)
    a.ua.cancel(out, net.now)  # CANCEL in flight...
    b.ua.answer(inc, SDP, net.now)  # ...while the UAS answers
    net.pump()
    # The UAS answered first, so the CANCEL found no pending INVITE to end; the UAC must
    # ACK the 2xx and then BYE (§9.1).
    assert any(d.startswith(b"BYE") for d in a.sent)
    assert any(isinstance(e, CallFailed) and e.status == 487 for e in a.inbox)
    assert any(isinstance(e, CallEnded) for e in b.inbox)


def test_reinvite_hold_and_glare() -> None:
    net, a, b = setup()
    out, inc = call(net, a, b)
    b.ua.answer(inc, SDP, net.now)
    net.pump()
    hold = SDP.replace(b"m=audio", b"a=sendonly\r\nm=audio")
    txn_a = a.ua.request(out, "INVITE", net.now, hold, "application/sdp")
    txn_b = b.ua.request(inc, "INVITE", net.now, SDP, "application/sdp")
    assert txn_a and txn_b
    net.pump()
    statuses = [first_line(d) for d in a.sent + b.sent if d.startswith(b"SIP/2.0 491")]
    assert len(statuses) == 2  # both sides detect glare (§14.2)
    assert any(isinstance(e, InDialogResponse) and e.response.status == 491 for e in a.inbox)
    # After glare a clean re-INVITE goes through and is handed to the app
    a.ua.request(out, "INVITE", net.now, hold, "application/sdp")
    net.pump()
    reqs = [e for e in b.inbox if isinstance(e, InDialogRequest) and e.request.method == "INVITE"]
    assert reqs
    b.ua.respond(
        reqs[-1].txn, reqs[-1].request, 200, net.now, body=SDP, content_type="application/sdp"
    )
    net.pump()
    assert any(isinstance(e, InDialogResponse) and e.response.status == 200 for e in a.inbox)
    assert any(d.startswith(b"ACK") for d in a.sent)


def test_info_dtmf_in_dialog() -> None:
    net, a, b = setup()
    out, inc = call(net, a, b)
    b.ua.answer(inc, SDP, net.now)
    net.pump()
    a.ua.request(out, "INFO", net.now, b"Signal=5\r\nDuration=160\r\n", "application/dtmf-relay")
    net.pump()
    infos = [e for e in b.inbox if isinstance(e, InDialogRequest) and e.request.method == "INFO"]
    assert infos and infos[0].request.body.startswith(b"Signal=5")


def test_bye_for_unknown_dialog_gets_481() -> None:
    net, a, b = setup()
    out, inc = call(net, a, b)
    b.ua.answer(inc, SDP, net.now)
    net.pump()
    assert out.dialog is not None
    out.dialog.remote_tag = "nonexistent"
    bye = out.dialog.new_request("BYE")
    a.ua.endpoint.send_request(bye, b.address, net.now)
    net.pump()
    assert any(first_line(d).startswith("SIP/2.0 481") for d in b.sent)


def test_tcp_no_retransmissions() -> None:
    net, a, b = setup("tcp")
    net.filter = lambda data, src, dst: False
    a.ua.invite(b.address, "sip:x@127.0.0.2", "<sip:a@h>", "<sip:x@h>", SDP, net.now)
    net.advance(33, step=0.5)
    assert len([d for d in a.sent if d.startswith(b"INVITE")]) == 1
    assert any(isinstance(e, CallFailed) and e.status == 408 for e in a.inbox)


def test_find_dialog_by_replaces_from_either_side() -> None:
    """RFC 3891 §3: Call-ID and tags name one live dialog, whichever side built the header."""
    from callcenter.sip.replaces import Replaces

    net, a, b = setup()
    out, inc = call(net, a, b)
    b.ua.answer(inc, SDP, net.now)
    net.pump()
    assert out.dialog is not None and inc.dialog is not None
    cid, a_tag, b_tag = out.invite.call_id, out.dialog.local_tag, out.dialog.remote_tag
    assert b.ua.find_dialog(Replaces(cid, b_tag, a_tag)) is inc  # to-tag = b's local tag
    assert b.ua.find_dialog(Replaces(cid, a_tag, b_tag)) is inc  # built from a's side
    assert a.ua.find_dialog(Replaces(cid, a_tag, b_tag)) == out
    assert b.ua.find_dialog(Replaces(cid, b_tag, "nope")) is None
    assert b.ua.find_dialog(Replaces("other", b_tag, a_tag)) is None
    a.ua.bye(out, net.now)
    net.pump()
    assert b.ua.find_dialog(Replaces(cid, b_tag, a_tag)) is None  # ended
