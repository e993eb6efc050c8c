"""Erlang B/C against the textbook closed forms (computed independently with factorials)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcenter.metrics import (
    agents_for_asa,
    agents_for_service_level,
    erlang_b,
    erlang_c,
    erlang_c_asa,
    erlang_c_service_level,
    occupancy,
    traffic_intensity,
    trunks_for_blocking,
)


def closed_form_b(a: float, m: int) -> float:
    terms = [a**k / math.factorial(k) for k in range(m + 1)]
    return terms[-1] / sum(terms)


def closed_form_c(a: float, m: int) -> float:
    top = a**m / math.factorial(m) * m / (m - a)
    return top / (sum(a**k / math.factorial(k) for k in range(m)) + top)


def test_textbook_two_erlangs_three_agents() -> None:
    # 2 erlangs on 3 servers: B = (4/3) / (1 + 2 + 2 + 4/3) = 4/19, C = 4/9.
    assert erlang_b(2.0, 3) == pytest.approx(4 / 19)
    assert erlang_c(2.0, 3) == pytest.approx(4 / 9)


@given(st.floats(0.01, 60), st.integers(1, 80))
def test_erlang_b_matches_closed_form(a: float, m: int) -> None:
    assert erlang_b(a, m) == pytest.approx(closed_form_b(a, m), rel=1e-9, abs=1e-300)


@given(st.floats(0.01, 60), st.integers(1, 80))
def test_erlang_c_matches_closed_form_or_saturates(a: float, m: int) -> None:
    if m <= a:
        assert erlang_c(a, m) == 1.0
    else:
        assert erlang_c(a, m) == pytest.approx(closed_form_c(a, m), rel=1e-9, abs=1e-300)


@given(st.floats(0.1, 50), st.integers(1, 80))
def test_more_servers_never_block_more(a: float, m: int) -> None:
    assert erlang_b(a, m + 1) <= erlang_b(a, m)
    assert erlang_c(a, m + 1) <= erlang_c(a, m)


def test_zero_servers_block_everything_and_zero_traffic_nothing() -> None:
    assert erlang_b(5.0, 0) == 1.0
    assert erlang_b(0.0, 3) == 0.0
    assert erlang_c(0.0, 3) == 0.0


def test_service_level_and_asa_follow_the_named_formulas() -> None:
    a, m, aht, t = 10.0, 12, 180.0, 20.0
    c = closed_form_c(a, m)
    assert erlang_c_service_level(a, m, aht, t) == pytest.approx(
        1 - c * math.exp(-(m - a) * t / aht)
    )
    assert erlang_c_asa(a, m, aht) == pytest.approx(c * aht / (m - a))
    assert erlang_c_service_level(a, 10, aht, t) == 0.0
    assert erlang_c_asa(a, 10, aht) == math.inf


def test_staffing_finds_the_smallest_sufficient_team() -> None:
    a, aht, t, goal = traffic_intensity(360, 1800, 240), 240.0, 20.0, 0.8
    assert a == pytest.approx(48.0)
    m = agents_for_service_level(a, aht, t, goal)
    assert erlang_c_service_level(a, m, aht, t) >= goal
    assert erlang_c_service_level(a, m - 1, aht, t) < goal
    n = agents_for_asa(a, aht, 15.0)
    assert erlang_c_asa(a, n, aht) <= 15.0 < erlang_c_asa(a, n - 1, aht)


@given(st.floats(0.1, 100), st.sampled_from([0.001, 0.01, 0.05, 0.2]))
def test_trunks_for_blocking_is_minimal(a: float, goal: float) -> None:
    n = trunks_for_blocking(a, goal)
    assert erlang_b(a, n) <= goal
    assert n == 0 or erlang_b(a, n - 1) > goal


def test_occupancy() -> None:
    assert occupancy(8.0, 10) == pytest.approx(0.8)
    assert occupancy(12.0, 10) == 1.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: erlang_b(-1.0, 3),
        lambda: erlang_b(math.nan, 3),
        lambda: erlang_b(1.0, -1),
        lambda: erlang_c(math.inf, 3),
        lambda: erlang_c_service_level(1.0, 3, 0.0, 20.0),
        lambda: erlang_c_service_level(1.0, 3, 10.0, -1.0),
        lambda: erlang_c_service_level(-5.0, 0, 10.0, 1.0),
        lambda: erlang_c_asa(1.0, 3, 0.0),
        lambda: erlang_c_asa(-5.0, 0, 10.0),
        lambda: occupancy(1.0, 0),
        lambda: traffic_intensity(10, 0, 60),
        lambda: traffic_intensity(-1, 10, 60),
        lambda: agents_for_service_level(5.0, 60.0, 20.0, 1.0),
        lambda: agents_for_asa(5.0, 60.0, 0.0),
        lambda: trunks_for_blocking(5.0, 0.0),
    ],
)
def test_bad_inputs_are_refused(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        call()


def test_unreachable_goals_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import callcenter.metrics.erlang as erlang

    monkeypatch.setattr(erlang, "MAX_SERVERS", 3)
    with pytest.raises(ValueError, match="not reachable"):
        erlang.agents_for_service_level(2.5, 60.0, 1.0, 0.999)
    with pytest.raises(ValueError, match="not reachable"):
        erlang.agents_for_asa(2.5, 60.0, 0.001)
    with pytest.raises(ValueError, match="not reachable"):
        erlang.trunks_for_blocking(50.0, 0.001)
