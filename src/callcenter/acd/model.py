"""The ACD vocabulary as data: agent presence and activity, queue configuration, login limits.

Presence (what the agent wants: logged out / ready / busy with a reason) and activity (what the
agent is doing: idle / reserved / ringing / on call / wrap-up) are two orthogonal fields, as in
FreeSWITCH mod_callcenter; SPEC §3 and §4 give the rules. Configuration is frozen dataclasses so
a queue's settings can be swapped live as a whole (``Acd.update_queue``).
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from callcenter.acd.errors import InvalidLoginError, InvalidQueueConfigError


class Presence(enum.Enum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    BUSY = "busy"


class Activity(enum.Enum):
    IDLE = "idle"
    RESERVED = "reserved"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


class Category(enum.Enum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"


class Strategy(enum.Enum):
    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"
    FEWEST_CALLS = "fewest_calls"
    LEAST_TALK_TIME = "least_talk_time"
    SKILL_LEVEL_FIRST = "skill_level_first"
    RING_ALL = "ring_all"
    RANDOM = "random"


class Outcome(enum.Enum):
    """How a queue entry ends; every entry ends exactly once."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    OVERFLOWED = "overflowed"
    CALLBACK = "callback"


class OverflowReason(enum.Enum):
    MAX_WAIT = "max_wait"
    NO_AGENTS = "no_agents"
    QUEUE_FULL = "queue_full"
    QUEUE_REMOVED = "queue_removed"


class DestinationKind(enum.Enum):
    QUEUE = "queue"
    VOICEMAIL = "voicemail"
    CALLBACK = "callback"
    EXTENSION = "extension"
    HANGUP = "hangup"


NO_ANSWER_REASON = "no answer"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where an overflowing caller goes; the call controller carries it out."""

    kind: DestinationKind
    target: str = ""


@dataclass(frozen=True, slots=True)
class SkillRequirement:
    skill: str
    min_level: int = 1


@dataclass(frozen=True, slots=True)
class RelaxationStep:
    """After ``after`` seconds of waiting, the required skills become ``required`` (wider)."""

    after: float
    required: tuple[SkillRequirement, ...]


def meets(skills: Mapping[str, int], required: tuple[SkillRequirement, ...]) -> bool:
    return all(skills.get(r.skill, 0) >= r.min_level for r in required)


def _implied(narrow: tuple[SkillRequirement, ...], wide: tuple[SkillRequirement, ...]) -> bool:
    """Every agent who meets ``narrow`` also meets ``wide``."""
    levels = {r.skill: r.min_level for r in narrow}
    return all(levels.get(r.skill, 0) >= r.min_level for r in wide)


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queue's settings. ``max_wait``/``max_len`` of ``None`` mean unlimited."""

    queue_id: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    required: tuple[SkillRequirement, ...] = ()
    preferred: tuple[SkillRequirement, ...] = ()
    ring_timeout: float = 15.0
    wrapup: float = 10.0
    max_wait: float | None = None
    max_len: int | None = None
    overflow: Destination = Destination(DestinationKind.HANGUP)
    overflow_when_no_agents: bool = True
    relaxation: tuple[RelaxationStep, ...] = ()
    weight: int = 0
    max_no_answers: int = 3
    default_handle_time: float = 180.0

    def validate(self) -> None:
        """Raise :class:`InvalidQueueConfigError` unless the settings make sense together."""
        problems = _queue_problems(self)
        if problems:
            raise InvalidQueueConfigError(f"queue {self.queue_id!r}: " + "; ".join(problems))

    def requirement(self, level: int) -> tuple[SkillRequirement, ...]:
        return self.required if level == 0 else self.relaxation[level - 1].required

    def eligibility_level(self, skills: Mapping[str, int]) -> int | None:
        """The first relaxation level at which an agent with ``skills`` may take a caller."""
        for level in range(len(self.relaxation) + 1):
            if meets(skills, self.requirement(level)):
                return level
        return None


def _queue_problems(cfg: QueueConfig) -> list[str]:
    problems: list[str] = []
    if not cfg.queue_id:
        problems.append("empty queue id")
    for name in ("ring_timeout", "wrapup", "default_handle_time"):
        value = getattr(cfg, name)
        if not (math.isfinite(value) and value >= 0):
            problems.append(f"{name} must be a finite number >= 0")
    if cfg.ring_timeout <= 0:
        problems.append("ring_timeout must be > 0")
    if cfg.max_wait is not None and not cfg.max_wait > 0:
        problems.append("max_wait must be > 0")
    if cfg.max_len is not None and cfg.max_len < 1:
        problems.append("max_len must be >= 1")
    if cfg.max_no_answers < 1:
        problems.append("max_no_answers must be >= 1")
    return problems + _relaxation_problems(cfg)


def _relaxation_problems(cfg: QueueConfig) -> list[str]:
    problems: list[str] = []
    previous, after = cfg.required, 0.0
    for step in cfg.relaxation:
        if not step.after > after:
            problems.append("relaxation steps must come at increasing times > 0")
        if not _implied(previous, step.required):
            problems.append(f"relaxation step at {step.after}s narrows the candidate set")
        previous, after = step.required, step.after
    return problems


_SKILL_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """Range checks of SPEC §4: agent id (工号) and seat (座席号) are numbers in a range."""

    agent_id_min: int = 1
    agent_id_max: int = 99_999_999
    seat_min: int = 1
    seat_max: int = 99_999_999
    max_skill_level: int = 10
    max_skills: int = 64

    def check(self, login: AgentLogin) -> None:
        _check_number("agent id", login.agent_id, self.agent_id_min, self.agent_id_max)
        _check_number("seat", login.seat, self.seat_min, self.seat_max)
        if not isinstance(login.category, Category):
            raise InvalidLoginError(f"category must be one of {[c.value for c in Category]}")
        self.check_skills(login.skills)
        if login.wrapup is not None and not (math.isfinite(login.wrapup) and login.wrapup >= 0):
            raise InvalidLoginError("wrap-up time must be a finite number >= 0")

    def check_skills(self, skills: Mapping[str, int]) -> None:
        if len(skills) > self.max_skills:
            raise InvalidLoginError(f"at most {self.max_skills} skills")
        for name, level in skills.items():
            if not _SKILL_NAME.match(name):
                raise InvalidLoginError(f"bad skill name {name!r}")
            if isinstance(level, bool) or not isinstance(level, int):
                raise InvalidLoginError(f"skill {name!r}: level must be an integer")
            if not 1 <= level <= self.max_skill_level:
                raise InvalidLoginError(
                    f"skill {name!r}: level {level} not in 1..{self.max_skill_level}"
                )


def _check_number(what: str, value: str, low: int, high: int) -> None:
    if not (isinstance(value, str) and value.isascii() and value.isdigit()):
        raise InvalidLoginError(f"{what} must be digits, got {value!r}")
    if not low <= int(value) <= high:
        raise InvalidLoginError(f"{what} {value} not in {low}..{high}")


@dataclass(frozen=True, slots=True)
class AgentLogin:
    """What an agent sends to log in (the password is checked by the service layer first)."""

    agent_id: str
    seat: str
    category: Category = Category.AGENT
    skills: Mapping[str, int] = field(default_factory=dict)
    wrapup: float | None = None
    # the queues the agent is a member of (stored memberships); None: every queue whose
    # skills it meets. A member still needs the skills: membership narrows, never widens.
    queues: frozenset[str] | None = None
