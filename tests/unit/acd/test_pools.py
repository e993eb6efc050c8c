"""Idle pools against a brute-force model: whatever the adds and removes, a ranking is the sort.

The router only ever reads pools through ``top``; here every pool is driven by random adds
and removes over several eligibility levels and checked against sorting the live items.
"""

from __future__ import annotations

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.acd import QueueConfig
from callcenter.acd.pools import KeyedPool, RotatingPool, Score, Turn
from tests.unit.acd.helpers import login, make, offers

AGENTS = [str(n) for n in (1, 2, 3, 9, 10, 11, 25, 100)]
LEVELS = 3
ALL = 100  # more than there are agents: the whole ranking

# an operation: (agent, level, preferred, key) adds (if absent) or removes (if present)
ops_st = st.lists(
    st.tuples(
        st.sampled_from(AGENTS),
        st.integers(0, LEVELS - 1),
        st.integers(0, 2),
        st.integers(0, 5),
    ),
    max_size=120,
)


def sort_id(agent: str) -> tuple[int, str]:
    return (len(agent), agent)


def drive(
    pool: KeyedPool | RotatingPool, ops: list[tuple[str, int, int, int]], keyed: bool
) -> dict[str, tuple[int, Score]]:
    live: dict[str, tuple[int, Score]] = {}
    for agent, level, preferred, key in ops:
        if agent in live:
            pool.remove(agent, live.pop(agent)[0])
        else:
            item: Score = (
                (-preferred, key, *sort_id(agent)) if keyed else (-preferred, *sort_id(agent))
            )
            pool.add(agent, level, item)
            live[agent] = (level, item)
    assert len(pool) == len(live)
    return live


@settings(max_examples=300)
@given(ops=ops_st, max_level=st.integers(0, LEVELS - 1))
def test_keyed_pool_ranks_like_a_sort(ops: list[tuple[str, int, int, int]], max_level: int) -> None:
    pool = KeyedPool(LEVELS)
    live = drive(pool, ops, keyed=True)
    expected = sorted(item for level, item in live.values() if level <= max_level)
    assert pool.top(max_level, ALL, frozenset(), Turn(None, random.Random(0))) == expected
    assert pool.count(max_level) == len(expected)


@settings(max_examples=300)
@given(
    ops=ops_st,
    max_level=st.integers(0, LEVELS - 1),
    want=st.integers(1, 4),
    declined=st.frozensets(st.sampled_from(AGENTS)),
)
def test_keyed_pool_top_reads_until_enough_did_not_miss(
    ops: list[tuple[str, int, int, int]], max_level: int, want: int, declined: frozenset[str]
) -> None:
    pool = KeyedPool(LEVELS)
    live = drive(pool, ops, keyed=True)
    ranking = sorted(item for level, item in live.values() if level <= max_level)
    expected: list[Score] = []
    for item in ranking:  # the sorted prefix holding ``want`` agents who did not miss
        if sum(i[-1] not in declined for i in expected) == want:
            break
        expected.append(item)
    turn = Turn(None, random.Random(0))
    assert pool.top(max_level, want, declined, turn) == expected
    assert pool.top(max_level, ALL, frozenset(), turn) == ranking  # nothing was lost


@settings(max_examples=300)
@given(
    ops=ops_st,
    reads=st.dictionaries(
        st.integers(0, 120), st.tuples(st.integers(0, LEVELS - 1), st.integers(1, 4)), max_size=12
    ),
)
def test_keyed_pool_reads_between_changes_keep_the_order(
    ops: list[tuple[str, int, int, int]], reads: dict[int, tuple[int, int]]
) -> None:
    """Reads move the best items to a level's front; adds and removes after them (an item
    before the front's last goes into the front) keep every read the sorted live items."""
    pool = KeyedPool(LEVELS)
    live: dict[str, tuple[int, Score]] = {}
    turn = Turn(None, random.Random(0))
    for n, (agent, level, preferred, key) in enumerate(ops):
        if n in reads:
            max_level, want = reads[n]
            ranking = sorted(item for lv, item in live.values() if lv <= max_level)
            assert pool.top(max_level, want, frozenset(), turn) == ranking[:want]
        if agent in live:
            pool.remove(agent, live.pop(agent)[0])
        else:
            item: Score = (-preferred, key, *sort_id(agent))
            pool.add(agent, level, item)
            live[agent] = (level, item)
    for max_level in range(LEVELS):
        ranking = sorted(item for lv, item in live.values() if lv <= max_level)
        assert pool.top(max_level, ALL, frozenset(), turn) == ranking
    assert pool.count(LEVELS - 1) == len(live)


def test_keyed_pool_drops_stale_items_in_bulk() -> None:
    pool = KeyedPool(1)
    pool.add("1", 0, (0, 1.0, 1, "1"))
    for n in range(500):  # an agent who keeps going idle and busy leaves stale items behind
        pool.add("2", 0, (0, float(n), 1, "2"))
        pool.remove("2", 0)
    assert len(pool.heaps[0]) < 100
    assert pool.top(0, ALL, frozenset(), Turn(None, random.Random(0))) == [(0, 1.0, 1, "1")]


def rotated(items: list[Score], start: tuple[int, str], after: bool) -> list[Score]:
    """The round-robin order written out: per preferred group, from the pivot on, then before."""

    def lap(item: Score) -> int:
        at = (item[1], item[2])
        return 0 if (at > start if after else at >= start) else 1

    return sorted((item[0], lap(item), item[1], item[2]) for item in items)


@settings(max_examples=300)
@given(ops=ops_st, max_level=st.integers(0, LEVELS - 1), last=st.sampled_from([None, *AGENTS]))
def test_round_robin_pool_turns_after_the_last_offered(
    ops: list[tuple[str, int, int, int]], max_level: int, last: str | None
) -> None:
    pool = RotatingPool(LEVELS, draw=False, slack=0)
    live = drive(pool, ops, keyed=False)
    items = [item for level, item in live.values() if level <= max_level]
    rr_last = None if last is None else sort_id(last)
    ranked = pool.top(max_level, ALL, frozenset(), Turn(rr_last, random.Random(0)))
    expected = rotated(items, rr_last or (0, ""), after=rr_last is not None)
    assert ranked == expected


@settings(max_examples=300)
@given(
    ops=ops_st,
    max_level=st.integers(0, LEVELS - 1),
    last=st.sampled_from([None, *AGENTS]),
    want=st.integers(1, 4),
    declined=st.frozensets(st.sampled_from(AGENTS)),
)
def test_round_robin_pool_top_reads_until_enough_did_not_miss(
    ops: list[tuple[str, int, int, int]],
    max_level: int,
    last: str | None,
    want: int,
    declined: frozenset[str],
) -> None:
    pool = RotatingPool(LEVELS, draw=False, slack=0)
    live = drive(pool, ops, keyed=False)
    items = [item for level, item in live.values() if level <= max_level]
    rr_last = None if last is None else sort_id(last)
    order = rotated(items, rr_last or (0, ""), after=rr_last is not None)
    expected: list[Score] = []
    for item in order:  # the prefix holding ``want`` agents who did not miss
        if sum(i[-1] not in declined for i in expected) == want:
            break
        expected.append(item)
    assert pool.top(max_level, want, declined, Turn(rr_last, random.Random(0))) == expected


@settings(max_examples=300)
@given(
    ops=ops_st,
    max_level=st.integers(0, LEVELS - 1),
    declined=st.frozensets(st.sampled_from(AGENTS)),
    seed=st.integers(0, 1000),
)
def test_random_pool_starts_at_a_drawn_agent_who_did_not_miss(
    ops: list[tuple[str, int, int, int]], max_level: int, declined: frozenset[str], seed: int
) -> None:
    pool = RotatingPool(LEVELS, draw=True, slack=0)
    live = drive(pool, ops, keyed=False)
    items = [item for level, item in live.values() if level <= max_level]
    ranked = pool.top(max_level, ALL, declined, Turn(None, random.Random(seed)))
    if not items:
        assert ranked == []
        return
    fresh = [item for item in items if item[-1] not in declined]
    best = min(item[0] for item in (fresh or items))
    first = next(item for item in ranked if item[-1] not in declined or not fresh)
    assert first[0] == best and first[1] == 0  # the drawn agent, in the best group
    assert ranked == rotated(items, (first[2], first[3]), after=False)  # type: ignore[arg-type]


def test_random_pool_draws_uniformly_and_skips_who_missed() -> None:
    pool = RotatingPool(2, draw=True)
    for n, agent in enumerate(AGENTS):
        pool.add(agent, n % 2, (0, *sort_id(agent)))
    pool.add("7", 0, (-1, *sort_id("7")))  # more preferred skills, but missed this caller
    missed = frozenset({"7", "9"})
    rng = random.Random(3)
    drawn = Counter(
        next(i for i in pool.top(1, 1, missed, Turn(None, rng)) if i[-1] not in missed)[-1]
        for _ in range(2800)
    )
    assert set(drawn) == set(AGENTS) - missed
    assert min(drawn.values()) > 2800 / 7 * 0.75  # uniform would give 400 each
    everyone = frozenset(AGENTS) | {"7"}
    assert {pool.top(1, 1, everyone, Turn(None, rng))[0][-1] for _ in range(50)} == {"7"}


def test_keyed_pool_adds_before_the_front_into_it() -> None:
    pool = KeyedPool(1)
    for n in (1, 2, 3, 9, 10):
        pool.add(str(n), 0, (0, float(n), *sort_id(str(n))))
    turn = Turn(None, random.Random(0))
    assert [i[-1] for i in pool.top(0, 3, frozenset(), turn)] == ["1", "2", "3"]  # now in front
    pool.add("25", 0, (0, 1.5, *sort_id("25")))  # before the front's last: into the front
    assert pool.fronts[0][1][-1] == "25"
    assert [i[-1] for i in pool.top(0, ALL, frozenset(), turn)] == ["1", "25", "2", "3", "9", "10"]


def test_random_pool_draws_again_when_it_meets_a_stale_item() -> None:
    pool = RotatingPool(2, draw=True)  # the default slack: stale items stay listed for a while
    for n, agent in enumerate(AGENTS):
        pool.add(agent, n % 2, (0, *sort_id(agent)))
    for n, agent in enumerate(AGENTS[:5]):
        pool.remove(agent, n % 2)
    assert len(pool.lists[0]) + len(pool.lists[1]) == len(AGENTS)  # not compacted yet
    rng = random.Random(7)
    drawn = Counter(pool.top(1, 1, frozenset(), Turn(None, rng))[0][-1] for _ in range(600))
    assert set(drawn) == set(AGENTS[5:])  # both levels, never a stale item
    assert min(drawn.values()) > 600 / 3 * 0.75
    pool.add(AGENTS[0], 0, (-1, *sort_id(AGENTS[0])))  # back, with another key: relisted
    assert pool.lists[0].count((-1, *sort_id(AGENTS[0]))) == 1
    assert pool.top(1, 1, frozenset(), Turn(None, rng))[0][-1] == AGENTS[0]


def test_the_router_rebuilds_a_pool_an_agent_keeps_leaving() -> None:
    """An agent who keeps going ready and busy leaves a stale heap item each time; pooled by
    the router, the heap is rebuilt, and the longest idle still wins."""
    acd = make(QueueConfig("q", wrapup=0.0))
    login(acd, "1", 0.0)
    login(acd, "2", 0.0, ready=False)
    for n in range(200):
        acd.set_ready("2", 1.0 + n)
        acd.set_busy("2", "break", 1.0 + n)
    pool = acd._queues["q"].idle
    assert isinstance(pool, KeyedPool)
    assert len(pool.heaps[0]) + len(pool.fronts[0]) < 2 * 1 + 64 + 2
    acd.set_ready("2", 300.0)
    assert offers(acd.enqueue("c", "q", 301.0)) == [("c", "1")]
