"""Small flow builders shared by the IVR tests: flows are written as data, as users write them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from callcenter.ivr import Flow, load_flow_text, parse_flow

FLOWS = Path(__file__).resolve().parents[3] / "src" / "callcenter" / "data" / "flows"


def demo(name: str = "demo_main") -> Flow:
    return load_flow_text((FLOWS / f"{name}.yaml").read_text(encoding="utf-8"))


def flow(*nodes: dict[str, Any], **header: Any) -> Flow:
    data: dict[str, Any] = {"name": "t", "version": 1, **header, "nodes": list(nodes)}
    return parse_flow(data)


def menu(node_id: str = "m", **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": node_id,
        "type": "menu",
        "prompt": "按1",
        "choices": {"1": "q"},
        "timeout": 5,
        "tries": 3,
        "invalid_prompt": "错",
        "timeout_prompt": "超时",
    }
    return {**base, **over}


def collect(node_id: str = "c", **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": node_id,
        "type": "collect",
        "prompt": "请输入户号",
        "var": "account",
        "min_length": 3,
        "max_length": 6,
        "timeout": 10,
        "inter_digit_timeout": 4,
        "tries": 2,
        "invalid_prompt": "有误",
        "next": "q",
    }
    return {**base, **over}


QUEUE = {"id": "q", "type": "enqueue", "queue": "billing"}
BYE = {"id": "bye", "type": "hangup"}
