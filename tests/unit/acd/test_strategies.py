"""One table per routing strategy: the situation, and the agent the strategy must pick."""

from __future__ import annotations

import random
from collections import Counter

from callcenter.acd import (
    Acd,
    CancelOffer,
    OfferToAgent,
    QueueConfig,
    SkillRequirement,
    Strategy,
)
from tests.unit.acd.helpers import login, make, of, offers


def serve(acd: Acd, call_id: str, agent: str, start: float, talk: float) -> None:
    """A call that ``agent`` answers at ``start`` and ends ``talk`` seconds later."""
    assert offers(acd.enqueue(call_id, "q", start)) == [(call_id, agent)]
    acd.offer_answered(call_id, agent, start)
    acd.call_ended(call_id, start + talk)


def test_longest_idle_picks_the_agent_idle_longest() -> None:
    acd = make(QueueConfig("q", strategy=Strategy.LONGEST_IDLE, wrapup=0.0))
    login(acd, "1", 5.0)
    login(acd, "2", 1.0)
    login(acd, "3", 3.0)
    assert offers(acd.enqueue("c", "q", 10.0)) == [("c", "2")]
    why = of(OfferToAgent, acd.offer_rejected("c", "2", 11.0))[0].explanation
    # agent 2 missed the caller: it goes last; agent 3 is next-longest idle
    assert why.candidates[0].agent_id == "3"
    assert why.candidates[-1].agent_id == "2" and why.candidates[-1].declined_before


def test_round_robin_walks_the_agents_in_id_order_and_wraps() -> None:
    acd = make(QueueConfig("q", strategy=Strategy.ROUND_ROBIN, wrapup=0.0))
    for agent in ("10", "2", "3"):
        login(acd, agent, 0.0)
    picked = []
    for n in range(5):
        out = acd.enqueue(f"c{n}", "q", 1.0 + n)
        (call, agent) = offers(out)[0]
        picked.append(agent)
        acd.offer_answered(call, agent, 1.0 + n)
        acd.call_ended(call, 1.5 + n)
    assert picked == ["2", "3", "10", "2", "3"]


def test_fewest_calls_beats_longest_idle() -> None:
    acd = make(QueueConfig("q", strategy=Strategy.FEWEST_CALLS, wrapup=0.0))
    login(acd, "1", 0.0)
    serve(acd, "a", "1", 1.0, 1.0)  # agent 1 has one call, agent 2 not logged in yet
    login(acd, "2", 5.0)
    # agent 1 idle since 2.0 (longer), agent 2 since 5.0 with no calls: fewest calls wins
    assert offers(acd.enqueue("b", "q", 10.0)) == [("b", "2")]


def test_least_talk_time_beats_fewest_calls() -> None:
    acd = make(QueueConfig("q", strategy=Strategy.LEAST_TALK_TIME, wrapup=0.0))
    login(acd, "1", 0.0)
    serve(acd, "a", "1", 1.0, 100.0)  # one long call
    login(acd, "2", 101.0)
    serve(acd, "b", "2", 102.0, 5.0)
    serve(acd, "c", "2", 108.0, 5.0)  # two short calls (10 s)
    assert offers(acd.enqueue("d", "q", 120.0)) == [("d", "2")]


def test_skill_level_first_picks_the_most_skilled() -> None:
    req = (SkillRequirement("sales", 1),)
    acd = make(QueueConfig("q", strategy=Strategy.SKILL_LEVEL_FIRST, required=req))
    login(acd, "1", 0.0, {"sales": 1})
    login(acd, "2", 1.0, {"sales": 3})
    login(acd, "3", 2.0, {"sales": 2})
    out = acd.enqueue("c", "q", 5.0)
    assert offers(out) == [("c", "2")]
    why = of(OfferToAgent, out)[0].explanation
    assert [c.agent_id for c in why.candidates] == ["2", "3", "1"]
    assert [c.score[2] for c in why.candidates] == [-3, -2, -1]


def test_ring_all_rings_everyone_and_the_first_answer_wins() -> None:
    acd = make(QueueConfig("q", strategy=Strategy.RING_ALL))
    for agent in ("1", "2", "3"):
        login(acd, agent, 0.0)
    out = acd.enqueue("c", "q", 1.0)
    assert sorted(offers(out)) == [("c", "1"), ("c", "2"), ("c", "3")]
    out = acd.offer_rejected("c", "3", 2.0)
    assert offers(out) == []  # still ringing at 1 and 2
    out = acd.offer_answered("c", "2", 3.0)
    assert of(CancelOffer, out) == [CancelOffer("c", "1", "answered elsewhere")]
    assert acd.agent_view("1").no_answers == 0


def test_random_is_reproducible_per_seed_and_spreads_calls() -> None:
    def pick(seed: int) -> str:
        acd = make(QueueConfig("q", strategy=Strategy.RANDOM), seed=seed)
        for agent in ("1", "2", "3"):
            login(acd, agent, 0.0)
        return offers(acd.enqueue("c", "q", 1.0))[0][1]

    assert [pick(s) for s in range(20)] == [pick(s) for s in range(20)]
    counts = Counter(pick(s) for s in range(300))
    assert set(counts) == {"1", "2", "3"}
    assert min(counts.values()) > 60  # uniform would give 100 each


def test_random_uses_only_the_injected_generator() -> None:
    rng = random.Random(5)
    acd = Acd(rng)
    acd.add_queue(QueueConfig("q", strategy=Strategy.RANDOM), 0.0)
    for agent in ("1", "2"):
        login(acd, agent, 0.0)
    state = rng.getstate()
    acd.enqueue("c", "q", 1.0)
    assert rng.getstate() != state


def test_preferred_skills_go_first_under_any_strategy() -> None:
    cfg = QueueConfig("q", preferred=(SkillRequirement("vip", 2),))
    acd = make(cfg)
    login(acd, "1", 0.0, {"vip": 1})
    login(acd, "2", 5.0, {"vip": 2})
    out = acd.enqueue("c", "q", 10.0)
    assert offers(out) == [("c", "2")]
    assert of(OfferToAgent, out)[0].explanation.candidates[0].preferred_skills == 1


def test_explanation_lists_the_best_five_and_agents_who_missed_last() -> None:
    acd = make(QueueConfig("q", strategy=Strategy.LONGEST_IDLE, wrapup=0.0))
    for n in range(1, 8):
        login(acd, str(n), float(n))  # agent 1 idle longest
    assert offers(acd.enqueue("c", "q", 10.0)) == [("c", "1")]
    why = of(OfferToAgent, acd.offer_rejected("c", "1", 11.0))[0].explanation
    assert why.candidate_count == 7
    assert [c.agent_id for c in why.candidates] == ["2", "3", "4", "5", "6"]
    assert not any(c.declined_before for c in why.candidates)
