"""Erlang B and Erlang C: traffic planning for trunks (呼损) and agents (SPEC §12).

Traffic ``a`` is in erlangs (calls per second x average handle time in seconds). Erlang B is
the blocking probability of ``m`` trunks with no waiting room (blocked calls cleared); Erlang C
is the probability that a caller waits with ``m`` agents and an infinite queue (M/M/m, callers
never abandon). Erlang B is computed with the numerically stable recursion
``B(a, 0) = 1; B(a, k) = a·B(a, k-1) / (k + a·B(a, k-1))``, and Erlang C from it:
``C = m·B / (m - a·(1 - B))``. Service level (Erlang C) is
``SL(t) = 1 - C·exp(-(m - a)·t / aht)`` and ASA is ``C·aht / (m - a)``.
"""

from __future__ import annotations

import math

MAX_SERVERS = 100_000


def _check_traffic(traffic: float) -> None:
    if not (math.isfinite(traffic) and traffic >= 0):
        raise ValueError(f"traffic must be a finite number of erlangs >= 0, got {traffic}")


def _check_servers(servers: int) -> None:
    if servers < 0:
        raise ValueError(f"number of servers must be >= 0, got {servers}")


def traffic_intensity(calls: float, period: float, aht: float) -> float:
    """Offered traffic in erlangs: calls in ``period`` seconds, each held ``aht`` seconds."""
    if period <= 0 or calls < 0 or aht < 0:
        raise ValueError("period must be > 0, calls and aht >= 0")
    return calls * aht / period


def erlang_b(traffic: float, servers: int) -> float:
    """Erlang B blocking probability (lost calls cleared)."""
    _check_traffic(traffic)
    _check_servers(servers)
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = traffic * blocking / (k + traffic * blocking)
    return blocking


def erlang_c(traffic: float, agents: int) -> float:
    """Erlang C probability that a caller has to wait (1.0 when ``agents <= traffic``)."""
    _check_traffic(traffic)
    _check_servers(agents)
    if agents <= traffic:
        return 1.0
    blocking = erlang_b(traffic, agents)
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def erlang_c_service_level(traffic: float, agents: int, aht: float, target: float) -> float:
    """Fraction of callers answered within ``target`` seconds (Erlang C, no abandons)."""
    if aht <= 0 or target < 0:
        raise ValueError("aht must be > 0 and target >= 0")
    if agents <= traffic:
        _check_traffic(traffic)
        return 0.0
    wait = erlang_c(traffic, agents)
    return max(0.0, 1.0 - wait * math.exp(-(agents - traffic) * target / aht))


def erlang_c_asa(traffic: float, agents: int, aht: float) -> float:
    """Average speed of answer in seconds (Erlang C); infinite when ``agents <= traffic``."""
    if aht <= 0:
        raise ValueError("aht must be > 0")
    if agents <= traffic:
        _check_traffic(traffic)
        return math.inf
    return erlang_c(traffic, agents) * aht / (agents - traffic)


def occupancy(traffic: float, agents: int) -> float:
    """Planned agent occupancy a/m (capped at 1)."""
    _check_traffic(traffic)
    if agents <= 0:
        raise ValueError("agents must be > 0")
    return min(1.0, traffic / agents)


def agents_for_service_level(traffic: float, aht: float, target: float, goal: float) -> int:
    """The fewest agents whose Erlang C service level within ``target`` s reaches ``goal``."""
    if not 0 < goal < 1:
        raise ValueError("goal must be a fraction in (0, 1)")
    agents = max(1, math.floor(traffic) + 1)
    while erlang_c_service_level(traffic, agents, aht, target) < goal:
        agents += 1
        if agents > MAX_SERVERS:
            raise ValueError("goal not reachable with a sane number of agents")
    return agents


def agents_for_asa(traffic: float, aht: float, goal: float) -> int:
    """The fewest agents whose Erlang C average speed of answer is at most ``goal`` s."""
    if goal <= 0:
        raise ValueError("goal must be > 0 seconds")
    agents = max(1, math.floor(traffic) + 1)
    while erlang_c_asa(traffic, agents, aht) > goal:
        agents += 1
        if agents > MAX_SERVERS:
            raise ValueError("goal not reachable with a sane number of agents")
    return agents


def trunks_for_blocking(traffic: float, goal: float) -> int:
    """The fewest trunks whose Erlang B blocking is at most ``goal`` (e.g. 0.01 = 1% 呼损)."""
    if not 0 < goal < 1:
        raise ValueError("goal must be a fraction in (0, 1)")
    _check_traffic(traffic)
    blocking, trunks = 1.0, 0
    while blocking > goal:
        trunks += 1
        blocking = traffic * blocking / (trunks + traffic * blocking)
        if trunks > MAX_SERVERS:
            raise ValueError("goal not reachable with a sane number of trunks")
    return trunks
