"""Outbound registration: a RegistrationClient talking to a Registrar through bytes."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.sip.auth import MD5, DigestChallenger, compute_ha1
from callcenter.sip.message import Headers, Request, Response, parse_message
from callcenter.sip.regclient import (
    BACKOFF_MAX,
    RegistrationClient,
    RegistrationState,
    refresh_delay,
)
from callcenter.sip.registrar import Registrar
from tests.unit.sip.test_auth import DictLookup

REALM = "carrier.test"
PASSWORD = "trunk-secret"
AOR = "sip:trunk1@carrier.test"
CONTACT = "sip:trunk1@192.0.2.10:5060"
SOURCE = ("udp", "192.0.2.10", 5060)


class Link:
    """The network and transaction layers in one: Via added, bytes both ways, a counter."""

    def __init__(self, registrar: Registrar) -> None:
        self.registrar = registrar
        self.sent: list[Request] = []

    def exchange(self, req: Request, now: float) -> Response:
        wire = req.headers.copy()
        assert "via" not in wire and "max-forwards" not in wire
        wire.set("via", f"SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK{len(self.sent)}")
        wire.set("max-forwards", "70")
        parsed = parse_message(Request(req.method, req.uri, wire, req.body).serialize())
        assert isinstance(parsed, Request)
        self.sent.append(parsed)
        resp, _ = self.registrar.handle(parsed, SOURCE, now)
        back = parse_message(resp.serialize())
        assert isinstance(back, Response)
        return back

    def run(self, client: RegistrationClient, req: Request | None, now: float) -> Response | None:
        """Exchange until the client has nothing more to send; the last response."""
        last = None
        while req is not None:
            last = self.exchange(req, now)
            req = client.on_response(last, now)
        return last


def make_registrar(ttl: float = 300.0, **kwargs: int) -> Registrar:
    challenger = DigestChallenger(REALM, b"carrier-secret", nonce_ttl=ttl)
    return Registrar(REALM, challenger, DictLookup({"trunk1": PASSWORD}, REALM), **kwargs)


def make_client(seed: int = 7, **kwargs: object) -> RegistrationClient:
    options: dict[str, object] = {"password": PASSWORD, **kwargs}
    return RegistrationClient(
        "sip:carrier.test",
        AOR,
        "trunk1",
        CONTACT,
        rng=random.Random(seed),
        **options,  # type: ignore[arg-type]
    )


def state_of(client: RegistrationClient) -> RegistrationState:
    """The state, read through a call so that mypy does not narrow it across commands."""
    return client.state


def response(status: int, req: Request, *headers: tuple[str, str]) -> Response:
    h = Headers()
    h.set("call-id", req.call_id)
    h.set("cseq", req.headers.get("cseq") or "")
    for name, value in headers:
        h.add(name, value)
    return Response(status, "Reason", h)


# ---------------------------------------------------------------- happy paths


def test_register_with_digest_and_request_shape() -> None:
    link, client = Link(make_registrar()), make_client()
    first = client.start(0.0)
    assert state_of(client) is RegistrationState.REGISTERING
    assert first.method == "REGISTER" and first.uri == "sip:carrier.test"
    assert first.from_.tag and str(first.from_.uri) == AOR and first.to.tag is None
    assert first.contacts()[0].params["expires"] == "3600"
    assert first.headers.get("expires") == "3600"
    assert "authorization" not in first.headers
    final = link.run(client, first, 0.0)
    assert final is not None and final.status == 200
    assert state_of(client) is RegistrationState.REGISTERED and client.failure is None
    assert [r.cseq.number for r in link.sent] == [1, 2]
    assert {r.call_id for r in link.sent} == {client.call_id}
    assert {r.from_.tag for r in link.sent} == {first.from_.tag}
    (binding,) = link.registrar.lookup("trunk1", 1.0)
    assert binding.contact == CONTACT
    assert client.registered_until == 3600.0
    assert client.next_deadline() == 3540.0  # one minute before expiry


def test_refreshes_before_expiry_for_hours_and_survives_stale_nonces() -> None:
    registrar = make_registrar(ttl=60.0, max_expires=600, default_expires=600)
    link, client = Link(registrar), make_client(expires=3600)
    link.run(client, client.start(0.0), 0.0)
    assert client.registered_until == 600.0  # the registrar shortened it
    now = 0.0
    refreshes = 0
    while now < 4 * 3600:
        deadline = client.next_deadline()
        assert deadline is not None and deadline < (client.registered_until or 0)
        assert client.on_timer(deadline - 0.001) is None  # not yet
        now = deadline
        assert registrar.expire(now) == []  # the binding never lapsed
        link.run(client, client.on_timer(now), now)
        assert state_of(client) is RegistrationState.REGISTERED
        refreshes += 1
    assert refreshes == int(4 * 3600 / 540) + 1
    numbers = [r.cseq.number for r in link.sent]
    assert numbers == sorted(set(numbers))
    # Every refresh started with the cached (then stale) nonce: stale -> one silent retry.
    assert len(link.sent) == 2 + 2 * refreshes


def test_refresh_reuses_a_live_nonce_in_one_round_trip() -> None:
    link, client = Link(make_registrar(ttl=100000.0)), make_client()
    link.run(client, client.start(0.0), 0.0)
    before = len(link.sent)
    deadline = client.next_deadline()
    assert deadline is not None
    link.run(client, client.on_timer(deadline), deadline)
    assert len(link.sent) == before + 1
    assert "nc=00000002" in (link.sent[-1].headers.get("authorization") or "")


def test_ha1_only_credentials_answer_the_md5_challenge() -> None:
    ha1 = {MD5: compute_ha1("trunk1", REALM, PASSWORD, MD5)}
    link = Link(make_registrar())
    client = make_client(password=None, ha1=ha1)
    final = link.run(client, client.start(0.0), 0.0)
    assert final is not None and final.status == 200
    assert "algorithm=MD5" in (link.sent[-1].headers.get("authorization") or "")


def test_stop_unregisters() -> None:
    link, client = Link(make_registrar()), make_client()
    link.run(client, client.start(0.0), 0.0)
    unregister = client.stop(10.0)
    assert state_of(client) is RegistrationState.UNREGISTERING
    assert unregister.headers.get("expires") == "0"
    assert unregister.contacts()[0].params["expires"] == "0"
    link.run(client, unregister, 10.0)
    assert state_of(client) is RegistrationState.UNREGISTERED
    assert client.next_deadline() is None and client.registered_until is None
    assert link.registrar.lookup("trunk1", 11.0) == []
    link.run(client, client.start(20.0), 20.0)  # and back again
    assert state_of(client) is RegistrationState.REGISTERED


def test_stop_gives_up_on_failure() -> None:
    client = make_client()
    req = client.stop(0.0)
    assert client.on_response(response(500, req), 0.0) is None
    assert state_of(client) is RegistrationState.UNREGISTERED and client.failure is None
    req = client.stop(1.0)
    assert client.on_response(response(423, req, ("min-expires", "9999")), 1.0) is None
    assert state_of(client) is RegistrationState.UNREGISTERED


# ---------------------------------------------------------------- failures


def test_wrong_password_fails_with_growing_backoff() -> None:
    link = Link(make_registrar())
    client = make_client(password="wrong")
    now = 0.0
    link.run(client, client.start(now), now)
    ceilings = []
    for attempt in range(1, 9):
        assert state_of(client) is RegistrationState.FAILED
        assert client.failure == "authentication failed"
        assert client.registered_until is None
        deadline = client.next_deadline()
        assert deadline is not None
        ceiling = min(BACKOFF_MAX, 10.0 * 2 ** (attempt - 1))
        assert ceiling * 0.5 <= deadline - now <= ceiling
        ceilings.append(ceiling)
        now = deadline
        retry = client.on_timer(now)
        assert state_of(client) is RegistrationState.REGISTERING
        link.run(client, retry, now)
    assert ceilings[-1] == BACKOFF_MAX
    assert all(r.from_.tag == link.sent[0].from_.tag for r in link.sent)


def test_failure_counter_resets_after_success() -> None:
    registrar = make_registrar()
    link, client = Link(registrar), make_client()
    req = client.start(0.0)
    client.on_response(response(500, req), 0.0)
    client.on_response(response(500, client.on_timer(100.0) or req), 100.0)
    deadline = client.next_deadline()
    assert deadline is not None and deadline - 100.0 > 5.0  # second failure: 10..20 s
    link.run(client, client.on_timer(deadline), deadline)
    assert state_of(client) is RegistrationState.REGISTERED
    refresh = client.on_timer(deadline + 4000.0)
    assert refresh is not None and client.state is RegistrationState.REGISTERED
    client.on_response(response(500, refresh), deadline + 4000.0)
    after = client.next_deadline()
    assert after is not None and after - (deadline + 4000.0) <= 10.0  # first failure again


def test_423_is_answered_with_min_expires() -> None:
    link = Link(make_registrar(min_expires=900, default_expires=1800))
    client = make_client(expires=300)
    link.run(client, client.start(0.0), 0.0)
    assert state_of(client) is RegistrationState.REGISTERED
    assert client.expires == 900 and client.registered_until == 900.0
    assert [r.headers.get("expires") for r in link.sent] == ["300", "300", "900"]


@pytest.mark.parametrize("min_expires", [None, "abc", "300", "100"])
def test_423_without_usable_min_expires_fails(min_expires: str | None) -> None:
    client = make_client(expires=300)
    req = client.start(0.0)
    headers = [] if min_expires is None else [("min-expires", min_expires)]
    assert client.on_response(response(423, req, *headers), 0.0) is None
    assert state_of(client) is RegistrationState.FAILED
    assert client.failure == "423 without a usable Min-Expires"


def test_transaction_timeout_backs_off_then_retries() -> None:
    client = make_client()
    client.on_timeout(0.0)  # nothing pending: ignored
    assert state_of(client) is RegistrationState.UNREGISTERED
    client.start(0.0)
    assert client.next_deadline() is None  # the transaction layer owns the wait
    client.on_timeout(32.0)
    assert (client.state, client.failure) == (RegistrationState.FAILED, "timeout")
    deadline = client.next_deadline()
    assert deadline is not None and 37.0 <= deadline <= 42.0
    retry = client.on_timer(deadline)
    assert retry is not None and retry.cseq.number == 2
    assert state_of(client) is RegistrationState.REGISTERING


def test_503_retry_after_is_obeyed() -> None:
    client = make_client()
    req = client.start(0.0)
    client.on_response(response(503, req, ("retry-after", "120 (maintenance)")), 5.0)
    assert (client.state, client.failure) == (RegistrationState.FAILED, "503 Reason")
    assert client.next_deadline() == 125.0


def test_unusable_challenge_fails() -> None:
    client = make_client()
    req = client.start(0.0)
    resp = response(401, req, ("www-authenticate", 'Basic realm="x"'))
    assert client.on_response(resp, 0.0) is None
    assert client.failure == "no usable challenge"


def test_proxy_challenge_answered_with_proxy_authorization() -> None:
    client = make_client()
    req = client.start(0.0)
    challenge = 'Digest realm="proxy", nonce="abc", qop="auth"'
    retry = client.on_response(response(407, req, ("proxy-authenticate", challenge)), 0.0)
    assert retry is not None and "proxy-authorization" in retry.headers
    assert "authorization" not in retry.headers


def test_endless_stale_challenges_are_bounded() -> None:
    client = make_client()
    req: Request | None = client.start(0.0)
    rounds = 0
    while req is not None:
        value = f'Digest realm="r", nonce="n{rounds}", qop="auth", stale=true'
        req = client.on_response(response(401, req, ("www-authenticate", value)), 0.0)
        rounds += 1
    assert rounds == 4 and client.failure == "authentication failed"


def test_cached_nonce_refused_without_stale_gets_one_more_try() -> None:
    registrar = make_registrar()
    link, client = Link(registrar), make_client()
    link.run(client, client.start(0.0), 0.0)
    # The carrier restarted with a new secret: our cached nonce is now "bad", not stale.
    registrar.challenger = DigestChallenger(REALM, b"new-secret")
    deadline = client.next_deadline()
    assert deadline is not None
    final = link.run(client, client.on_timer(deadline), deadline)
    assert final is not None and final.status == 200
    assert state_of(client) is RegistrationState.REGISTERED


# ---------------------------------------------------------------- what is ignored


def test_ignores_provisional_foreign_late_and_malformed_responses() -> None:
    client = make_client()
    assert client.on_response(Response(200, "OK", Headers()), 0.0) is None  # nothing pending
    req = client.start(0.0)
    assert client.on_response(response(100, req), 0.0) is None
    other = response(200, req)
    other.headers.set("cseq", "99 REGISTER")
    assert client.on_response(other, 0.0) is None
    foreign = response(200, req)
    foreign.headers.set("call-id", "someone-else")
    assert client.on_response(foreign, 0.0) is None
    broken = response(200, req)
    broken.headers.set("cseq", "not a cseq")
    assert client.on_response(broken, 0.0) is None
    assert state_of(client) is RegistrationState.REGISTERING
    assert client.on_timer(1e9) is None  # a request is out: no timer work


@pytest.mark.parametrize(
    ("headers", "granted"),
    [
        ([("contact", f"<{CONTACT}>;expires=120")], 120),
        ([("contact", "<sip:other@192.0.2.99>;expires=50"), ("expires", "200")], 200),
        ([("contact", "garbage <<"), ("contact", f"<{CONTACT}>;expires=soon")], 3600),
        ([("expires", "1e3")], 3600),
        ([("expires", "12345678901")], 3600),
        ([], 3600),
    ],
)
def test_granted_lifetime_sources(headers: list[tuple[str, str]], granted: int) -> None:
    client = make_client()
    req = client.start(0.0)
    client.on_response(response(200, req, *headers), 0.0)
    assert client.registered_until == float(granted)
    assert client.next_deadline() == refresh_delay(granted)


def test_refresh_delay_rule() -> None:
    assert refresh_delay(3600) == 3540
    assert refresh_delay(120) == 60
    assert refresh_delay(60) == 30
    assert refresh_delay(300) == 240
    assert all(0 < refresh_delay(g) < g for g in range(1, 5000))


def test_needs_a_secret() -> None:
    with pytest.raises(ValueError):
        make_client(password=None)


STEPS = st.lists(
    st.one_of(
        st.sampled_from([100, 200, 401, 403, 407, 423, 500, 503]),
        st.sampled_from(["timeout", "timer", "stop", "start"]),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(STEPS, st.integers(0, 2**32))
def test_any_sequence_keeps_the_machine_consistent(steps: list[int | str], seed: int) -> None:
    client = make_client(seed=seed)
    pending: Request | None = client.start(0.0)
    now = 0.0
    challenge = 'Digest realm="r", nonce="n", qop="auth"'
    for step in steps:
        now += 7.0
        if step == "timeout":
            client.on_timeout(now)
            pending = None
        elif step == "timer":
            deadline = client.next_deadline()
            pending = client.on_timer(now if deadline is None else deadline) or pending
        elif step == "stop":
            pending = client.stop(now)
        elif step == "start":
            pending = client.start(now)
        elif pending is not None:
            assert isinstance(step, int)
            extra = [("www-authenticate", challenge), ("proxy-authenticate", challenge)]
            nxt = client.on_response(response(step, pending, *extra), now)
            pending = nxt if nxt is not None or step < 200 else None
        has_deadline = client.next_deadline() is not None
        if pending is not None:
            assert not has_deadline
        if client.state is RegistrationState.FAILED:
            assert client.failure and (has_deadline or pending is not None)
        if client.state is RegistrationState.REGISTERED:
            assert client.registered_until is not None
