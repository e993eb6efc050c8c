"""Replaces (RFC 3891) and its escaped form inside a Refer-To URI (RFC 5589 §7)."""

from __future__ import annotations

import pytest

from callcenter.sip.errors import SipSyntaxError
from callcenter.sip.replaces import Replaces, parse_replaces, replaces_in_uri_headers
from callcenter.sip.uri import SipUri, parse_uri


def test_parse_plain_header() -> None:
    r = parse_replaces(" 98732@sip.example.com ;from-tag=r33th4x0r ;to-tag=ff87ff ")
    assert r == Replaces("98732@sip.example.com", "ff87ff", "r33th4x0r", False)
    assert parse_replaces("a;to-tag=1;from-tag=2;early-only").early_only
    # unknown parameters (and a valued early-only) are ignored (RFC 3261 §7.3.1)
    assert not parse_replaces("a;to-tag=1;from-tag=2;early-only=yes;x").early_only


@pytest.mark.parametrize(
    "text",
    [
        "",
        ";to-tag=1;from-tag=2",
        "a b;to-tag=1;from-tag=2",
        "a;to-tag=1",
        "a;from-tag=2",
        "a;to-tag=;from-tag=2",
    ],
)
def test_bad_headers_are_refused(text: str) -> None:
    with pytest.raises(SipSyntaxError):
        parse_replaces(text)


def test_from_refer_to_uri() -> None:
    """The REFER's Refer-To as linphone and RFC 5589 §7.1 send it: escaped ';' and '='."""
    uri = parse_uri("sip:8002@10.0.0.1?Replaces=abc%40h%3Bto-tag%3Dt1%3Bfrom-tag%3Df1&x=y")
    assert isinstance(uri, SipUri)
    assert replaces_in_uri_headers(uri.headers) == Replaces("abc@h", "t1", "f1")
    assert replaces_in_uri_headers("X=1&replaces=c%3Bto-tag%3D1%3Bfrom-tag%3D2") is not None
    assert replaces_in_uri_headers("Subject=hi") is None
    assert replaces_in_uri_headers(None) is None
    assert replaces_in_uri_headers("") is None
    with pytest.raises(SipSyntaxError):
        replaces_in_uri_headers("Replaces=c%3Bto-tag%3D1")


def test_matches_either_tag_order_and_only_that_dialog() -> None:
    r = Replaces("c1", "local", "remote")
    assert r.matches("c1", "local", "remote")
    assert r.matches("c1", "remote", "local")  # built from the other side of the dialog
    assert not r.matches("c2", "local", "remote")
    assert not r.matches("c1", "local", "other")
    assert not r.matches("c1", "remote", "remote")
