"""Idle agents of one queue, kept in the order of the queue's routing strategy (SPEC §3).

A caller who arrives must get the best idle eligible agent without sorting every candidate, and
an agent who becomes available must not pay for that. So each queue keeps its idle members in a
pool, updated when an agent's state changes, with one sub-pool per eligibility level (a caller at
relaxation level L may go to members of levels 0..L). Items are the sort keys themselves, agent
id last: ``(-preferred skills, *strategy key, len(id), id)``; lower wins. Counts are exact (one
dict of members per level).

* :class:`KeyedPool` serves the strategies whose key does not change while the agent stays idle
  (longest idle, fewest calls, least talk time, skill level first, ring all): per level a short
  sorted *front* list and a binary heap, every front item before every heap item. Adding is a
  ``heappush`` (one or two comparisons for the usual growing keys), or a bisection into the
  front when the item comes before the front's last; removing is lazy, O(1): an item is live
  while it is the agent's current item (by identity); stale items are dropped when a read meets
  them, or all at once when they outnumber the live ones twice (amortised O(1)). Reading the best
  k walks the front and moves heap items to its end only when it runs short, so a caller's
  decision reads the few best without popping and pushing them back (a read across several
  levels first returns the fronts to their heaps). Sorted lists with eager removal were measured
  too: an agent who takes a call leaves 16 pools in the benchmark, and 16 bisections cost more
  than 16 dict deletions.
* :class:`RotatingPool` serves round robin and random, whose order turns around a pivot that
  moves with every decision: a sorted list per level of ``(-preferred, len(id), id)``; the order
  starts after the queue's last offered agent (round robin) or at a uniformly drawn agent
  (random), found by bisection. Adding and removing are a bisection and a ``memmove``.
"""

from __future__ import annotations

import heapq
import random
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator, Set
from itertools import accumulate, chain
from typing import NamedTuple, Protocol

Score = tuple[float | str, ...]  # (-preferred, *strategy key, len(id), id): lower wins
SortId = tuple[int, str]  # numeric order of digit ids: "9" before "10"


STALE_SLACK = 64  # stale heap items tolerated beyond twice the live ones before a rebuild


class Turn(NamedTuple):
    """Where an order that turns at a pivot starts: after the queue's last offered agent
    (round robin), or at an agent drawn from the injected RNG (random)."""

    rr_last: SortId | None
    rng: random.Random


class IdlePool(Protocol):
    """The idle members of one queue; an agent is added only when it is not in the pool."""

    def __len__(self) -> int: ...

    def add(self, agent_id: str, level: int, item: Score) -> None: ...

    def remove(self, agent_id: str, level: int) -> None: ...

    def count(self, max_level: int) -> int: ...

    def top(self, max_level: int, want: int, declined: Set[str], turn: Turn) -> list[Score]:
        """Members of levels 0..max_level in strategy order, best first, until ``want`` of them
        are not in ``declined`` (who missed this caller) or the members run out."""


class _Levels:
    """Each member's item by agent id, one dict per eligibility level (exact counts)."""

    __slots__ = ("members",)

    def __init__(self, levels: int) -> None:
        self.members: list[dict[float | str, Score]] = [{} for _ in range(levels)]

    def __len__(self) -> int:
        return sum(len(members) for members in self.members)

    def count(self, max_level: int) -> int:
        if max_level == 0:
            return len(self.members[0])
        return sum(len(members) for members in self.members[: max_level + 1])


class KeyedPool(_Levels):
    """A sorted front and a binary heap per level, lazy deletion, for keys fixed while the
    agent is idle."""

    __slots__ = ("fronts", "heaps")

    def __init__(self, levels: int) -> None:
        super().__init__(levels)
        self.heaps: list[list[Score]] = [[] for _ in range(levels)]
        self.fronts: list[list[Score]] = [[] for _ in range(levels)]  # before every heap item

    def add(self, agent_id: str, level: int, item: Score) -> None:
        members, front = self.members[level], self.fronts[level]
        members[agent_id] = item
        if front and item < front[-1]:
            insort(front, item)
            grown = front
        else:
            grown = self.heaps[level]
            heapq.heappush(grown, item)
        if len(grown) > 2 * len(members) + STALE_SLACK:  # bounds the front and the heap
            self.rebuild(level)

    def rebuild(self, level: int) -> None:
        """Only the live items (each member's current one), all in the heap."""
        heap = self.heaps[level]
        heap[:] = self.members[level].values()
        heapq.heapify(heap)
        self.fronts[level].clear()

    def _unfront(self, level: int) -> None:
        """Return the level's front to its heap (reads across levels merge the heaps)."""
        front, heap = self.fronts[level], self.heaps[level]
        for item in front:
            heapq.heappush(heap, item)
        front.clear()

    def remove(self, agent_id: str, level: int) -> None:
        del self.members[level][agent_id]  # its heap item goes stale

    def top(self, max_level: int, want: int, declined: Set[str], turn: Turn) -> list[Score]:
        """Pops the best live items (stale ones met on the way are dropped for good), then
        pushes them back: O((want + missers) log n)."""
        if max_level == 0 or len(self.heaps) == 1:
            return _top_of(self.fronts[0], self.heaps[0], self.members[0], want, declined)
        for level in range(max_level + 1):
            if self.fronts[level]:
                self._unfront(level)
        levels = list(zip(self.heaps[: max_level + 1], self.members, strict=False))
        taken: list[tuple[list[Score], Score]] = []
        fresh = 0
        while fresh < want:
            best: list[Score] | None = None
            for heap, live in levels:
                while heap and live.get(heap[0][-1]) is not heap[0]:
                    heapq.heappop(heap)
                if heap and (best is None or heap[0] < best[0]):
                    best = heap
            if best is None:
                break
            item = heapq.heappop(best)
            taken.append((best, item))
            fresh += item[-1] not in declined
        for heap, item in taken:
            heapq.heappush(heap, item)
        return [item for _, item in taken]


def _top_of(
    front: list[Score],
    heap: list[Score],
    live: dict[float | str, Score],
    want: int,
    declined: Set[str],
) -> list[Score]:
    """KeyedPool.top of one level: the front in order, then heap items moved to its end (the
    heap's smallest comes after every front item); stale items met are dropped for good."""
    pop = heapq.heappop
    taken: list[Score] = []
    fresh = i = 0
    while fresh < want:
        if i == len(front):
            while heap and live.get(heap[0][-1]) is not heap[0]:
                pop(heap)
            if not heap:
                break
            front.append(pop(heap))
        item = front[i]
        if live.get(item[-1]) is not item:
            del front[i]
            continue
        taken.append(item)
        fresh += item[-1] not in declined
        i += 1
    return taken


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

    def remove(self, agent_id: str, level: int) -> None:
        item = self.members[level].pop(agent_id)
        items = self.lists[level]
        del items[bisect_left(items, item)]

    def top(self, max_level: int, want: int, declined: Set[str], turn: Turn) -> list[Score]:
        """Items as ``(-preferred, lap, len(id), id)``: lap 0 from the pivot on, lap 1 before."""
        lists = [items for items in self.lists[: max_level + 1] if items]
        if not lists:
            return []
        if self.draw:
            start, after = self._drawn(max_level, declined, turn.rng), False
        elif turn.rr_last is None:
            start, after = (0, ""), False
        else:
            start, after = turn.rr_last, True
        if len(lists) == 1:
            return _rotated_top(lists[0], start, after, want, declined)
        # the merged best ``want`` (missers aside) are among each level's own best ``want``
        tops = [_rotated_top(items, start, after, want, declined) for items in lists]
        return _take(sorted(chain.from_iterable(tops)), want, declined)

    def _drawn(self, max_level: int, declined: Set[str], rng: random.Random) -> SortId:
        """A uniform draw among the agents of the best preferred-skill group who did not
        miss this caller (among all of the best group if everyone did)."""
        lists = self.lists[: max_level + 1]
        if not declined:  # the usual case: a draw among the best group of all levels
            filled = [items for items in lists if items]
            if len(filled) == 1:  # one level: the best group is the list's first span
                items = filled[0]
                item = items[_below(rng, bisect_left(items, _next(items[0][0])))]
                return item[-2], item[-1]  # type: ignore[return-value]
            group = min(items[0][0] for items in filled)
            spans = [(items, *_span(items, group)) for items in lists]
            ends = list(accumulate(hi - lo for _, lo, hi in spans))
            return _at(spans, ends, _below(rng, ends[-1]))
        missed = [found for a in declined if (found := self._find(a, max_level)) is not None]
        for group in sorted({g for items in lists for g in _groups(items)}):
            spans = [(items, *_span(items, group)) for items in lists]
            ends = list(accumulate(hi - lo for _, lo, hi in spans))
            skipped = sorted(
                _offset(spans, ends, level, item) for level, item in missed if item[0] == group
            )
            if ends[-1] > len(skipped):
                pick = _below(rng, ends[-1] - len(skipped))
                for position in skipped:  # the pick-th position that is not skipped
                    if position <= pick:
                        pick += 1
                return _at(spans, ends, pick)
        return self._drawn(max_level, frozenset(), rng)  # everyone missed: draw among all

    def alone(self, item: Score, turn: Turn) -> Score:
        """What :meth:`top` returns first when ``item`` (``(-preferred, len(id), id)``) is the
        only member a caller may go to: no draw is needed, and round robin puts it in lap 1
        when it comes at or before the queue's last offered agent."""
        group, length, agent_id = item
        rr_last = turn.rr_last
        after = not self.draw and rr_last is not None and (length, agent_id) <= rr_last
        return (group, int(after), length, agent_id)

    def _find(self, agent_id: str, max_level: int) -> tuple[int, Score] | None:
        for level, members in enumerate(self.members[: max_level + 1]):
            if agent_id in members:
                return level, members[agent_id]
        return None


Span = tuple[list[Score], int, int]


def _below(rng: random.Random, n: int) -> int:
    """A uniform draw in ``range(n)``; one choice needs no draw (the RNG is left as it is)."""
    return 0 if n == 1 else rng.randrange(n)


def _take(order: Iterable[Score], want: int, declined: Set[str]) -> list[Score]:
    taken: list[Score] = []
    fresh = 0
    for item in order:
        taken.append(item)
        fresh += item[-1] not in declined
        if fresh == want:
            break
    return taken


def _rotated_top(
    items: list[Score], start: SortId, after: bool, want: int, declined: Set[str]
) -> list[Score]:
    """The first items of one level in rotated order, until ``want`` of them are not in
    ``declined``: each preferred-skill group in id order from ``start`` (or just after it),
    wrapping, as ``(group, lap, len(id), id)``."""
    cut = bisect_right if after else bisect_left
    taken: list[Score] = []
    fresh = 0
    lo, end = 0, len(items)
    while lo < end:
        group = items[lo][0]
        hi = bisect_left(items, _next(group), lo)
        pivot = cut(items, (group, *start), lo, hi)
        for lap, first, last in ((0, pivot, hi), (1, lo, pivot)):
            for i in range(first, last):
                _, length, agent_id = items[i]
                taken.append((group, lap, length, agent_id))
                fresh += agent_id not in declined
                if fresh == want:
                    return taken
        lo = hi
    return taken


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
