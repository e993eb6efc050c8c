"""The event stream encodes each event once, whatever the number of subscribers (bench/api.py
measured the per-subscriber json.dumps as a large share of the fan-out's CPU)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from callcenter.api.stream import EventHub, Visibility


def test_one_encoding_shared_by_every_subscriber() -> None:
    async def run() -> None:
        hub = EventHub(lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        subs = [hub.subscribe(Visibility(everything=True)) for _ in range(3)]
        hub.publish(7, "AgentStateChanged", {"agent_id": "1001", "note": "中文"}, None, 1001)
        got = [sub.queue.get_nowait() for sub in subs]
        assert all(ev is got[0] for ev in got)
        text = got[0].text
        assert got[0].text is text  # cached, not encoded again
        assert json.loads(text) == got[0].to_json()
        assert "中文" in text  # UTF-8 as is, like Starlette's send_json

    asyncio.run(run())
