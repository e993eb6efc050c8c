"""The decision record: an Explanation made from a compact record reads like an eager one."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from callcenter.acd import Explanation, QueueHead, ScoredCandidate

CALLS: list[int] = []


def explain(count: int) -> Explanation:
    CALLS.append(count)
    candidates = (ScoredCandidate("7", (0, 0, 1.5, 1, "7"), 0, False),)
    heads = (QueueHead("q", "c1", 1, 2.0, 3),)
    return Explanation("agent_available:7", "rule", "longest_idle", "q", 1, count, candidates,
                       heads)  # fmt: skip


def test_a_deferred_explanation_expands_once_and_equals_the_eager_one() -> None:
    CALLS.clear()
    deferred = Explanation.deferred(explain, 4)
    assert CALLS == []  # nothing built until a field is read
    assert deferred.candidate_count == 4
    assert deferred == explain(4)
    assert deferred.heads[0].call_id == "c1" and deferred.trigger == "agent_available:7"
    assert CALLS == [4, 4]  # once for the deferred one, once for the eager comparison
    assert hash(deferred) == hash(explain(4))
    assert repr(deferred) == repr(explain(4))


def test_a_deferred_explanation_serialises_like_the_eager_one() -> None:
    eager = dataclasses.asdict(explain(2))
    assert dataclasses.asdict(Explanation.deferred(explain, 2)) == eager  # the event log's way
    assert pickle.loads(pickle.dumps(Explanation.deferred(explain, 2))) == explain(2)
    assert copy.copy(Explanation.deferred(explain, 2)) == explain(2)
    assert copy.deepcopy(Explanation.deferred(explain, 2)) == explain(2)


def test_an_explanation_is_frozen_and_has_only_its_fields() -> None:
    deferred = Explanation.deferred(explain, 1)
    with pytest.raises(AttributeError):
        deferred.nothing  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(dataclasses.FrozenInstanceError):
        deferred.rule = "other"  # type: ignore[misc]
    assert deferred.rule == "rule"
    with pytest.raises(AttributeError):
        deferred.nothing  # type: ignore[attr-defined]  # noqa: B018
