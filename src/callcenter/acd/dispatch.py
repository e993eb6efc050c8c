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

from callcenter.acd.events import EXPLAIN_TOP, SET_EXPAND, Explanation, ScoredCandidate
from callcenter.acd.model import Strategy
from callcenter.acd.pools import IdlePool, Score, Turn, new_turn
from callcenter.acd.state import Agent, Entry, Head, QueueState, Served

RULE_CALLER = "caller waiting: idle eligible agents ranked by strategy; preferred skills first; "
RULE_CALLER += "agents who missed this caller last"
RULE_AGENT = "agent available: highest priority, then longest waiting, then queue weight"
RULE_AGENT_THEN_CALLER = f"{RULE_AGENT}; then {RULE_CALLER}"

_order = attrgetter("order")
_new = object.__new__


def rank_for_entry(
    queue: QueueState,
    pool: IdlePool,
    entry: Entry,
    agents: dict[str, Agent],
    rng: random.Random,
    available: str | None = None,
    heads: list[Head] | None = None,
) -> tuple[list[Agent], Explanation] | None:
    """The agent(s) to offer ``entry`` to from ``pool`` (the queue's complete idle pool), or
    None when no idle member may take it.

    ``available`` is the agent whose becoming available started the decision (None: the
    caller's arrival or return did), ``heads`` the queue heads the cross-queue rule compared
    for it; both for the explanation.
    """
    level = entry.level
    count = pool.count(level)
    if count == 0:
        return None
    declined = entry.declined
    offer_all = queue.ranking.offer_all
    # enough of the ranking to know the best EXPLAIN_TOP once missers are moved last
    turn = new_turn(Turn, (queue.rr_last, rng))
    items = pool.top(level, count if offer_all else EXPLAIN_TOP, declined, turn)
    if declined:  # a stable partition: the key's first field is "missed this caller"
        items = [i for i in items if i[-1] not in declined] + [
            i for i in items if i[-1] in declined
        ]
    chosen = [agents[str(i[-1])] for i in items] if offer_all else [agents[str(items[0][-1])]]
    explanation = _new(Explanation)  # Explanation.deferred, inlined
    SET_EXPAND(explanation, (_explain, (
        available, queue.config.strategy, queue.queue_id, level, count, items, declined, heads,
    )))  # fmt: skip
    return chosen, explanation


def rank_alone(
    queue: QueueState, agent: Agent, item: Score, entry: Entry, available: str, heads: list[Head]
) -> tuple[list[Agent], Explanation]:
    """What :func:`rank_for_entry` answers when ``agent`` (whose pool item is ``item``) is the
    only idle member of ``queue`` that may take ``entry``: that agent, one candidate."""
    explanation = _new(Explanation)  # Explanation.deferred, inlined
    SET_EXPAND(explanation, (_explain, (
        available, queue.config.strategy, queue.queue_id, entry.level, 1, [item],
        entry.declined, heads,
    )))  # fmt: skip
    return [agent], explanation


def _explain(
    available: str | None,
    strategy: Strategy,
    queue_id: str,
    level: int,
    count: int,
    items: list[Score],
    declined: Set[str],
    heads: list[Head] | None,
) -> Explanation:
    """The explanation of a decision from its compact record (see Explanation.deferred)."""
    candidates = tuple(_scored(i, declined) for i in items[:EXPLAIN_TOP])
    if available is None:
        return Explanation("caller_waiting", RULE_CALLER, strategy.value, queue_id, level,
                           count, candidates)  # fmt: skip
    assert heads is not None
    compared = tuple(h.view for h in sorted(heads, key=_order)[:EXPLAIN_TOP])
    return Explanation(f"agent_available:{available}", RULE_AGENT_THEN_CALLER, strategy.value,
                       queue_id, level, count, candidates, compared)  # fmt: skip


def _scored(item: Score, declined: Set[str]) -> ScoredCandidate:
    agent_id = str(item[-1])
    missed = agent_id in declined
    return ScoredCandidate(agent_id, (int(missed), *item), -int(item[0]), missed)


def best_entry_for_agent(
    served: tuple[Served, ...],
) -> tuple[Head, list[Head]] | None:
    """The caller an available agent should take under the cross-queue rule, if any, and the
    heads of the agent's queues that were compared (``served``: the agent's queues, levels)."""
    best: Head | None = None
    best_order: tuple[int, float, int, int] | None = None
    found: list[Head] = []
    for one in served:
        # the cached head (the usual case); False: nothing cached, None: nobody in the queue
        # admits an agent of this level
        queue, level = one.queue, one.level
        head = queue.heads[level]
        if head is None:
            continue
        if head is False:
            head = queue.head(level)
            if head is None:
                continue
        found.append(head)
        order = head.order
        if best_order is None or order < best_order:
            best, best_order = head, order
    if best is None:
        return None
    return best, found
