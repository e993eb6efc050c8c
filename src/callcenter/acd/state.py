"""Mutable live state owned by the router: agents, queue entries, waiting lines and timers.

Only :class:`callcenter.acd.router.Acd` mutates these objects. Waiting lines are per-queue heaps
keyed ``(enqueued_at, seq)`` inside one bucket per priority, so the next caller of a queue is
found without a scan; entries taken out for an offer keep their key and go back to the same
place if the offer fails (SPEC §11: a caller keeps its place). Removal is lazy: a heap item is
live only while its token matches the entry's current token (an offered or ended entry has
token -1). The first caller a queue offers to agents of each eligibility level is cached until
the line changes (:meth:`QueueState.head`), so an agent who becomes available compares one
cached head per queue it serves. Idle members are kept in strategy order in a pool
(:mod:`callcenter.acd.pools`).
"""

from __future__ import annotations

import bisect
import enum
import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from callcenter.acd.events import QueueHead
from callcenter.acd.model import Activity, Category, Presence, QueueConfig
from callcenter.acd.pools import IdlePool

if TYPE_CHECKING:  # strategies import Agent from here
    from callcenter.acd.strategies import Ranking

NOBODY: frozenset[str] = frozenset()


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
    pooled: set[str] = field(default_factory=set)  # queues whose idle pool holds the agent
    in_ready: bool = False
    fit: dict[str, tuple[int, int]] = field(default_factory=dict)  # queue -> (preferred, levels)
    sort_id: tuple[int, str] = (0, "")  # numeric order of digit ids: "9" before "10"
    queues: frozenset[str] | None = None  # memberships; None: every queue by skills

    def __post_init__(self) -> None:
        self.sort_id = (len(self.agent_id), self.agent_id)

    @property
    def available(self) -> bool:
        return self.presence is Presence.READY and self.activity is Activity.IDLE


class EntryState(enum.Enum):
    WAITING = "waiting"
    OFFERED = "offered"
    DONE = "done"


@dataclass(slots=True, eq=False)
class Entry:
    """One caller (or callback task) in one queue."""

    call_id: str
    queue_id: str
    priority: int
    category: str
    enqueued_at: float
    seq: int
    callback_number: str | None = None
    level: int = 0
    state: EntryState = EntryState.WAITING
    offers: set[str] = field(default_factory=set)
    declined: frozenset[str] = NOBODY  # agents who missed this caller (rarely any)
    heap_token: int = 0
    ring_token: int = 0
    wait_token: int = 0
    relax_token: int = 0

    def order(self, weight: int) -> tuple[int, float, int, int]:
        """The cross-queue rule: priority, then longest waiting, then queue weight."""
        return (-self.priority, self.enqueued_at, -weight, self.seq)


class Head:
    """A queue's first caller for agents of one eligibility level, valid while it is in line."""

    __slots__ = ("_view", "entry", "order", "queue", "token")

    def __init__(self, queue: QueueState, entry: Entry) -> None:
        self.queue = queue
        self.entry = entry
        self.token = entry.heap_token
        self.order = (-entry.priority, entry.enqueued_at, -queue.config.weight, entry.seq)
        self._view: QueueHead | None = None

    @property
    def view(self) -> QueueHead:
        """For the explanation of an agent-available decision (made once per head)."""
        if self._view is None:
            e = self.entry
            queue_id, weight = self.queue.config.queue_id, self.queue.config.weight
            self._view = QueueHead(queue_id, e.call_id, e.priority, e.enqueued_at, weight)
        return self._view


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
        "ranking",
        "ready",
        "rr_last",
    )

    def __init__(self, config: QueueConfig, ranking: Ranking) -> None:
        self.config = config
        self.ranking = ranking
        self.buckets: dict[int, list[tuple[float, int, int, Entry]]] = {}
        self.priorities: list[int] = []  # ascending; iterate reversed for highest first
        self.entries: dict[str, Entry] = {}
        self.counts: dict[int, int] = {}  # entries per priority
        self.latest: dict[int, tuple[float, int]] = {}  # newest (enqueued_at, seq) per priority
        self.heads: dict[int, Head | None] = {}  # eligibility level -> first admitting caller
        self.members: dict[str, int] = {}  # logged-in agent -> eligibility level
        # members who are ready and idle, in strategy order (see Engine._pool for when)
        self.idle: IdlePool = ranking.new_pool(len(config.relaxation) + 1)
        self.ready: set[str] = set()  # members whose presence is ready
        self.rr_last: tuple[int, str] | None = None  # sort id of the last agent offered
        self.aht = config.default_handle_time

    def reconfigure(self, config: QueueConfig, ranking: Ranking) -> None:
        """New settings: the idle pool starts empty (members are placed again by the caller)."""
        self.config = config
        self.ranking = ranking
        self.idle = ranking.new_pool(len(config.relaxation) + 1)
        self.heads.clear()

    def pool(self, agent: Agent) -> None:
        """Put an idle member in the idle pool, keyed by the queue's strategy."""
        queue_id = self.config.queue_id
        item = self.ranking.item(agent, agent.fit[queue_id])
        self.idle.add(agent.agent_id, agent.levels[queue_id], item)
        agent.pooled.add(queue_id)

    def head(self, level: int) -> Head | None:
        """The first caller that admits an agent of eligibility ``level``; cached until an
        entry is pushed or changes level (an entry leaving is seen by its token)."""
        heads = self.heads
        if level in heads:
            head = heads[level]
            if head is None or head.entry.heap_token == head.token:
                return head
        head = heads[level] = self._first_admitting(level)
        return head

    def _first_admitting(self, level: int) -> Head | None:
        """Highest-priority bucket head whose relaxation admits an agent of ``level``.

        Within a bucket the head waited longest, so it has the widest relaxation: if the head
        does not admit the agent, nobody in that bucket does. Stale heap items (offered or
        ended entries) are dropped on the way.
        """
        buckets = self.buckets
        for priority in reversed(self.priorities):
            bucket = buckets[priority]
            while bucket:
                _, _, token, head = bucket[0]
                if head.heap_token == token:
                    if head.level >= level:
                        return Head(self, head)
                    break
                heapq.heappop(bucket)
        return None

    def push(self, entry: Entry, token: int) -> None:
        bucket = self.buckets.get(entry.priority)
        if bucket is None:
            bucket = self.buckets[entry.priority] = []
            bisect.insort(self.priorities, entry.priority)
        entry.heap_token = token
        heapq.heappush(bucket, (entry.enqueued_at, entry.seq, token, entry))
        self.heads.clear()

    def add(self, entry: Entry, token: int) -> int:
        """Put a new entry in line; returns its position (1 = next to be served)."""
        p = entry.priority
        newest = (entry.enqueued_at, entry.seq) >= self.latest.get(p, (float("-inf"), -1))
        if newest:
            self.latest[p] = (entry.enqueued_at, entry.seq)
            position = 1 + sum(n for q, n in self.counts.items() if q >= p)
        self.entries[entry.call_id] = entry
        self.counts[p] = self.counts.get(p, 0) + 1
        self.push(entry, token)
        return position if newest else self.position(entry)

    def discard(self, entry: Entry) -> None:
        """Forget an entry that ended (its heap item, if any, goes stale)."""
        del self.entries[entry.call_id]
        self.counts[entry.priority] -= 1
        entry.heap_token = -1

    def position(self, entry: Entry) -> int:
        """1 + how many entries of this queue come before ``entry`` (waiting or offered)."""
        key = (-entry.priority, entry.enqueued_at, entry.seq)
        ahead = sum(1 for e in self.entries.values() if (-e.priority, e.enqueued_at, e.seq) < key)
        return 1 + ahead

    def expected_wait(self, position: int) -> float:
        """Position x average handle time / ready members (one member if none is ready)."""
        return position * self.aht / max(1, len(self.ready))


class TimerKind(enum.Enum):
    RING = "ring"
    WRAPUP = "wrapup"
    MAX_WAIT = "max_wait"
    RELAX = "relax"


class Timers:
    """A heap of deadlines; a fired timer is acted on only if its token is still current."""

    __slots__ = ("_heap",)

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerKind, str]] = []

    def schedule(self, at: float, token: int, kind: TimerKind, key: str) -> None:
        heapq.heappush(self._heap, (at, token, kind, key))

    def peek(self) -> tuple[float, int, TimerKind, str] | None:
        return self._heap[0] if self._heap else None

    def pop(self) -> tuple[float, int, TimerKind, str]:
        return heapq.heappop(self._heap)
