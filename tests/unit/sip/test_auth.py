"""Digest authentication: RFC 7616 vectors, server verification, client answers and flows."""

from __future__ import annotations

import itertools
from collections.abc import Generator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.sip.auth import (
    MD5,
    SHA256,
    AuthResult,
    Challenge,
    DigestChallenger,
    DigestCredentials,
    DigestError,
    authorize_request,
    build_authorization,
    compute_ha1,
    digest_auth_flow,
    digest_response,
    normalize_algorithm,
    parse_auth_params,
    parse_challenge,
    select_challenge,
)
from callcenter.sip.errors import SipSyntaxError
from callcenter.sip.message import Headers, Request, Response, parse_message

REALM = "callcenter.test"
SECRET = b"0123456789abcdef"
PASSWORD = "s3cret-pw"
RURI = "sip:callcenter.test"

# RFC 7616 §3.9.1
RFC_USER, RFC_REALM, RFC_PASSWORD = "Mufasa", "http-auth@example.org", "Circle of Life"
RFC_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC_RESPONSES = {
    MD5: "8ca523f5e9506fed4657c9700eebdbec",
    SHA256: "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
}


class DictLookup:
    """A fake credential store holding HA1 values only, as the real one does."""

    def __init__(self, users: dict[str, str], realm: str = REALM) -> None:
        self.table = {
            (user, realm, algo): compute_ha1(user, realm, pw, algo)
            for user, pw in users.items()
            for algo in (MD5, SHA256)
        }
        self.calls: list[tuple[str, str, str]] = []

    def ha1(self, username: str, realm: str, algorithm: str) -> str | None:
        self.calls.append((username, realm, algorithm))
        return self.table.get((username, realm, algorithm))


LOOKUP = DictLookup({"1001": PASSWORD, "1002": "other"})


def register(uri: str = RURI, *auth: tuple[str, str]) -> Request:
    h = Headers()
    h.set("via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1")
    h.set("from", "<sip:1001@callcenter.test>;tag=a1")
    h.set("to", "<sip:1001@callcenter.test>")
    h.set("call-id", "c1")
    h.set("cseq", "1 REGISTER")
    for name, value in auth:
        h.add(name, value)
    return Request("REGISTER", uri, h)


def answered(
    challenger: DigestChallenger,
    now: float,
    *,
    algo: int = 0,
    user: str = "1001",
    password: str = PASSWORD,
    uri: str = RURI,
    nc: int = 1,
    header: str = "authorization",
) -> Request:
    value = build_authorization(
        challenger.challenge_headers(now)[algo],
        "REGISTER",
        uri,
        user,
        password,
        cnonce="cn0",
        nc=nc,
    )
    return register(RURI, (header, value))


# ---------------------------------------------------------------- RFC 7616 vectors


@pytest.mark.parametrize("algorithm", [MD5, SHA256])
def test_rfc7616_example_response(algorithm: str) -> None:
    ha1 = compute_ha1(RFC_USER, RFC_REALM, RFC_PASSWORD, algorithm)
    got = digest_response(
        algorithm, ha1, RFC_NONCE, "GET", "/dir/index.html", "auth", "00000001", RFC_CNONCE
    )
    assert got == RFC_RESPONSES[algorithm]


@pytest.mark.parametrize("algorithm", [MD5, SHA256])
def test_rfc7616_example_through_build_authorization(algorithm: str) -> None:
    challenge = (
        f'Digest realm="{RFC_REALM}", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC_NONCE}", opaque="{RFC_OPAQUE}"'
    )
    value = build_authorization(
        challenge, "GET", "/dir/index.html", RFC_USER, RFC_PASSWORD, cnonce=RFC_CNONCE
    )
    scheme, params = parse_auth_params(value)
    assert scheme == "digest"
    assert params["response"] == RFC_RESPONSES[algorithm]
    assert params["nc"] == "00000001"
    assert params["qop"] == "auth"
    assert params["opaque"] == RFC_OPAQUE
    assert params["algorithm"] == algorithm
    assert params["username"] == RFC_USER


def test_compute_ha1_known_value_and_refusals() -> None:
    # HA1 of the RFC 2617 §3.5 example (Mufasa / testrealm@host.com / Circle Of Life).
    assert compute_ha1("Mufasa", "testrealm@host.com", "Circle Of Life", "md5") == (
        "939e7578ed9e3c518a452acee763bce9"
    )
    with pytest.raises(DigestError):
        compute_ha1("a", "b", "c", "SHA-512-256")


def test_parse_auth_params_forms() -> None:
    assert parse_auth_params('Digest a=1,, b="x, \\"y\\"" ,c=tok ,, ,') == (
        "digest",
        {"a": "1", "b": 'x, "y"', "c": "tok"},
    )
    assert parse_auth_params("Digest") == ("digest", {})
    assert parse_auth_params('DIGEST Realm = "r"') == ("digest", {"realm": "r"})
    for bad in ('Digest a="open', "Digest a=1 b=2", "Digest =1", 'Digest a="x" \n b=1'):
        with pytest.raises(SipSyntaxError):
            parse_auth_params(bad)


_TOKENS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=12)
_QUOTABLE = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_characters="\x7f"),
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_TOKENS, st.one_of(_TOKENS, _QUOTABLE), max_size=8))
def test_parse_auth_params_reads_what_we_write(params: dict[str, str]) -> None:
    text = "Digest " + ", ".join(f"{k}={_quote(v)}" for k, v in params.items())
    assert parse_auth_params(text) == ("digest", params)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_normalize_algorithm() -> None:
    assert normalize_algorithm(None) == MD5
    assert normalize_algorithm(" sha-256 ") == SHA256
    assert normalize_algorithm("MD5-sess") is None


# ---------------------------------------------------------------- server: success


@pytest.mark.parametrize("index", [0, 1])
def test_round_trip_each_offered_algorithm(index: int) -> None:
    ch = DigestChallenger(REALM, SECRET)
    result = ch.verify(answered(ch, 10.0, algo=index), LOOKUP, 11.0)
    assert result == AuthResult(True, "1001", algorithm=(SHA256, MD5)[index])
    assert ch.challenge_headers(0.0)[0].count("SHA-256") == 1  # SHA-256 offered first


def test_challenge_headers_form() -> None:
    ch = DigestChallenger(REALM, SECRET, algorithms=("md5",))
    (value,) = ch.challenge_headers(5.0, stale=True)
    scheme, params = parse_auth_params(value)
    assert scheme == "digest"
    assert params["realm"] == REALM
    assert params["qop"] == "auth"
    assert params["algorithm"] == "MD5"
    assert params["stale"] == "true"
    assert ch.nonce_issued_at(params["nonce"]) == 5.0


def test_nonces_are_unique_even_at_the_same_instant() -> None:
    ch = DigestChallenger(REALM, SECRET)
    nonces = {ch.make_nonce(1.0) for _ in range(100)}
    assert len(nonces) == 100


def test_constructor_refusals() -> None:
    with pytest.raises(ValueError):
        DigestChallenger(REALM, b"")
    with pytest.raises(ValueError):
        DigestChallenger(REALM, SECRET, algorithms=("SHA-1",))
    with pytest.raises(ValueError):
        DigestChallenger(REALM, SECRET, algorithms=())


def test_legacy_rfc2069_md5_without_qop() -> None:
    ch = DigestChallenger(REALM, SECRET)
    nonce = ch.make_nonce(0.0)
    challenge = f'Digest realm="{REALM}", nonce="{nonce}"'  # no qop, no algorithm: MD5
    value = build_authorization(challenge, "REGISTER", RURI, "1001", PASSWORD, cnonce="x")
    assert "qop" not in value and "cnonce" not in value
    req = register(RURI, ("authorization", value))
    assert ch.verify(req, LOOKUP, 1.0).ok
    assert ch.verify(req, LOOKUP, 2.0).ok  # no nc: replay protection needs qop


def test_sha256_without_qop_is_refused() -> None:
    ch = DigestChallenger(REALM, SECRET)
    nonce = ch.make_nonce(0.0)
    challenge = f'Digest realm="{REALM}", nonce="{nonce}", algorithm=SHA-256'
    value = build_authorization(challenge, "REGISTER", RURI, "1001", PASSWORD, cnonce="x")
    result = ch.verify(register(RURI, ("authorization", value)), LOOKUP, 1.0)
    assert (result.ok, result.reason) == (False, "unsupported scheme/algorithm")


def test_uri_compared_parsed_when_text_differs() -> None:
    ch = DigestChallenger(REALM, SECRET)
    value = build_authorization(
        ch.challenge_headers(0.0)[0],
        "REGISTER",
        "sip:CallCenter.Test",
        "1001",
        PASSWORD,
        cnonce="c",
    )
    assert ch.verify(register(RURI, ("authorization", value)), LOOKUP, 0.0).ok


def test_picks_the_credentials_for_our_realm_among_several() -> None:
    ch = DigestChallenger(REALM, SECRET)
    good = answered(ch, 0.0).headers.get("authorization") or ""
    other = good.replace(f'realm="{REALM}"', 'realm="elsewhere"')
    req = register(RURI, ("authorization", "garbage"), ("authorization", other))
    req.headers.add("authorization", good)
    assert ch.verify(req, LOOKUP, 0.0).ok


def test_proxy_authorization_header() -> None:
    ch = DigestChallenger(REALM, SECRET)
    req = answered(ch, 0.0, header="proxy-authorization")
    assert ch.verify(req, LOOKUP, 0.0, header="proxy-authorization").ok
    assert ch.verify(req, LOOKUP, 0.0).reason == "missing credentials"


def test_uppercase_hex_response_accepted() -> None:
    ch = DigestChallenger(REALM, SECRET)
    req = answered(ch, 0.0)
    value = req.headers.get("authorization") or ""
    _, params = parse_auth_params(value)
    req.headers.set("authorization", value.replace(params["response"], params["response"].upper()))
    assert ch.verify(req, LOOKUP, 0.0).ok


# ---------------------------------------------------------------- server: every failure


def _with_param(req: Request, name: str, new: str | None) -> Request:
    """Re-write one parameter of the request's Authorization (None removes it)."""
    _, params = parse_auth_params(req.headers.get("authorization") or "")
    if new is None:
        params.pop(name)
    else:
        params[name] = new
    body = ", ".join(f'{k}="{v}"' for k, v in params.items())
    return register(req.uri, ("authorization", f"Digest {body}"))


def test_missing_and_malformed_and_unknown_scheme() -> None:
    ch = DigestChallenger(REALM, SECRET)
    assert ch.verify(register(), LOOKUP, 0.0) == AuthResult(False, reason="missing credentials")
    garbage = register(RURI, ("authorization", "Digest novalue"))
    assert ch.verify(garbage, LOOKUP, 0.0).reason == "malformed credentials"
    basic = register(RURI, ("authorization", "Basic QWxhZGRpbjpvcGVu"))
    assert ch.verify(basic, LOOKUP, 0.0).reason == "unsupported scheme/algorithm"
    for name in ("username", "nonce", "uri", "response"):
        result = ch.verify(_with_param(answered(ch, 0.0), name, None), LOOKUP, 0.0)
        assert result.reason == "malformed credentials", name


def test_torture_regaut01_unknown_scheme() -> None:
    from tests.unit.sip.test_message import load

    req = load("regaut01")
    assert isinstance(req, Request)
    result = DigestChallenger("example.com", SECRET).verify(req, LOOKUP, 0.0)
    assert (result.ok, result.reason) == (False, "unsupported scheme/algorithm")


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("algorithm", "SHA-512-256", "unsupported scheme/algorithm"),
        ("algorithm", "MD5-sess", "unsupported scheme/algorithm"),
        ("userhash", "true", "unsupported scheme/algorithm"),
        ("qop", "auth-int", "unsupported scheme/algorithm"),
        ("nc", "1", "malformed credentials"),
        ("nc", "0000000g", "malformed credentials"),
        ("cnonce", "", "malformed credentials"),
        ("realm", "elsewhere", "realm mismatch"),
        ("uri", "sip:elsewhere.test", "uri mismatch"),
        ("uri", "not a uri", "uri mismatch"),
        ("nonce", "x" * 43, "bad nonce"),
        ("nonce", "short", "bad nonce"),
        ("nonce", "é" * 43, "bad nonce"),
        ("nonce", "A" * 42 + "!", "bad nonce"),
        ("nonce", "!!!!" + "A" * 39, "bad nonce"),
        ("nonce", "A" * 20 + "+/" + "A" * 21, "bad nonce"),
        ("username", "1003", "unknown user"),
        ("username", "1002", "bad response"),
        ("response", "0" * 64, "bad response"),
    ],
)
def test_failure_reasons(name: str, value: str, reason: str) -> None:
    ch = DigestChallenger(REALM, SECRET)
    result = ch.verify(_with_param(answered(ch, 0.0), name, value), LOOKUP, 0.0)
    assert (result.ok, result.reason, result.stale) == (False, reason, False)


def test_nonce_of_another_secret_or_realm_is_bad() -> None:
    ours = DigestChallenger(REALM, SECRET)
    for foreign in (DigestChallenger(REALM, b"other-secret"), DigestChallenger("x", SECRET)):
        req = _with_param(answered(ours, 0.0), "nonce", foreign.make_nonce(0.0))
        assert ours.verify(req, LOOKUP, 0.0).reason == "bad nonce"


def test_tampered_nonce_time_is_bad() -> None:
    ch = DigestChallenger(REALM, SECRET)
    req = answered(ch, 0.0)
    _, params = parse_auth_params(req.headers.get("authorization") or "")
    nonce = params["nonce"]
    flipped = ("B" if nonce[5] == "A" else "A").join((nonce[:5], nonce[6:]))
    assert ch.verify(_with_param(req, "nonce", flipped), LOOKUP, 0.0).reason == "bad nonce"


def test_expired_nonce_with_right_password_is_stale() -> None:
    ch = DigestChallenger(REALM, SECRET, nonce_ttl=30.0)
    req = answered(ch, 100.0)
    assert ch.verify(req, LOOKUP, 130.0).ok
    result = ch.verify(answered(ch, 100.0), LOOKUP, 130.5)
    assert result == AuthResult(False, "1001", True, "nonce expired", SHA256)


def test_expired_nonce_with_wrong_password_is_not_stale() -> None:
    ch = DigestChallenger(REALM, SECRET, nonce_ttl=30.0)
    result = ch.verify(answered(ch, 100.0, password="guess"), LOOKUP, 200.0)
    assert (result.stale, result.reason) == (False, "bad response")


def test_nonce_from_the_future_is_stale() -> None:
    """A nonce sealed before a monotonic clock reset (same secret) must not live forever."""
    ch = DigestChallenger(REALM, SECRET)
    result = ch.verify(answered(ch, 5000.0), LOOKUP, 10.0)
    assert (result.stale, result.reason) == (True, "nonce expired")


def test_nonce_count_replay_and_increase() -> None:
    ch = DigestChallenger(REALM, SECRET)
    nonce_req = answered(ch, 0.0, nc=1)
    assert ch.verify(nonce_req, LOOKUP, 0.0).ok
    assert ch.verify(nonce_req, LOOKUP, 1.0).reason == "nc replay"
    value = nonce_req.headers.get("authorization") or ""
    _, params = parse_auth_params(value)
    challenge = Challenge(REALM, params["nonce"], SHA256, "auth")
    for nc, ok in ((3, True), (2, False), (3, False), (4, True)):
        again = build_authorization(
            challenge, "REGISTER", RURI, "1001", PASSWORD, cnonce="z", nc=nc
        )
        result = ch.verify(register(RURI, ("authorization", again)), LOOKUP, 2.0)
        assert result.ok is ok, nc


def test_nonce_count_memory_is_bounded() -> None:
    ch = DigestChallenger(REALM, SECRET, nc_memory=4)
    for i in range(10):
        assert ch.verify(answered(ch, float(i)), LOOKUP, float(i)).ok
    assert len(ch._highest_nc) == 4


def test_reasons_and_results_never_carry_the_password() -> None:
    ch = DigestChallenger(REALM, SECRET, nonce_ttl=1.0)
    secret_pw = "TopSecretPassword"
    results = [
        ch.verify(answered(ch, 0.0, password=secret_pw), LOOKUP, 0.0),
        ch.verify(answered(ch, 0.0, password=secret_pw, user=secret_pw), LOOKUP, 0.0),
        ch.verify(answered(ch, 0.0, password=secret_pw), LOOKUP, 9.0),
    ]
    for result in results:
        assert not result.ok
        assert secret_pw not in result.reason
    assert PASSWORD not in repr(DigestCredentials("1001", PASSWORD, {MD5: "abc"}))


_GARBAGE = st.text(max_size=80)
_PARAM_NAMES = st.sampled_from(
    ["username", "realm", "nonce", "uri", "response", "algorithm", "qop", "nc", "cnonce", "x"]
)


@settings(max_examples=300, deadline=None)
@given(_GARBAGE)
def test_garbage_header_fails_cleanly(value: str) -> None:
    ch = DigestChallenger(REALM, SECRET)
    result = ch.verify(register(RURI, ("authorization", value)), LOOKUP, 0.0)
    assert isinstance(result, AuthResult) and not result.ok and result.reason


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_PARAM_NAMES, _GARBAGE, max_size=10), st.booleans())
def test_garbage_digest_params_fail_cleanly(params: dict[str, str], realm_ok: bool) -> None:
    ch = DigestChallenger(REALM, SECRET)
    if realm_ok:
        params["realm"] = REALM
    body = ", ".join(f'{k}="{v}"' for k, v in params.items())
    result = ch.verify(register(RURI, ("authorization", f"Digest {body}")), LOOKUP, 0.0)
    assert not result.ok and result.reason


@settings(max_examples=300, deadline=None)
@given(_GARBAGE)
def test_garbage_challenge_raises_only_digest_error(value: str) -> None:
    try:
        challenge = parse_challenge(value)
    except DigestError as exc:
        assert str(exc)
    else:
        assert challenge.algorithm in (MD5, SHA256) and challenge.nonce is not None


# ---------------------------------------------------------------- client


def test_parse_challenge_variants() -> None:
    ch = parse_challenge('Digest realm="r", nonce="n", qop="auth,auth-int", stale=TRUE')
    assert ch == Challenge("r", "n", MD5, "auth", None, True)
    assert parse_challenge('Digest realm="r", nonce="n"').qop is None
    for bad in (
        'Basic realm="r"',
        'Digest realm="r"',
        'Digest nonce="n"',
        'Digest realm="r", nonce="n", algorithm=SHA-512',
        'Digest realm="r", nonce="n", qop="auth-int"',
        "Digest novalue",
    ):
        with pytest.raises(DigestError):
            parse_challenge(bad)


def test_build_authorization_with_ha1_equals_password_form() -> None:
    challenge = f'Digest realm="{REALM}", nonce="n", qop="auth", algorithm=SHA-256'
    ha1 = compute_ha1("1001", REALM, PASSWORD, SHA256)
    by_pw = build_authorization(challenge, "REGISTER", RURI, "1001", PASSWORD, cnonce="c")
    by_ha1 = build_authorization(challenge, "REGISTER", RURI, "1001", ha1=ha1, cnonce="c")
    assert by_pw == by_ha1
    with pytest.raises(DigestError):
        build_authorization(challenge, "REGISTER", RURI, "1001", cnonce="c")


def test_build_authorization_quotes_username() -> None:
    challenge = 'Digest realm="r", nonce="n", qop="auth"'
    value = build_authorization(challenge, "REGISTER", RURI, 'we"ird\\', "pw", cnonce="c")
    assert parse_auth_params(value)[1]["username"] == 'we"ird\\'


def _challenge_response(status: int, *values: str) -> Response:
    h = Headers()
    name = "proxy-authenticate" if status == 407 else "www-authenticate"
    for value in values:
        h.add(name, value)
    return Response(status, "Unauthorized", h)


def test_select_challenge_prefers_first_answerable() -> None:
    resp = _challenge_response(
        401,
        "garbage",
        'Digest realm="r", nonce="n1", algorithm=SHA-256, qop="auth"',
        'Digest realm="r", nonce="n1", algorithm=MD5, qop="auth"',
    )
    assert select_challenge(resp, DigestCredentials("u", "pw")) == Challenge(
        "r", "n1", SHA256, "auth"
    )
    md5_only = DigestCredentials("u", ha1={MD5: "0" * 32})
    picked = select_challenge(resp, md5_only)
    assert picked is not None and picked.algorithm == MD5
    assert select_challenge(resp, DigestCredentials("u", ha1={})) is None
    assert select_challenge(_challenge_response(407), DigestCredentials("u", "pw")) is None


def test_authorize_request_copies_with_new_cseq_and_no_via() -> None:
    ch = Challenge(REALM, "n", MD5, "auth")
    creds = DigestCredentials("1001", PASSWORD)
    req = register(RURI, ("proxy-authorization", 'Digest realm="elsewhere", nonce="o"'))
    req.headers.add("proxy-authorization", 'Digest realm="callcenter.test", nonce="old"')
    req.headers.add("proxy-authorization", "Digest broken")
    out = authorize_request(req, 407, ch, creds, "cn", nc=2)
    assert out.cseq.number == 2 and out.cseq.method == "REGISTER"
    assert "via" not in out.headers
    values = out.headers.get_all("proxy-authorization")
    assert len(values) == 2 and "elsewhere" in values[0] and 'nonce="n"' in values[1]
    assert "nc=00000002" in values[1]
    assert "authorization" not in out.headers
    assert req.cseq.number == 1  # the original is untouched
    by_ha1 = DigestCredentials("1001", ha1={MD5: compute_ha1("1001", REALM, PASSWORD, MD5)})
    same = authorize_request(req, 407, ch, by_ha1, "cn", nc=2)
    assert same.headers.get_all("proxy-authorization") == values


class FakeServer:
    """A registrar-like peer answering 401/200 with a real DigestChallenger, via bytes."""

    def __init__(self, ttl: float = 300.0, status: int = 401) -> None:
        self.challenger = DigestChallenger(REALM, SECRET, nonce_ttl=ttl)
        self.now = 0.0
        self.status = status
        self.seen: list[Request] = []

    def answer(self, req: Request) -> Response:
        parsed = parse_message(req.serialize())
        assert isinstance(parsed, Request)
        self.seen.append(parsed)
        header = "proxy-authorization" if self.status == 407 else "authorization"
        result = self.challenger.verify(parsed, LOOKUP, self.now, header)
        h = Headers()
        h.set("cseq", parsed.headers.get("cseq") or "")
        if result.ok:
            return Response(200, "OK", h)
        name = "proxy-authenticate" if self.status == 407 else "www-authenticate"
        for value in self.challenger.challenge_headers(self.now, stale=result.stale):
            h.add(name, value)
        resp = parse_message(Response(self.status, "Auth", h).serialize())
        assert isinstance(resp, Response)
        return resp


def drive(flow: Generator[Request, Response, None], server: FakeServer) -> Response:
    req = next(flow)
    while True:
        resp = server.answer(req)
        try:
            req = flow.send(resp)
        except StopIteration:
            return resp


def _cnonces() -> itertools.count[int]:
    return itertools.count(1)


@pytest.mark.parametrize("status", [401, 407])
def test_flow_authenticates_after_challenge(status: int) -> None:
    server = FakeServer(status=status)
    counter = _cnonces()
    flow = digest_auth_flow(register(), "1001", PASSWORD, lambda: f"cn{next(counter)}")
    final = drive(flow, server)
    assert final.status == 200
    assert [r.cseq.number for r in server.seen] == [1, 2]


def test_flow_wrong_password_gives_up_after_one_retry() -> None:
    server = FakeServer()
    final = drive(digest_auth_flow(register(), "1001", "wrong", lambda: "c"), server)
    assert final.status == 401
    assert len(server.seen) == 2


def test_flow_retries_silently_on_stale() -> None:
    server = FakeServer(ttl=10.0)
    flow = digest_auth_flow(register(), "1001", PASSWORD, lambda: "c")
    req = next(flow)
    first = server.answer(req)  # 401 at t=0
    server.now = 50.0  # the nonce is stale by the time the client answers
    req = flow.send(first)
    stale = server.answer(req)
    assert stale.status == 401 and "stale=true" in (stale.headers.get("www-authenticate") or "")
    req = flow.send(stale)
    assert server.answer(req).status == 200
    assert [r.cseq.number for r in server.seen] == [1, 2, 3]


def test_flow_stops_on_non_challenge_and_unusable_challenge() -> None:
    flow = digest_auth_flow(register(), "1001", PASSWORD, lambda: "c")
    next(flow)
    with pytest.raises(StopIteration):
        flow.send(Response(403, "Forbidden", Headers()))
    flow = digest_auth_flow(register(), "1001", PASSWORD, lambda: "c")
    next(flow)
    with pytest.raises(StopIteration):
        flow.send(_challenge_response(401, 'Basic realm="x"'))


def test_flow_refuses_same_nonce_twice_even_if_stale() -> None:
    value = f'Digest realm="{REALM}", nonce="same", qop="auth", stale=true'
    flow = digest_auth_flow(register(), "1001", PASSWORD, lambda: "c")
    next(flow)
    flow.send(_challenge_response(401, value))
    with pytest.raises(StopIteration):
        flow.send(_challenge_response(401, value))


def test_flow_bounded_rounds_against_endless_stale() -> None:
    flow = digest_auth_flow(register(), "1001", PASSWORD, lambda: "c", max_rounds=3)
    next(flow)
    sent = 0
    with pytest.raises(StopIteration):
        for i in range(10):
            flow.send(_challenge_response(401, f'Digest realm="r", nonce="n{i}", stale=true'))
            sent += 1
    assert sent == 3


def test_flow_answers_proxy_then_registrar() -> None:
    flow = digest_auth_flow(register(), "1001", PASSWORD, lambda: "c")
    next(flow)
    req = flow.send(_challenge_response(407, 'Digest realm="proxy", nonce="p"'))
    req = flow.send(_challenge_response(401, 'Digest realm="reg", nonce="r"'))
    assert "proxy-authorization" in req.headers and "authorization" in req.headers
    assert req.cseq.number == 3
