"""Routing strategies: how the router orders the idle agents who may take a caller (SPEC §3).

A strategy gives each idle member of a queue a sort key, lower wins, and a pool
(:mod:`callcenter.acd.pools`) keeps the members in that order while they are idle, so a decision
reads the best few instead of sorting every candidate. The key is
``(-preferred skills met, *strategy key, len(id), id)``: agents with more of the queue's
preferred skills go first and the agent id (numeric order) breaks the remaining ties, so every
decision is deterministic for a given RNG seed. The router puts agents who already missed this
caller after all others (so a no-answer moves the call to *another* agent when there is one).

A strategy key may use only what does not change while the agent stays idle (the time it became
idle, its calls and talk time, its skills), because the pools compute it when the agent becomes
idle. Round robin and random turn around a pivot that moves with every decision (the queue's
last offered agent, or a draw from the injected RNG), so their pool keeps id order and rotates.
Ring-all offers the caller to every candidate at once, ranked like longest-idle.

To add a strategy: add a member to :class:`callcenter.acd.model.Strategy`, write an item
function here, register it in :data:`RANKINGS`, document it in docs/acd.md and add a table test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from callcenter.acd.model import QueueConfig, Strategy
from callcenter.acd.pools import IdlePool, KeyedPool, RotatingPool, Score
from callcenter.acd.state import Agent

Fit = tuple[int, int]  # (preferred skills met, total level in the queue's skills)
ItemFn = Callable[[Agent, Fit], Score]


def id_key(agent_id: str) -> tuple[int, str]:
    """Numeric order for digit ids ("9" before "10"), lexical otherwise."""
    return (len(agent_id), agent_id)


def longest_idle(agent: Agent, fit: Fit) -> Score:
    """Idle longest (since its last call, wrap-up or login)."""
    length, agent_id = agent.sort_id
    return (-fit[0], agent.idle_since, length, agent_id)


def fewest_calls(agent: Agent, fit: Fit) -> Score:
    length, agent_id = agent.sort_id
    return (-fit[0], agent.calls_answered, agent.idle_since, length, agent_id)


def least_talk_time(agent: Agent, fit: Fit) -> Score:
    length, agent_id = agent.sort_id
    return (-fit[0], agent.talk_time, agent.idle_since, length, agent_id)


def skill_level_first(agent: Agent, fit: Fit) -> Score:
    """Highest total level in the queue's required and preferred skills."""
    length, agent_id = agent.sort_id
    return (-fit[0], -fit[1], agent.idle_since, length, agent_id)


def by_id(agent: Agent, fit: Fit) -> Score:
    """Round robin and random: id order; the pool turns it at the decision's pivot."""
    length, agent_id = agent.sort_id
    return (-fit[0], length, agent_id)


@dataclass(frozen=True, slots=True)
class Ranking:
    """A strategy's item function and the kind of pool that keeps its idle agents in order."""

    item: ItemFn
    new_pool: Callable[[int], IdlePool]  # given the number of eligibility levels
    offer_all: bool = False  # offer to every candidate at once


RANKINGS: dict[Strategy, Ranking] = {
    Strategy.LONGEST_IDLE: Ranking(longest_idle, KeyedPool),
    Strategy.ROUND_ROBIN: Ranking(by_id, lambda levels: RotatingPool(levels, draw=False)),
    Strategy.FEWEST_CALLS: Ranking(fewest_calls, KeyedPool),
    Strategy.LEAST_TALK_TIME: Ranking(least_talk_time, KeyedPool),
    Strategy.SKILL_LEVEL_FIRST: Ranking(skill_level_first, KeyedPool),
    Strategy.RING_ALL: Ranking(longest_idle, KeyedPool, offer_all=True),
    Strategy.RANDOM: Ranking(by_id, lambda levels: RotatingPool(levels, draw=True)),
}


def fit(queue: QueueConfig, skills: dict[str, int]) -> Fit:
    """(preferred skills met, total level in the queue's skills): fixed while skills are."""
    preferred = sum(1 for r in queue.preferred if skills.get(r.skill, 0) >= r.min_level)
    wanted = {r.skill for r in queue.required} | {r.skill for r in queue.preferred}
    return preferred, sum(skills.get(skill, 0) for skill in wanted)
