"""The registrar (RFC 3261 §10.3): auth, contacts, expiry, ordering, events, torture cases."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.sip.auth import DigestChallenger, build_authorization, parse_auth_params
from callcenter.sip.message import Headers, Request, Response, parse_message
from callcenter.sip.registrar import (
    Binding,
    ContactRefreshed,
    ContactRegistered,
    ContactRemoved,
    Registrar,
    RegistrationRejected,
)
from callcenter.sip.uri import parse_name_addr
from tests.unit.sip.test_auth import DictLookup
from tests.unit.sip.test_message import load

REALM = "callcenter.test"
RURI = "sip:callcenter.test"
SOURCE = ("udp", "192.0.2.7", 5062)
USERS = {"1001": "pw-1001", "1002": "pw-1002"}


def make_registrar(**kwargs: int) -> Registrar:
    challenger = DigestChallenger(REALM, b"registrar-secret", nonce_ttl=60.0)
    return Registrar(REALM, challenger, DictLookup(USERS, REALM), **kwargs)


def request(
    *contacts: str,
    user: str = "1001",
    call_id: str = "call-1",
    cseq: int = 1,
    expires: str | None = None,
    ruri: str = RURI,
) -> Request:
    h = Headers()
    h.set("via", "SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKx;rport")
    h.set("from", f"<sip:{user}@callcenter.test>;tag=f1")
    h.set("to", f"<sip:{user}@callcenter.test>")
    h.set("call-id", call_id)
    h.set("cseq", f"{cseq} REGISTER")
    for contact in contacts:
        h.add("contact", contact)
    if expires is not None:
        h.set("expires", expires)
    return Request("REGISTER", ruri, h)


def authorize(
    reg: Registrar, req: Request, now: float, *, user: str = "1001", password: str | None = None
) -> Request:
    """Answer a fresh challenge of ``reg`` and pass the request through bytes."""
    challenge = reg.challenger.challenge_headers(now)[0]
    value = build_authorization(
        challenge, req.method, req.uri, user, password or USERS[user], cnonce="cn"
    )
    req.headers.set("authorization", value)
    parsed = parse_message(req.serialize())
    assert isinstance(parsed, Request)
    return parsed


def send(reg: Registrar, req: Request, now: float, **kw: str) -> tuple[Response, list[object]]:
    resp, events = reg.handle(authorize(reg, req, now, **kw), SOURCE, now)
    again = parse_message(resp.serialize())
    assert isinstance(again, Response)
    return again, list(events)


def contact_expiries(resp: Response) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in resp.headers.get_all("contact"):
        na = parse_name_addr(value)
        out[str(na.uri)] = int(na.params["expires"] or -1)
    return out


A = "sip:1001@192.0.2.7:5062"
B = "sip:1001@198.51.100.9:5060;transport=tcp"


# ---------------------------------------------------------------- authentication


def test_no_credentials_gets_two_challenges_and_no_event() -> None:
    reg = make_registrar()
    resp, events = reg.handle(request(f"<{A}>"), SOURCE, 0.0)
    assert resp.status == 401
    challenges = resp.headers.get_all("www-authenticate")
    assert [parse_auth_params(c)[1]["algorithm"] for c in challenges] == ["SHA-256", "MD5"]
    assert resp.to.tag
    assert events == []
    assert reg.lookup("1001", 0.0) == []


def test_wrong_password_is_refused_and_reported_without_password() -> None:
    reg = make_registrar()
    resp, events = send(reg, request(f"<{A}>"), 0.0, password="hunter2-wrong")
    assert resp.status == 401
    assert events == [RegistrationRejected("1001", SOURCE, "bad response")]
    assert "hunter2-wrong" not in repr(events)
    assert reg.lookup("1001", 0.0) == []


def test_unknown_user_is_reported() -> None:
    reg = make_registrar()
    req = request(f"<{A}>", user="9999")
    resp, events = send(reg, req, 0.0, user="9999", password="x")
    assert resp.status == 401
    assert events == [RegistrationRejected("9999", SOURCE, "unknown user")]


def test_stale_nonce_is_challenged_again_silently() -> None:
    reg = make_registrar()
    req = authorize(reg, request(f"<{A}>"), 0.0)
    resp, events = reg.handle(req, SOURCE, 61.0)
    assert resp.status == 401
    assert all("stale=true" in v for v in resp.headers.get_all("www-authenticate"))
    assert events == []


def test_authenticated_user_must_own_the_address_of_record() -> None:
    reg = make_registrar()
    resp, events = send(reg, request(f"<{A}>", user="1002"), 0.0, user="1001")
    assert resp.status == 403
    assert events == [RegistrationRejected("1001", SOURCE, "username does not match aor")]


# ---------------------------------------------------------------- torture and malformed


def test_torture_unksm2_non_sip_to_is_400_before_auth() -> None:
    req = load("unksm2")
    assert isinstance(req, Request)
    resp, events = make_registrar().handle(req, SOURCE, 0.0)
    assert resp.status == 400
    assert events == [RegistrationRejected(None, SOURCE, "bad to uri scheme")]


def test_torture_regaut01_unknown_scheme_is_challenged() -> None:
    req = load("regaut01")
    assert isinstance(req, Request)
    resp, events = make_registrar().handle(req, SOURCE, 0.0)
    assert resp.status == 401 and resp.headers.get("www-authenticate")
    assert events == [RegistrationRejected(None, SOURCE, "unsupported scheme/algorithm")]


def test_torture_regbadct_unescaped_contact_is_400() -> None:
    reg = Registrar(REALM, DigestChallenger(REALM, b"k"), DictLookup({"user": "pw"}, REALM))
    req = load("regbadct")
    assert isinstance(req, Request)
    resp, _ = send(reg, req, 0.0, user="user", password="pw")
    assert resp.status == 400


def test_torture_regescrt_escaped_headers_in_contact_are_kept() -> None:
    reg = Registrar(REALM, DigestChallenger(REALM, b"k"), DictLookup({"user": "pw"}, REALM))
    req = load("regescrt")
    assert isinstance(req, Request)
    resp, events = send(reg, req, 0.0, user="user", password="pw")
    assert resp.status == 200
    contact = "sip:user@example.com?Route=%3Csip:sip.example.com%3E"
    assert events == [ContactRegistered("sip:user@example.com", contact, SOURCE, 3600)]
    assert [b.contact for b in reg.lookup("user", 1.0)] == [contact]


@pytest.mark.parametrize(
    ("to", "status"),
    [("<sip:callcenter.test>", 404), ("<sip:1001@callcenter.test", 400)],
)
def test_bad_address_of_record(to: str, status: int) -> None:
    req = request(f"<{A}>")
    req.headers.set("to", to)
    resp, _ = make_registrar().handle(req, SOURCE, 0.0)
    assert resp.status == status


@pytest.mark.parametrize(
    ("contacts", "expires"),
    [
        ((f"<{A}>;expires=soon",), None),
        ((f"<{A}>",), "-1"),
        ((f"<{A}>",), "1e3"),
        ((f"<{A}>;q=2",), None),
        ((f"<{A}>;q=abc",), None),
        ((f"<{A}>;q=nan",), None),
        (("*",), None),
        (("*",), "60"),
        (("*", f"<{A}>"), "0"),
    ],
)
def test_malformed_register_is_400(contacts: tuple[str, ...], expires: str | None) -> None:
    reg = make_registrar()
    resp, events = send(reg, request(*contacts, expires=expires), 0.0)
    assert resp.status == 400
    assert len(events) == 1 and isinstance(events[0], RegistrationRejected)
    assert reg.bindings() == {}


# ---------------------------------------------------------------- bindings


def test_register_default_expiry_and_source_kept() -> None:
    reg = make_registrar()
    resp, events = send(reg, request(f"<{A}>"), 10.0)
    assert resp.status == 200
    assert contact_expiries(resp) == {A: 3600}
    assert events == [ContactRegistered("sip:1001@callcenter.test", A, SOURCE, 3600)]
    (binding,) = reg.lookup("1001", 10.0)
    assert binding.source == SOURCE and binding.expires_at == 3610.0
    assert binding.remaining(100.0) == 3510 and binding.remaining(5000.0) == 0


@pytest.mark.parametrize(
    ("contact", "header", "granted"),
    [
        (f"<{A}>", "120", 120),
        (f"<{A}>;expires=300", "120", 300),
        (f"<{A}>;expires=7200", None, 3600),
        (f"<{A}>", "99999999999999999999", 3600),
        (f"<{A}>", "0000000000000000000090", 90),
        (f"<{A}>;expires=60", None, 60),
    ],
)
def test_expiry_sources_and_clamping(contact: str, header: str | None, granted: int) -> None:
    reg = make_registrar()
    resp, _ = send(reg, request(contact, expires=header), 0.0)
    assert resp.status == 200
    assert contact_expiries(resp) == {A: granted}


def test_too_brief_is_423_with_min_expires_and_changes_nothing() -> None:
    reg = make_registrar(min_expires=120)
    resp, events = send(reg, request(f"<{A}>", f"<{B}>;expires=30", expires="600"), 0.0)
    assert resp.status == 423
    assert resp.headers.get("min-expires") == "120"
    assert events == [RegistrationRejected("1001", SOURCE, "423")]
    assert reg.bindings() == {}


def test_multiple_contacts_and_q_order() -> None:
    reg = make_registrar()
    c = "sip:1001@203.0.113.5"
    resp, events = send(reg, request(f"<{A}>;q=0.5", f"<{B}>", f"<{c}>;q=0.9"), 0.0)
    assert resp.status == 200
    assert len(events) == 3 and all(isinstance(e, ContactRegistered) for e in events)
    assert [b.contact for b in reg.lookup("1001", 1.0)] == [B, c, A]
    assert "q=0.5" in str(resp.headers.get_all("contact"))


def test_equal_q_most_recent_first_and_refresh() -> None:
    reg = make_registrar()
    send(reg, request(f"<{A}>", call_id="x", cseq=1), 0.0)
    send(reg, request(f"<{B}>", call_id="y", cseq=1), 5.0)
    assert [b.contact for b in reg.lookup("1001", 6.0)] == [B, A]
    resp, events = send(reg, request(f"<{A}>", call_id="x", cseq=2, expires="600"), 10.0)
    assert events == [ContactRefreshed("sip:1001@callcenter.test", A, SOURCE, 600)]
    assert [b.contact for b in reg.lookup("1001", 11.0)] == [A, B]
    assert contact_expiries(resp) == {A: 600, B: 3595}


def test_contact_uris_compare_parsed() -> None:
    reg = make_registrar()
    send(reg, request("<sip:1001@Host.Example:5060;Transport=udp>"), 0.0)
    _, events = send(reg, request("<sip:1001@host.example:5060;transport=udp>", cseq=2), 1.0)
    assert [type(e) for e in events] == [ContactRefreshed]


def test_unregister_one_contact() -> None:
    reg = make_registrar()
    send(reg, request(f"<{A}>", f"<{B}>"), 0.0)
    resp, events = send(reg, request(f"<{A}>;expires=0", cseq=2), 1.0)
    assert resp.status == 200
    assert events == [ContactRemoved("sip:1001@callcenter.test", A, "unregistered")]
    assert contact_expiries(resp) == {B: 3599}
    _, events = send(reg, request(f"<{A}>", cseq=3, expires="0"), 2.0)
    assert events == []  # removing an unknown contact is not an event


def test_wildcard_removes_all_but_spares_newer_same_call_id() -> None:
    reg = make_registrar()
    send(reg, request(f"<{A}>", call_id="phone-a", cseq=5), 0.0)
    send(reg, request(f"<{B}>", call_id="phone-b", cseq=1), 0.0)
    resp, events = send(reg, request("*", call_id="phone-a", cseq=3, expires="0"), 1.0)
    assert resp.status == 200
    assert events == [ContactRemoved("sip:1001@callcenter.test", B, "unregistered")]
    assert contact_expiries(resp) == {A: 3599}
    _, events = send(reg, request("*", call_id="phone-a", cseq=6, expires="0"), 2.0)
    assert [type(e) for e in events] == [ContactRemoved]
    assert reg.bindings() == {}
    resp, events = send(reg, request("*", call_id="z", expires="0"), 3.0)
    assert (resp.status, events) == (200, [])


@pytest.mark.parametrize("cseq", [1, 2])
def test_out_of_order_cseq_same_call_id_is_500(cseq: int) -> None:
    reg = make_registrar()
    send(reg, request(f"<{A}>", cseq=2), 0.0)
    resp, events = send(reg, request(f"<{A}>", cseq=cseq, expires="600"), 1.0)
    assert resp.status == 500
    assert events == [RegistrationRejected("1001", SOURCE, "out of order register")]
    assert reg.lookup("1001", 1.0)[0].expires_at == 3600.0


def test_other_call_id_may_use_a_lower_cseq() -> None:
    reg = make_registrar()
    send(reg, request(f"<{A}>", call_id="before-reboot", cseq=90), 0.0)
    resp, events = send(reg, request(f"<{A}>", call_id="after-reboot", cseq=1), 1.0)
    assert resp.status == 200 and [type(e) for e in events] == [ContactRefreshed]


def test_update_is_all_or_nothing() -> None:
    reg = make_registrar()
    send(reg, request(f"<{A}>", cseq=5), 0.0)
    resp, _ = send(reg, request(f"<{B}>", f"<{A}>", cseq=4), 1.0)
    assert resp.status == 500
    assert [b.contact for b in reg.lookup("1001", 1.0)] == [A]


def test_query_without_contact_lists_bindings() -> None:
    reg = make_registrar()
    send(reg, request(f"<{A}>"), 0.0)
    resp, events = send(reg, request(cseq=2), 100.0)
    assert (resp.status, events) == (200, [])
    assert contact_expiries(resp) == {A: 3500}


def test_too_many_contacts_is_403() -> None:
    reg = make_registrar()
    reg.max_contacts = 2
    send(reg, request(f"<{A}>", f"<{B}>"), 0.0)
    resp, _ = send(reg, request("<sip:1001@203.0.113.1>", cseq=2), 1.0)
    assert resp.status == 403
    resp, _ = send(reg, request("<sip:1001@203.0.113.1>", f"<{A}>;expires=0", cseq=3), 1.0)
    assert resp.status == 200


def test_constructor_checks_limits() -> None:
    ch = DigestChallenger(REALM, b"k")
    with pytest.raises(ValueError):
        Registrar(REALM, ch, DictLookup(USERS), min_expires=0)
    with pytest.raises(ValueError):
        Registrar(REALM, ch, DictLookup(USERS), default_expires=7200)
    with pytest.raises(ValueError):
        Registrar("other.realm", ch, DictLookup(USERS))


def test_same_request_gets_the_same_to_tag() -> None:
    reg = make_registrar()
    req = request(f"<{A}>")
    first, _ = reg.handle(req, SOURCE, 0.0)
    second, _ = reg.handle(req, SOURCE, 0.5)
    assert first.to.tag == second.to.tag


# ---------------------------------------------------------------- expiry


def test_expire_and_next_deadline() -> None:
    reg = make_registrar()
    assert reg.next_deadline() is None
    send(reg, request(f"<{A}>", expires="100"), 0.0)
    send(reg, request(f"<{B}>", call_id="other", expires="300"), 0.0)
    assert reg.next_deadline() == 100.0
    send(reg, request(f"<{A}>", cseq=2, expires="200"), 50.0)  # refresh: old deadline stale
    assert reg.next_deadline() == 250.0
    assert reg.expire(249.0) == []
    assert [b.contact for b in reg.lookup("1001", 260.0)] == [B]  # filtered before expire()
    assert reg.expire(250.0) == [ContactRemoved("sip:1001@callcenter.test", A, "expired")]
    assert reg.next_deadline() == 300.0
    assert [type(e) for e in reg.expire(1000.0)] == [ContactRemoved]
    assert reg.next_deadline() is None and reg.bindings() == {}


def test_unregistered_binding_leaves_no_deadline() -> None:
    reg = make_registrar()
    send(reg, request(f"<{A}>", expires="100"), 0.0)
    send(reg, request(f"<{A}>", cseq=2, expires="0"), 1.0)
    assert reg.next_deadline() is None
    assert reg.expire(500.0) == []


def test_restore_binding() -> None:
    reg = make_registrar()
    binding = Binding("sip:1001@callcenter.test", A, SOURCE, 500.0, None, "c", 3, 0.0)
    reg.restore("1001", binding)
    assert reg.lookup("1001", 10.0) == [binding]
    assert reg.next_deadline() == 500.0
    _, events = send(reg, request(f"<{A}>", call_id="c", cseq=3), 10.0)
    assert isinstance(events[0], RegistrationRejected)


OPS = st.lists(
    st.tuples(
        st.sampled_from(["reg", "unreg", "expire"]),
        st.sampled_from([A, B, "sip:1001@203.0.113.1"]),
        st.integers(min_value=0, max_value=400),
        st.floats(min_value=0.0, max_value=200.0),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(OPS)
def test_invariants_under_random_operations(ops: list[tuple[str, str, int, float]]) -> None:
    reg = make_registrar()
    now = 0.0
    for cseq, (op, contact, expires, step) in enumerate(ops, start=1):
        now += step
        if op == "expire":
            for event in reg.expire(now):
                assert isinstance(event, ContactRemoved) and event.reason == "expired"
            assert all(b.expires_at > now for bs in reg.bindings().values() for b in bs)
        else:
            value = "0" if op == "unreg" else str(max(expires, 60))
            resp, _ = send(reg, request(f"<{contact}>", cseq=cseq, expires=value), now)
            assert resp.status == 200
        live = reg.lookup("1001", now)
        assert all(b.expires_at > now for b in live)
        every = [b.expires_at for bs in reg.bindings().values() for b in bs]
        assert reg.next_deadline() == (min(every) if every else None)
