"""Today's queue and agent figures from call facts, and the wallboard's alerts (SPEC §5, §12).

The caller (the reports API) turns CDRs and the live ACD into :class:`CallFact` values; this
module only counts. A call counts as *offered* to the queue it was last queued in. Its queue
*outcome* is known once it left the queue (answered, abandoned, overflowed...); calls still
waiting or in progress without a known outcome are *in progress* and stay out of the service
level and the rates until they are decided. Service level uses one of the named formulas of
:class:`~callcenter.metrics.measured.ServiceLevelFormula`, and the wallboard shows which.
Every average is ``None`` when there is nothing to average (never 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from callcenter.metrics.measured import (
    ServiceLevelFormula,
    abandon_rate,
    average_handle_time,
    average_speed_of_answer,
    service_level,
)

HOURS = 24
ANSWERED, ABANDONED = "answered", "abandoned"
OVERFLOWED = frozenset({"overflowed", "voicemail", "callback"})

FORMULA_TEXT = {
    ServiceLevelFormula.ANSWERED_OF_OFFERED: "answered within {t}s / offered",
    ServiceLevelFormula.ANSWERED_OF_ANSWERED: "answered within {t}s / answered",
    ServiceLevelFormula.EXCLUDING_SHORT_ABANDONS: (
        "answered within {t}s / (offered - abandoned within {t}s)"
    ),
    ServiceLevelFormula.ABANDONS_COUNT_AS_MET: (
        "(answered within {t}s + abandoned within {t}s) / offered"
    ),
}


@dataclass(frozen=True, slots=True)
class CallFact:
    """One call as the reports see it. ``outcome`` None: not decided yet (waiting, in IVR)."""

    queue: str | None
    agent_id: str | None
    outcome: str | None
    queue_wait: float = 0.0
    talk: float = 0.0
    hold: float = 0.0
    wrapup: float = 0.0
    hour: int = 0  # local hour the call started, 0..23
    closed: bool = True  # the CDR is closed (talk and wrap-up times are final)


@dataclass(frozen=True, slots=True)
class QueueFigures:
    queue: str
    offered: int
    answered: int
    abandoned: int
    overflowed: int
    other: int  # interrupted, failed...
    in_progress: int
    answered_within: int
    abandoned_within: int
    service_level: float | None
    asa: float | None
    aht: float | None
    abandon_rate: float | None
    longest_answered_wait: float
    by_hour: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class AgentFigures:
    agent_id: str
    handled: int
    talk: float
    hold: float
    wrapup: float
    aht: float | None
    average_talk: float | None
    by_hour: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Alert:
    """``kind`` is ``service_level`` (below target) or ``long_wait`` (a caller waits too long)."""

    queue: str
    kind: str
    value: float
    threshold: float


def formula_text(formula: ServiceLevelFormula, target_seconds: int) -> str:
    return FORMULA_TEXT[formula].format(t=target_seconds)


def _hours(facts: Iterable[CallFact]) -> tuple[int, ...]:
    counts = [0] * HOURS
    for fact in facts:
        if not 0 <= fact.hour < HOURS:
            raise ValueError(f"hour must be in 0..23, got {fact.hour}")
        counts[fact.hour] += 1
    return tuple(counts)


def queue_figures(
    queue: str,
    facts: Iterable[CallFact],
    target_seconds: float,
    formula: ServiceLevelFormula = ServiceLevelFormula.ANSWERED_OF_OFFERED,
) -> QueueFigures:
    """Offered / answered / abandoned..., service level within ``target_seconds``, ASA, AHT."""
    if target_seconds < 0:
        raise ValueError("target_seconds must be >= 0")
    mine = [f for f in facts if f.queue == queue]
    decided = [f for f in mine if f.outcome is not None]
    answered = [f for f in decided if f.outcome == ANSWERED]
    abandoned = [f for f in decided if f.outcome == ABANDONED]
    overflowed = sum(1 for f in decided if f.outcome in OVERFLOWED)
    answered_within = sum(1 for f in answered if f.queue_wait <= target_seconds)
    abandoned_within = sum(1 for f in abandoned if f.queue_wait <= target_seconds)
    closed = [f for f in answered if f.closed]
    return QueueFigures(
        queue=queue,
        offered=len(mine),
        answered=len(answered),
        abandoned=len(abandoned),
        overflowed=overflowed,
        other=len(decided) - len(answered) - len(abandoned) - overflowed,
        in_progress=len(mine) - len(decided),
        answered_within=answered_within,
        abandoned_within=abandoned_within,
        service_level=service_level(
            formula,
            offered=len(decided),
            answered=len(answered),
            answered_within=answered_within,
            abandoned_within=abandoned_within,
        ),
        asa=average_speed_of_answer(sum(f.queue_wait for f in answered), len(answered)),
        aht=average_handle_time(
            sum(f.talk for f in closed),
            sum(f.hold for f in closed),
            sum(f.wrapup for f in closed),
            len(closed),
        ),
        abandon_rate=abandon_rate(len(abandoned), len(decided)),
        longest_answered_wait=max((f.queue_wait for f in answered), default=0.0),
        by_hour=_hours(mine),
    )


def agent_figures(agent_id: str, facts: Iterable[CallFact]) -> AgentFigures:
    """Calls the agent answered (closed ones: their talk and wrap-up times are final)."""
    handled = [f for f in facts if f.agent_id == agent_id and f.outcome == ANSWERED and f.closed]
    talk = sum(f.talk for f in handled)
    hold = sum(f.hold for f in handled)
    wrapup = sum(f.wrapup for f in handled)
    return AgentFigures(
        agent_id=agent_id,
        handled=len(handled),
        talk=talk,
        hold=hold,
        wrapup=wrapup,
        aht=average_handle_time(talk, hold, wrapup, len(handled)),
        average_talk=None if not handled else talk / len(handled),
        by_hour=_hours(handled),
    )


def alerts(
    queue: str,
    figures: QueueFigures,
    target_percent: float,
    longest_wait: float,
    wait_threshold: float | None,
) -> list[Alert]:
    """A queue below its service-level target, or with a caller waiting beyond the threshold."""
    out: list[Alert] = []
    level = figures.service_level
    if level is not None and level * 100 < target_percent:
        out.append(Alert(queue, "service_level", round(level * 100, 1), target_percent))
    if wait_threshold is not None and longest_wait > wait_threshold:
        out.append(Alert(queue, "long_wait", round(longest_wait, 1), wait_threshold))
    return out
