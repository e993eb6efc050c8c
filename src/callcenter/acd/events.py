"""What the ACD core says: commands for the call controller and past-tense events for the log.

Commands are imperatives (``OfferToAgent``, ``CancelOffer``, ``HangUpAgent``); events are
past-tense facts (``CallQueued``, ``CallLeftQueue``, ``AgentStateChanged``). Every routing
decision carries an :class:`Explanation` so the desktop, the wallboard and the event log can
answer "why did this call go to this agent?" (SPEC §3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields

from callcenter.acd.model import Activity, Destination, Outcome, OverflowReason, Presence

EXPLAIN_TOP = 5


@dataclass(frozen=True, slots=True)
class ScoredCandidate:
    """One agent the router looked at, with the sort key it was ranked by (lower wins)."""

    agent_id: str
    score: tuple[float | str, ...]
    preferred_skills: int
    declined_before: bool


@dataclass(frozen=True, slots=True)
class QueueHead:
    """For an agent who became available: the best caller one of its queues offered."""

    queue_id: str
    call_id: str
    priority: int
    enqueued_at: float
    weight: int


_EXPLANATION_FIELDS = (
    "trigger",
    "rule",
    "strategy",
    "queue_id",
    "relaxation_level",
    "candidate_count",
    "candidates",
    "heads",
)


@dataclass(frozen=True, init=False)
class Explanation:
    """Why a caller went to an agent: the rule, the strategy, the candidates and their scores.

    ``candidates`` holds the best :data:`EXPLAIN_TOP` of ``candidate_count`` ranked agents;
    ``heads`` the best waiting caller of each of the agent's queues when the trigger was an
    agent becoming available (the cross-queue rule picked the first of them).

    The router makes it with :meth:`deferred`: a compact record of the decision (the ranked
    items, who missed the caller, the queue heads compared), expanded into these fields the
    first time one of them is read. A decision so does not pay for objects that only the event
    log and the "why this agent?" view look at; what they read is the same.
    """

    __slots__ = (*_EXPLANATION_FIELDS, "_expand")

    trigger: str
    rule: str
    strategy: str
    queue_id: str
    relaxation_level: int
    candidate_count: int
    candidates: tuple[ScoredCandidate, ...]
    heads: tuple[QueueHead, ...]

    def __init__(
        self,
        trigger: str,
        rule: str,
        strategy: str,
        queue_id: str,
        relaxation_level: int,
        candidate_count: int,
        candidates: tuple[ScoredCandidate, ...],
        heads: tuple[QueueHead, ...] = (),
    ) -> None:
        values = (trigger, rule, strategy, queue_id, relaxation_level, candidate_count)
        _fill(self, (*values, candidates, heads))
        object.__setattr__(self, "_expand", None)

    @classmethod
    def deferred(cls, expand: Callable[..., Explanation], *args: object) -> Explanation:
        """An explanation whose fields are ``expand(*args)``'s, computed when first read;
        ``args`` must not change afterwards (snapshots of the decision)."""
        self = object.__new__(cls)
        SET_EXPAND(self, (expand, args))
        return self

    def __reduce__(self) -> tuple[type[Explanation], tuple[object, ...]]:
        """Pickle and copy the expanded fields."""
        return Explanation, tuple(getattr(self, field) for field in _EXPLANATION_FIELDS)


def _fill(explanation: Explanation, values: tuple[object, ...]) -> None:
    for field, value in zip(_EXPLANATION_FIELDS, values, strict=True):
        object.__setattr__(explanation, field, value)


def _expand_on_read(self: Explanation, name: str) -> object:
    """A field not expanded yet: expand them all (Python calls this when a slot is unset)."""
    pending = object.__getattribute__(self, "_expand")
    if pending is None or name not in _EXPLANATION_FIELDS:
        raise AttributeError(name)
    expand, args = pending
    full = expand(*args)
    _fill(self, tuple(getattr(full, field) for field in _EXPLANATION_FIELDS))
    object.__setattr__(self, "_expand", None)
    return getattr(self, name)


# set here, not in the class body, so that type checkers still reject unknown attributes
Explanation.__getattr__ = _expand_on_read  # type: ignore[attr-defined]
# the slot's own setter (no __setattr__): Explanation.deferred without its Python frame, for
# the compiled router (dispatch.py): ``object.__new__(Explanation)``, then this
SET_EXPAND: Callable[[Explanation, tuple[Callable[..., Explanation], tuple[object, ...]]], None]
SET_EXPAND = Explanation.__dict__["_expand"].__set__


@dataclass(frozen=True, slots=True)
class OfferToAgent:
    """Ring ``seat`` for ``call_id``; withdraw with :class:`CancelOffer` after the ring timeout."""

    call_id: str
    agent_id: str
    seat: str
    queue_id: str
    ring_timeout: float
    category: str
    callback_number: str | None
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class CancelOffer:
    """Stop ringing the agent's phone for this call (timeout, answered elsewhere, abandon)."""

    call_id: str
    agent_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class HangUpAgent:
    """Logout (SPEC §4): the agent's phone is hung up on the call it has up."""

    agent_id: str
    call_id: str


@dataclass(frozen=True, slots=True)
class CallQueued:
    """A caller entered a queue; position (1 = next) and expected wait are for announcements."""

    call_id: str
    queue_id: str
    priority: int
    position: int
    expected_wait: float


@dataclass(frozen=True, slots=True)
class CallLeftQueue:
    """A queue entry ended: answered, abandoned, overflowed, or turned into a callback."""

    call_id: str
    queue_id: str
    outcome: Outcome
    agent_id: str | None
    waited: float


@dataclass(frozen=True, slots=True)
class CallOverflowed:
    """The caller must go to ``destination``; the controller carries it out."""

    call_id: str
    queue_id: str
    destination: Destination
    reason: OverflowReason


@dataclass(frozen=True, slots=True)
class CallbackRequested:
    """A waiting caller asked to be called back; ``callback_id`` keeps the caller's place."""

    call_id: str
    callback_id: str
    queue_id: str
    number: str
    position: int


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """Presence or activity of an agent changed; ``actor`` is who caused it (agent, supervisor,
    or ``"acd"`` for automatic changes such as the no-answer busy)."""

    agent_id: str
    presence: Presence
    reason: str
    activity: Activity
    at: float
    actor: str
    cause: str


@dataclass(frozen=True, slots=True)
class PresenceChangeDeferred:
    """Busy asked while off-hook: it applies when the current call ends (SPEC §4)."""

    agent_id: str
    presence: Presence
    reason: str


Output = (
    OfferToAgent
    | CancelOffer
    | HangUpAgent
    | CallQueued
    | CallLeftQueue
    | CallOverflowed
    | CallbackRequested
    | AgentStateChanged
    | PresenceChangeDeferred
)


def _fast_init(cls: type) -> None:
    """Give a frozen slotted dataclass a faster ``__init__`` with the same signature.

    The generated one stores each field with ``object.__setattr__`` (the class's own
    ``__setattr__`` refuses), which costs about half of building an output; this one calls each
    slot's descriptor directly, so an object is made in about half the time. The class is
    unchanged otherwise (still frozen: fields, equality, hashing, repr and
    ``FrozenInstanceError`` are the dataclass's).
    """
    names = [f.name for f in fields(cls)]
    assert all(f.default is MISSING and f.default_factory is MISSING for f in fields(cls))
    setters = ", ".join(f"_set_{n}" for n in names)
    body = "".join(f"        _set_{n}(self, {n})\n" for n in names)
    source = (
        f"def make({setters}):\n"
        f"    def __init__(self, {', '.join(names)}):\n{body}"
        f"    return __init__\n"
    )
    namespace: dict[str, Callable[..., Callable[..., None]]] = {}
    exec(source, {}, namespace)  # noqa: S102 - generated from the field names, as dataclasses do
    init = namespace["make"](*(cls.__dict__[n].__set__ for n in names))
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[misc]


for _cls in (
    ScoredCandidate,
    QueueHead,
    OfferToAgent,
    CancelOffer,
    HangUpAgent,
    CallQueued,
    CallLeftQueue,
    CallOverflowed,
    CallbackRequested,
    AgentStateChanged,
    PresenceChangeDeferred,
):
    _fast_init(_cls)
