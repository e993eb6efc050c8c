"""Attended transfer from the agent's own phone (issue 7): REFER with Replaces (RFC 3515,
RFC 3891, RFC 5589 §7) from linphonec, with real phones in a private namespace network.

A baresip caller (8100, 440 Hz) dials the billing queue; agent 1001's linphonec (8001,
1000 Hz) answers, calls agent 1002's baresip (8002, 1200 Hz) through the server (the phone
holds the caller first: ``pause 1``), then runs ``transfer 1 --to-call 2``: the caller and 1002 must
then hear each other, both of 8001's calls end, 1001 goes to wrap-up and 1002 is on the
caller's ACD call; the caller's CDR is one journey ending with 1002.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from callcenter.storage.db import database_url
from callcenter.storage.store import Storage

from .linphone import Linphone
from .phone_audio import heard_sequence, tone_track
from .phones import Lab, check_lab_prerequisites, lab_session
from .test_inbound import prepare, wait_for

pytestmark = pytest.mark.e2e
CALLER, A1, A2 = 440.0, 1000.0, 1200.0
DIALPLAN = """
default: {hangup: no_route}
rules:
  - {name: billing-direct, did: ["7001"], queue: billing}
  - {name: extensions, did_regex: "8[0-9]{3}", extension: direct}
"""


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    why = check_lab_prerequisites()
    if why is not None:
        pytest.fail(why)
    with lab_session(tmp_path, env=prepare(tmp_path, DIALPLAN)) as session:
        session.begin()
        yield session


def heard(path: Path) -> list[float]:
    return [round(f) for f in heard_sequence(tone_track(path), min_windows=10) if f]


def near(tones: list[float], hz: float) -> bool:
    return any(abs(t - hz) <= 25 for t in tones)


def test_linphone_attended_transfer_with_replaces(lab: Lab, tmp_path: Path) -> None:
    agent = lab.add(Linphone.start, "8001", "sip-8001", tone_hz=A1, answermode="auto")
    agent.wait_registered()
    lab.wait_log("agent_id=1001 extension=8001")
    caller = lab.phone("8100", "sip-8100", tone_hz=CALLER)
    caller.wait_registered()
    caller.dial("7001")
    lab.wait_log("call.bridged", timeout=20)  # 1001 is the only agent logged in
    caller.wait_event("CALL_ESTABLISHED")
    time.sleep(2)  # the caller hears 1001 for a while (checked in its recording)
    # 1002 logs in only now, so the queue could not have offered it the caller
    target = lab.phone("8002", "sip-8002", tone_hz=A2)
    target.wait_registered()
    lab.wait_log("agent_id=1002 extension=8002")
    mark = len(agent.output)
    agent.send("pause 1")  # hold from the phone: re-INVITE a=sendonly, the caller hears music
    lab.wait_log("control.hold", timeout=10)
    agent.send(f"call {agent.uri('8002')}")
    lab.wait_log("agent_id=ext:8002", timeout=20)
    target.wait_event("CALL_ESTABLISHED")
    time.sleep(1)
    agent.send("transfer 1 --to-call 2")
    lab.wait_log("control.refer_replaces", timeout=15)
    # both of the agent's calls end; the caller and 1002 stay
    agent.wait_until("both calls ended", lambda: agent._seen("Call 2", mark) and sum(
        " ended (" in line for line in agent.output[mark:]) >= 2, timeout=15)  # fmt: skip
    time.sleep(3)  # the caller and 1002 talk (checked in their recordings)
    assert caller.call_state() == "established" and target.call_state() == "established"
    mark2 = len(target.events)
    target.hangup()
    target.wait_event("CALL_CLOSED", after=mark2)
    caller.wait_call("closed", timeout=15)
    # audio: the caller heard 1001, then 1002; 1002 heard the caller (after 8001's hold)
    [caller_heard] = caller.received_recordings()
    tones = heard(caller_heard)
    assert near(tones, A1) and near(tones[-1:], A2), tones
    assert tones.index(next(t for t in tones if abs(t - A1) <= 25)) < len(tones) - 1
    [target_heard] = target.received_recordings()
    assert near(heard(target_heard)[-1:], CALLER), heard(target_heard)
    # ACD and CDR: one journey for the caller, ending with 1002, who was on the ACD call
    wait_for(lambda: "call.closed" in lab.log(), timeout=15)
    store = Storage.open(database_url("", tmp_path / "var"), migrate=False)
    try:
        cdrs = store.cdrs.search(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
        events = store.events.since(0, limit=10000)
    finally:
        store.close()
    [journey] = [c for c in cdrs if c.called == "7001"]
    assert journey.outcome == "answered" and journey.agent_id == 1002, journey
    assert journey.hold_seconds > 0, journey
    assert [leg.peer for leg in journey.legs][-1] == "8002", journey.legs
    [moved] = [e.payload for e in events if e.type == "CallTransferred"]
    assert moved["mode"] == "phone-attended" and moved["agent_id"] == "1001", moved
    assert moved["target"] == "8002" and moved["kind"] == "agent", moved
    states = [(e.payload["agent_id"], e.payload["activity"]) for e in events
              if e.type == "AgentStateChanged"]  # fmt: skip
    after = states[[s[0] for s in states].index("1002") :]
    assert ("1001", "wrap_up") in after and ("1002", "on_call") in after, states
    assert after.index(("1002", "on_call")) < len(after) - 1  # then 1002's own wrap-up
    assert ("1002", "wrap_up") in after[after.index(("1002", "on_call")) :], states
