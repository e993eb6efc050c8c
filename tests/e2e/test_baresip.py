"""Real phones against the real server, in a private namespace network (issue 2, item 3).

baresip REGISTERs with digest auth (RFC 3261 §22, RFC 7616 MD5) over UDP and TCP, calls the
echo test 9196, sends a sequence of tones and must hear the same sequence come back (also
after switching its source mid-call, and with RFC 4733 digits); a wrong password is refused
and the refusal is logged without any password; quitting un-REGISTERs. linphonec (another SIP
stack) does the same REGISTER, echo and refusal. One server serves the whole module.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .linphone import Linphone
from .netns import Network, ip, require_namespaces
from .phone_audio import contains_in_order, heard_sequence, tone_runs, tone_track, write_tone
from .phones import Lab, PhoneEvent, SoftPhone, check_lab_prerequisites, lab_session

pytestmark = pytest.mark.e2e

TONES = [600.0, 1000.0, 1400.0, 800.0, 1200.0]  # no two neighbours closer than 200 Hz


@pytest.fixture(scope="module")
def shared_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One server for the module (it takes seconds to start); each test gets fresh phones."""
    why = check_lab_prerequisites()
    if why is not None:
        pytest.fail(why)
    with lab_session(tmp_path_factory.mktemp("lab")) as session:
        yield session


@pytest.fixture
def lab(shared_lab: Lab) -> Iterator[Lab]:
    shared_lab.begin()
    yield shared_lab
    shared_lab.stop_phones()


def echo_call(lab: Lab, tmp: Path, transport: str, seconds: float) -> Path:
    """8001 plays the tone sequence into a call to 9196; the WAV of what came back."""
    tones = tmp / "tones.wav"
    write_tone(tones, [(f, 0.6) for f in TONES] * 10, amplitude=0.4)  # 30 s: outlasts the call
    phone = lab.phone("8001", "sip-8001", transport=transport)
    phone.wait_registered()
    phone.play(tones)
    phone.dial("9196")
    phone.wait_event("CALL_ESTABLISHED")
    phone.wait_event("CALL_RTPESTAB")
    time.sleep(seconds)  # let the tones go round (not a timing assertion)
    mark = len(phone.events)
    phone.hangup()
    phone.wait_event("CALL_CLOSED", after=mark)
    [heard] = phone.received_recordings()
    return heard


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_register_and_echo_returns_the_tones(lab: Lab, tmp_path: Path, transport: str) -> None:
    heard = echo_call(lab, tmp_path, transport, seconds=4)
    track = tone_track(heard)
    sequence = heard_sequence(track)
    assert contains_in_order(sequence, TONES), sequence
    loud = [w for w in track if w.dbfs > -20 and any(abs(w.freq - f) <= 25 for f in TONES)]
    assert len(loud) >= 0.9 * len(track), tone_runs(track)  # no gaps, no foreign sound
    log = lab.log()
    assert "event=ContactRegistered aor=sip:8001@" in log
    assert "sip-8001" not in log


def test_wrong_password_is_refused_and_logged_without_passwords(lab: Lab) -> None:
    wrong = "wrong-Pa55-x9q"
    phone = lab.phone("8001", wrong)
    phone.wait_registration_failed()
    assert "401 Unauthorized" in phone.log() or "403" in phone.log()
    line = lab.wait_log("event=RegistrationRejected username=8001")
    assert "reason=" in line
    assert "ContactRegistered" not in lab.log()
    everything = lab.server.log_text()  # the whole log, earlier tests included
    for secret in (wrong, "sip-8001", "sip-8002", "sip-8003"):
        assert secret not in everything


def test_unregisters_on_quit(lab: Lab) -> None:
    phone = lab.phone("8003", "sip-8003", transport="tcp")
    phone.wait_registered()
    lab.wait_log("event=ContactRegistered aor=sip:8003@")
    assert phone.stop() == 0
    line = lab.wait_log("event=ContactRemoved aor=sip:8003@")
    assert "reason=unregistered" in line


def test_tone_switched_mid_call_and_dtmf_come_back(lab: Lab, tmp_path: Path) -> None:
    phone = lab.phone("8002", "sip-8002", tone_hz=700)
    phone.wait_registered()
    phone.dial("9196")
    phone.wait_event("CALL_ESTABLISHED")
    phone.wait_event("CALL_RTPESTAB")
    time.sleep(1.5)
    switched = tmp_path / "1300.wav"
    write_tone(switched, [(1300.0, 30.0)], amplitude=0.4)
    phone.play(switched)
    time.sleep(1.5)
    mark = len(phone.events)
    phone.press("19#")  # RFC 4733 events: the echo sends them back, baresip reports them
    phone.wait_until("3 digits back", lambda: digits_back(phone.events[mark:]) == "19#")
    phone.hangup()
    phone.wait_event("CALL_CLOSED", after=mark)
    [heard] = phone.received_recordings()
    assert contains_in_order(heard_sequence(tone_track(heard)), [700.0, 1300.0])


def digits_back(events: list[PhoneEvent]) -> str:
    return "".join(e.param for e in events if e.type == "CALL_DTMF_START")


def test_audio_checks_reject_silence_and_wrong_order(tmp_path: Path) -> None:
    """The checks used above can fail: silence, a wrong order, a wrong tone are not accepted."""
    good, silence, swapped, off = (tmp_path / f"{n}.wav" for n in ("g", "s", "w", "o"))
    write_tone(good, [(0.0, 0.3)] + [(f, 0.6) for f in TONES], amplitude=0.4)
    write_tone(silence, [(0.0, 3.0)])
    write_tone(swapped, [(f, 0.6) for f in reversed(TONES)], amplitude=0.4)
    write_tone(off, [(f + 100, 0.6) for f in TONES], amplitude=0.4)
    assert heard_sequence(tone_track(good)) == [0.0, *TONES]
    assert heard_sequence(tone_track(silence)) == [0.0]
    for bad in (silence, swapped, off):
        assert not contains_in_order(heard_sequence(tone_track(bad)), TONES), bad
    quiet = tmp_path / "quiet.wav"
    write_tone(quiet, [(f, 0.6) for f in TONES], amplitude=0.01)  # -43 dBFS: below the gate
    assert heard_sequence(tone_track(quiet)) == [0.0]


def test_linphonec_registers_and_hears_its_tones_back(lab: Lab, tmp_path: Path) -> None:
    """The same through another SIP stack (belle-sip): digest REGISTER, echo, tone sequence."""
    phone = lab.add(Linphone.start, "8004", "sip-8004")
    phone.wait_registered()
    tones = tmp_path / "tones.wav"
    write_tone(tones, [(f, 0.6) for f in TONES] * 10, amplitude=0.4)
    phone.play(tones)
    phone.dial("9196")
    phone.wait_call("established")
    time.sleep(4)
    phone.hangup()
    phone.wait_call("closed")
    [heard] = phone.received_recordings()
    assert contains_in_order(heard_sequence(tone_track(heard)), TONES)
    assert "event=ContactRegistered aor=sip:8004@" in lab.log()


def test_linphonec_wrong_password_is_refused(lab: Lab) -> None:
    wrong = "not-the-Pa55-k2"
    phone = lab.add(Linphone.start, "8004", wrong)
    phone.wait_registration_failed()
    assert "reason=" in lab.wait_log("event=RegistrationRejected username=8004")
    assert "ContactRegistered" not in lab.log()
    assert wrong not in lab.server.log_text() and "sip-8004" not in lab.server.log_text()


def test_private_network_carries_packets_and_is_removed() -> None:
    """netns: a leaf reaches the hub address through its veth; close() removes everything."""
    why = require_namespaces()
    if why is not None:
        pytest.fail(why)
    with Network.create() as net:
        leaf = net.add_leaf()
        hub_sock = net.hub.socket(socket.AF_INET, socket.SOCK_DGRAM)
        leaf_sock = leaf.ns.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with hub_sock, leaf_sock:
            hub_sock.bind((net.hub_address, 0))
            hub_sock.settimeout(5)
            leaf_sock.sendto(b"ping", hub_sock.getsockname())
            data, source = hub_sock.recvfrom(100)
        names = [net.hub.name, leaf.ns.name]
        assert (data, source[0]) == (b"ping", leaf.address)
    listed = ip("netns", "list")
    assert not [n for n in names if n in listed.split()]


def two_way_call(lab: Lab, callee: SoftPhone, answer: bool) -> None:
    """8001 (700 Hz) calls ``callee`` (1100 Hz) directly; each must hear the other's tone."""
    lab.net.route_between_leaves()
    try:
        direct_call(lab, callee, answer)
    finally:
        lab.net.route_between_leaves(False)


def direct_call(lab: Lab, callee: SoftPhone, answer: bool) -> None:
    caller = lab.phone("8001", "sip-8001", tone_hz=700)
    caller.wait_registered()
    callee.wait_registered()
    caller.dial(f"sip:{callee.spec.extension}@{callee.leaf.address}:5060")
    if answer:
        callee.wait_call("incoming")
        callee.accept()
    caller.wait_call("established")
    callee.wait_call("established")
    time.sleep(2)
    callee.hangup()
    caller.wait_call("closed")
    callee.wait_call("closed")
    for phone, tone in ((caller, 1100.0), (callee, 700.0)):
        [heard] = phone.received_recordings()
        assert heard_sequence(tone_track(heard))[-1:] == [tone], phone.log()


def test_phone_helpers_manual_answer_between_baresips(lab: Lab) -> None:
    """The helpers issue 5 builds on: ringing, accept(), two-way audio, hang-up by the callee.

    The call goes phone to phone through the hub's routing (not through the server, which
    does not route extension to extension yet)."""
    two_way_call(lab, lab.phone("8002", "sip-8002", tone_hz=1100, answermode="manual"), True)


def test_phone_helpers_linphonec_answers_by_itself(lab: Lab) -> None:
    callee = lab.add(Linphone.start, "8004", "sip-8004", tone_hz=1100, answermode="auto")
    two_way_call(lab, callee, answer=False)
