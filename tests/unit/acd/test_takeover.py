"""拦截 at the ACD: a supervisor takes a caller who is ringing at agents (acd/takeover.py)."""

from __future__ import annotations

import pytest

from callcenter.acd import (
    Activity,
    CallLeftQueue,
    CancelOffer,
    Outcome,
    QueueConfig,
    Strategy,
    UnknownCallError,
)
from tests.unit.acd.helpers import login, make, of, offers


def test_intercept_withdraws_the_offers_without_a_miss_and_the_caller_leaves_answered() -> None:
    acd = make(QueueConfig("q", strategy=Strategy.RING_ALL, max_no_answers=1))
    login(acd, "1", 0.0)
    login(acd, "2", 0.0)
    assert offers(acd.enqueue("c", "q", 1.0)) == [("c", "1"), ("c", "2")]
    out = acd.intercept("c", 2.0)
    assert [(o.agent_id, o.reason) for o in of(CancelOffer, out)] == [
        ("1", "intercepted"),
        ("2", "intercepted"),
    ]
    left = of(CallLeftQueue, out)
    assert [(o.call_id, o.outcome, o.agent_id) for o in left] == [("c", Outcome.ANSWERED, None)]
    for agent in ("1", "2"):  # not a no-answer: still ready (max_no_answers=1 would busy them)
        view = acd.agent_view(agent)
        assert (view.activity, view.no_answers, view.presence.value) == (Activity.IDLE, 0, "ready")
    assert acd.entries() == []
    assert offers(acd.enqueue("d", "q", 3.0)) == [("d", "1"), ("d", "2")]  # free for the next


def test_intercept_of_a_call_not_in_a_queue_fails() -> None:
    acd = make(QueueConfig("q"))
    with pytest.raises(UnknownCallError):
        acd.intercept("nobody", 1.0)
