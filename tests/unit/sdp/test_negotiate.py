"""Offer/answer (RFC 3264) table tests: codecs, telephone-event, ptime, direction and hold."""

from dataclasses import replace

import pytest

from callcenter.sdp.model import SessionDescription, parse_sdp
from callcenter.sdp.negotiate import (
    PCMA,
    PCMU,
    Answer,
    LocalMedia,
    NegotiatedMedia,
    NoCommonCodec,
    build_offer,
    negotiate,
    read_answer,
)

LOCAL = LocalMedia(address="127.0.0.1", port=20000, session_id="42", session_version=7)


def offer(m: str, *attrs: str, c: str = "192.0.2.10", extra_media: str = "") -> SessionDescription:
    lines = ["v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", f"c=IN IP4 {c}", "t=0 0", m]
    return parse_sdp("\r\n".join(lines + [f"a={a}" for a in attrs]) + "\r\n" + extra_media)


def answered(result: Answer | NoCommonCodec) -> Answer:
    assert isinstance(result, Answer), result
    return result


@pytest.mark.parametrize(
    ("m_line", "attrs", "prefer", "pt", "codec", "event_pt"),
    [
        ("m=audio 4000 RTP/AVP 0", (), "offer", 0, "PCMU", None),
        ("m=audio 4000 RTP/AVP 8", (), "offer", 8, "PCMA", None),
        ("m=audio 4000 RTP/AVP 8 0", (), "offer", 8, "PCMA", None),
        ("m=audio 4000 RTP/AVP 8 0", (), "local", 0, "PCMU", None),
        (
            "m=audio 4000 RTP/AVP 18 0 101",
            ("rtpmap:101 telephone-event/8000",),
            "offer",
            0,
            "PCMU",
            101,
        ),
        (
            "m=audio 4000 RTP/AVP 96 8 97",
            ("rtpmap:96 opus/48000/2", "rtpmap:97 telephone-event/8000"),
            "offer",
            8,
            "PCMA",
            97,
        ),
        # a dynamic payload type mapped to PCMU by rtpmap is honoured
        ("m=audio 4000 RTP/AVP 99", ("rtpmap:99 pcmu/8000",), "offer", 99, "PCMU", None),
        # telephone-event at another clock rate is not ours
        (
            "m=audio 4000 RTP/AVP 0 100",
            ("rtpmap:100 telephone-event/48000",),
            "offer",
            0,
            "PCMU",
            None,
        ),
    ],
)
def test_codec_choice(
    m_line: str, attrs: tuple[str, ...], prefer: str, pt: int, codec: str, event_pt: int | None
) -> None:
    local = replace(LOCAL, prefer=prefer)  # type: ignore[arg-type]
    result = answered(negotiate(offer(m_line, *attrs), local))
    media = result.media
    assert (media.payload_type, media.codec, media.telephone_event) == (pt, codec, event_pt)
    (m,) = result.sdp.media
    expected_formats = [str(pt)] + ([str(event_pt)] if event_pt is not None else [])
    assert m.formats == expected_formats
    assert m.rtpmaps()[pt].encoding == codec
    assert m.port == 20000
    assert (media.remote_address, media.remote_port, media.remote_rtcp) == (
        "192.0.2.10",
        4000,
        ("192.0.2.10", 4001),
    )
    if event_pt is not None:
        assert m.fmtp(event_pt) == "0-15"


@pytest.mark.parametrize(
    ("m_line", "attrs", "local_codecs"),
    [
        ("m=audio 4000 RTP/AVP 18 9", (), (PCMU, PCMA)),
        ("m=audio 4000 RTP/AVP 96", ("rtpmap:96 opus/48000/2",), (PCMU, PCMA)),
        ("m=audio 4000 RTP/AVP 0", (), (PCMA,)),
        ("m=audio 0 RTP/AVP 0", (), (PCMU, PCMA)),  # the only audio stream is rejected
        ("m=video 4000 RTP/AVP 96", (), (PCMU, PCMA)),
    ],
)
def test_no_common_codec(m_line: str, attrs: tuple[str, ...], local_codecs: tuple) -> None:  # type: ignore[type-arg]
    result = negotiate(offer(m_line, *attrs), replace(LOCAL, codecs=local_codecs))
    assert isinstance(result, NoCommonCodec)
    assert result.reason


def test_offer_without_any_connection_is_not_answerable() -> None:
    sdp = parse_sdp("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n")
    assert isinstance(negotiate(sdp, LOCAL), NoCommonCodec)


@pytest.mark.parametrize(
    ("offered", "local_direction", "c", "answer_direction", "on_hold"),
    [
        ("sendrecv", "sendrecv", "192.0.2.10", "sendrecv", False),
        ("sendonly", "sendrecv", "192.0.2.10", "recvonly", True),  # RFC 3264 §8.4 hold
        ("recvonly", "sendrecv", "192.0.2.10", "sendonly", False),
        ("inactive", "sendrecv", "192.0.2.10", "inactive", True),
        ("sendrecv", "sendonly", "192.0.2.10", "sendonly", False),  # we play MOH only
        ("sendrecv", "recvonly", "192.0.2.10", "recvonly", False),
        ("sendrecv", "inactive", "192.0.2.10", "inactive", False),
        ("sendonly", "sendonly", "192.0.2.10", "inactive", True),
        ("sendrecv", "sendrecv", "0.0.0.0", "recvonly", True),  # RFC 2543 hold
        ("sendonly", "sendrecv", "0.0.0.0", "recvonly", True),
    ],
)
def test_direction_rules(
    offered: str, local_direction: str, c: str, answer_direction: str, on_hold: bool
) -> None:
    result = answered(
        negotiate(
            offer("m=audio 4000 RTP/AVP 0", offered, c=c), replace(LOCAL, direction=local_direction)
        )
    )
    assert result.media.direction == answer_direction
    assert result.sdp.media[0].direction_attribute() == answer_direction
    assert result.media.on_hold is on_hold
    assert result.media.sends == ("send" in answer_direction or answer_direction == "sendrecv")
    assert result.media.receives == (answer_direction in ("sendrecv", "recvonly"))


def test_session_level_direction_applies() -> None:
    sdp = offer("m=audio 4000 RTP/AVP 0")
    sdp.attributes.append(("sendonly", None))
    assert answered(negotiate(sdp, LOCAL)).media.direction == "recvonly"


@pytest.mark.parametrize(("offered_ptime", "expected"), [(None, 20), ("30", 30), ("20", 20)])
def test_ptime_follows_the_offer(offered_ptime: str | None, expected: int) -> None:
    attrs = (f"ptime:{offered_ptime}",) if offered_ptime else ()
    result = answered(negotiate(offer("m=audio 4000 RTP/AVP 8", *attrs), LOCAL))
    assert result.media.ptime == expected
    assert result.sdp.media[0].ptime == expected


def test_media_lines_keep_count_and_order_and_only_one_audio_is_taken() -> None:
    extra = "m=video 5000 RTP/AVP 96\r\nm=audio 6000 RTP/AVP 0\r\nm=image 7000 udptl t38\r\n"
    result = answered(negotiate(offer("m=audio 4000 RTP/AVP 18", extra_media=extra), LOCAL))
    assert [(m.media, m.port) for m in result.sdp.media] == [
        ("audio", 0),
        ("video", 0),
        ("audio", 20000),
        ("image", 0),
    ]
    assert result.media.media_index == 2
    assert result.sdp.media[3].formats == ["t38"]


def test_answer_origin_and_connection_are_ours() -> None:
    result = answered(negotiate(offer("m=audio 4000 RTP/AVP 0"), LOCAL))
    text = result.sdp.serialize()
    assert "o=callcenter 42 7 IN IP4 127.0.0.1\r\n" in text
    assert "c=IN IP4 127.0.0.1\r\n" in text
    assert parse_sdp(text) == result.sdp


def test_rtcp_attribute_and_ipv6() -> None:
    sdp = parse_sdp(
        "v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\n"
        "m=audio 4000 RTP/AVP 0\r\na=rtcp:4444\r\n"
    )
    local = replace(LOCAL, address="::1")
    result = answered(negotiate(sdp, local))
    assert result.media.remote_rtcp == ("2001:db8::1", 4444)
    assert "c=IN IP6 ::1" in result.sdp.serialize()


def test_offer_without_telephone_event_when_disabled() -> None:
    local = replace(LOCAL, telephone_event=None)
    sdp = build_offer(local)
    assert sdp.media[0].formats == ["0", "8"]
    result = answered(
        negotiate(offer("m=audio 4000 RTP/AVP 0 101", "rtpmap:101 telephone-event/8000"), local)
    )
    assert result.media.telephone_event is None


def test_build_offer_then_read_answer_roundtrip() -> None:
    ours = build_offer(replace(LOCAL, direction="sendonly"))
    text = ours.serialize()
    assert "m=audio 20000 RTP/AVP 0 8 101\r\n" in text
    assert "a=fmtp:101 0-15\r\n" in text
    assert "a=sendonly\r\n" in text
    # the peer negotiates against our offer with its own capabilities (PCMA only)
    peer = LocalMedia(address="192.0.2.20", port=30000, codecs=(PCMA,), telephone_event=101)
    their = answered(negotiate(parse_sdp(text), peer))
    assert their.media.direction == "recvonly"
    got = read_answer(ours, parse_sdp(their.sdp.serialize()))
    assert got == NegotiatedMedia(
        "192.0.2.20", 30000, 8, "PCMA", 8000, 20, "sendonly", 101, ("192.0.2.20", 30001), False, 0
    )


@pytest.mark.parametrize(
    ("answer_text", "why"),
    [
        ("m=audio 0 RTP/AVP 0", "rejected"),
        ("m=audio 30000 RTP/AVP 18", "codec not offered"),
        ("m=audio 30000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000", "only events"),
        ("m=audio 30000 RTP/AVP 0\r\nm=video 0 RTP/AVP 96", "m= line count"),
    ],
)
def test_read_answer_failures(answer_text: str, why: str) -> None:
    ours = build_offer(LOCAL)
    answer = parse_sdp(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\n"
        f"t=0 0\r\n{answer_text}\r\n"
    )
    assert isinstance(read_answer(ours, answer), NoCommonCodec), why


def test_read_answer_skips_non_audio_and_missing_connection() -> None:
    ours = build_offer(LOCAL)
    ours.media.insert(
        0, parse_sdp("v=0\no=- 1 1 IN IP4 1.1.1.1\ns=-\nm=video 5000 RTP/AVP 96\n").media[0]
    )
    body = (
        "v=0\r\no=- 1 1 IN IP4 192.0.2.20\r\ns=-\r\nt=0 0\r\n"
        "m=video 5002 RTP/AVP 96\r\nm=audio 30000 RTP/AVP 0\r\n"
    )
    assert isinstance(read_answer(ours, parse_sdp(body)), NoCommonCodec)  # no c= for audio
    held = parse_sdp(body.replace("t=0 0", "c=IN IP4 0.0.0.0\r\nt=0 0"))
    got = read_answer(ours, held)
    assert isinstance(got, NegotiatedMedia)
    assert (got.media_index, got.on_hold, got.direction) == (1, True, "recvonly")
