"""Parsing and serializing SIP messages: the RFC 4475 valid messages read to the right values."""

from pathlib import Path

import pytest

from callcenter.sip.errors import SipParseError, SipSyntaxError
from callcenter.sip.message import Request, Response, parse_message
from callcenter.sip.uri import AbsoluteUri, SipUri, parse_name_addr, parse_uri

TORTURE = Path("/work/shared/testdata/sip-torture")
if not TORTURE.exists():  # CI lays shared/ beside the clone
    TORTURE = Path(__file__).resolve().parents[4] / "shared" / "testdata" / "sip-torture"


def load(name: str) -> Request | Response:
    return parse_message((TORTURE / f"{name}.dat").read_bytes())


def test_wsinv_whitespace_everywhere() -> None:
    m = load("wsinv")
    assert isinstance(m, Request)
    assert m.method == "INVITE"
    assert m.headers.get("max-forwards") == "0068"
    assert m.cseq.number == 9 and m.cseq.method == "INVITE"
    assert m.to.tag == "1918181833n"
    assert m.from_.tag == "98asjd8"
    assert m.from_.display == '"J Rosenberg \\\\\\""'
    assert [v.transport for v in m.vias] == ["UDP", "TCP", "UDP"]
    assert [v.branch for v in m.vias] == ["390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"]
    assert m.vias[2].host == "192.168.255.111"
    assert m.headers.get("newfangledheader") == "newfangled value continued newfangled value"
    assert m.headers.get("subject") == ""
    contact = m.contacts()[0]
    assert contact.params["newparam"] == "newvalue"
    assert contact.params["q"] == "0.33"
    assert len(m.body) == 150


def test_intmeth_unusual_method_and_user() -> None:
    m = load("intmeth")
    assert isinstance(m, Request)
    assert m.method == "!interesting-Method0123456789_*+`.%indeed'~"
    uri = m.ruri
    assert isinstance(uri, SipUri)
    assert uri.host == "example.com"
    assert uri.user is not None and uri.user.startswith("1_unusual.URI~")
    assert uri.headers is None


def test_esc01_escaped_user_compares_unescaped() -> None:
    m = load("esc01")
    assert isinstance(m, Request)
    uri = m.ruri
    assert isinstance(uri, SipUri)
    assert uri.user_unescaped == "sips:user@example.com"


def test_semiuri_user_with_semicolon() -> None:
    m = load("semiuri")
    assert isinstance(m, Request)
    uri = m.ruri
    assert isinstance(uri, SipUri)
    assert uri.user == "user;par=u%40example.net"
    assert uri.host == "example.com"
    assert len(m.headers.get_all("accept")) == 6


def test_compact_and_multiple_vias_transports() -> None:
    m = load("transports")
    assert [v.transport for v in m.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def test_dblreq_only_first_message() -> None:
    m = load("dblreq")
    assert isinstance(m, Request)
    assert m.method == "REGISTER"
    assert m.body == b""


def test_mpart01_binary_body_kept() -> None:
    m = load("mpart01")
    assert isinstance(m, Request)
    assert len(m.body) == int(m.headers.get("content-length") or -1)


@pytest.mark.parametrize(("name", "reason"), [("unreason", None), ("noreason", "")])
def test_responses_reason_phrases(name: str, reason: str | None) -> None:
    m = load(name)
    assert isinstance(m, Response)
    if reason is not None:
        assert m.reason == reason
    else:
        assert "😀" not in m.reason and len(m.reason) > 10


@pytest.mark.parametrize(
    ("name", "status"),
    [("clerr", 400), ("ncl", 400), ("mcl01", 400), ("lwsruri", 400), ("lwsstart", 400),
     ("trws", 400), ("badvers", 505)],
)  # fmt: skip
def test_unparsable_requests_carry_status_and_headers(name: str, status: int) -> None:
    with pytest.raises(SipParseError) as err:
        load(name)
    assert err.value.status == status
    assert err.value.answerable
    if status == 400:
        assert err.value.headers is not None and "call-id" in err.value.headers


def test_bigcode_is_dropped() -> None:
    with pytest.raises(SipParseError) as err:
        load("bigcode")
    assert not err.value.answerable


def test_round_trip_keeps_unknown_headers() -> None:
    raw = (
        b"FOO sip:a@b.example SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
        b"X-Odd: one, two\r\nX-Odd: three\r\nf: <sip:x@y>;tag=1\r\nt: sip:a@b.example\r\n"
        b"i: abc\r\nCSeq: 1 FOO\r\nl: 3\r\n\r\nabc"
    )
    m = parse_message(raw)
    again = parse_message(m.serialize())
    assert isinstance(again, Request)
    assert again.method == "FOO"
    assert again.headers.get_all("x-odd") == ["one, two", "three"]
    assert again.body == b"abc"
    assert b"Content-Length: 3" in m.serialize()


def test_stream_requires_content_length() -> None:
    raw = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n"
    with pytest.raises(SipParseError, match="Content-Length Required"):
        parse_message(raw, stream=True)
    assert isinstance(parse_message(raw), Request)


@pytest.mark.parametrize(
    "text",
    ["sip:user@[::1]:5060;transport=TCP", "sips:a:pw@host.example", "sip:host.example",
     "tel:+8613812345678", "sip:%61lice@atlanta.com;lr"],
)  # fmt: skip
def test_uri_round_trip(text: str) -> None:
    uri = parse_uri(text)
    assert str(parse_uri(str(uri))) == str(uri)


def test_uri_views() -> None:
    uri = parse_uri("SIP:Alice@Atlanta.COM:5070;Transport=UDP;lr?subject=hi")
    assert isinstance(uri, SipUri)
    assert (uri.scheme, uri.host, uri.port, uri.transport) == ("sip", "atlanta.com", 5070, "udp")
    assert uri.params["lr"] is None
    assert uri.headers == "subject=hi"
    assert isinstance(parse_uri("urn:service:sos"), AbsoluteUri)


@pytest.mark.parametrize(
    "text",
    ["nocolon", "sip:", "sip:user@", "sip:a@b:99999", "sip:a b@c", "sip:[::1", "1sip:x",
     "sip:a@b;;x"],
)  # fmt: skip
def test_bad_uris(text: str) -> None:
    with pytest.raises(SipSyntaxError):
        parse_uri(text)


def test_name_addr_forms() -> None:
    na = parse_name_addr('"A \\"B\\"" <sip:a@b>;tag=x;expires=60')
    assert na.display == '"A \\"B\\""' and na.tag == "x" and na.params["expires"] == "60"
    assert parse_name_addr("sip:a@b;tag=1").tag == "1"
    assert parse_name_addr("Bob <sip:b@c>").display == "Bob"
    assert parse_name_addr("*").wildcard
    assert str(parse_name_addr("Bob <sip:b@c>;tag=2")) == "Bob <sip:b@c>;tag=2"
    for bad in ['"unterminated <sip:a@b>', "<sip:a@b", "sip:a@b?x=y", 'Bo"b <sip:a@b>']:
        with pytest.raises(SipSyntaxError):
            parse_name_addr(bad)
