"""A UAC answers a trunk's digest challenge on INVITE (RFC 3261 §22.2), and requests outside
calls (a trunk REGISTER) get their final response or a timeout through ``UserAgent.send``."""

from __future__ import annotations

from callcenter.sip.auth import DigestChallenger, DigestCredentials, compute_ha1
from callcenter.sip.message import Headers, Request, Response, parse_message
from callcenter.sip.responses import build_response
from callcenter.sip.ua import CallConfirmed, CallFailed, IncomingCall

from .harness import Net, first_line
from .test_calls import SDP


class Lookup:
    def __init__(self, user: str, realm: str, password: str) -> None:
        self.ha1s = {a: compute_ha1(user, realm, password, a) for a in ("MD5", "SHA-256")}

    def ha1(self, username: str, realm: str, algorithm: str) -> str | None:
        return self.ha1s.get(algorithm) if username == "trunkuser" else None


def carrier_answers(net: Net, password_ok: bool) -> tuple[list[IncomingCall], int]:
    """Run the carrier side: challenge INVITEs without valid credentials, answer the rest."""
    challenger = DigestChallenger("carrier.example", b"k" * 32, algorithms=("MD5",))
    lookup = Lookup("trunkuser", "carrier.example", "right" if password_ok else "other")
    carrier = net.nodes[("127.0.0.2", 5060)]
    answered, challenged = [], 0
    for _ in range(6):
        net.pump()
        for ev in list(carrier.inbox):
            carrier.inbox.remove(ev)
            if not isinstance(ev, IncomingCall):
                continue
            result = challenger.verify(ev.call.invite, lookup, net.now)
            if result.ok:
                carrier.ua.answer(ev.call, SDP, net.now)
                answered.append(ev)
            else:
                challenged += 1
                resp = build_response(ev.call.invite, 401, to_tag=ev.call.local_tag,
                                      headers=[("www-authenticate", h) for h in
                                               challenger.challenge_headers(net.now)])  # fmt: skip
                carrier.ua.endpoint.respond(ev.call.invite_txn, resp, net.now)
    net.pump()
    return answered, challenged


def test_invite_retried_with_credentials() -> None:
    net = Net()
    us = net.add("cc", "127.0.0.1", 5060)
    net.add("carrier", "127.0.0.2", 5060)
    creds = DigestCredentials("trunkuser", password="right")
    call = us.ua.invite(net.nodes[("127.0.0.2", 5060)].address, "sip:+8613800000001@127.0.0.2",
                        "<sip:95598@127.0.0.1>", "<sip:+8613800000001@127.0.0.2>", SDP, net.now,
                        credentials=creds)  # fmt: skip
    answered, challenged = carrier_answers(net, password_ok=True)
    assert challenged == 1 and len(answered) == 1
    assert any(isinstance(e, CallConfirmed) and e.call is call for e in us.inbox)
    invites = [d for d in us.sent if d.startswith(b"INVITE")]
    assert len(invites) == 2 and b"Authorization: Digest" in invites[1]
    first, second = (parse_message(d) for d in invites)
    assert second.cseq.number == first.cseq.number + 1  # a new transaction, CSeq + 1 (§22.2)
    assert second.call_id == first.call_id and second.from_.tag == first.from_.tag


def test_wrong_trunk_password_fails_after_one_retry() -> None:
    net = Net()
    us = net.add("cc", "127.0.0.1", 5060)
    net.add("carrier", "127.0.0.2", 5060)
    creds = DigestCredentials("trunkuser", password="wrong")
    us.ua.invite(net.nodes[("127.0.0.2", 5060)].address, "sip:1@127.0.0.2", "<sip:a@h>",
                 "<sip:1@h>", SDP, net.now, credentials=creds)  # fmt: skip
    answered, challenged = carrier_answers(net, password_ok=True)
    assert not answered and challenged == 2
    failed = [e for e in us.inbox if isinstance(e, CallFailed)]
    assert failed and failed[0].status == 401


def test_send_outside_calls_gets_final_or_timeout() -> None:
    net = Net()
    us = net.add("cc", "127.0.0.1", 5060)
    peer = net.add("peer", "127.0.0.2", 5060)
    got: list[Response | None] = []
    h = Headers()
    for name, value in (("from", "<sip:cc@h>;tag=1"), ("to", "<sip:peer@h>"),
                        ("call-id", "opt-1"), ("cseq", "1 OPTIONS")):  # fmt: skip
        h.set(name, value)
    us.ua.send(Request("OPTIONS", "sip:peer@127.0.0.2", h), peer.address, net.now, got.append)
    net.pump()
    assert len(got) == 1 and got[0] is not None and got[0].status == 200
    net.filter = lambda data, src, dst: False
    h2 = h.copy()
    h2.set("call-id", "opt-2")
    us.ua.send(Request("OPTIONS", "sip:peer@127.0.0.2", h2), peer.address, net.now, got.append)
    net.advance(40, step=0.5)
    assert got[-1] is None
    assert first_line(us.sent[0]).startswith("OPTIONS")
