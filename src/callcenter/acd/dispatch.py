"""Matching: which idle agents may take a caller, and which caller an available agent takes.

Two pure functions over the live state, each returning its choice with an
:class:`~callcenter.acd.events.Explanation`:

* :func:`rank_for_entry` - a caller is waiting: rank the queue's idle members whose eligibility
  level is within the caller's relaxation level, with the key
  ``(missed this caller before, -preferred skills, *strategy key, agent id)``.
* :func:`best_entry_for_agent` - an agent is available: the **cross-queue rule**. Over every
  queue the agent may serve, take the longest-waiting caller of the highest priority bucket
  whose relaxation level admits the agent; across queues the winner is the caller with the
  highest priority, then the earliest arrival (longest waiting), then the higher queue weight,
  then the earlier arrival sequence number. It never depends on dict order or on chance.
"""

from __future__ import annotations

import heapq
import random

from callcenter.acd.events import EXPLAIN_TOP, Explanation, QueueHead, ScoredCandidate
from callcenter.acd.state import Agent, Entry, QueueState
from callcenter.acd.strategies import (
    OFFER_ALL,
    STRATEGIES,
    RankContext,
    Score,
    id_key,
    preferred_count,
)

RULE_CALLER = "caller waiting: idle eligible agents ranked by strategy; preferred skills first; "
RULE_CALLER += "agents who missed this caller last"
RULE_AGENT = "agent available: highest priority, then longest waiting, then queue weight"


def candidates_for(queue: QueueState, entry: Entry, agents: dict[str, Agent]) -> list[Agent]:
    members = queue.members
    return [agents[a] for a in queue.idle if members[a] <= entry.level]


def rank_for_entry(
    queue: QueueState,
    entry: Entry,
    candidates: list[Agent],
    now: float,
    rng: random.Random,
) -> tuple[list[Agent], Explanation]:
    """Choose the agent(s) to offer ``entry`` to; ``candidates`` must not be empty."""
    cfg = queue.config
    ctx = RankContext(cfg, now, queue.rr_last, rng)
    strategy_fn = STRATEGIES[cfg.strategy]
    ranked: list[tuple[Score, Agent, int, bool]] = []
    for agent in sorted(candidates, key=lambda a: id_key(a.agent_id)):
        declined = agent.agent_id in entry.declined
        preferred = preferred_count(cfg, agent)
        size, ident = id_key(agent.agent_id)
        key: Score = (int(declined), -preferred, *strategy_fn(ctx, agent), size, ident)
        ranked.append((key, agent, preferred, declined))
    top = heapq.nsmallest(EXPLAIN_TOP, ranked, key=lambda r: r[0])
    if cfg.strategy in OFFER_ALL:
        chosen = [r[1] for r in sorted(ranked, key=lambda r: r[0])]
    else:
        chosen = [top[0][1]]
    explanation = Explanation(
        trigger="caller_waiting",
        rule=RULE_CALLER,
        strategy=cfg.strategy.value,
        queue_id=cfg.queue_id,
        relaxation_level=entry.level,
        candidate_count=len(ranked),
        candidates=tuple(ScoredCandidate(a.agent_id, k, p, d) for k, a, p, d in top),
    )
    return chosen, explanation


def best_entry_for_agent(
    agent: Agent, queues: dict[str, QueueState]
) -> tuple[QueueState, Entry, tuple[QueueHead, ...]] | None:
    """The caller an available agent should take under the cross-queue rule, if any."""
    best: tuple[tuple[int, float, int, int], QueueState, Entry] | None = None
    heads: list[QueueHead] = []
    for queue_id, level in agent.levels.items():
        queue = queues[queue_id]
        entry = _first_admitting(queue, level)
        if entry is None:
            continue
        weight = queue.config.weight
        heads.append(QueueHead(queue_id, entry.call_id, entry.priority, entry.enqueued_at, weight))
        order = entry.order(weight)
        if best is None or order < best[0]:
            best = (order, queue, entry)
    if best is None:
        return None
    heads.sort(key=lambda h: (-h.priority, h.enqueued_at, -h.weight, h.queue_id))
    return best[1], best[2], tuple(heads)


def _first_admitting(queue: QueueState, level: int) -> Entry | None:
    """Highest-priority bucket head whose relaxation admits an agent of eligibility ``level``.

    Within a bucket the head waited longest, so it has the widest relaxation: if the head does
    not admit the agent, nobody in that bucket does.
    """
    for priority in reversed(queue.priorities):
        head = queue.bucket_head(priority)
        if head is not None and head.level >= level:
            return head
    return None
