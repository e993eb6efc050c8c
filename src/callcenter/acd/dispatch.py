"""Matching: which idle agents may take a caller, and which caller an available agent takes.

Two pure functions over the live state, each returning its choice with an
:class:`~callcenter.acd.events.Explanation`:

* :func:`rank_for_entry` - a caller is waiting: the best of the queue's idle members whose
  eligibility level is within the caller's relaxation level, by the key
  ``(missed this caller before, -preferred skills, *strategy key, agent id)``. The queue's idle
  pool keeps its members in that order (without the first field), so the decision reads the
  best few and skips those who missed this caller: O(k log n), not a sort of every candidate.
* :func:`best_entry_for_agent` - an agent is available: the **cross-queue rule**. Over every
  queue the agent may serve, take the longest-waiting caller of the highest priority bucket
  whose relaxation level admits the agent (cached per queue and level); across queues the
  winner is the caller with the highest priority, then the earliest arrival (longest waiting),
  then the higher queue weight, then the earlier arrival sequence number. It never depends on
  dict order or on chance.
"""

from __future__ import annotations

import random
from collections.abc import Set
from operator import attrgetter

from callcenter.acd.events import EXPLAIN_TOP, Explanation, QueueHead, ScoredCandidate
from callcenter.acd.pools import IdlePool, Score, Turn
from callcenter.acd.state import Agent, Entry, Head, QueueState

RULE_CALLER = "caller waiting: idle eligible agents ranked by strategy; preferred skills first; "
RULE_CALLER += "agents who missed this caller last"
RULE_AGENT = "agent available: highest priority, then longest waiting, then queue weight"
RULE_AGENT_THEN_CALLER = f"{RULE_AGENT}; then {RULE_CALLER}"

_order = attrgetter("order")


def rank_for_entry(
    queue: QueueState,
    pool: IdlePool,
    entry: Entry,
    agents: dict[str, Agent],
    rng: random.Random,
    trigger: tuple[str, str, tuple[QueueHead, ...]] = ("caller_waiting", RULE_CALLER, ()),
) -> tuple[list[Agent], Explanation] | None:
    """The agent(s) to offer ``entry`` to from ``pool`` (the queue's complete idle pool), or
    None when no idle member may take it.

    ``trigger`` is (what started the decision, the rule that picked the caller, the queue
    heads that rule compared) for the explanation.
    """
    count = pool.count(entry.level)
    if count == 0:
        return None
    declined = entry.declined
    offer_all = queue.ranking.offer_all
    # enough of the ranking to know the best EXPLAIN_TOP once missers are moved last
    want = count if offer_all else EXPLAIN_TOP
    items = pool.top(entry.level, want, declined, Turn(queue.rr_last, rng))
    if declined:  # a stable partition: the key's first field is "missed this caller"
        items = [i for i in items if i[-1] not in declined] + [
            i for i in items if i[-1] in declined
        ]
    chosen = [agents[str(i[-1])] for i in (items if offer_all else items[:1])]
    cfg = queue.config
    what, rule, heads = trigger
    explanation = Explanation(
        trigger=what,
        rule=rule,
        strategy=cfg.strategy.value,
        queue_id=cfg.queue_id,
        relaxation_level=entry.level,
        candidate_count=count,
        candidates=tuple(_scored(i, declined) for i in items[:EXPLAIN_TOP]),
        heads=heads,
    )
    return chosen, explanation


def _scored(item: Score, declined: Set[str]) -> ScoredCandidate:
    agent_id = str(item[-1])
    missed = agent_id in declined
    return ScoredCandidate(agent_id, (int(missed), *item), -int(item[0]), missed)


def best_entry_for_agent(
    agent: Agent, queues: dict[str, QueueState]
) -> tuple[QueueState, Entry, tuple[QueueHead, ...]] | None:
    """The caller an available agent should take under the cross-queue rule, if any."""
    found: list[Head] = []
    for queue_id, level in agent.levels.items():
        queue = queues[queue_id]
        head = queue.heads.get(level)  # the cached head, when still in line: the common case
        if head is None or head.entry.heap_token != head.token:
            head = queue.head(level)
        if head is not None:
            found.append(head)
    if not found:
        return None
    found.sort(key=_order)
    best = found[0]
    return best.queue, best.entry, tuple(h.view for h in found[:EXPLAIN_TOP])
