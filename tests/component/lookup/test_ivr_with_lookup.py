"""The demo flow with real lookups: SQLite gives the balance, a dead service gives the fallback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from callcenter import ivr
from callcenter.ivr import IvrSession, Lookup, Play, Tts, load_flow_text
from callcenter.lookup import (
    HttpLookup,
    InMemoryLookup,
    LookupFailed,
    LookupProvider,
    Record,
    RoutedLookup,
    resolve,
)
from callcenter.lookup.demo import (
    DEMO_FLOWS,
    create_demo_db,
    demo_lookup,
    load_demo_dialplan,
    load_demo_flows,
)

FLOWS = Path(__file__).resolve().parents[3] / "src" / "callcenter" / "data" / "flows"


async def call(provider: LookupProvider, digits: str, timeout: float = 2.0) -> list[str]:
    """Dial into demo_main, press the digits, run any lookup; return what was spoken."""
    flow = load_flow_text((FLOWS / "demo_main.yaml").read_text(encoding="utf-8"))
    session = IvrSession(flow, {"caller": "13800000001", "called": "95598"}, 0.0)
    commands = session.start(0.0)
    now = 0.0
    for digit in digits:
        now += 1
        commands += session.on_digit(digit, now)
    if isinstance(commands[-1], Lookup):
        result = await resolve(provider, commands[-1], timeout)
        commands += session.on_lookup_result(result, now + 1)
    return [
        p.text for c in commands if isinstance(c, Play) for p in c.prompts if isinstance(p, Tts)
    ]


async def test_balance_by_account_from_sqlite(tmp_path: Path) -> None:
    lookup = demo_lookup(create_demo_db(tmp_path / "c.db"))
    try:
        spoken = await call(lookup, "11100200300#")
        assert spoken[-1] == "张三您好，您的电费余额为123.40元。"
        spoken = await call(lookup, "12")  # by caller number
        assert spoken[-1] == "张三您好，您的电费余额为123.40元。"
        spoken = await call(lookup, "11999999#")
        assert spoken[-1] == "对不起，没有查询到户号9 9 9 9 9 9。"
    finally:
        await lookup.aclose()


async def test_unreachable_service_takes_the_spoken_fallback() -> None:
    lookup = HttpLookup("http://127.0.0.1:9/customers/{kind}/{key}", timeout=0.5)
    try:
        spoken = await call(lookup, "12")
    finally:
        await lookup.aclose()
    assert spoken[-1] == "系统繁忙，请稍后再试。正在为您转接人工服务。"


class Hanging:
    async def lookup(self, kind: str, key: str) -> Record | None:
        await asyncio.sleep(30)
        return None


async def test_resolve_times_out_and_maps_failures() -> None:
    assert await resolve(Hanging(), Lookup("phone", "1"), timeout=0.05) == ivr.LookupFailed(
        "timeout"
    )
    memory = InMemoryLookup({"phone": {"1": {"name": "x"}}})
    routed = RoutedLookup({"phone": memory})
    assert await resolve(routed, Lookup("phone", "1")) == {"name": "x"}
    assert await resolve(routed, Lookup("phone", "2")) is None
    assert await resolve(routed, Lookup("account", "1")) == ivr.LookupFailed(
        "unknown lookup kind 'account'"
    )
    with pytest.raises(LookupFailed):
        await memory.lookup("account", "1")
    spoken = await call(Hanging(), "12", timeout=0.05)
    assert spoken[-1].startswith("系统繁忙")


async def test_in_memory_records_are_copies() -> None:
    memory = InMemoryLookup({"phone": {"1": {"n": 1}}})
    record = await memory.lookup("phone", "1")
    assert record is not None
    record["n"] = 2
    assert await memory.lookup("phone", "1") == {"n": 1}


async def test_packaged_demo_assets_route_a_call_to_the_balance(tmp_path: Path) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    registry = load_demo_flows()
    assert registry.names() == tuple(sorted(DEMO_FLOWS))
    monday_10am = datetime(2025, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    route = load_demo_dialplan().route("95598", "13800000001", monday_10am)
    assert route.destination.kind == "flow"
    session = IvrSession(registry.current(route.destination.target), {"caller": "13800000001"}, 0.0)
    session.start(0.0)
    session.on_digit("1", 1.0)
    command = session.on_digit("2", 2.0)[-1]
    assert isinstance(command, Lookup)
    lookup = demo_lookup(create_demo_db(tmp_path / "c.db"))
    try:
        out = session.on_lookup_result(await resolve(lookup, command), 3.0)
    finally:
        await lookup.aclose()
    assert isinstance(out[0], Play)
    assert out[0].prompts == (Tts("张三您好，您的电费余额为123.40元。"),)
