"""Contact-center metrics: service level, ASA, AHT, Erlang B and C. Pure.

:mod:`callcenter.metrics.erlang` holds the planning formulas (Erlang B for trunks, Erlang C for
agents); :mod:`callcenter.metrics.measured` the figures computed from counted calls (SPEC §12).
"""

from callcenter.metrics.erlang import (
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
from callcenter.metrics.measured import (
    ServiceLevelFormula,
    abandon_rate,
    average_handle_time,
    average_speed_of_answer,
    measured_occupancy,
    service_level,
)

__all__ = [
    "ServiceLevelFormula",
    "abandon_rate",
    "agents_for_asa",
    "agents_for_service_level",
    "average_handle_time",
    "average_speed_of_answer",
    "erlang_b",
    "erlang_c",
    "erlang_c_asa",
    "erlang_c_service_level",
    "measured_occupancy",
    "occupancy",
    "service_level",
    "traffic_intensity",
    "trunks_for_blocking",
]
