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
from operator import attrgetter, itemgetter

from callcenter.acd.events import EXPLAIN_TOP, Explanation, QueueHead, ScoredCandidate
from callcenter.acd.state import Agent, Entry, QueueState
from callcenter.acd.strategies import DRAWS, OFFER_ALL, STRATEGIES, RankContext, Score

RULE_CALLER = "caller waiting: idle eligible agents ranked by strategy; preferred skills first; "
RULE_CALLER += "agents who missed this caller last"
RULE_AGENT = "agent available: highest priority, then longest waiting, then queue weight"
RULE_AGENT_THEN_CALLER = f"{RULE_AGENT}; then {RULE_CALLER}"


def candidates_for(queue: QueueState, entry: Entry, agents: dict[str, Agent]) -> list[Agent]:
    members = queue.members
    return [agents[a] for a in queue.idle if members[a] <= entry.level]


def rank_for_entry(
    queue: QueueState,
    entry: Entry,
    candidates: list[Agent],
    now: float,
    rng: random.Random,
    trigger: tuple[str, str, tuple[QueueHead, ...]] = ("caller_waiting", RULE_CALLER, ()),
) -> tuple[list[Agent], Explanation]:
    """Choose the agent(s) to offer ``entry`` to; ``candidates`` must not be empty.

    ``trigger`` is (what started the decision, the rule that picked the caller, the queue
    heads that rule compared) for the explanation.
    """
    cfg = queue.config
    ctx = RankContext(cfg, now, queue.rr_last, rng)
    strategy_fn = STRATEGIES[cfg.strategy]
    ranked: list[tuple[Score, Agent, int, bool]] = []
    if cfg.strategy in DRAWS and len(candidates) > 1:
        candidates = sorted(candidates, key=attrgetter("sort_id"))  # draws in a fixed order
    queue_id, declined_set = cfg.queue_id, entry.declined
    for agent in candidates:
        declined = agent.agent_id in declined_set
        preferred = agent.fit[queue_id][0]
        key: Score = (int(declined), -preferred, *strategy_fn(ctx, agent), *agent.sort_id)
        ranked.append((key, agent, preferred, declined))
    if len(ranked) > 1:
        ranked.sort(key=itemgetter(0))
    chosen = [r[1] for r in ranked] if cfg.strategy in OFFER_ALL else [ranked[0][1]]
    what, rule, heads = trigger
    explanation = Explanation(
        trigger=what,
        rule=rule,
        strategy=cfg.strategy.value,
        queue_id=cfg.queue_id,
        relaxation_level=entry.level,
        candidate_count=len(ranked),
        candidates=tuple(
            ScoredCandidate(a.agent_id, k, p, d) for k, a, p, d in ranked[:EXPLAIN_TOP]
        ),
        heads=heads,
    )
    return chosen, explanation


def best_entry_for_agent(
    agent: Agent, queues: dict[str, QueueState]
) -> tuple[QueueState, Entry, tuple[QueueHead, ...]] | None:
    """The caller an available agent should take under the cross-queue rule, if any."""
    found: list[tuple[tuple[int, float, int, int], str, QueueState, Entry]] = []
    for queue_id, level in agent.levels.items():
        queue = queues[queue_id]
        entry = _first_admitting(queue, level)
        if entry is not None:
            order = (-entry.priority, entry.enqueued_at, -queue.config.weight, entry.seq)
            found.append((order, queue_id, queue, entry))
    if not found:
        return None
    found.sort(key=itemgetter(0))
    heads = tuple(
        QueueHead(queue_id, e.call_id, e.priority, e.enqueued_at, -order[2])
        for order, queue_id, _, e in found[:EXPLAIN_TOP]
    )
    return found[0][2], found[0][3], heads


def _first_admitting(queue: QueueState, level: int) -> Entry | None:
    """Highest-priority bucket head whose relaxation admits an agent of eligibility ``level``.

    Within a bucket the head waited longest, so it has the widest relaxation: if the head does
    not admit the agent, nobody in that bucket does. Stale heap items (offered or ended
    entries) are dropped on the way. This loop is the hot path of agent-available decisions.
    """
    buckets = queue.buckets
    for priority in reversed(queue.priorities):
        bucket = buckets[priority]
        while bucket:
            top = bucket[0]
            head = top[3]
            if head.heap_token == top[2]:
                if head.level >= level:
                    return head
                break
            heapq.heappop(bucket)
    return None
