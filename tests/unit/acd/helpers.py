"""Small builders for ACD tests: a router with queues and agents, and output filters."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import TypeVar

from callcenter.acd import Acd, AgentLogin, OfferToAgent, Output, QueueConfig

T = TypeVar("T")


def of(kind: type[T], out: Iterable[Output]) -> list[T]:
    return [o for o in out if isinstance(o, kind)]


def offers(out: Iterable[Output]) -> list[tuple[str, str]]:
    """(call id, agent id) of every offer in ``out``."""
    return [(o.call_id, o.agent_id) for o in of(OfferToAgent, out)]


def make(*queues: QueueConfig, seed: int = 7) -> Acd:
    acd = Acd(random.Random(seed))
    for q in queues:
        acd.add_queue(q, 0.0)
    return acd


def login(
    acd: Acd,
    agent_id: str,
    now: float,
    skills: Mapping[str, int] | None = None,
    *,
    ready: bool = True,
    wrapup: float | None = None,
) -> list[Output]:
    seat = str(8000 + int(agent_id))
    return acd.login(
        AgentLogin(agent_id, seat, skills=skills or {}, wrapup=wrapup), now, ready=ready
    )
