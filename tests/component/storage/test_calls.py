"""CDRs and legs, crash recovery (calls that were up become ``interrupted``), no half-written rows
under injected failures or a killed process, and the event log's growing sequence."""

import enum
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from datetime import datetime

import pytest

from callcenter.storage import Conflict, Database, NotFound, Storage, ValidationFailed
from callcenter.storage.hashing import fast_hasher
from callcenter.storage.repos.calls import CallTimes
from callcenter.storage.repos.events import NewEvent
from callcenter.storage.repos.tickets import NewTicket

from .conftest import FaultInjector
from .helpers import at


def test_call_lifecycle_with_legs(store: Storage) -> None:
    opened = store.cdrs.open_call("c1", "13800000001", "95598", at(), caller_leg="c1-a")
    assert (opened.outcome, opened.talk_seconds, opened.ivr_path) == (None, 0.0, [])
    assert [leg.role for leg in opened.legs] == ["caller"]
    store.cdrs.annotate("c1", ivr_step="welcome", business_category="billing")
    store.cdrs.annotate("c1", ivr_step="menu:1", queue="billing")
    store.cdrs.add_leg("c1", "c1-b", "sip:8001@127.0.0.1", "agent", at(30))
    store.cdrs.answer_leg("c1-b", at(35))
    store.cdrs.answer_leg("c1-a", at(35))
    store.cdrs.annotate("c1", agent_id=1001, answer_time=at(35))
    store.cdrs.end_leg("c1-b", at(95), "answered")
    times = CallTimes(queue_wait_seconds=25, ring_seconds=5, talk_seconds=60, hold_seconds=10)
    cdr = store.cdrs.close_call("c1", at(95), "answered", times)
    store.cdrs.set_wrapup("c1", 15)
    got = store.cdrs.get("c1")
    assert got is not None
    assert (got.outcome, got.agent_id, got.queue, got.ivr_path) == (
        "answered",
        1001,
        "billing",
        ["welcome", "menu:1"],
    )
    assert (got.talk_seconds, got.wrapup_seconds, got.end_time) == (60, 15, at(95))
    legs = {leg.leg_id: (leg.role, leg.disposition, leg.end_time) for leg in got.legs}
    assert legs == {"c1-a": ("caller", "answered", at(95)), "c1-b": ("agent", "answered", at(95))}
    assert cdr.legs == got.legs


def test_a_call_is_closed_once(store: Storage) -> None:
    store.cdrs.open_call("c2", "1", "2", at())
    store.cdrs.close_call("c2", at(5), "abandoned", CallTimes(queue_wait_seconds=5))
    with pytest.raises(Conflict):
        store.cdrs.close_call("c2", at(6), "answered", CallTimes())
    with pytest.raises(Conflict):
        store.cdrs.add_leg("c2", "c2-b", "x", "agent", at(6))
    assert store.cdrs.get("c2").outcome == "abandoned"  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        store.cdrs.open_call("c2", "1", "2", at())


@pytest.mark.parametrize(
    ("outcome", "times"),
    [("hung", CallTimes()), ("answered", CallTimes(talk_seconds=-1))],
)
def test_close_call_validates(store: Storage, outcome: str, times: CallTimes) -> None:
    store.cdrs.open_call("c3", "1", "2", at())
    with pytest.raises(ValidationFailed):
        store.cdrs.close_call("c3", at(1), outcome, times)
    assert store.cdrs.open_calls() == ["c3"]
    with pytest.raises(NotFound):
        store.cdrs.close_call("nope", at(1), "answered", CallTimes())


def test_search_cdrs(store: Storage) -> None:
    for i, (agent, outcome) in enumerate(
        [(1001, "answered"), (1002, "answered"), (None, "abandoned")]
    ):
        store.cdrs.open_call(f"s{i}", f"13{i}", "95598", at(i * 60))
        if agent:
            store.cdrs.annotate(f"s{i}", agent_id=agent, queue="billing")
        store.cdrs.close_call(f"s{i}", at(i * 60 + 30), outcome, CallTimes())
    assert [c.call_id for c in store.cdrs.search(at(0), at(3600))] == ["s0", "s1", "s2"]
    assert [c.call_id for c in store.cdrs.search(at(30), at(3600))] == ["s1", "s2"]
    assert [c.call_id for c in store.cdrs.search(at(0), at(3600), agent_id=1002)] == ["s1"]
    assert [c.call_id for c in store.cdrs.search(at(0), at(3600), outcome="abandoned")] == ["s2"]


def test_restart_closes_up_calls_as_interrupted(db_url: str) -> None:
    first = Storage(Database(db_url), hasher=fast_hasher())
    first.cdrs.open_call("up", "13800000001", "95598", at(), caller_leg="up-a")
    first.cdrs.add_leg("up", "up-b", "8001", "agent", at(10))
    first.cdrs.answer_leg("up-b", at(12))
    first.cdrs.annotate("up", agent_id=1001, answer_time=at(12))
    first.cdrs.open_call("done", "13800000002", "95598", at())
    first.cdrs.close_call("done", at(20), "answered", CallTimes(talk_seconds=20))
    start = first.events.last_seq()
    first.db.dispose()  # the process dies here: nothing else is written

    second = Storage(Database(db_url), hasher=fast_hasher())
    assert second.recover(at(100)) == ["up"]
    up = second.cdrs.get("up")
    assert up is not None
    assert (up.outcome, up.end_time, up.talk_seconds) == ("interrupted", at(100), 88)
    assert {leg.disposition for leg in up.legs} == {"interrupted"}
    assert second.cdrs.get("done").outcome == "answered"  # type: ignore[union-attr]
    events = second.events.since(start)
    assert [(e.type, e.call_id, e.agent_id) for e in events] == [("CallInterrupted", "up", 1001)]
    assert second.recover(at(200)) == []
    second.close()


KILLED_WRITER = """
import os, signal, sys
from datetime import UTC, datetime
from callcenter.storage import Database, Storage
from callcenter.storage.schema import Cdr
from callcenter.storage.hashing import fast_hasher
now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
store = Storage(Database(sys.argv[1]), hasher=fast_hasher())
store.cdrs.open_call("committed", "1", "2", now)
with store.db.transaction() as s:
    s.add(Cdr(call_id="half", caller="1", called="2", start_time=now, ivr_path=[],
              queue_wait_seconds=0, ring_seconds=0, talk_seconds=0, hold_seconds=0,
              wrapup_seconds=0))
    s.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_process_leaves_no_half_written_row(db_url: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED_WRITER), db_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -9, proc.stderr
    store = Storage(Database(db_url), hasher=fast_hasher())
    assert store.cdrs.open_calls() == ["committed"]
    assert store.cdrs.get("half") is None
    assert store.recover(at(60)) == ["committed"]
    store.close()


def test_failure_mid_open_call_writes_nothing(store: Storage, faults: FaultInjector) -> None:
    faults.fail_on(r"INSERT INTO cdr_legs")
    with pytest.raises(Exception, match="INSERT INTO cdr_legs"):
        store.cdrs.open_call("f1", "1", "2", at(), caller_leg="f1-a")
    assert faults.fired == 1
    assert store.cdrs.get("f1") is None


def test_failure_mid_close_call_leaves_call_open(store: Storage, faults: FaultInjector) -> None:
    store.cdrs.open_call("f2", "1", "2", at(), caller_leg="f2-a")
    before = store.cdrs.get("f2")
    faults.fail_on(r"UPDATE cdr_legs")
    with pytest.raises(Exception, match="UPDATE cdr_legs"):
        store.cdrs.close_call("f2", at(9), "answered", CallTimes(talk_seconds=9))
    assert store.cdrs.get("f2") == before


def test_failure_mid_recovery_changes_nothing(store: Storage, faults: FaultInjector) -> None:
    store.cdrs.open_call("f3", "1", "2", at())
    store.cdrs.open_call("f4", "1", "2", at())
    start = store.events.last_seq()
    faults.fail_on(r"INSERT INTO event_log")
    with pytest.raises(Exception, match="INSERT INTO event_log"):
        store.recover(at(50))
    assert sorted(store.cdrs.open_calls()) == ["f3", "f4"]
    assert store.events.since(start) == []
    assert sorted(store.recover(at(60))) == ["f3", "f4"]


def test_failure_mid_ticket_creation_writes_nothing(store: Storage, faults: FaultInjector) -> None:
    faults.fail_on(r"INSERT INTO ticket_history")
    with pytest.raises(Exception, match="INSERT INTO ticket_history"):
        store.tickets.create(NewTicket("t", "d", "complaint"), "a1001", at())
    assert store.tickets.search() == []


def test_failure_mid_batch_append_writes_no_event(store: Storage, faults: FaultInjector) -> None:
    start = store.events.last_seq()
    batch = [NewEvent(f"E{i}", at(i), {"i": i}) for i in range(3)]
    faults.fail_on(r"INSERT INTO event_log")
    faults.skip(2)  # let the first two inserts of the batch through, fail the third
    with pytest.raises(Exception, match="INSERT INTO event_log"):
        store.events.append_many(batch)
    assert store.events.since(start) == []
    assert len(store.events.append_many(batch)) == 3


def test_event_log_append_since_and_types(store: Storage) -> None:
    start = store.events.last_seq()
    a = store.events.append("CallQueued", {"queue": "billing"}, at(1), call_id="c1")
    b = store.events.append("AgentReserved", {"agent": 1001}, at(2), call_id="c1", agent_id=1001)
    c = store.events.append("AgentLoggedIn", {"seat": "S01"}, at(3), agent_id=1002)
    assert start < a < b < c
    assert [e.type for e in store.events.since(start)] == [
        "CallQueued",
        "AgentReserved",
        "AgentLoggedIn",
    ]
    assert [e.seq for e in store.events.since(a, limit=1)] == [b]
    assert [e.seq for e in store.events.for_call("c1")] == [a, b]
    assert store.events.since(start)[1].payload == {"agent": 1001}
    assert store.events.last_seq() == c
    with pytest.raises(ValidationFailed):
        store.events.append("", {}, at())


class Reason(enum.Enum):
    NO_ANSWER = "no_answer"


@dataclass(frozen=True)
class AgentSetBusy:
    agent_id: int
    call_id: str
    reason: Reason
    since: datetime
    skills: tuple[str, ...]


def test_domain_events_are_logged_by_class_name_with_json_safe_payload(store: Storage) -> None:
    event = AgentSetBusy(1001, "c9", Reason.NO_ANSWER, at(5), ("billing", "repair"))
    seq = store.events.append_event(event, at(6))
    (logged,) = store.events.since(seq - 1)
    assert (logged.seq, logged.type, logged.call_id, logged.agent_id, logged.at) == (
        seq,
        "AgentSetBusy",
        "c9",
        1001,
        at(6),
    )
    assert logged.payload == {
        "agent_id": 1001,
        "call_id": "c9",
        "reason": "no_answer",
        "since": at(5).isoformat(),
        "skills": ["billing", "repair"],
    }
    with pytest.raises(ValidationFailed):
        store.events.append_event({"not": "a dataclass"}, at())
