"""Measured figures: each service-level formula by name, and the None-when-no-calls rule."""

import pytest

from callcenter.metrics import (
    ServiceLevelFormula,
    abandon_rate,
    average_handle_time,
    average_speed_of_answer,
    measured_occupancy,
    service_level,
)

COUNTS = {"offered": 100, "answered": 90, "answered_within": 72, "abandoned_within": 4}


@pytest.mark.parametrize(
    ("formula", "numerator", "denominator"),
    [
        (ServiceLevelFormula.ANSWERED_OF_OFFERED, 72, 100),
        (ServiceLevelFormula.ANSWERED_OF_ANSWERED, 72, 90),
        (ServiceLevelFormula.EXCLUDING_SHORT_ABANDONS, 72, 96),
        (ServiceLevelFormula.ABANDONS_COUNT_AS_MET, 76, 100),
    ],
)
def test_service_level_formulas(
    formula: ServiceLevelFormula, numerator: int, denominator: int
) -> None:
    assert service_level(formula, **COUNTS) == pytest.approx(numerator / denominator)


@pytest.mark.parametrize("formula", list(ServiceLevelFormula))
def test_no_calls_gives_no_figure(formula: ServiceLevelFormula) -> None:
    assert service_level(formula, offered=0, answered=0, answered_within=0) is None


def test_inconsistent_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        service_level(
            ServiceLevelFormula.ANSWERED_OF_OFFERED, offered=5, answered=6, answered_within=1
        )
    with pytest.raises(ValueError):
        service_level(
            ServiceLevelFormula.ANSWERED_OF_OFFERED, offered=5, answered=3, answered_within=4
        )
    with pytest.raises(ValueError):
        abandon_rate(-1, 5)


def test_asa_aht_abandons_occupancy() -> None:
    assert average_speed_of_answer(300.0, 10) == pytest.approx(30.0)
    assert average_speed_of_answer(0.0, 0) is None
    assert average_handle_time(1000.0, 100.0, 200.0, 10) == pytest.approx(130.0)
    assert average_handle_time(0.0, 0.0, 0.0, 0) is None
    assert abandon_rate(5, 50) == pytest.approx(0.1)
    assert measured_occupancy(2700.0, 3600.0) == pytest.approx(0.75)
    assert measured_occupancy(0.0, 0.0) is None
