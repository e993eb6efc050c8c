"""baresip against the real server, in a private namespace network (issue 2, item 3).

A real softphone REGISTERs with digest auth (RFC 3261 §22, RFC 7616 MD5), calls the echo
test 9196, sends a sequence of tones and must hear the same sequence come back; a wrong
password is refused and the refusal is logged without any password.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .phones import (
    Lab,
    check_lab_prerequisites,
    contains_in_order,
    heard_sequence,
    lab_session,
    tone_runs,
    tone_track,
    write_tone,
)

pytestmark = pytest.mark.e2e

TONES = [600.0, 1000.0, 1400.0, 800.0, 1200.0]  # no two neighbours closer than 200 Hz


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    why = check_lab_prerequisites()
    if why is not None:
        pytest.fail(why)
    with lab_session(tmp_path) as session:
        yield session


def echo_call(lab: Lab, transport: str, seconds: float) -> Path:
    """8001 plays the tone sequence into a call to 9196; the WAV of what came back."""
    tones = lab.tmp / "tones.wav"
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
def test_register_and_echo_returns_the_tones(lab: Lab, transport: str) -> None:
    heard = echo_call(lab, transport, seconds=4)
    track = tone_track(heard)
    sequence = heard_sequence(track)
    assert contains_in_order(sequence, TONES), sequence
    loud = [w for w in track if w.dbfs > -20 and any(abs(w.freq - f) <= 25 for f in TONES)]
    assert len(loud) >= 0.9 * len(track), tone_runs(track)  # no gaps, no foreign sound
    log = lab.server.log_text()
    assert "event=ContactRegistered aor=sip:8001@" in log
    assert "sip-8001" not in log


def test_wrong_password_is_refused_and_logged_without_passwords(lab: Lab) -> None:
    wrong = "wrong-Pa55-x9q"
    phone = lab.phone("8001", wrong)
    phone.wait_registration_failed()
    assert "401 Unauthorized" in phone.log() or "403" in phone.log()
    log = lab.server.log_text()
    assert "event=RegistrationRejected username=8001" in log, log[-3000:]
    assert "ContactRegistered" not in log
    assert wrong not in log
    assert "sip-8001" not in log
