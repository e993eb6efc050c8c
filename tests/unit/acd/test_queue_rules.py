"""Queue rules of SPEC §3 and §11: order, overflow, relaxation, callback, cross-queue, CRUD."""

from __future__ import annotations

import dataclasses

import pytest

from callcenter.acd import (
    Activity,
    AgentStateChanged,
    CallAlreadyQueuedError,
    CallbackRequested,
    CallLeftQueue,
    CallOverflowed,
    CallQueued,
    Destination,
    DestinationKind,
    InvalidQueueConfigError,
    NoSuchOfferError,
    NotOnCallError,
    OfferToAgent,
    Outcome,
    OverflowReason,
    QueueConfig,
    QueueExistsError,
    RelaxationStep,
    SkillRequirement,
    UnknownCallError,
    UnknownQueueError,
)
from tests.unit.acd.helpers import login, make, of, offers

VOICEMAIL = Destination(DestinationKind.VOICEMAIL, "100")


def answer_and_end(acd, call_id: str, agent: str, now: float) -> list:  # type: ignore[no-untyped-def]
    acd.offer_answered(call_id, agent, now)
    return acd.call_ended(call_id, now + 1.0)


def test_priority_first_then_waiting_time_with_positions() -> None:
    acd = make(QueueConfig("q", wrapup=0.0))
    login(acd, "1", 0.0, ready=False)
    queued = []
    for call, prio, t in [("a", 0, 1.0), ("b", 5, 2.0), ("c", 5, 3.0), ("d", 0, 4.0)]:
        queued += of(CallQueued, acd.enqueue(call, "q", t, priority=prio))
    assert [(q.call_id, q.position) for q in queued] == [("a", 1), ("b", 1), ("c", 2), ("d", 4)]
    assert queued[3].expected_wait == pytest.approx(4 * 180.0)  # no agent ready: one assumed
    assert acd.position("a") == (3, pytest.approx(3 * 180.0))
    served = [offers(acd.set_ready("1", 5.0))[0][0]]
    for n in range(3):
        out = answer_and_end(acd, served[-1], "1", 6.0 + 2 * n)
        served.append(offers(out)[0][0])
    assert served == ["b", "c", "a", "d"]


def test_max_wait_overflows_to_the_destination() -> None:
    acd = make(QueueConfig("q", max_wait=30.0, overflow=VOICEMAIL))
    login(acd, "1", 0.0, ready=False)
    acd.enqueue("c", "q", 1.0)
    assert acd.next_deadline() == 31.0
    assert acd.on_timer(30.9) == []
    out = acd.on_timer(31.0)
    assert of(CallOverflowed, out) == [CallOverflowed("c", "q", VOICEMAIL, OverflowReason.MAX_WAIT)]
    assert of(CallLeftQueue, out)[0].outcome is Outcome.OVERFLOWED
    assert acd.next_deadline() is None


def test_max_wait_does_not_snatch_a_ringing_call_but_applies_if_it_fails() -> None:
    acd = make(QueueConfig("q", max_wait=30.0, ring_timeout=20.0))
    login(acd, "1", 0.0, ready=False)
    acd.enqueue("c", "q", 1.0)
    acd.set_ready("1", 20.0)  # rings 20..40; max wait at 31
    assert of(CallOverflowed, acd.on_timer(35.0)) == []
    out = acd.on_timer(40.0)
    assert [o.reason for o in of(CallOverflowed, out)] == [OverflowReason.MAX_WAIT]


def test_answered_before_max_wait() -> None:
    acd = make(QueueConfig("q", max_wait=30.0, ring_timeout=20.0))
    login(acd, "1", 0.0, ready=False)
    acd.enqueue("c", "q", 1.0)
    acd.set_ready("1", 20.0)
    acd.on_timer(35.0)
    out = acd.offer_answered("c", "1", 36.0)
    assert of(CallLeftQueue, out)[0].outcome is Outcome.ANSWERED


@pytest.mark.parametrize("when_empty", [True, False])
def test_no_agents_logged_in(when_empty: bool) -> None:
    acd = make(QueueConfig("q", overflow=VOICEMAIL, overflow_when_no_agents=when_empty))
    out = acd.enqueue("c", "q", 1.0)
    if when_empty:
        assert of(CallOverflowed, out)[0].reason is OverflowReason.NO_AGENTS
        assert of(CallQueued, out) == []
        assert of(CallLeftQueue, out)[0].waited == 0.0
    else:
        assert of(CallQueued, out)[0].position == 1


def test_last_agent_logging_out_overflows_the_waiting_callers() -> None:
    acd = make(QueueConfig("q"))
    login(acd, "1", 0.0, ready=False)
    acd.enqueue("a", "q", 1.0)
    acd.enqueue("b", "q", 2.0)
    out = acd.logout("1", 3.0)
    assert [(o.call_id, o.reason) for o in of(CallOverflowed, out)] == [
        ("a", OverflowReason.NO_AGENTS),
        ("b", OverflowReason.NO_AGENTS),
    ]


def test_queue_full() -> None:
    acd = make(QueueConfig("q", max_len=1))
    login(acd, "1", 0.0, ready=False)
    acd.enqueue("a", "q", 1.0)
    out = acd.enqueue("b", "q", 2.0)
    assert of(CallOverflowed, out)[0].reason is OverflowReason.QUEUE_FULL


def test_skill_relaxation_widens_the_candidates_over_time() -> None:
    cfg = QueueConfig(
        "q",
        required=(SkillRequirement("en", 3), SkillRequirement("billing", 1)),
        relaxation=(
            RelaxationStep(10.0, (SkillRequirement("en", 1), SkillRequirement("billing", 1))),
            RelaxationStep(20.0, (SkillRequirement("en", 1),)),
        ),
    )
    acd = make(cfg)
    login(acd, "1", 0.0, {"en": 1})
    login(acd, "2", 0.0, {"en": 3, "billing": 1})
    acd.set_busy("2", "x", 0.0)
    assert acd.agent_view("1").queues == (("q", 2),)
    acd.enqueue("c", "q", 1.0)
    assert acd.next_deadline() == 11.0
    assert offers(acd.on_timer(11.0)) == []
    assert acd.entry_view("c").level == 1
    out = acd.on_timer(21.0)
    assert offers(out) == [("c", "1")]
    assert of(OfferToAgent, out)[0].explanation.relaxation_level == 2


def test_relaxation_must_widen() -> None:
    narrowing = QueueConfig(
        "q",
        required=(SkillRequirement("en", 1),),
        relaxation=(RelaxationStep(10.0, (SkillRequirement("en", 2),)),),
    )
    with pytest.raises(InvalidQueueConfigError, match="narrows") as err:
        make(narrowing)
    assert err.value.code == "invalid_queue_config"


@pytest.mark.parametrize(
    ("config", "match"),
    [
        (QueueConfig(""), "empty queue id"),
        (QueueConfig("q", ring_timeout=0.0), "ring_timeout must be > 0"),
        (QueueConfig("q", wrapup=-1.0), "wrapup must be"),
        (QueueConfig("q", default_handle_time=float("nan")), "default_handle_time"),
        (QueueConfig("q", max_wait=0.0), "max_wait"),
        (QueueConfig("q", max_len=0), "max_len"),
        (QueueConfig("q", max_no_answers=0), "max_no_answers"),
        (
            QueueConfig("q", relaxation=(RelaxationStep(5.0, ()), RelaxationStep(5.0, ()))),
            "increasing times",
        ),
    ],
)
def test_queue_config_is_validated(config: QueueConfig, match: str) -> None:
    with pytest.raises(InvalidQueueConfigError, match=match):
        make(config)


def test_callback_keeps_the_callers_place() -> None:
    acd = make(QueueConfig("q", wrapup=0.0, max_wait=100.0))
    login(acd, "1", 0.0, ready=False)
    for n, call in enumerate(["a", "b", "c"]):
        acd.enqueue(call, "q", 1.0 + n)
    out = acd.request_callback("b", "cb-b", "13800000000", 5.0)
    assert of(CallLeftQueue, out)[0].outcome is Outcome.CALLBACK
    assert of(CallbackRequested, out) == [CallbackRequested("b", "cb-b", "q", "13800000000", 2)]
    assert acd.position("cb-b")[0] == 2
    served = []
    out = acd.set_ready("1", 6.0)
    for n in range(3):
        offer = of(OfferToAgent, out)[0]
        served.append((offer.call_id, offer.callback_number))
        out = answer_and_end(acd, offer.call_id, "1", 7.0 + 2 * n)
    assert served == [("a", None), ("cb-b", "13800000000"), ("c", None)]


def test_callback_task_is_not_subject_to_max_wait() -> None:
    acd = make(QueueConfig("q", max_wait=10.0))
    login(acd, "1", 0.0, ready=False)
    acd.enqueue("a", "q", 1.0)
    acd.request_callback("a", "cb", "555", 2.0)
    assert of(CallOverflowed, acd.on_timer(100.0)) == []
    assert acd.entry_view("cb").callback_number == "555"


def test_callback_while_ringing_withdraws_the_offer() -> None:
    acd = make(QueueConfig("q"))
    login(acd, "1", 0.0)
    acd.enqueue("a", "q", 1.0)
    out = acd.request_callback("a", "cb", "555", 2.0)
    assert [o.call_id for o in of(OfferToAgent, out)] == ["cb"]  # re-offered as a callback


def test_cross_queue_rule_priority_then_wait_then_weight() -> None:
    q1 = QueueConfig("q1", wrapup=0.0, weight=1)
    q2 = QueueConfig("q2", wrapup=0.0, weight=5)
    acd = make(q1, q2)
    login(acd, "1", 0.0, ready=False)
    acd.enqueue("late", "q1", 5.0)
    acd.enqueue("early", "q2", 3.0)
    acd.enqueue("vip", "q1", 6.0, priority=2)
    acd.enqueue("tie-q1", "q1", 4.0)
    acd.enqueue("tie-q2", "q2", 4.0)
    out = acd.set_ready("1", 10.0)
    why = of(OfferToAgent, out)[0].explanation
    assert why.trigger == "agent_available:1"
    assert [h.call_id for h in why.heads] == ["vip", "early"]
    order = [offers(out)[0][0]]
    for n in range(4):
        out = answer_and_end(acd, order[-1], "1", 11.0 + 2 * n)
        order.append(offers(out)[0][0])
    # priority beats waiting time; equal arrival times: the heavier queue (q2) first
    assert order == ["vip", "early", "tie-q2", "tie-q1", "late"]


def test_transfer_to_a_queue_does_not_reset_wrap_up() -> None:
    acd = make(QueueConfig("q1", wrapup=5.0), QueueConfig("q2", wrapup=5.0))
    login(acd, "1", 0.0)
    acd.enqueue("c", "q1", 1.0)
    acd.offer_answered("c", "1", 2.0)
    login(acd, "2", 3.0)
    out = acd.transfer("c", 10.0, to_queue="q2", priority=3)
    assert of(AgentStateChanged, out)[0].activity is Activity.WRAP_UP
    assert of(CallQueued, out)[0].priority == 3
    assert offers(out) == [("c", "2")]
    acd.offer_answered("c", "2", 11.0)
    out = acd.on_timer(15.0)  # agent 1's wrap-up ends at 10 + 5, untouched by the new leg
    assert [(o.agent_id, o.activity) for o in of(AgentStateChanged, out)] == [("1", Activity.IDLE)]
    out = acd.call_ended("c", 40.0)
    assert [(o.agent_id, o.activity) for o in of(AgentStateChanged, out)] == [
        ("2", Activity.WRAP_UP)
    ]
    assert acd.agent_view("1").activity is Activity.IDLE


def test_transfer_away_and_errors() -> None:
    acd = make(QueueConfig("q", wrapup=0.0))
    login(acd, "1", 0.0)
    acd.enqueue("c", "q", 1.0)
    with pytest.raises(NotOnCallError):
        acd.transfer("c", 1.5)
    acd.offer_answered("c", "1", 2.0)
    with pytest.raises(UnknownQueueError):
        acd.transfer("c", 3.0, to_queue="nope")
    out = acd.transfer("c", 4.0)
    assert of(AgentStateChanged, out)[0].activity is Activity.IDLE
    assert acd.call_ended("c", 5.0) == []


def test_late_answer_after_the_ring_timeout_is_refused() -> None:
    acd = make(QueueConfig("q", ring_timeout=10.0))
    login(acd, "1", 0.0)
    login(acd, "2", 0.5)
    acd.enqueue("c", "q", 1.0)
    with pytest.raises(NoSuchOfferError) as err:
        acd.offer_answered("c", "1", 12.0)
    assert err.value.code == "no_such_offer"
    held = acd.on_timer(12.0)  # the withdrawal fired before the refusal comes now
    assert offers(held) == [("c", "2")]


def test_call_ids_are_checked() -> None:
    acd = make(QueueConfig("q"))
    login(acd, "1", 0.0, ready=False)
    acd.enqueue("c", "q", 1.0)
    with pytest.raises(CallAlreadyQueuedError):
        acd.enqueue("c", "q", 2.0)
    with pytest.raises(CallAlreadyQueuedError):
        acd.request_callback("c", "c", "1", 2.0)
    with pytest.raises(UnknownCallError):
        acd.caller_abandoned("zz", 2.0)
    with pytest.raises(UnknownQueueError):
        acd.enqueue("d", "nope", 2.0)


def test_abandon_while_ringing_frees_the_agent_without_a_miss() -> None:
    acd = make(QueueConfig("q"))
    login(acd, "1", 0.0)
    acd.enqueue("c", "q", 1.0)
    acd.offer_ringing("c", "1", 1.5)
    out = acd.call_ended("c", 2.0)
    assert of(CallLeftQueue, out)[0].outcome is Outcome.ABANDONED
    view = acd.agent_view("1")
    assert (view.activity, view.no_answers) == (Activity.IDLE, 0)


def test_queue_crud_is_live() -> None:
    acd = make(QueueConfig("q", overflow=VOICEMAIL))
    login(acd, "1", 0.0, {"fr": 2}, ready=False)
    with pytest.raises(QueueExistsError):
        acd.add_queue(QueueConfig("q"), 1.0)
    acd.add_queue(QueueConfig("fr", required=(SkillRequirement("fr", 2),)), 1.0)
    assert acd.queue_ids() == ["fr", "q"]
    assert acd.agent_view("1").queues == (("fr", 0), ("q", 0))
    acd.enqueue("c", "q", 2.0)
    acd.update_queue(QueueConfig("q", overflow=VOICEMAIL, max_wait=5.0), 3.0)
    assert acd.next_deadline() == 7.0
    acd.update_queue(QueueConfig("q", overflow=VOICEMAIL, max_wait=0.5), 4.0)
    assert acd.next_deadline() is None  # max wait already passed: overflowed at once
    acd.enqueue("d", "q", 5.0)
    out = acd.remove_queue("q", 5.2)
    assert [(o.call_id, o.reason) for o in of(CallOverflowed, out)] == [
        ("d", OverflowReason.QUEUE_REMOVED)
    ]
    assert acd.agent_view("1").queues == (("fr", 0),)
    with pytest.raises(UnknownQueueError):
        acd.queue_view("q", 7.0)


def test_update_queue_requirements_move_members() -> None:
    acd = make(QueueConfig("q", overflow_when_no_agents=False))
    login(acd, "1", 0.0, {"en": 1})
    acd.enqueue("c", "q", 0.5)
    acd.update_queue(
        QueueConfig("q", required=(SkillRequirement("de"),), overflow_when_no_agents=False), 1.0
    )
    assert acd.queue_view("q", 1.0).members == 0
    assert acd.entry_view("c").offered_to == ("1",)  # an offer already ringing goes on
    acd.update_agent_skills("1", {"de": 1}, 2.0)
    assert acd.queue_view("q", 2.0).members == 1


def test_new_skills_bring_an_idle_agent_to_a_waiting_caller() -> None:
    acd = make(QueueConfig("q", required=(SkillRequirement("de"),), overflow_when_no_agents=False))
    login(acd, "1", 0.0, {"en": 1})
    acd.enqueue("c", "q", 1.0)
    assert offers(acd.update_agent_skills("1", {"de": 2}, 2.0)) == [("c", "1")]


def test_queue_view_and_average_handle_time() -> None:
    acd = make(QueueConfig("q", wrapup=0.0, default_handle_time=100.0))
    login(acd, "1", 0.0)
    acd.enqueue("c", "q", 1.0)
    acd.enqueue("d", "q", 2.0)
    view = acd.queue_view("q", 4.0)
    assert (view.waiting, view.offered, view.longest_wait, view.members, view.idle) == (
        1,
        1,
        3.0,
        1,
        0,
    )
    acd.offer_answered("c", "1", 5.0)
    acd.call_ended("c", 55.0)  # handle time 50: moving average moves towards it
    assert 50.0 < acd.queue_view("q", 55.0).average_handle_time < 100.0
    assert acd.queue_config("q").default_handle_time == 100.0


def test_next_deadline_skips_stale_timers() -> None:
    acd = make(QueueConfig("q", wrapup=0.0))
    login(acd, "1", 0.0)
    acd.enqueue("c", "q", 1.0)
    assert acd.next_deadline() == 16.0
    acd.offer_answered("c", "1", 2.0)
    assert acd.next_deadline() is None


@pytest.mark.parametrize("agents", [3, 12])
def test_a_wider_requirement_offers_callers_to_the_longest_idle_new_members(agents: int) -> None:
    narrow = QueueConfig("q", required=(SkillRequirement("x", 3),), overflow_when_no_agents=False)
    acd = make(narrow)
    for n in range(1, agents + 1):
        login(acd, str(n), float(20 - n), {"x": 1})  # the last one has been idle longest
    acd.enqueue("a", "q", 30.0)
    acd.enqueue("b", "q", 31.0)
    out = acd.update_queue(dataclasses.replace(narrow, required=(SkillRequirement("x", 1),)), 32.0)
    assert sorted(offers(out)) == [("a", str(agents)), ("b", str(agents - 1))]
    why = of(OfferToAgent, out)[0].explanation
    assert why.candidate_count == agents
    assert [c.agent_id for c in why.candidates] == [str(n) for n in range(agents, 0, -1)][:5]
    assert acd.queue_view("q", 32.0).idle == agents - 2


def test_callers_relaxing_at_the_same_instant_are_served_by_priority() -> None:
    steps = (RelaxationStep(10.0, (SkillRequirement("a", 1),)),)
    cfg = QueueConfig(
        "q", required=(SkillRequirement("a", 2),), relaxation=steps, overflow_when_no_agents=False
    )
    acd = make(cfg)
    acd.enqueue("low", "q", 0.0, priority=0)  # its relaxation timer is armed first
    login(acd, "1", 0.0, {"a": 1})
    acd.enqueue("high", "q", 0.0, priority=1)
    assert offers(acd.on_timer(11.0)) == [("high", "1")]
