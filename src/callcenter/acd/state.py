"""Mutable live state owned by the router: agents, queue entries, waiting lines and timers.

Only :class:`callcenter.acd.router.Acd` mutates these objects. Waiting lines are per-queue
sorted lists (:class:`Line`) keyed ``(enqueued_at, seq)``, one per priority, read from a moving
start, so the next caller of a queue is found without a scan; entries taken out for an offer
keep their key and go back to the same place if the offer fails (SPEC §11: a caller keeps its
place). Removal is lazy: a line item is live only while its token matches the entry's current
token (an offered or ended entry has token -1). The first caller a queue offers to agents of
each eligibility level is cached until the line changes (:meth:`QueueState.head`), so an agent
who becomes available compares one cached head per queue it serves. Idle members are kept in
strategy order in a pool (:mod:`callcenter.acd.pools`).
"""

from __future__ import annotations

import bisect
import enum
import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

from callcenter.acd.events import QueueHead
from callcenter.acd.model import Activity, Category, Presence, QueueConfig
from callcenter.acd.pools import IdlePool

if TYPE_CHECKING:  # strategies import Agent from here
    from callcenter.acd.strategies import ItemFn, Ranking

NOBODY: frozenset[str] = frozenset()
_READY, _IDLE = Presence.READY, Activity.IDLE


@dataclass(slots=True, eq=False)
class Agent:
    agent_id: str
    seat: str
    category: Category
    skills: dict[str, int]
    wrapup: float | None
    since: float
    presence: Presence = Presence.READY
    reason: str = ""
    activity: Activity = Activity.IDLE
    pending: tuple[Presence, str] | None = None
    idle_since: float = 0.0
    calls_answered: int = 0
    talk_time: float = 0.0
    call_started: float = 0.0
    no_answers: int = 0
    call_id: str | None = None
    queue_id: str | None = None
    levels: dict[str, int] = field(default_factory=dict)
    timer_token: int = 0
    in_idle: bool = False  # ready and idle as the indexes know it (kept by Engine._reindex)
    # queues whose idle pool holds the agent: queue id -> that pool's slot for its level
    pooled: dict[str, Slot] = field(default_factory=dict)
    in_ready: bool = False
    fit: dict[str, tuple[int, int]] = field(default_factory=dict)  # queue -> (preferred, levels)
    sort_id: tuple[int, str] = (0, "")  # numeric order of digit ids: "9" before "10"
    queues: frozenset[str] | None = None  # memberships; None: every queue by skills
    # (queue, eligibility level, fit, its ``pooled`` value) of every queue in ``levels``; None
    # after a change of ``levels`` or of a queue until Engine._served rebuilds it (the hot paths
    # walk it, not the dicts; the pooled value is made once, not per idle period)
    served: tuple[Served, ...] | None = None

    def __post_init__(self) -> None:
        self.sort_id = (len(self.agent_id), self.agent_id)

    @property
    def available(self) -> bool:
        return self.presence is _READY and self.activity is _IDLE


class EntryState(enum.Enum):
    WAITING = "waiting"
    OFFERED = "offered"
    DONE = "done"


@dataclass(slots=True, eq=False, init=False)
class Entry:
    """One caller (or callback task) in one queue. Its ``__init__`` is written out: the one
    dataclasses generates stays interpreted code in the compiled router (one per caller)."""

    call_id: str
    queue_id: str
    priority: int
    category: str
    enqueued_at: float
    seq: int
    callback_number: str | None = None
    level: int = 0
    state: EntryState = EntryState.WAITING
    # agents ringing for it: NOBODY while it waits (no empty set per caller), its own set from
    # the offer on (see Engine._offer and drop_offer)
    offers: set[str] | frozenset[str] = NOBODY
    declined: frozenset[str] = NOBODY  # agents who missed this caller (rarely any)
    heap_token: int = 0
    ring_token: int = 0
    wait_token: int = 0
    relax_token: int = 0

    def __init__(
        self,
        call_id: str,
        queue_id: str,
        priority: int,
        category: str,
        enqueued_at: float,
        seq: int,
        callback_number: str | None = None,
    ) -> None:
        self.call_id = call_id
        self.queue_id = queue_id
        self.priority = priority
        self.category = category
        self.enqueued_at = enqueued_at
        self.seq = seq
        self.callback_number = callback_number
        self.level = 0
        self.state = EntryState.WAITING
        self.offers = NOBODY
        self.declined = NOBODY
        self.heap_token = self.ring_token = self.wait_token = self.relax_token = 0

    def drop_offer(self, agent_id: str) -> None:
        """The agent's offer of this entry ends (the entry has an offer, so its own set)."""
        offers = self.offers
        assert isinstance(offers, set)
        offers.discard(agent_id)

    def order(self, weight: int) -> tuple[int, float, int, int]:
        """The cross-queue rule: priority, then longest waiting, then queue weight."""
        return (-self.priority, self.enqueued_at, -weight, self.seq)


_BEFORE_ALL = (float("-inf"), -1)  # before every (enqueued_at, seq)
LineItem = tuple[float, int, int, Entry]  # (enqueued_at, seq, token, entry)


class Slot:
    """One eligibility level of a queue's idle pool, as the hot paths use it: the pool, the
    level and the strategy's item function; an agent's ``pooled`` values and
    :attr:`Served.slot`. A class, not a tuple: the compiled router reads its fields directly
    (unpacking a typed tuple converts every field)."""

    __slots__ = ("item", "level", "pool")

    def __init__(self, pool: IdlePool, level: int, item: ItemFn) -> None:
        self.pool = pool
        self.level = level
        self.item = item


class Served:
    """A queue an agent serves, with its eligibility level there, its fit and the pool's slot
    for that level (see Agent.served)."""

    __slots__ = ("fit", "level", "queue", "slot")

    def __init__(self, queue: QueueState, level: int, fit: tuple[int, int], slot: Slot) -> None:
        self.queue = queue
        self.level = level
        self.fit = fit
        self.slot = slot


_COMPACT = 32  # gone items kept at the front of a line before it is compacted


class Line:
    """One priority's callers in a queue, in ``(enqueued_at, seq)`` order: a sorted list read
    from ``start`` (the items before it are gone). New callers arrive last (an append); a
    caller whose offer failed goes back to its place by bisection. Items whose token is no
    longer the entry's (offered or ended) are skipped when they reach the front."""

    __slots__ = ("items", "start")

    def __init__(self) -> None:
        self.items: list[LineItem] = []
        self.start = 0

    def push(self, item: LineItem) -> None:
        items = self.items
        if not items or item > items[-1]:  # tokens are unique: entries are never compared
            items.append(item)
        else:
            bisect.insort(items, item, self.start)

    def compact(self) -> None:
        """Drop the gone items (every one, not only those before the first caller)."""
        self.items = [item for item in self.items[self.start :] if item[3].heap_token == item[2]]
        self.start = 0

    def first(self) -> Entry | None:
        """The first caller still in line (dropping the gone ones before it)."""
        items, i = self.items, self.start
        end = len(items)
        while i < end:
            _, _, token, entry = items[i]
            if entry.heap_token == token:
                break
            i += 1
        else:
            items.clear()
            self.start = 0
            return None
        if i > _COMPACT and 2 * i > end:
            del items[:i]
            i = 0
        self.start = i
        return entry


class Head:
    """A queue's first caller for agents of one eligibility level; the queue drops it from its
    cache when the caller leaves the line (:meth:`QueueState.leave`)."""

    __slots__ = ("entry", "order", "queue")

    def __init__(self, queue: QueueState, entry: Entry) -> None:
        self.queue = queue
        self.entry = entry
        self.order = (-entry.priority, entry.enqueued_at, -queue.config.weight, entry.seq)

    @property
    def view(self) -> QueueHead:
        """For the explanation of an agent-available decision (made when it is read)."""
        e, weight = self.entry, -self.order[2]  # the weight the cross-queue rule compared
        return QueueHead(self.queue.queue_id, e.call_id, e.priority, e.enqueued_at, weight)


class QueueState:
    """A queue's config, its waiting line and its member index."""

    __slots__ = (
        "aht",
        "buckets",
        "config",
        "counts",
        "entries",
        "heads",
        "idle",
        "latest",
        "members",
        "priorities",
        "queue_id",
        "ranking",
        "ready",
        "rr_last",
    )

    def __init__(self, config: QueueConfig, ranking: Ranking) -> None:
        self.config = config
        self.queue_id = config.queue_id  # never changes (update_queue keeps the id)
        self.ranking = ranking
        self.buckets: dict[int, Line] = {}
        self.priorities: list[int] = []  # ascending; iterate reversed for highest first
        self.entries: dict[str, Entry] = {}
        self.counts: dict[int, int] = {}  # entries per priority
        self.latest: dict[int, tuple[float, int]] = {}  # newest (enqueued_at, seq) per priority
        # per eligibility level: the first admitting caller, None (nobody admits), False (not
        # known: QueueState.head finds it)
        self.heads: list[Head | Literal[False] | None] = [False] * (len(config.relaxation) + 1)
        self.members: dict[str, int] = {}  # logged-in agent -> eligibility level
        # members who are ready and idle, in strategy order (see Engine._pool for when)
        self.idle: IdlePool = ranking.new_pool(len(config.relaxation) + 1)
        self.ready = 0  # members whose presence is ready (kept by Engine._reindex and _place)
        self.rr_last: tuple[int, str] | None = None  # sort id of the last agent offered
        self.aht = config.default_handle_time

    def reconfigure(self, config: QueueConfig, ranking: Ranking) -> None:
        """New settings: the idle pool starts empty (members are placed again by the caller)."""
        self.config = config
        self.ranking = ranking
        self.idle = ranking.new_pool(len(config.relaxation) + 1)
        self.heads = [False] * (len(config.relaxation) + 1)

    def slot(self, level: int) -> Slot:
        """The idle pool's slot for eligibility ``level`` (valid until the pool is replaced)."""
        return Slot(self.idle, level, self.ranking.item)

    def pool(self, agent: Agent, level: int, fit: tuple[int, int]) -> None:
        """Put an idle member in the idle pool, keyed by the queue's strategy."""
        slot = self.slot(level)
        self.idle.add(agent.agent_id, level, slot.item(agent, fit))
        agent.pooled[self.queue_id] = slot

    def head(self, level: int) -> Head | None:
        """The first caller that admits an agent of eligibility ``level``, cached in
        ``heads`` until an entry is pushed, changes level or leaves the line. The reader checks
        the cache first and calls this when nothing is cached for ``level``."""
        head = self.heads[level] = self._first_admitting(level)
        return head

    def _first_admitting(self, level: int) -> Head | None:
        """Highest-priority bucket head whose relaxation admits an agent of ``level``.

        Within a bucket the head waited longest, so it has the widest relaxation: if the head
        does not admit the agent, nobody in that bucket does. Stale heap items (offered or
        ended entries) are dropped on the way.
        """
        buckets = self.buckets
        for priority in reversed(self.priorities):
            head = buckets[priority].first()
            if head is not None and head.level >= level:
                return Head(self, head)
        return None

    def push(self, entry: Entry, token: int) -> None:
        bucket = self.buckets.get(entry.priority)
        if bucket is None:
            bucket = self.buckets[entry.priority] = Line()
            bisect.insort(self.priorities, entry.priority)
        entry.heap_token = token
        bucket.push((entry.enqueued_at, entry.seq, token, entry))
        if len(bucket.items) - bucket.start > 2 * self.counts[entry.priority] + _COMPACT:
            bucket.compact()  # gone items pile up when nobody reads the line's first caller
        self.forget_heads()

    def forget_heads(self) -> None:
        """Every level's first caller is unknown again (the line or a relaxation changed)."""
        heads = self.heads
        for level in range(len(heads)):
            heads[level] = False

    def add(self, entry: Entry, token: int) -> int:
        """Put a new entry in line; returns its position (1 = next to be served)."""
        p = entry.priority
        newest = (entry.enqueued_at, entry.seq) >= self.latest.get(p, _BEFORE_ALL)
        if newest:
            self.latest[p] = (entry.enqueued_at, entry.seq)
            position = 1
            for q, n in self.counts.items():
                if q >= p:
                    position += n
        self.entries[entry.call_id] = entry
        self.counts[p] = self.counts.get(p, 0) + 1
        self.push(entry, token)
        return position if newest else self.position(entry)

    def discard(self, entry: Entry) -> None:
        """Forget an entry that ended (its heap item, if any, goes stale)."""
        del self.entries[entry.call_id]
        p = entry.priority
        self.counts[p] -= 1
        self.leave(entry)
        if not self.counts[p]:  # nobody of this priority left: every item of its line is gone
            line = self.buckets[p]
            line.items.clear()
            line.start = 0

    def leave(self, entry: Entry) -> None:
        """The entry leaves the line (offered or ended): its line item goes stale, and the
        cached heads are dropped if it is one of them (readers trust the cache)."""
        entry.heap_token = -1
        for head in self.heads:
            if head and head.entry is entry:
                self.forget_heads()
                return

    def position(self, entry: Entry) -> int:
        """1 + how many entries of this queue come before ``entry`` (waiting or offered)."""
        key = (-entry.priority, entry.enqueued_at, entry.seq)
        ahead = sum(1 for e in self.entries.values() if (-e.priority, e.enqueued_at, e.seq) < key)
        return 1 + ahead

    def expected_wait(self, position: int) -> float:
        """Position x average handle time / ready members (one member if none is ready)."""
        ready = self.ready
        return position * self.aht / (ready if ready > 1 else 1)


class TimerKind:
    """What a timer is for. Plain ints, not an enum: a timer tuple then holds only untracked
    objects (float, int, str), and the garbage collector stops tracking it after one pass
    (the heap holds one relaxation timer per waiting caller, 600 s ahead in the benchmark)."""

    RING: Final = 0
    WRAPUP: Final = 1
    MAX_WAIT: Final = 2
    RELAX: Final = 3


class Timers:
    """A heap of deadlines; a fired timer is acted on only if its token is still current."""

    __slots__ = ("heap",)

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, int, str]] = []

    def schedule(self, at: float, token: int, kind: int, key: str) -> None:
        heapq.heappush(self.heap, (at, token, kind, key))

    def peek(self) -> tuple[float, int, int, str] | None:
        return self.heap[0] if self.heap else None

    def pop(self) -> tuple[float, int, int, str]:
        return heapq.heappop(self.heap)
