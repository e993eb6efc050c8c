"""Versions: a running session keeps the flow version it started on, whatever is published."""

from __future__ import annotations

import pytest

from callcenter.ivr import FlowRegistry, FlowVersionError, IvrSession, Tts, parse_flow
from callcenter.ivr.flow import load_flow_text

from .helpers import FLOWS

V1 = (FLOWS / "demo_main.yaml").read_text(encoding="utf-8")


def edited(text: str, version: int, welcome: str) -> str:
    return text.replace("version: 1", f"version: {version}", 1).replace(
        "prompt: 欢迎致电电力客服热线。", f"prompt: {welcome}", 1
    )


def test_editing_a_flow_does_not_affect_a_running_session() -> None:
    registry = FlowRegistry()
    registry.publish(load_flow_text(V1))
    old_call = IvrSession(registry.current("demo_main"), {"caller": "1"}, 0.0)
    old_call.start(0.0)

    v2 = load_flow_text(
        edited(V1, 2, "新年好，欢迎致电。").replace("queue: billing", "queue: billing2")
    )
    registry.publish(v2)
    assert registry.versions("demo_main") == (1, 2)

    new_call = IvrSession(registry.current("demo_main"), {"caller": "2"}, 0.0)
    new_prompt = new_call.start(0.0)[0]
    assert new_prompt.prompts == (Tts("新年好，欢迎致电。"),)  # type: ignore[union-attr]

    old_out = old_call.on_digit("0", 1.0)
    assert old_call.flow.version == 1
    assert old_out[-1].queue == "billing"  # type: ignore[union-attr]
    assert new_call.on_digit("0", 1.0)[-1].queue == "billing2"  # type: ignore[union-attr]
    assert old_call.flow.digest != new_call.flow.digest


def test_publish_must_move_the_version_forward() -> None:
    registry = FlowRegistry()
    registry.publish(load_flow_text(edited(V1, 3, "x")))
    for version in (1, 3):
        with pytest.raises(FlowVersionError, match="not above the latest 3"):
            registry.publish(load_flow_text(edited(V1, version, "y")))
    assert registry.current("demo_main").version == 3


def test_rollback_and_lookups() -> None:
    registry = FlowRegistry()
    registry.publish(load_flow_text(V1))
    registry.publish(load_flow_text(edited(V1, 2, "v2")))
    assert registry.rollback("demo_main", 1).version == 1
    assert registry.current("demo_main").version == 1
    assert registry.get("demo_main", 2).version == 2
    assert registry.names() == ("demo_main",)
    assert registry.versions("other") == ()
    with pytest.raises(FlowVersionError, match="no flow named"):
        registry.current("other")
    with pytest.raises(FlowVersionError, match="has no version 9"):
        registry.get("demo_main", 9)


def test_source_data_can_be_mutated_after_parsing_without_effect() -> None:
    data = {"name": "t", "version": 1, "nodes": [{"id": "q", "type": "enqueue", "queue": "a"}]}
    loaded = parse_flow(data)
    data["nodes"][0]["queue"] = "b"  # type: ignore[index]
    session = IvrSession(loaded, {}, 0.0)
    assert session.start(0.0)[0].queue == "a"  # type: ignore[union-attr]
