"""SPEC §4 and §5 rules, one table row or one test per rule."""

from __future__ import annotations

import pytest

from callcenter.acd import (
    NO_ANSWER_REASON,
    Activity,
    AgentLogin,
    AgentStateChanged,
    AlreadyLoggedInError,
    CallLeftQueue,
    CancelOffer,
    Category,
    HangUpAgent,
    InvalidLoginError,
    LoginLimits,
    NotInWrapUpError,
    NotLoggedInError,
    NotOnHookError,
    Outcome,
    Presence,
    PresenceChangeDeferred,
    QueueConfig,
    SeatInUseError,
    SkillRequirement,
    Strategy,
)
from tests.unit.acd.helpers import login, make, of, offers

Q = QueueConfig("q", ring_timeout=10.0, wrapup=5.0, max_no_answers=2)


@pytest.mark.parametrize(
    ("login_req", "match"),
    [
        (AgentLogin("abc", "8001"), "agent id must be digits"),
        (AgentLogin("0", "8001"), "agent id 0 not in"),
        (AgentLogin("1001", "8x"), "seat must be digits"),
        (AgentLogin("1001", "100000000"), "seat 100000000 not in"),
        (AgentLogin("1001", "8001", category="boss"), "category"),  # type: ignore[arg-type]
        (AgentLogin("1001", "8001", skills={"en": 0}), "level 0 not in"),
        (AgentLogin("1001", "8001", skills={"en": 11}), "level 11 not in"),
        (AgentLogin("1001", "8001", skills={"en": True}), "must be an integer"),
        (AgentLogin("1001", "8001", skills={"bad name!": 1}), "bad skill name"),
        (AgentLogin("1001", "8001", wrapup=-1.0), "wrap-up"),
    ],
)
def test_login_range_checks(login_req: AgentLogin, match: str) -> None:
    acd = make(Q)
    with pytest.raises(InvalidLoginError, match=match) as err:
        acd.login(login_req, 1.0)
    assert err.value.code == "invalid_login"
    assert acd.agents() == []


def test_too_many_skills_are_refused() -> None:
    acd = make(Q)
    acd._limits = LoginLimits(max_skills=2)
    with pytest.raises(InvalidLoginError, match="at most 2"):
        login(acd, "1", 0.0, {"a": 1, "b": 1, "c": 1})


def test_second_login_of_same_agent_fails_and_changes_nothing() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    before = acd.agent_view("1")
    with pytest.raises(AlreadyLoggedInError) as err:
        acd.login(AgentLogin("1", "9999"), 1.0)
    assert err.value.code == "already_logged_in"
    assert "already logged in" in err.value.message
    assert acd.agent_view("1") == before
    with pytest.raises(SeatInUseError):
        acd.login(AgentLogin("2", before.seat), 1.0)


def test_login_sets_category_skills_and_queue_membership() -> None:
    acd = make(Q, QueueConfig("fr", required=(SkillRequirement("fr"),)))
    acd.login(AgentLogin("7", "8007", Category.SUPERVISOR, {"en": 3}), 1.0)
    view = acd.agent_view("7")
    assert view.category is Category.SUPERVISOR
    assert view.skills == (("en", 3),)
    assert view.queues == (("q", 0),)
    assert view.presence is Presence.READY and view.activity is Activity.IDLE
    assert view.time_in_state(4.0) == 3.0


def test_login_busy_then_ready() -> None:
    acd = make(Q)
    out = login(acd, "1", 0.0, ready=False)
    assert of(AgentStateChanged, out)[0].presence is Presence.BUSY
    acd.enqueue("c", "q", 1.0)
    assert offers(acd.set_ready("1", 2.0)) == [("c", "1")]


def test_logout_removes_agent_from_every_queue() -> None:
    acd = make(Q, QueueConfig("q2"))
    login(acd, "1", 0.0)
    out = acd.logout("1", 1.0)
    change = of(AgentStateChanged, out)[-1]
    assert change.presence is Presence.LOGGED_OUT and change.cause == "logout"
    assert acd.queue_view("q", 1.0).members == 0 and acd.queue_view("q2", 1.0).members == 0
    with pytest.raises(NotLoggedInError):
        acd.agent_view("1")
    login(acd, "1", 2.0)  # can log in again after logout


def test_logout_while_ringing_puts_the_caller_back_and_while_talking_hangs_up() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    login(acd, "2", 0.5)
    acd.set_busy("2", "lunch", 0.6)
    acd.enqueue("c", "q", 1.0)
    out = acd.logout("1", 2.0)
    assert of(CancelOffer, out)[0].agent_id == "1"
    assert acd.entry_view("c").offered_to == ()
    assert offers(acd.set_ready("2", 3.0)) == [("c", "2")]
    acd.offer_answered("c", "2", 4.0)
    out = acd.logout("2", 5.0)
    assert of(HangUpAgent, out) == [HangUpAgent("2", "c")]
    assert acd.call_ended("c", 6.0) == []  # the controller's later BYE is harmless


def test_busy_while_talking_is_deferred_until_the_call_ends() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.enqueue("c", "q", 1.0)
    acd.offer_answered("c", "1", 2.0)
    out = acd.set_busy("1", "meeting", 3.0)
    assert out == [PresenceChangeDeferred("1", Presence.BUSY, "meeting")]
    view = acd.agent_view("1")
    assert view.presence is Presence.READY and view.pending is Presence.BUSY
    out = acd.call_ended("c", 10.0)
    change = of(AgentStateChanged, out)[-1]
    assert (change.presence, change.reason, change.activity) == (
        Presence.BUSY,
        "meeting",
        Activity.WRAP_UP,
    )
    acd.enqueue("d", "q", 11.0)
    assert offers(acd.on_timer(20.0)) == []  # wrap-up over, but busy: no offer


def test_busy_without_deferral_fails_off_hook() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.enqueue("c", "q", 1.0)
    with pytest.raises(NotOnHookError) as err:
        acd.set_busy("1", "x", 2.0, defer=False)
    assert err.value.code == "not_on_hook"
    assert acd.agent_view("1").pending is None


def test_busy_requested_while_ringing_applies_when_the_offer_fails() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.enqueue("c", "q", 1.0)
    acd.offer_ringing("c", "1", 1.5)
    assert acd.agent_view("1").activity is Activity.RINGING
    acd.set_busy("1", "tired", 2.0)
    out = acd.offer_rejected("c", "1", 3.0)
    assert of(AgentStateChanged, out)[-1].presence is Presence.BUSY
    assert offers(out) == []
    assert acd.entry_view("c").offered_to == ()


def test_ready_cancels_a_deferred_busy() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.enqueue("c", "q", 1.0)
    acd.offer_answered("c", "1", 2.0)
    acd.set_busy("1", "x", 3.0)
    acd.set_ready("1", 4.0)
    acd.call_ended("c", 5.0)
    assert acd.agent_view("1").presence is Presence.READY


def test_busy_during_wrap_up_applies_at_once_and_wrap_up_continues() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.enqueue("c", "q", 1.0)
    acd.offer_answered("c", "1", 2.0)
    acd.call_ended("c", 3.0)
    out = acd.set_busy("1", "notes", 4.0, defer=False)
    assert of(AgentStateChanged, out)[-1].activity is Activity.WRAP_UP
    assert acd.agent_view("1").presence is Presence.BUSY


def test_no_answer_moves_the_call_and_k_misses_set_busy() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    login(acd, "2", 0.5)
    assert offers(acd.enqueue("c", "q", 1.0)) == [("c", "1")]
    out = acd.on_timer(11.0)  # ring timeout 10 s: offer withdrawn, next agent
    assert of(CancelOffer, out) == [CancelOffer("c", "1", "ring timeout")]
    assert offers(out) == [("c", "2")]
    out = acd.on_timer(21.0)  # agent 2 misses: back to agent 1 (its second miss comes next)
    assert offers(out) == [("c", "1")]
    out = acd.on_timer(31.0)
    busy = [c for c in of(AgentStateChanged, out) if c.presence is Presence.BUSY]
    assert [(c.agent_id, c.reason, c.actor) for c in busy] == [("1", NO_ANSWER_REASON, "acd")]
    assert offers(out) == [("c", "2")]
    out = acd.offer_answered("c", "2", 32.0)
    assert acd.agent_view("2").no_answers == 0


def test_no_answer_count_is_consecutive() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.enqueue("a", "q", 1.0)
    acd.on_timer(11.0)  # miss 1, offered again
    acd.offer_answered("a", "1", 12.0)
    acd.call_ended("a", 13.0)
    acd.enqueue("b", "q", 14.0)
    acd.on_timer(30.0)  # wrap-up ends at 18, offered, miss at 28 -> 1 (reset by the answer)
    assert acd.agent_view("1").presence is Presence.READY
    assert acd.agent_view("1").no_answers == 1


def test_wrap_up_is_respected_per_queue_and_per_agent() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    login(acd, "2", 0.0, wrapup=30.0)
    acd.enqueue("a", "q", 1.0)
    acd.enqueue("b", "q", 1.0)
    acd.offer_answered("a", "1", 2.0)
    acd.offer_answered("b", "2", 2.0)
    acd.call_ended("a", 10.0)
    acd.call_ended("b", 10.0)
    acd.enqueue("x", "q", 11.0)
    assert offers(acd.on_timer(14.9)) == []
    assert offers(acd.on_timer(15.0)) == [("x", "1")]  # queue wrap-up 5 s
    acd.offer_answered("x", "1", 16.0)
    acd.enqueue("y", "q", 17.0)
    assert offers(acd.on_timer(39.9)) == []
    assert offers(acd.on_timer(40.0)) == [("y", "2")]  # agent's own wrap-up 30 s


def test_end_wrap_up_early() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    with pytest.raises(NotInWrapUpError):
        acd.end_wrapup("1", 0.5)
    acd.enqueue("a", "q", 1.0)
    acd.offer_answered("a", "1", 2.0)
    acd.call_ended("a", 3.0)
    acd.enqueue("b", "q", 3.5)
    assert offers(acd.end_wrapup("1", 4.0)) == [("b", "1")]
    assert acd.on_timer(8.0) == []  # the cancelled wrap-up timer does nothing
    assert acd.next_deadline() == 14.0  # b's ring timeout


def test_zero_wrap_up_goes_straight_to_idle() -> None:
    acd = make(QueueConfig("q", wrapup=0.0))
    login(acd, "1", 0.0)
    acd.enqueue("a", "q", 1.0)
    acd.enqueue("b", "q", 1.0)
    acd.offer_answered("a", "1", 2.0)
    assert offers(acd.call_ended("a", 3.0)) == [("b", "1")]


def test_force_busy_withdraws_a_ringing_offer_and_is_audited() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    login(acd, "2", 0.5)
    acd.set_busy("2", "x", 0.6)
    acd.enqueue("c", "q", 1.0)
    out = acd.force_busy("1", "900", 2.0)
    assert of(CancelOffer, out) == [CancelOffer("c", "1", "forced busy")]
    change = of(AgentStateChanged, out)[-1]
    assert (change.presence, change.actor, change.cause) == (
        Presence.BUSY,
        "900",
        "forced busy",
    )
    assert acd.agent_view("1").no_answers == 0  # a forced withdrawal is not a miss
    out = acd.force_ready("2", "900", 3.0)
    assert offers(out) == [("c", "2")]
    assert of(AgentStateChanged, out)[0].cause == "forced ready"


def test_force_busy_while_talking_keeps_the_call() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.enqueue("c", "q", 1.0)
    acd.offer_answered("c", "1", 2.0)
    acd.set_busy("1", "x", 2.5)
    acd.force_busy("1", "900", 3.0, reason="coaching")
    view = acd.agent_view("1")
    assert (view.presence, view.reason, view.activity, view.pending) == (
        Presence.BUSY,
        "coaching",
        Activity.ON_CALL,
        None,
    )


def test_force_logout() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    out = acd.force_logout("1", "900", 1.0)
    change = of(AgentStateChanged, out)[-1]
    assert (change.presence, change.actor, change.cause) == (
        Presence.LOGGED_OUT,
        "900",
        "forced logout",
    )


def test_unknown_agent() -> None:
    acd = make(Q)
    with pytest.raises(NotLoggedInError) as err:
        acd.set_ready("42", 0.0)
    assert err.value.code == "not_logged_in"


def test_answer_counts_calls_and_talk_time() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.enqueue("c", "q", 1.0)
    out = acd.offer_answered("c", "1", 2.0)
    left = of(CallLeftQueue, out)
    assert left == [CallLeftQueue("c", "q", Outcome.ANSWERED, "1", 1.0)]
    acd.call_ended("c", 62.0)
    view = acd.agent_view("1")
    assert (view.calls_answered, view.talk_time) == (1, 60.0)


def test_ringing_is_reported_once() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.enqueue("c", "q", 1.0)
    assert of(AgentStateChanged, acd.offer_ringing("c", "1", 1.1))[0].activity is Activity.RINGING
    assert acd.offer_ringing("c", "1", 1.2) == []


def test_logout_of_one_ring_all_agent_keeps_the_others_ringing() -> None:
    acd = make(QueueConfig("q", strategy=Strategy.RING_ALL))
    login(acd, "1", 0.0)
    login(acd, "2", 0.0)
    acd.enqueue("c", "q", 1.0)
    acd.logout("1", 2.0)
    assert acd.entry_view("c").offered_to == ("2",)


def test_force_busy_while_ringing_then_the_old_ring_timer_is_harmless() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.enqueue("c", "q", 1.0)
    acd.force_busy("1", "900", 2.0)
    assert acd.on_timer(30.0) == []
    assert acd.entry_view("c").offered_to == ()


def test_call_ends_after_its_queue_was_removed() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    login(acd, "2", 0.0, wrapup=4.0)
    acd.enqueue("a", "q", 1.0)
    acd.enqueue("b", "q", 1.0)
    acd.offer_answered("a", "1", 2.0)
    acd.offer_answered("b", "2", 2.0)
    acd.remove_queue("q", 3.0)
    out = acd.call_ended("a", 4.0)
    assert of(AgentStateChanged, out)[0].activity is Activity.IDLE  # no queue: no wrap-up
    out = acd.call_ended("b", 4.0)
    assert of(AgentStateChanged, out)[0].activity is Activity.WRAP_UP  # its own wrap-up


def test_ended_wrap_up_leaves_no_deadline() -> None:
    acd = make(Q)
    login(acd, "1", 0.0)
    acd.enqueue("a", "q", 1.0)
    acd.offer_answered("a", "1", 2.0)
    acd.call_ended("a", 3.0)
    assert acd.next_deadline() == 8.0
    acd.end_wrapup("1", 4.0)
    assert acd.next_deadline() is None
