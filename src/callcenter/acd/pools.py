"""Idle agents of one queue, kept in the order of the queue's routing strategy (SPEC §3).

A caller who arrives must get the best idle eligible agent without sorting every candidate, and
an agent who becomes available must not pay for that. So each queue keeps its idle members in a
pool, updated when an agent's state changes, with one sub-pool per eligibility level (a caller at
relaxation level L may go to members of levels 0..L). Items are the sort keys themselves, agent
id last: ``(-preferred skills, *strategy key, len(id), id)``; lower wins.

* :class:`KeyedPool` serves the strategies whose key does not change while the agent stays idle
  (longest idle, fewest calls, least talk time, skill level first, ring all): a binary heap per
  level. Adding is a ``heappush`` (one or two comparisons for the usual growing keys); removing
  is lazy, O(1): an item is live while it is the agent's current item (by identity), stale items
  are dropped when they reach the top, or all at once when they outnumber the live ones. The
  best k are read by a best-first walk of the heaps that does not change them: O(k log k).
* :class:`RotatingPool` serves round robin and random, whose order turns around a pivot that
  moves with every decision: a sorted list per level of ``(-preferred, len(id), id)``; the order
  starts after the queue's last offered agent (round robin) or at a uniformly drawn agent
  (random), found by bisection. Adding and removing are a bisection and a ``memmove``.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterator, Set
from itertools import accumulate
from typing import Protocol

Score = tuple[float | str, ...]  # (-preferred, *strategy key, len(id), id): lower wins
SortId = tuple[int, str]  # numeric order of digit ids: "9" before "10"

_REBUILD_SLACK = 32  # stale heap items tolerated beyond the live ones before a rebuild


class IdlePool(Protocol):
    """The idle members of one queue; an agent is added only when it is not in the pool."""

    def __len__(self) -> int: ...

    def add(self, agent_id: str, level: int, item: Score) -> None: ...

    def remove(self, agent_id: str) -> None: ...

    def count(self, max_level: int) -> int: ...

    def ranked(
        self, max_level: int, declined: Set[str], rr_last: SortId | None, rng: random.Random
    ) -> Iterator[Score]:
        """Members of levels 0..max_level in strategy order, best first. ``declined`` (who
        missed this caller), ``rr_last`` (the queue's last offered agent) and ``rng`` are for
        the pools whose order turns at a pivot."""


class _Levels:
    """Who is in the pool with which item, one dict per eligibility level."""

    __slots__ = ("members",)

    def __init__(self, levels: int) -> None:
        self.members: list[dict[float | str, Score]] = [{} for _ in range(levels)]  # by agent id

    def __len__(self) -> int:
        return sum(len(level) for level in self.members)

    def count(self, max_level: int) -> int:
        return sum(len(level) for level in self.members[: max_level + 1])

    def _pop(self, agent_id: str) -> tuple[int, Score] | None:
        for level, members in enumerate(self.members):
            item = members.pop(agent_id, None)
            if item is not None:
                return level, item
        return None


class KeyedPool(_Levels):
    """Binary heaps per level with lazy deletion, for keys fixed while the agent is idle."""

    __slots__ = ("heaps",)

    def __init__(self, levels: int) -> None:
        super().__init__(levels)
        self.heaps: list[list[Score]] = [[] for _ in range(levels)]

    def add(self, agent_id: str, level: int, item: Score) -> None:
        members, heap = self.members[level], self.heaps[level]
        members[agent_id] = item
        heapq.heappush(heap, item)
        if len(heap) > 2 * len(members) + _REBUILD_SLACK:
            heap[:] = [it for it in heap if members.get(it[-1]) is it]
            heapq.heapify(heap)

    def remove(self, agent_id: str) -> None:
        self._pop(agent_id)  # its heap item goes stale

    def ranked(
        self, max_level: int, declined: Set[str], rr_last: SortId | None, rng: random.Random
    ) -> Iterator[Score]:
        """Live items of levels 0..max_level, best first; walks the heaps without changing them
        (apart from dropping stale items at their tops), so it is safe to stop early."""
        frontier: list[tuple[Score, int, int]] = []
        heaps, members = self.heaps, self.members
        for level in range(max_level + 1):
            heap, live = heaps[level], members[level]
            while heap and live.get(heap[0][-1]) is not heap[0]:
                heapq.heappop(heap)
            if heap:
                frontier.append((heap[0], level, 0))
        heapq.heapify(frontier)
        while frontier:
            item, level, i = heapq.heappop(frontier)
            if members[level].get(item[-1]) is item:
                yield item
            heap = heaps[level]
            for child in (2 * i + 1, 2 * i + 2):
                if child < len(heap):
                    heapq.heappush(frontier, (heap[child], level, child))


class RotatingPool(_Levels):
    """Sorted lists per level of ``(-preferred, len(id), id)``; the order turns at a pivot."""

    __slots__ = ("draw", "lists")

    def __init__(self, levels: int, *, draw: bool) -> None:
        super().__init__(levels)
        self.lists: list[list[Score]] = [[] for _ in range(levels)]
        self.draw = draw  # random: the pivot is drawn; round robin: it follows the last offer

    def add(self, agent_id: str, level: int, item: Score) -> None:
        self.members[level][agent_id] = item
        insort(self.lists[level], item)

    def remove(self, agent_id: str) -> None:
        found = self._pop(agent_id)
        if found is not None:
            level, item = found
            items = self.lists[level]
            del items[bisect_left(items, item)]

    def ranked(
        self, max_level: int, declined: Set[str], rr_last: SortId | None, rng: random.Random
    ) -> Iterator[Score]:
        """Items as ``(-preferred, lap, len(id), id)``: lap 0 from the pivot on, lap 1 before."""
        lists = [items for items in self.lists[: max_level + 1] if items]
        if not lists:
            return iter(())
        if self.draw:
            start, after = self._drawn(max_level, declined, rng), False
        elif rr_last is None:
            start, after = (0, ""), False
        else:
            start, after = rr_last, True
        laps = [_rotated(items, start, after) for items in lists]
        return laps[0] if len(laps) == 1 else heapq.merge(*laps)

    def _drawn(self, max_level: int, declined: Set[str], rng: random.Random) -> SortId:
        """A uniform draw among the agents of the best preferred-skill group who did not
        miss this caller (among all of the best group if everyone did)."""
        lists = self.lists[: max_level + 1]
        missed = [found for a in declined if (found := self._find(a, max_level)) is not None]
        for group in sorted({g for items in lists for g in _groups(items)}):
            spans = [(items, *_span(items, group)) for items in lists]
            ends = list(accumulate(hi - lo for _, lo, hi in spans))
            skipped = sorted(
                _offset(spans, ends, level, item) for level, item in missed if item[0] == group
            )
            if ends[-1] > len(skipped):
                pick = rng.randrange(ends[-1] - len(skipped))
                for position in skipped:  # the pick-th position that is not skipped
                    if position <= pick:
                        pick += 1
                return _at(spans, ends, pick)
        return self._drawn(max_level, frozenset(), rng)  # everyone missed: draw among all

    def _find(self, agent_id: str, max_level: int) -> tuple[int, Score] | None:
        for level, members in enumerate(self.members[: max_level + 1]):
            if agent_id in members:
                return level, members[agent_id]
        return None


Span = tuple[list[Score], int, int]


def _groups(items: list[Score]) -> Iterator[float | str]:
    lo = 0
    while lo < len(items):
        group = items[lo][0]
        yield group
        lo = bisect_left(items, _next(group), lo)


def _span(items: list[Score], group: float | str) -> tuple[int, int]:
    lo = bisect_left(items, (group,))
    return lo, bisect_left(items, _next(group), lo)


def _next(group: float | str) -> Score:
    """A key just below every item of the next preferred-skill group (groups are integers)."""
    return (int(group) + 1,)


def _offset(spans: list[Span], ends: list[int], level: int, item: Score) -> int:
    """Position of ``item`` (in the span of ``level``) in the concatenation of ``spans``."""
    items, lo, hi = spans[level]
    return (ends[level - 1] if level else 0) + bisect_left(items, item, lo, hi) - lo


def _at(spans: list[Span], ends: list[int], position: int) -> SortId:
    """The sort id of the item at ``position`` in the concatenation of ``spans``."""
    level = bisect_right(ends, position)
    items, lo, _ = spans[level]
    item = items[lo + position - (ends[level - 1] if level else 0)]
    return item[-2], item[-1]  # type: ignore[return-value]


def _rotated(items: list[Score], start: SortId, after: bool) -> Iterator[Score]:
    """Each preferred-skill group in id order from ``start`` (or just after it), wrapping."""
    cut = bisect_right if after else bisect_left
    lo = 0
    while lo < len(items):
        group = items[lo][0]
        hi = bisect_left(items, _next(group), lo)
        pivot = cut(items, (group, *start), lo, hi)
        for lap, first, last in ((0, pivot, hi), (1, lo, pivot)):
            for i in range(first, last):
                _, length, agent_id = items[i]
                yield (group, lap, length, agent_id)
        lo = hi
