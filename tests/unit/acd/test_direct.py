"""Calls outside the queues (acd/direct.py): reserve, take, rekey; one test or table row per rule.

The property test at the end extends the router's state machine (test_stateful.py) with the new
commands and checks, besides all of its invariants: an agent is never on two calls, is never
offered a queue caller while it holds a direct call, the wrap-up after a call goes to the agent
who had it, and each agent's talk time is the sum of the times it had its calls (and its
answered-call count counts queue and direct answers, not taken calls).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from callcenter.acd import (
    Acd,
    Activity,
    AgentStateChanged,
    CallAlreadyQueuedError,
    CallLeftQueue,
    CancelOffer,
    HangUpAgent,
    NoSuchOfferError,
    NotOnCallError,
    OfferToAgent,
    Outcome,
    Output,
    Presence,
    PresenceChangeDeferred,
    QueueConfig,
    UnknownQueueError,
)
from callcenter.acd.errors import AcdError, AgentNotAvailableError
from tests.unit.acd.helpers import login, make, of, offers
from tests.unit.acd.test_stateful import AGENTS, QUEUES, AcdMachine, ModelEntry

Q = QueueConfig("q", ring_timeout=10.0, wrapup=5.0, max_no_answers=2)


def changes(out: list[Output]) -> list[tuple[str, Presence, Activity, str]]:
    return [(c.agent_id, c.presence, c.activity, c.cause) for c in of(AgentStateChanged, out)]


def on_call_with_caller(acd: Acd, agent: str = "1", call: str = "c", at: float = 1.0) -> None:
    """``agent`` answers queue caller ``call`` at ``at`` (it must be the only idle agent)."""
    assert offers(acd.enqueue(call, "q", at)) == [(call, agent)]
    acd.offer_answered(call, agent, at)


# ---- reserve ---------------------------------------------------------------------------------


def test_reserve_makes_the_agent_reserved_and_offers_it_nothing_else() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    out = acd.reserve("k", "1", 1.0)
    assert changes(out) == [("1", Presence.READY, Activity.RESERVED, "direct call")]
    assert of(AgentStateChanged, out)[0].actor == "acd"
    view = acd.agent_view("1")
    assert (view.activity, view.call_id) == (Activity.RESERVED, "k")
    assert offers(acd.enqueue("c", "q", 2.0)) == []  # the caller waits
    assert acd.next_deadline() is None  # no ring timer for a direct call
    assert acd.on_timer(1000.0) == []
    assert acd.agent_view("1").activity is Activity.RESERVED
    assert acd.queue_view("q", 3.0).idle == 0


@pytest.mark.parametrize(
    ("setup", "reason", "message"),
    [
        ("absent", "not_logged_in", "not logged in"),
        ("busy", "busy", r"is busy \(lunch\)"),
        ("offered", "reserved", "being offered another call"),
        ("ringing", "ringing", "ringing for another call"),
        ("on_call", "on_call", "is on a call"),
        ("wrap_up", "wrap_up", "in wrap-up"),
        ("direct", "reserved", "being offered another call"),
    ],
)
def test_reserve_needs_a_ready_idle_agent(setup: str, reason: str, message: str) -> None:
    acd = make(Q)
    if setup != "absent":
        login(acd, "1", 0.0)
    if setup == "busy":
        acd.set_busy("1", "lunch", 0.5)
    if setup in ("offered", "ringing", "on_call", "wrap_up"):
        acd.enqueue("c", "q", 1.0)
    if setup == "ringing":
        acd.offer_ringing("c", "1", 1.5)
    if setup in ("on_call", "wrap_up"):
        acd.offer_answered("c", "1", 2.0)
    if setup == "wrap_up":
        acd.call_ended("c", 3.0)
    if setup == "direct":
        acd.reserve("other", "1", 3.0)
    before = acd.agents()
    with pytest.raises(AgentNotAvailableError, match=message) as err:
        acd.reserve("k", "1", 4.0)
    assert (err.value.code, err.value.reason) == ("agent_not_available", reason)
    assert isinstance(err.value, AcdError)
    assert acd.agents() == before  # changed nothing


def test_busy_without_a_reason_says_so() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.set_busy("1", "", 0.5)
    with pytest.raises(AgentNotAvailableError, match="no reason"):
        acd.reserve("k", "1", 1.0)


@pytest.mark.parametrize("what", ["queued", "at_agent", "reserved"])
def test_reserve_key_must_be_free(what: str) -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    login(acd, "2", 0.0)
    login(acd, "3", 0.0)
    if what == "queued":
        acd.set_busy("1", "x", 0.1)
        acd.set_busy("2", "x", 0.1)
        acd.set_busy("3", "x", 0.1)
        acd.enqueue("k", "q", 1.0)
        acd.set_ready("3", 1.1)
    elif what == "at_agent":
        acd.enqueue("k", "q", 1.0)
        acd.offer_answered("k", "1", 1.0)
    else:
        acd.reserve("k", "2", 1.0)
    before = acd.agent_view("3")
    with pytest.raises(CallAlreadyQueuedError) as err:
        acd.reserve("k", "3", 2.0)
    assert err.value.code == "call_already_queued"
    assert acd.agent_view("3") == before


# ---- reserved_ringing / reserved_answered / reserved_failed -----------------------------------


def test_ringing_then_answered_counts_an_answered_call() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.reserve("k", "1", 1.0)
    out = acd.reserved_ringing("k", "1", 2.0)
    assert changes(out) == [("1", Presence.READY, Activity.RINGING, "ringing")]
    assert acd.reserved_ringing("k", "1", 2.5) == []  # reported once
    out = acd.reserved_answered("k", "1", 3.0)
    assert changes(out) == [("1", Presence.READY, Activity.ON_CALL, "answered")]
    assert of(AgentStateChanged, out)[0].actor == "1"
    view = acd.agent_view("1")
    assert (view.activity, view.call_id, view.calls_answered) == (Activity.ON_CALL, "k", 1)
    out = acd.call_ended("k", 63.0)
    assert changes(out) == [("1", Presence.READY, Activity.IDLE, "call ended")]  # no queue
    view = acd.agent_view("1")
    assert (view.talk_time, view.call_id) == (60.0, None)


def test_answered_without_ringing_resets_the_no_answer_count() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.enqueue("c", "q", 1.0)
    acd.on_timer(11.0)  # one miss, offered again
    acd.caller_abandoned("c", 12.0)
    assert acd.agent_view("1").no_answers == 1
    acd.reserve("k", "1", 13.0)
    acd.reserved_answered("k", "1", 14.0)
    assert acd.agent_view("1").no_answers == 0


@pytest.mark.parametrize(
    ("own", "queue_id", "activity", "deadline"),
    [
        (None, "", Activity.IDLE, None),  # no queue, no own wrap-up: none
        (None, "q", Activity.WRAP_UP, 15.0),  # the queue's 5 s
        (30.0, "", Activity.WRAP_UP, 40.0),  # the agent's own 30 s
        (30.0, "q", Activity.WRAP_UP, 40.0),  # the agent's own wins
    ],
)
def test_wrap_up_after_a_direct_call(
    own: float | None, queue_id: str, activity: Activity, deadline: float | None
) -> None:
    acd = make(Q)
    login(acd, "1", 0.0, wrapup=own)
    acd.reserve("k", "1", 1.0)
    acd.reserved_answered("k", "1", 2.0, queue_id=queue_id, category="billing")
    out = acd.call_ended("k", 10.0)
    assert of(AgentStateChanged, out)[0].activity is activity
    assert acd.next_deadline() == deadline


def test_a_direct_call_of_a_queue_feeds_its_handle_time() -> None:
    acd = make(QueueConfig("q", wrapup=0.0, default_handle_time=100.0))
    login(acd, "1", 0.0)
    acd.reserve("k", "1", 1.0)
    acd.reserved_answered("k", "1", 1.0, queue_id="q")
    acd.call_ended("k", 201.0)
    assert acd.queue_view("q", 201.0).average_handle_time == pytest.approx(120.0)


def test_answered_with_an_unknown_queue_is_refused_and_changes_nothing() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.reserve("k", "1", 1.0)
    with pytest.raises(UnknownQueueError):
        acd.reserved_answered("k", "1", 2.0, queue_id="nope")
    assert acd.agent_view("1").activity is Activity.RESERVED
    acd.reserved_answered("k", "1", 3.0)  # the reservation is still there


def test_failed_makes_the_agent_idle_without_a_no_answer() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    login(acd, "2", 0.0)
    acd.reserve("k", "1", 1.0)
    acd.reserved_ringing("k", "1", 1.5)
    acd.set_busy("2", "x", 1.6)
    acd.enqueue("c", "q", 2.0)  # waits: 1 reserved, 2 busy
    out = acd.reserved_failed("k", "1", 20.0)
    assert changes(out)[0] == ("1", Presence.READY, Activity.IDLE, "direct call not answered")
    assert offers(out) == [("c", "1")]  # free again: takes the waiting caller
    view = acd.agent_view("1")
    assert (view.no_answers, view.calls_answered) == (0, 0)
    with pytest.raises(NoSuchOfferError):
        acd.reserved_failed("k", "1", 21.0)


def test_failed_applies_a_busy_asked_meanwhile() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.reserve("k", "1", 1.0)
    assert acd.set_busy("1", "tired", 2.0) == [PresenceChangeDeferred("1", Presence.BUSY, "tired")]
    out = acd.reserved_failed("k", "1", 3.0)
    assert changes(out) == [("1", Presence.BUSY, Activity.IDLE, "direct call not answered")]


@pytest.mark.parametrize("command", ["reserved_ringing", "reserved_answered", "reserved_failed"])
@pytest.mark.parametrize("case", ["unknown_key", "other_agent", "queue_offer", "answered"])
def test_reserved_commands_need_the_reservation(command: str, case: str) -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    login(acd, "2", 0.0)
    acd.reserve("k", "1", 1.0)
    key, agent = {"unknown_key": ("x", "1"), "other_agent": ("k", "2")}.get(case, ("k", "1"))
    if case == "queue_offer":
        assert offers(acd.enqueue("c", "q", 1.0)) == [("c", "2")]
        key, agent = "c", "2"  # a queue offer is not a reservation
    if case == "answered":
        acd.reserved_answered("k", "1", 1.5)
    before = acd.agents()
    with pytest.raises(NoSuchOfferError) as err:
        getattr(acd, command)(key, agent, 2.0)
    assert err.value.code == "no_such_offer"
    assert acd.agents() == before


def test_logout_withdraws_a_reservation() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.reserve("k", "1", 1.0)
    out = acd.logout("1", 2.0)
    assert of(CancelOffer, out) == [CancelOffer("k", "1", "agent logged out")]
    assert changes(out)[-1][1] is Presence.LOGGED_OUT
    with pytest.raises(NoSuchOfferError):
        acd.reserved_answered("k", "1", 3.0)
    login(acd, "1", 4.0)
    acd.reserve("k", "1", 5.0)  # the key is free again


def test_force_busy_withdraws_a_reservation_without_a_no_answer() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.reserve("k", "1", 1.0)
    acd.reserved_ringing("k", "1", 1.5)
    out = acd.force_busy("1", "900", 2.0)
    assert of(CancelOffer, out) == [CancelOffer("k", "1", "forced busy")]
    assert changes(out)[-1] == ("1", Presence.BUSY, Activity.IDLE, "forced busy")
    assert acd.agent_view("1").no_answers == 0
    with pytest.raises(NoSuchOfferError):
        acd.reserved_ringing("k", "1", 3.0)


def test_queue_offers_are_still_withdrawn_normally_beside_reservations() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    login(acd, "2", 0.0)
    acd.reserve("k", "1", 1.0)
    assert offers(acd.enqueue("c", "q", 1.0)) == [("c", "2")]
    out = acd.force_busy("2", "900", 2.0)
    assert of(CancelOffer, out) == [CancelOffer("c", "2", "forced busy")]
    assert acd.entry_view("c").offered_to == ()
    assert acd.agent_view("1").activity is Activity.RESERVED


def test_logout_on_a_direct_call_hangs_it_up() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.reserve("k", "1", 1.0)
    acd.reserved_answered("k", "1", 2.0)
    out = acd.logout("1", 3.0)
    assert of(HangUpAgent, out) == [HangUpAgent("1", "k")]
    assert acd.call_ended("k", 4.0) == []


# ---- take -----------------------------------------------------------------------------------


@pytest.mark.parametrize("presence", [Presence.READY, Presence.BUSY])
def test_take_from_idle_any_presence(presence: Presence) -> None:
    acd = make(Q)
    login(acd, "1", 0.0, ready=presence is Presence.READY)
    out = acd.take("out-1", "1", 1.0)
    assert changes(out) == [("1", presence, Activity.ON_CALL, "call taken")]
    assert of(AgentStateChanged, out)[0].actor == "1"
    assert offers(acd.enqueue("c", "q", 2.0)) == []  # on a call: offered nothing
    out = acd.call_ended("out-1", 31.0)
    assert changes(out)[0] == ("1", presence, Activity.IDLE, "call ended")
    view = acd.agent_view("1")
    assert (view.calls_answered, view.no_answers, view.talk_time) == (0, 0, 30.0)
    if presence is Presence.READY:
        assert offers(out) == [("c", "1")]


def test_take_keeps_the_no_answer_count() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.enqueue("c", "q", 1.0)
    acd.on_timer(11.0)
    acd.caller_abandoned("c", 12.0)
    acd.take("o", "1", 13.0)
    assert acd.agent_view("1").no_answers == 1


def test_take_ends_a_wrap_up_and_starts_its_own_at_the_end() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    on_call_with_caller(acd)
    acd.call_ended("c", 2.0)  # wrap-up until 7
    out = acd.take("o", "1", 3.0, queue_id="q", category="sales")
    assert changes(out) == [("1", Presence.READY, Activity.ON_CALL, "call taken")]
    assert acd.on_timer(7.0) == []  # the old wrap-up timer is stale
    assert acd.agent_view("1").activity is Activity.ON_CALL
    out = acd.call_ended("o", 10.0)
    assert of(AgentStateChanged, out)[0].activity is Activity.WRAP_UP
    assert acd.next_deadline() == 15.0  # the queue's 5 s from the end
    view = acd.agent_view("1")
    assert (view.calls_answered, view.talk_time) == (1, 8.0)  # 1 s + 7 s


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("absent", "not_logged_in"),
        ("offered", "reserved"),
        ("ringing", "ringing"),
        ("on_call", "on_call"),
        ("direct", "reserved"),
    ],
)
def test_take_refuses_an_agent_off_hook(setup: str, reason: str) -> None:
    acd = make(Q)
    if setup != "absent":
        login(acd, "1", 0.0)
    if setup in ("offered", "ringing", "on_call"):
        acd.enqueue("c", "q", 1.0)
    if setup == "ringing":
        acd.offer_ringing("c", "1", 1.5)
    if setup == "on_call":
        acd.offer_answered("c", "1", 2.0)
    if setup == "direct":
        acd.reserve("k", "1", 2.0)
    before = acd.agents()
    with pytest.raises(AgentNotAvailableError) as err:
        acd.take("o", "1", 3.0)
    assert err.value.reason == reason
    assert acd.agents() == before


def test_take_of_the_agents_own_reservation() -> None:
    """Click-to-dial: the agent is reserved while its own phone rings (no queue caller is
    offered meanwhile), then takes the call under the same key: on a call, not an answered
    ACD call; the reservation is gone."""
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.reserve("out-1", "1", 1.0)
    acd.enqueue("c", "q", 1.5)  # a caller arrives while the agent's phone rings: not offered
    assert acd.agent_view("1").activity is Activity.RESERVED
    with pytest.raises(UnknownQueueError):
        acd.take("out-1", "1", 2.0, queue_id="nope")  # nothing changed
    assert acd.agent_view("1").activity is Activity.RESERVED
    out = acd.take("out-1", "1", 2.0)
    assert changes(out) == [("1", Presence.READY, Activity.ON_CALL, "call taken")]
    assert acd.agent_view("1").calls_answered == 0
    with pytest.raises(NoSuchOfferError):
        acd.reserved_failed("out-1", "1", 3.0)
    out = acd.call_ended("out-1", 4.0)
    assert ("1", Activity.IDLE) in [(a, act) for a, _, act, _ in changes(out)]
    assert offers(out) == [("c", "1")]  # free again: the waiting caller


def test_take_key_must_be_free_and_queue_known() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    login(acd, "2", 0.0)
    acd.reserve("k", "2", 1.0)
    with pytest.raises(CallAlreadyQueuedError):
        acd.take("k", "1", 2.0)
    with pytest.raises(UnknownQueueError):
        acd.take("o", "1", 2.0, queue_id="nope")
    assert acd.agent_view("1").activity is Activity.IDLE


def test_intercept_a_queue_call_wrap_up_goes_to_each_agent() -> None:
    """A supervisor takes over an agent's call: transfer away, then take under the same id."""
    acd = make(Q)
    login(acd, "1", 0.0)
    login(acd, "9", 0.0, ready=False)
    on_call_with_caller(acd, "1", "c", 1.0)
    out = acd.transfer("c", 11.0)
    assert changes(out) == [("1", Presence.READY, Activity.WRAP_UP, "transferred")]
    out = acd.take("c", "9", 11.0, queue_id="q")
    assert changes(out) == [("9", Presence.BUSY, Activity.ON_CALL, "call taken")]
    out = acd.call_ended("c", 41.0)  # agent 1's wrap-up ended at 16, reported now
    assert changes(out) == [
        ("1", Presence.READY, Activity.IDLE, "wrap-up ended"),
        ("9", Presence.BUSY, Activity.WRAP_UP, "call ended"),
    ]
    assert acd.agent_view("1").talk_time == 10.0
    assert acd.agent_view("9").talk_time == 30.0


# ---- rekey, transfer, call_ended -----------------------------------------------------------


def test_attended_transfer_rekeys_the_consult_leg() -> None:
    """A has caller c, consults B on leg k, then transfers: B's leg becomes c."""
    acd = make(Q)
    login(acd, "1", 0.0)
    on_call_with_caller(acd, "1", "c", 1.0)
    login(acd, "2", 1.0, wrapup=20.0)
    acd.reserve("k", "2", 5.0)
    acd.reserved_ringing("k", "2", 5.5)
    acd.reserved_answered("k", "2", 6.0, queue_id="q")
    out = acd.transfer("c", 10.0)  # A's wrap-up starts at the transfer
    assert changes(out) == [("1", Presence.READY, Activity.WRAP_UP, "transferred")]
    assert acd.rekey("k", "c", 10.0) == []
    assert acd.agent_view("2").call_id == "c"
    assert acd.call_ended("k", 11.0) == []  # the old key is gone
    out = acd.call_ended("c", 50.0)  # B's own wrap-up at its own end (A's ended at 15)
    assert changes(out) == [
        ("1", Presence.READY, Activity.IDLE, "wrap-up ended"),
        ("2", Presence.READY, Activity.WRAP_UP, "call ended"),
    ]
    assert acd.next_deadline() == 70.0
    views = {v.agent_id: v for v in acd.agents()}
    assert (views["1"].talk_time, views["2"].talk_time) == (9.0, 44.0)
    assert (views["1"].calls_answered, views["2"].calls_answered) == (1, 1)


def test_rekey_errors_change_nothing() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    login(acd, "2", 0.0)
    acd.take("a", "1", 1.0)
    acd.reserve("r", "2", 1.0)
    with pytest.raises(NotOnCallError) as err:
        acd.rekey("nope", "x", 2.0)
    assert err.value.code == "not_on_call"
    with pytest.raises(NotOnCallError):
        acd.rekey("r", "x", 2.0)  # a reservation is not a call at an agent
    for taken in ("a", "r"):
        with pytest.raises(CallAlreadyQueuedError):
            acd.rekey("a", taken, 2.0)
    assert acd.agent_view("1").call_id == "a"
    acd.rekey("a", "b", 3.0)
    assert acd.agent_view("1").call_id == "b"
    with pytest.raises(NotOnCallError):
        acd.transfer("a", 4.0)


def test_transfer_of_a_direct_call_into_a_queue() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    login(acd, "2", 0.0, ready=False)
    acd.take("o", "2", 1.0, category="vip")
    out = acd.transfer("o", 5.0, to_queue="q", priority=3)
    assert changes(out)[0] == ("2", Presence.BUSY, Activity.IDLE, "transferred")  # no queue
    assert offers(out) == [("o", "1")]
    view = acd.entry_view("o")
    assert (view.priority, view.category) == (3, "vip")
    out = acd.offer_answered("o", "1", 6.0)
    assert of(CallLeftQueue, out)[0].outcome is Outcome.ANSWERED


def test_transfer_of_a_direct_call_keeps_priority_zero_by_default() -> None:
    acd = make(Q)
    login(acd, "1", 0.0, ready=False)
    acd.take("o", "1", 1.0)
    acd.transfer("o", 2.0, to_queue="q")
    assert acd.entry_view("o").priority == 0


# ---- property: the router's state machine with the new commands -----------------------------


class DirectMachine(AcdMachine):
    """AcdMachine plus reserve / reserved_* / take / rekey, and invariants of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.reserved: dict[str, str] = {}  # direct key -> agent (reserved or ringing)
        self.held: dict[str, str] = {}  # call at an agent -> agent (queue or direct)
        self.started: dict[str, float] = {}  # agent -> when its call began
        self.talk: dict[str, float] = {}  # agent -> talk time (since its login)
        self.answers: dict[str, int] = {}  # agent -> calls answered (queue offers and direct)
        self.out: list[Output] = []
        self.keys = 0
        self.direct: set[str] = set()  # keys of direct calls (reserved, answered, taken)

    # ---- the model, fed by outputs (besides the parent's) -------------------------------------

    def absorb(self, out: list[Output]) -> None:
        self.out = out
        super().absorb(out)

    def on_CancelOffer(self, o: CancelOffer) -> None:
        if self.reserved.get(o.call_id) == o.agent_id:
            del self.reserved[o.call_id]
        else:
            super().on_CancelOffer(o)

    def on_OfferToAgent(self, o: OfferToAgent) -> None:
        assert o.agent_id not in self.reserved.values(), "offered while reserved for direct"
        assert o.agent_id not in self.held.values(), "offered while on a call"
        super().on_OfferToAgent(o)

    def on_CallLeftQueue(self, o: CallLeftQueue) -> None:
        super().on_CallLeftQueue(o)
        if o.outcome is Outcome.ANSWERED:
            assert o.agent_id is not None
            self.hold(o.call_id, o.agent_id)

    def on_HangUpAgent(self, o: HangUpAgent) -> None:
        assert self.held.pop(o.call_id) == o.agent_id

    def on_AgentStateChanged(self, o: AgentStateChanged) -> None:
        before = self.agents.get(o.agent_id, (None, None))[1]
        super().on_AgentStateChanged(o)
        agent = o.agent_id
        if o.cause == "login":
            self.talk[agent], self.answers[agent] = 0.0, 0
        if o.cause == "answered":  # offer_answered, reserved_answered; not take
            self.answers[agent] += 1
        if o.presence is Presence.LOGGED_OUT:
            self.talk.pop(agent, None)
            self.answers.pop(agent, None)
            self.started.pop(agent, None)
        elif before is Activity.ON_CALL and o.activity is not Activity.ON_CALL:
            assert o.cause in ("call ended", "transferred")
            self.talk[agent] += o.at - self.started.pop(agent)
        elif o.activity is Activity.ON_CALL and before is not Activity.ON_CALL:
            self.started[agent] = o.at

    def hold(self, key: str, agent: str) -> None:
        assert agent not in self.held.values(), f"agent {agent} on two calls"
        self.held[key] = agent

    # ---- commands ------------------------------------------------------------------------

    def attempt(self, command: Callable[[], list[Output]], error: type[AcdError] | None) -> bool:
        """Run ``command``, which must raise exactly ``error`` (or succeed when None)."""
        try:
            out = command()
        except AcdError as err:
            assert type(err) is error, f"{err!r} where {error} was expected"
            self.absorb(self.acd.on_timer(self.now))
            return False
        assert error is None, f"expected {error}"
        self.absorb(out)
        return True

    def fresh_key(self) -> str:
        self.keys += 1
        return f"d{self.keys}"

    def any_key(self, data: st.DataObject) -> str:
        """A fresh key or one in use (a queued caller, a call at an agent, a reservation)."""
        used = sorted({*self.open, *self.held, *self.reserved})
        if data.draw(st.booleans()) and used:
            return str(data.draw(st.sampled_from(used)))
        return self.fresh_key()

    def key_error(self, key: str) -> type[AcdError] | None:
        in_use = key in self.open or key in self.held or key in self.reserved
        return CallAlreadyQueuedError if in_use else None

    def agent_error(self, agent: str, *, take: bool) -> type[AcdError] | None:
        state = self.agents.get(agent)
        if state is None:
            return AgentNotAvailableError
        presence, activity = state
        if take:
            ok = activity in (Activity.IDLE, Activity.WRAP_UP)
        else:
            ok = activity is Activity.IDLE and presence is Presence.READY
        return None if ok else AgentNotAvailableError

    def fit(self, *, take: bool) -> list[str]:
        return sorted(a for a in self.agents if self.agent_error(a, take=take) is None)

    def advance(self, dt: float, *, take: bool) -> bool:
        """Move the clock on and fire the timers due (a ring timeout may offer a caller to the
        agent the rule would pick); True if an agent still fits."""
        self.now += dt
        self.absorb(self.acd.on_timer(self.now))
        return bool(self.fit(take=take))

    # The happy paths run whenever they can (preconditions); the *_any rules try any agent and
    # key, and the router must refuse exactly when the model says so.

    @precondition(lambda self: bool(self.fit(take=False)))
    @rule(data=st.data(), dt=st.sampled_from([0.0, 1.0]))
    def reserve(self, data: st.DataObject, dt: float) -> None:
        if not self.advance(dt, take=False):
            return
        agent = data.draw(st.sampled_from(self.fit(take=False)))
        key = self.fresh_key()
        self.attempt(lambda: self.acd.reserve(key, agent, self.now), None)
        self.reserved[key] = agent
        self.direct.add(key)

    @precondition(lambda self: bool(self.fit(take=True)))
    @rule(data=st.data(), queue=st.sampled_from(["", "", *QUEUES]), dt=st.sampled_from([0.0, 1.0]))
    def take(self, data: st.DataObject, queue: str, dt: float) -> None:
        if not self.advance(dt, take=True):
            return
        fit = self.fit(take=True)
        wrapping = [a for a in fit if self.agents[a][1] is Activity.WRAP_UP]
        if data.draw(st.booleans()) and wrapping:
            fit = wrapping  # the wrap-up must end, and its timer must not end the call
        agent = data.draw(st.sampled_from(fit))
        key = self.fresh_key()
        self.attempt(lambda: self.acd.take(key, agent, self.now, queue_id=queue), None)
        self.hold(key, agent)
        self.direct.add(key)

    @rule(agent=st.sampled_from(AGENTS), data=st.data(), take=st.booleans())
    def reserve_or_take_any(self, agent: str, data: st.DataObject, take: bool) -> None:
        key = self.any_key(data)
        error = self.key_error(key) or self.agent_error(agent, take=take)
        if take and self.reserved.get(key) == agent:  # its own call, reserved while ringing
            self.attempt(lambda: self.acd.take(key, agent, self.now), None)
            del self.reserved[key]
            self.hold(key, agent)
        elif take:
            if self.attempt(lambda: self.acd.take(key, agent, self.now), error):
                self.hold(key, agent)
                self.direct.add(key)
        elif self.attempt(lambda: self.acd.reserve(key, agent, self.now), error):
            self.reserved[key] = agent
            self.direct.add(key)

    @precondition(lambda self: bool(self.reserved))
    @rule(
        data=st.data(),
        action=st.sampled_from(["ringing", "answered", "answered", "failed"]),
        queue=st.sampled_from(["", "", *QUEUES]),
        dt=st.floats(0, 6),
    )
    def respond_direct(self, data: st.DataObject, action: str, queue: str, dt: float) -> None:
        key = data.draw(st.sampled_from(sorted(self.reserved)))
        agent = self.reserved[key]
        self.now += dt
        if action == "ringing":
            self.attempt(lambda: self.acd.reserved_ringing(key, agent, self.now), None)
        elif action == "failed":
            # the agent is free before the outputs arrive: they may offer it a waiting caller
            del self.reserved[key]
            self.attempt(lambda: self.acd.reserved_failed(key, agent, self.now), None)
        else:
            self.attempt(
                lambda: self.acd.reserved_answered(key, agent, self.now, queue_id=queue), None
            )
            del self.reserved[key]
            self.hold(key, agent)

    @rule(
        data=st.data(),
        agent=st.sampled_from(AGENTS),
        action=st.sampled_from(["reserved_ringing", "reserved_answered", "reserved_failed"]),
    )
    def respond_direct_any(self, data: st.DataObject, agent: str, action: str) -> None:
        key = self.any_key(data)
        if self.reserved.get(key) == agent:
            return  # a valid answer: respond_direct's job
        self.attempt(lambda: getattr(self.acd, action)(key, agent, self.now), NoSuchOfferError)

    @precondition(lambda self: bool(self.held))
    @rule(data=st.data())
    def rekey(self, data: st.DataObject) -> None:
        old = data.draw(st.sampled_from(sorted(self.held)))
        new = self.any_key(data)
        if self.attempt(lambda: self.acd.rekey(old, new, self.now), self.key_error(new)):
            self.held[new] = self.held.pop(old)
            if old in self.direct:
                self.direct.add(new)
            self.answered.add(new)  # the parent's invariant: a call at an agent was answered

    @rule(data=st.data())
    def rekey_not_at_agent(self, data: st.DataObject) -> None:
        old = self.any_key(data)
        if old not in self.held:
            self.attempt(lambda: self.acd.rekey(old, self.fresh_key(), self.now), NotOnCallError)

    def holding_direct(self) -> list[str]:
        """Agents with a direct call: reserved for it or on it."""
        keys = self.direct & {*self.reserved, *self.held}
        return sorted({self.reserved.get(k) or self.held[k] for k in keys})

    @precondition(lambda self: bool(self.holding_direct()))
    @rule(data=st.data(), then_fail=st.booleans())
    def busy_during_direct(self, data: st.DataObject, then_fail: bool) -> None:
        """A busy asked during a direct call applies when it ends (or fails: at once here)."""
        agent = data.draw(st.sampled_from(self.holding_direct()))
        self.run(lambda: self.acd.set_busy(agent, "x", self.now))
        keys = [k for k, a in self.reserved.items() if a == agent]
        if then_fail and keys:
            self.attempt(lambda: self.acd.reserved_failed(keys[0], agent, self.now), None)
            del self.reserved[keys[0]]
            assert self.agents[agent] == (Presence.BUSY, Activity.IDLE)

    @precondition(lambda self: bool(self.direct & set(self.held)))
    @rule(data=st.data(), dt=st.sampled_from([0.0, 1.0, 5.0, 20.0]))
    def hang_up_direct(self, data: st.DataObject, dt: float) -> None:
        call_id = data.draw(st.sampled_from(sorted(self.direct & set(self.held))))
        self.now += dt
        self.end_call(call_id)

    @precondition(lambda self: bool(self.held))
    @rule(data=st.data(), queue=st.sampled_from(["", *QUEUES]), talk=st.sampled_from([0.0, 12.0]))
    def dial_after_call(self, data: st.DataObject, queue: str, talk: float) -> None:
        """The agent hangs up and dials out at once, mostly during its wrap-up (which ends:
        its timer must not end the new call, which lasts ``talk`` seconds so far)."""
        call_id = data.draw(st.sampled_from(sorted(self.held)))
        agent = self.held[call_id]
        self.end_call(call_id)
        if self.agent_error(agent, take=True) is None:  # not offered a caller meanwhile
            key = self.fresh_key()
            self.attempt(lambda: self.acd.take(key, agent, self.now, queue_id=queue), None)
            self.hold(key, agent)
            self.direct.add(key)
            self.now += talk
            self.run(lambda: self.acd.on_timer(self.now))
            assert self.agents[agent][1] is Activity.ON_CALL

    # ---- the parent's call-ending rules, checked: the wrap-up goes to who had the call ----

    @rule(data=st.data())
    def hang_up(self, data: st.DataObject) -> None:
        call_id = self.pick(data, self.on_call())
        if call_id is not None:
            self.end_call(call_id)

    def end_call(self, call_id: str) -> None:
        holder = self.held.pop(call_id)
        self.run(lambda: self.acd.call_ended(call_id, self.now))
        self.check_ended(holder, "call ended")

    @rule(data=st.data(), to=st.sampled_from([None, *QUEUES]))
    def transfer(self, data: st.DataObject, to: str | None) -> None:
        call_id = self.pick(data, self.on_call())
        if call_id is None:
            return
        holder = self.held.pop(call_id)
        if to is not None:
            self.calls += 1
            self.submitted[call_id] = ModelEntry(to, 0, (self.now, self.calls))
        self.run(lambda: self.acd.transfer(call_id, self.now, to_queue=to, priority=0))
        self.check_ended(holder, "transferred")

    def check_ended(self, holder: str, cause: str) -> None:
        ended = [c for c in of(AgentStateChanged, self.out) if c.cause == cause]
        assert [c.agent_id for c in ended] == [holder], "wrap-up went to the wrong agent"
        assert ended[0].activity in (Activity.WRAP_UP, Activity.IDLE)

    # ---- invariants ------------------------------------------------------------------------

    @invariant()
    def model_matches_router(self) -> None:
        if not hasattr(self, "acd"):
            return
        entries = {e.call_id: e for e in self.acd.entries()}
        assert set(entries) == set(self.open), "a caller was lost or ended twice"
        assert not self.submitted
        views = {a.agent_id: a for a in self.acd.agents()}
        assert {a: (v.presence, v.activity) for a, v in views.items()} == self.agents
        assert {a for a, v in views.items() if v.pending is Presence.BUSY} == self.pending
        for call_id, entry in entries.items():
            assert set(entry.offered_to) == self.open[call_id].offers
            for agent in entry.offered_to:
                assert views[agent].activity in (Activity.RESERVED, Activity.RINGING)
                assert views[agent].call_id == call_id
        direct = {agent: key for key, agent in self.reserved.items()}
        assert len(direct) == len(self.reserved), "an agent reserved twice"
        calls = {agent: key for key, agent in self.held.items()}
        assert len(calls) == len(self.held), "an agent on two calls"
        for view in views.values():
            if view.activity in (Activity.RESERVED, Activity.RINGING):
                if view.agent_id in direct:
                    assert view.call_id == direct[view.agent_id]
                else:
                    assert view.call_id in entries
                    assert view.agent_id in entries[view.call_id].offered_to
            else:
                assert view.agent_id not in direct
            if view.activity is Activity.ON_CALL:
                assert view.call_id == calls[view.agent_id]
                assert view.call_id not in entries and view.call_id not in self.reserved
            else:
                assert view.agent_id not in calls

    @invariant()
    def talk_time_is_the_time_on_calls(self) -> None:
        if not hasattr(self, "acd"):
            return
        views = {a.agent_id: a for a in self.acd.agents()}
        assert set(self.talk) == set(views)
        for agent, view in views.items():
            assert math.isclose(view.talk_time, self.talk[agent], abs_tol=1e-9), agent
            assert view.calls_answered == self.answers[agent], agent


DirectMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestDirectMachine = DirectMachine.TestCase
