"""Today's figures from call facts: counts per outcome, service level by formula, averages,
hourly buckets, agent totals and the wallboard alerts (hand-computed expectations)."""

import pytest

from callcenter.metrics import ServiceLevelFormula
from callcenter.metrics.daily import (
    Alert,
    CallFact,
    agent_figures,
    alerts,
    formula_text,
    queue_figures,
)

FACTS = [
    CallFact("billing", "1001", "answered", queue_wait=5, talk=60, wrapup=10, hour=9),
    CallFact("billing", "1002", "answered", queue_wait=30, talk=120, hold=20, wrapup=10, hour=9),
    CallFact("billing", None, "abandoned", queue_wait=3, hour=10),
    CallFact("billing", None, "abandoned", queue_wait=40, hour=10),
    CallFact("billing", None, "overflowed", queue_wait=180, hour=11),
    CallFact("billing", None, "voicemail", queue_wait=100, hour=11),
    CallFact("billing", None, "interrupted", hour=12),
    CallFact("billing", None, None, hour=12),  # still waiting
    CallFact("billing", "1001", "answered", queue_wait=2, talk=5, hour=13, closed=False),
    CallFact("repair", "1002", "answered", queue_wait=1, talk=50, hour=9),
    CallFact(None, None, "answered", hour=9),  # IVR only
]


def test_queue_counts_and_figures() -> None:
    f = queue_figures("billing", FACTS, 20)
    assert (f.offered, f.answered, f.abandoned, f.overflowed, f.other, f.in_progress) == (
        9, 3, 2, 2, 1, 1,
    )  # fmt: skip
    assert (f.answered_within, f.abandoned_within) == (2, 1)
    assert f.service_level == pytest.approx(2 / 8)  # answered within / decided
    assert f.asa == pytest.approx((5 + 30 + 2) / 3)
    assert f.aht == pytest.approx((60 + 10 + 120 + 20 + 10) / 2)  # closed calls only
    assert f.abandon_rate == pytest.approx(2 / 8)
    assert f.longest_answered_wait == 30
    assert f.by_hour[9:14] == (2, 2, 2, 2, 1) and sum(f.by_hour) == 9


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        (ServiceLevelFormula.ANSWERED_OF_OFFERED, 2 / 8),
        (ServiceLevelFormula.ANSWERED_OF_ANSWERED, 2 / 3),
        (ServiceLevelFormula.EXCLUDING_SHORT_ABANDONS, 2 / 7),
        (ServiceLevelFormula.ABANDONS_COUNT_AS_MET, 3 / 8),
    ],
)
def test_service_level_by_named_formula(formula: ServiceLevelFormula, expected: float) -> None:
    assert queue_figures("billing", FACTS, 20, formula).service_level == pytest.approx(expected)


def test_no_calls_no_figures() -> None:
    f = queue_figures("empty", FACTS, 20)
    assert f.offered == 0 and f.by_hour == (0,) * 24
    assert (f.service_level, f.asa, f.aht, f.abandon_rate) == (None, None, None, None)
    assert f.longest_answered_wait == 0.0
    waiting = queue_figures("q", [CallFact("q", None, None)], 20)
    assert (waiting.offered, waiting.in_progress, waiting.service_level) == (1, 1, None)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="target"):
        queue_figures("billing", FACTS, -1)
    with pytest.raises(ValueError, match="hour"):
        queue_figures("q", [CallFact("q", None, "answered", hour=24)], 20)


def test_agent_figures() -> None:
    a = agent_figures("1001", FACTS)  # the open call is not counted yet
    assert (a.handled, a.talk, a.hold, a.wrapup) == (1, 60, 0, 10)
    assert a.aht == 70 and a.average_talk == 60 and a.by_hour[9] == 1
    b = agent_figures("1002", FACTS)
    assert (b.handled, b.talk, b.hold) == (2, 170, 20) and b.average_talk == 85
    none = agent_figures("1009", FACTS)
    assert (none.handled, none.aht, none.average_talk) == (0, None, None)


def test_formula_text_names_the_target() -> None:
    assert formula_text(ServiceLevelFormula.ANSWERED_OF_OFFERED, 20) == (
        "answered within 20s / offered"
    )
    for formula in ServiceLevelFormula:
        assert "30s" in formula_text(formula, 30)


def test_alerts() -> None:
    f = queue_figures("billing", FACTS, 20)  # 25 %
    assert alerts("billing", f, 80, 10, 60) == [Alert("billing", "service_level", 25.0, 80)]
    assert alerts("billing", f, 20, 75.04, 60) == [Alert("billing", "long_wait", 75.0, 60)]
    assert alerts("billing", f, 20, 75, None) == []
    assert alerts("billing", f, 25, 60, 60) == []  # at the target / threshold: no alert
    empty = queue_figures("empty", FACTS, 20)
    assert alerts("empty", empty, 80, 0, 60) == []  # no calls: no service-level alert
