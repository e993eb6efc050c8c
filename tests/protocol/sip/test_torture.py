"""RFC 4475 torture messages through the endpoint and UAS core, in memory.

Every valid message gets its correct answer (or reaches the application as an event); every
invalid one gets the right 4xx or is dropped; nothing raises.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from callcenter.sip.endpoint import Address, SipEndpoint
from callcenter.sip.message import Response, parse_message
from callcenter.sip.ua import IncomingCall, NonDialogRequest, UserAgent

HERE = Path(__file__).resolve()
CANDIDATES = [Path("/work/shared/testdata/sip-torture")] + [
    p / "shared" / "testdata" / "sip-torture" for p in HERE.parents
]
TORTURE = next((p for p in CANDIDATES if p.is_dir()), CANDIDATES[0])

# name -> expected: a status, "call" (IncomingCall), "app" (NonDialogRequest), None (drop).
# wsinv carries a To tag for a dialog we do not have: 481 (§12.2.2).
EXPECTED: dict[str, int | str | None] = {
    # 3.1.1 valid messages
    "wsinv": 481, "intmeth": 501, "esc01": "call", "escnull": "app", "esc02": 501,
    "lwsdisp": 200, "longreq": "call", "dblreq": "app", "semiuri": 200, "transports": 200,
    "mpart01": 405, "unreason": None, "noreason": None,
    # 3.1.2 invalid messages
    "badinv01": 400, "clerr": 400, "scalar02": 400, "scalarlg": None, "quotbal": 400,
    "ltgtruri": 400, "lwsruri": 400, "lwsstart": 400, "trws": 400, "escruri": 400,
    "baddate": 400, "regbadct": 400, "badaspec": 400, "baddn": 400, "badvers": 505,
    "mismatch01": 400, "mismatch02": 400, "bigcode": None, "ncl": 400,
    # 3.2 transaction layer, 3.3 application layer, 3.4 backward compatibility
    "badbranch": 200, "insuf": 400, "unkscm": 416, "novelsc": 416, "unksm2": "app",
    "bext01": 420, "invut": 415, "regaut01": "app", "multi01": 400, "mcl01": 400,
    "bcast": None, "zeromf": 200, "cparam01": "app", "cparam02": "app", "regescrt": "app",
    "sdp01": 406, "inv2543": "call",
}  # fmt: skip


def test_table_covers_the_corpus() -> None:
    names = {p.stem for p in TORTURE.glob("*.dat")}
    assert len(names) == 49
    assert names == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_torture_message(name: str) -> None:
    ep = SipEndpoint(random.Random(7))
    ua = UserAgent(ep, random.Random(8))
    source = Address("udp", "192.0.2.99", 5060)
    ep.receive((TORTURE / f"{name}.dat").read_bytes(), source, 1000.0)
    ua.process(1000.0)
    sent = [parse_message(d) for d, dest in ep.outgoing]
    assert all(dest == source for _, dest in ep.outgoing), "replies go to the source address"
    statuses = [m.status for m in sent if isinstance(m, Response) and m.status >= 200]
    expected = EXPECTED[name]
    if expected is None:
        assert not ep.outgoing
    elif expected == "call":
        assert not sent  # the TU may answer within 200 ms (§17.2.1) ...
        assert any(isinstance(e, IncomingCall) for e in ua.events)
        ep.handle_timer(1000.2)  # ... it did not: 100 Trying
        later = [parse_message(d) for d, dest in ep.outgoing]
        assert [m.status for m in later if isinstance(m, Response)] == [100]
        assert all(dest == source for _, dest in ep.outgoing)
    elif expected == "app":
        assert not statuses
        assert [type(e) for e in ua.events] == [NonDialogRequest]
    else:
        assert statuses == [expected], sent
        resp = sent[-1]
        assert isinstance(resp, Response)
        if expected == 420:
            assert "nothingSupportsThis" in (resp.headers.get("unsupported") or "")
        if expected == 415:
            assert resp.headers.get("accept") == "application/sdp"


def test_transports_via_structure() -> None:
    msg = parse_message((TORTURE / "transports.dat").read_bytes())
    assert [v.transport for v in msg.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]
