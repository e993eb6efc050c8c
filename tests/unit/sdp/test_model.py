"""SDP parse/serialize (RFC 4566) on bodies real peers send."""

import pytest

from callcenter.sdp.model import (
    Connection,
    MediaDescription,
    RtpMap,
    SdpError,
    SessionDescription,
    parse_sdp,
)

# SIPp 3.6 built-in uac scenario body (LF endings as in its XML)
SIPP = """v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
"""

# baresip-style offer: session-level direction, several codecs, telephone-event, rtcp-mux
BARESIP = (
    "v=0\r\n"
    "o=- 1234 5678 IN IP4 198.18.0.1\r\n"
    "s=-\r\n"
    "i=baresip\r\n"
    "u=http://example.invalid/\r\n"
    "e=ops@example.invalid\r\n"
    "p=+86 10 1234 5678\r\n"
    "c=IN IP4 198.18.0.1\r\n"
    "b=AS:128\r\n"
    "t=0 0\r\n"
    "r=7d 1h 0 25h\r\n"
    "z=2882844526 -1h\r\n"
    "k=prompt\r\n"
    "a=tool:baresip 3.4.0\r\n"
    "a=sendrecv\r\n"
    "m=audio 10000 RTP/AVP 96 8 0 101\r\n"
    "i=voice\r\n"
    "c=IN IP4 198.18.0.2/127\r\n"
    "b=TIAS:64000\r\n"
    "k=clear:abc\r\n"
    "a=rtpmap:96 opus/48000/2\r\n"
    "a=fmtp:96 stereo=1;sprop-stereo=1\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=ptime:20\r\n"
    "a=rtcp:10001 IN IP4 198.18.0.3\r\n"
    "a=recvonly\r\n"
    "a=rtcp-mux\r\n"
    "m=video 0 RTP/AVP 97\r\n"
)


def test_sipp_body() -> None:
    sdp = parse_sdp(SIPP)
    assert sdp.origin.session_version == 2353687637
    assert sdp.connection == Connection("127.0.0.1")
    (audio,) = sdp.media
    assert (audio.media, audio.port, audio.proto, audio.payload_types) == (
        "audio",
        6000,
        "RTP/AVP",
        [0],
    )
    assert audio.rtpmaps() == {0: RtpMap(0, "PCMU", 8000)}
    assert sdp.direction(audio) == "sendrecv"
    assert audio.ptime is None
    assert audio.rtcp is None
    assert parse_sdp(sdp.serialize()) == sdp


def test_baresip_body_roundtrips_byte_for_byte() -> None:
    sdp = parse_sdp(BARESIP.encode())
    assert sdp.serialize() == BARESIP
    assert bytes(sdp) == BARESIP.encode()
    audio, video = sdp.media
    assert audio.rtpmaps()[96] == RtpMap(96, "opus", 48000, 2)
    assert audio.fmtp(96) == "stereo=1;sprop-stereo=1"
    assert audio.fmtp(8) is None
    assert audio.ptime == 20
    assert audio.rtcp == (10001, "198.18.0.3")
    assert sdp.direction(audio) == "recvonly"  # media level beats session level
    assert sdp.direction(video) == "sendrecv"
    assert sdp.connection_for(audio) == Connection("198.18.0.2/127")
    assert sdp.connection_for(audio).host == "198.18.0.2"  # type: ignore[union-attr]
    assert sdp.connection_for(video) == sdp.connection
    assert video.port == 0
    assert audio.attribute("rtcp-mux") is None and ("rtcp-mux", None) in audio.attributes


def test_hold_address_and_ipv6() -> None:
    assert Connection("0.0.0.0").is_hold
    assert not Connection("::", "IP6").is_hold
    sdp = parse_sdp("v=0\no=- 1 1 IN IP6 ::1\ns=x\nc=IN IP6 ::1\nm=audio 4000/2 RTP/AVP 8\n")
    assert sdp.times == ["0 0"]
    assert sdp.media[0].port_count == 2
    assert "m=audio 4000/2 RTP/AVP 8" in sdp.serialize()


def test_set_direction_replaces() -> None:
    media = MediaDescription("audio", 1, "RTP/AVP", ["0"], attributes=[("sendonly", None)])
    media.set_direction("inactive")
    assert media.direction_attribute() == "inactive"
    assert media.attributes == [("inactive", None)]


def test_bad_ptime_and_empty_session_name() -> None:
    sdp = parse_sdp("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=\nt=0 0\nm=audio 1 RTP/AVP 0\na=ptime:abc\n")
    assert sdp.media[0].ptime is None
    assert "s=-\r\n" in sdp.serialize()
    assert SessionDescription().serialize().startswith("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "v=1\no=- 1 1 IN IP4 1.2.3.4\ns=-\n",
        "v=0\ns=-\n",
        "v=0\no=- 1 x IN IP4 1.2.3.4\ns=-\n",
        "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP9 x\n",
        "v=0\no=- 1 1 IN IP4 1.2.3.4\nc=IN IP4\n",
        "v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio\n",
        "v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio 70000 RTP/AVP 0\n",
        "v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio x RTP/AVP 0\n",
        "v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio 1/x RTP/AVP 0\n",
        "v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio 1 RTP/AVP 200\n",
        "v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio 1 RTP/AVP abc\n",
        "v=0\no=- 1 1 IN IP4 1.2.3.4\ngarbage\n",
        "v=0\no=- 1 1 IN IP4 1.2.3.4\nm=audio 1 RTP/AVP 0\nc=IN IP4\n",
    ],
)
def test_unusable_bodies_raise(text: str) -> None:
    with pytest.raises(SdpError):
        parse_sdp(text)


@pytest.mark.parametrize("value", ["0 PCMU", "x PCMU/8000", "0 PCMU/x"])
def test_bad_rtpmap(value: str) -> None:
    media = MediaDescription("audio", 1, "RTP/AVP", ["0"], attributes=[("rtpmap", value)])
    with pytest.raises(SdpError):
        media.rtpmaps()


def test_bad_rtcp_attribute() -> None:
    media = MediaDescription("audio", 1, "RTP/AVP", ["0"], attributes=[("rtcp", "x")])
    with pytest.raises(SdpError):
        _ = media.rtcp
    assert MediaDescription("audio", 1, "RTP/AVP", ["0"], attributes=[("rtcp", "9")]).rtcp == (
        9,
        None,
    )


def test_non_rtp_formats_are_kept() -> None:
    sdp = parse_sdp("v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nm=image 5000 udptl t38\n")
    assert sdp.media[0].formats == ["t38"]
    assert sdp.media[0].payload_types == []
