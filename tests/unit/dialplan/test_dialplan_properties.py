"""Hypothesis: a route depends on the instant, not on the zone the caller wrote it in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.dialplan import parse_dialplan

DEMO = Path(__file__).resolve().parents[3] / "src/callcenter/data/flows/demo_dialplan.yaml"
PLAN = parse_dialplan(yaml.safe_load(DEMO.read_text(encoding="utf-8")))
ZONES = [ZoneInfo(z) for z in ("UTC", "Asia/Shanghai", "America/New_York", "Europe/London")]
START = datetime(2024, 12, 25, tzinfo=UTC)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 60 * 24 * 400),
    st.sampled_from(ZONES),
    st.sampled_from(["95598", "4008095598"]),
    st.sampled_from(["13800000001", "13900001234", "02100000000"]),
)
def test_route_is_zone_independent_and_total(
    minutes: int, zone: ZoneInfo, called: str, caller: str
) -> None:
    instant = START + timedelta(minutes=minutes)
    here = PLAN.route(called, caller, instant)
    there = PLAN.route(called, caller, instant.astimezone(zone))
    assert (here.destination, here.rule) == (there.destination, there.rule)
    assert here.rule is not None  # the hotline rules cover every instant
    if here.is_holiday:
        assert here.is_open is False
