"""Figures from counted calls: service level (by a named formula), ASA, AHT, abandons (SPEC §12).

Service level has several definitions in the industry; reports must say which one they use, so
each is a named member of :class:`ServiceLevelFormula` and appears in report headers by name:

* ``answered_of_offered``: answered within T / offered.
* ``answered_of_answered``: answered within T / answered.
* ``excluding_short_abandons``: answered within T / (offered - abandoned within T).
* ``abandons_count_as_met``: (answered within T + abandoned within T) / offered.

Every function returns ``None`` when its denominator is zero (no calls: no figure), never 0.
"""

from __future__ import annotations

import enum


class ServiceLevelFormula(enum.Enum):
    ANSWERED_OF_OFFERED = "answered_of_offered"
    ANSWERED_OF_ANSWERED = "answered_of_answered"
    EXCLUDING_SHORT_ABANDONS = "excluding_short_abandons"
    ABANDONS_COUNT_AS_MET = "abandons_count_as_met"


def _ratio(numerator: float, denominator: float) -> float | None:
    return None if denominator <= 0 else numerator / denominator


def _check_counts(*counts: float) -> None:
    if any(c < 0 for c in counts):
        raise ValueError("counts and durations must be >= 0")


def service_level(
    formula: ServiceLevelFormula,
    *,
    offered: int,
    answered: int,
    answered_within: int,
    abandoned_within: int = 0,
) -> float | None:
    """Service level by the named formula (counts within the target time T)."""
    _check_counts(offered, answered, answered_within, abandoned_within)
    if answered_within > answered or answered > offered:
        raise ValueError("need answered_within <= answered <= offered")
    if formula is ServiceLevelFormula.ANSWERED_OF_OFFERED:
        return _ratio(answered_within, offered)
    if formula is ServiceLevelFormula.ANSWERED_OF_ANSWERED:
        return _ratio(answered_within, answered)
    if formula is ServiceLevelFormula.EXCLUDING_SHORT_ABANDONS:
        return _ratio(answered_within, offered - abandoned_within)
    return _ratio(answered_within + abandoned_within, offered)


def average_speed_of_answer(total_answer_wait: float, answered: int) -> float | None:
    """ASA: total queue wait of answered calls / answered calls."""
    _check_counts(total_answer_wait, answered)
    return _ratio(total_answer_wait, answered)


def average_handle_time(talk: float, hold: float, wrapup: float, handled: int) -> float | None:
    """AHT: (talk + hold + wrap-up time) / handled calls."""
    _check_counts(talk, hold, wrapup, handled)
    return _ratio(talk + hold + wrapup, handled)


def abandon_rate(abandoned: int, offered: int) -> float | None:
    """Abandoned calls / offered calls."""
    _check_counts(abandoned, offered)
    return _ratio(abandoned, offered)


def measured_occupancy(handle_time: float, staffed_time: float) -> float | None:
    """Occupancy: time handling calls (talk + hold + wrap-up) / time logged in and not busy."""
    _check_counts(handle_time, staffed_time)
    return _ratio(handle_time, staffed_time)
