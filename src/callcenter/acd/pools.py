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
from collections.abc import Iterable, Set
from itertools import chain
from typing import NamedTuple

Score = tuple[float | str, ...]  # (-preferred, *strategy key, len(id), id): lower wins
SortId = tuple[int, str]  # numeric order of digit ids: "9" before "10"


STALE_SLACK = 64  # stale heap items tolerated beyond twice the live ones before a rebuild


class Turn(NamedTuple):
    """Where an order that turns at a pivot starts: after the queue's last offered agent
    (round robin), or at an agent drawn from the injected RNG (random)."""

    rr_last: SortId | None
    rng: random.Random


# new_turn(Turn, (rr_last, rng)): a Turn without the NamedTuple's Python-level __new__
new_turn = tuple.__new__


class IdlePool:
    """The idle members of one queue: each member's item by agent id, one dict per eligibility
    level (exact counts); an agent is added only when it is not in the pool. A base class, not a
    protocol, so that the compiled router calls the pools' methods directly."""

    __slots__ = ("members",)

    def __init__(self, levels: int) -> None:
        self.members: list[dict[float | str, Score]] = [{} for _ in range(levels)]

    def __len__(self) -> int:
        return sum(len(members) for members in self.members)

    def count(self, max_level: int) -> int:
        if max_level == 0:
            return len(self.members[0])
        return sum(len(members) for members in self.members[: max_level + 1])

    def add(self, agent_id: str, level: int, item: Score) -> None:
        raise NotImplementedError  # pragma: no cover - every pool has its own

    def remove(self, agent_id: str, level: int) -> None:
        raise NotImplementedError  # pragma: no cover - every pool has its own

    def top(self, max_level: int, want: int, declined: Set[str], turn: Turn) -> list[Score]:
        """Members of levels 0..max_level in strategy order, best first, until ``want`` of them
        are not in ``declined`` (who missed this caller) or the members run out."""
        raise NotImplementedError  # pragma: no cover - every pool has its own


class KeyedPool(IdlePool):
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


class RotatingPool(IdlePool):
    """Sorted lists per level of ``(-preferred, len(id), id)``; the order turns at a pivot.

    Removal is lazy, as in :class:`KeyedPool`: the member leaves ``members`` (exact counts) and
    its item stays listed, stale, until the list holds more than twice as many items as live
    members (plus a slack) and is compacted. An agent who comes back with the same item (its key
    is fixed while its skills are) finds it still listed, so neither leaving nor coming back
    costs a bisection. Reads skip the stale items.
    """

    __slots__ = ("draw", "listed", "lists", "slack")

    def __init__(self, levels: int, *, draw: bool, slack: int = STALE_SLACK // 4) -> None:
        super().__init__(levels)
        self.slack = slack  # stale items tolerated beyond twice the live ones
        self.lists: list[list[Score]] = [[] for _ in range(levels)]
        self.listed: list[dict[float | str, Score]] = [{} for _ in range(levels)]  # id -> item
        self.draw = draw  # random: the pivot is drawn; round robin: it follows the last offer

    def add(self, agent_id: str, level: int, item: Score) -> None:
        live, listed = self.members[level], self.listed[level]
        old = listed.get(agent_id)
        if old is not None:
            if old == item:  # still listed: live again
                live[agent_id] = old
                return
            items = self.lists[level]
            del items[bisect_left(items, old)]
        live[agent_id] = listed[agent_id] = item
        insort(self.lists[level], item)

    def remove(self, agent_id: str, level: int) -> None:
        live = self.members[level]
        del live[agent_id]  # its listed item goes stale
        items = self.lists[level]
        if len(items) > 2 * len(live) + self.slack:
            items[:] = [item for item in items if live.get(item[-1]) is item]
            listed = self.listed[level]
            listed.clear()
            listed.update((item[-1], item) for item in items)

    def top(self, max_level: int, want: int, declined: Set[str], turn: Turn) -> list[Score]:
        """Items as ``(-preferred, lap, len(id), id)``: lap 0 from the pivot on, lap 1 before."""
        levels = [
            (items, live)
            for items, live in zip(self.lists[: max_level + 1], self.members, strict=False)
            if live
        ]
        if not levels:
            return []
        if self.draw:
            start, after = self._drawn(levels, declined, turn.rng), False
        elif turn.rr_last is None:
            start, after = (0, ""), False
        else:
            start, after = turn.rr_last, True
        if len(levels) == 1:
            items, live = levels[0]
            return _rotated_top(items, live, start, after, want, declined)
        # the merged best ``want`` (missers aside) are among each level's own best ``want``
        tops = [_rotated_top(items, live, start, after, want, declined) for items, live in levels]
        return _take(sorted(chain.from_iterable(tops)), want, declined)

    def _drawn(self, levels: list[Listed], declined: Set[str], rng: random.Random) -> SortId:
        """A uniform draw among the live agents of the best preferred-skill group who did not
        miss this caller (among all of the best group if everyone did)."""
        if not declined:  # the usual case: a draw among the best group of all levels
            group = min(_first_live(items, live)[0] for items, live in levels)
            spans = [(items, live, *_span(items, group)) for items, live in levels]
            total = sum(hi - lo for _, _, lo, hi in spans)
            while True:  # a stale item drawn is drawn again: the group has a live one
                position = _below(rng, total)
                for items, live, lo, hi in spans:  # pragma: no branch - position < total
                    if position < hi - lo:
                        item = items[lo + position]
                        if live.get(item[-1]) is item:
                            return item[-2], item[-1]  # type: ignore[return-value]
                        break
                    position -= hi - lo
        ranked = [sorted(live.values()) for _, live in levels]  # the live items, level by level
        for group in sorted({item[0] for items in ranked for item in items}):
            fresh = [
                i for items in ranked for i in items if i[0] == group and i[-1] not in declined
            ]
            if fresh:
                item = fresh[_below(rng, len(fresh))]
                return item[-2], item[-1]  # type: ignore[return-value]
        return self._drawn(levels, frozenset(), rng)  # everyone missed: draw among all

    def alone(self, item: Score, turn: Turn) -> Score:
        """What :meth:`top` returns first when ``item`` (``(-preferred, len(id), id)``) is the
        only member a caller may go to: no draw is needed, and round robin puts it in lap 1
        when it comes at or before the queue's last offered agent."""
        group, length, agent_id = item
        rr_last = turn.rr_last
        after = not self.draw and rr_last is not None and (length, agent_id) <= rr_last
        return (group, int(after), length, agent_id)


Listed = tuple[list[Score], dict[float | str, Score]]  # a level's sorted items, its live ones


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
    items: list[Score],
    live: dict[float | str, Score],
    start: SortId,
    after: bool,
    want: int,
    declined: Set[str],
) -> list[Score]:
    """The first live items of one level in rotated order, until ``want`` of them are not in
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
                item = items[i]
                _, length, agent_id = item
                if live.get(agent_id) is not item:
                    continue
                taken.append((group, lap, length, agent_id))
                fresh += agent_id not in declined
                if fresh == want:
                    return taken
        lo = hi
    return taken


def _first_live(items: list[Score], live: dict[float | str, Score]) -> Score:
    """The first live item of a level that has one."""
    return next(item for item in items if live.get(item[-1]) is item)


def _span(items: list[Score], group: float | str) -> tuple[int, int]:
    lo = bisect_left(items, (group,))
    return lo, bisect_left(items, _next(group), lo)


def _next(group: float | str) -> Score:
    """A key just below every item of the next preferred-skill group (groups are integers)."""
    return (int(group) + 1,)
