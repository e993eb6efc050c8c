"""IVR flows at start-up (calls/stored_flows.py): the version activated in storage through the
editor is the one new calls use after a restart, not the file's copy."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from typing import Any

import yaml

from callcenter.calls.stored_flows import with_stored_flows
from callcenter.lookup.demo import load_demo_flows
from callcenter.storage.store import Storage

NOW = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def demo_main(version: int, greeting: str) -> dict[str, Any]:
    asset = resources.files("callcenter").joinpath("data", "flows", "demo_main.yaml")
    data = yaml.safe_load(asset.read_text("utf-8"))
    data["version"] = version
    data["nodes"][0]["prompt"] = greeting
    return dict(data)


def greeting(registry: Any, name: str = "demo_main") -> str:
    return str(registry.current(name).node("welcome").prompts)


def test_the_stored_active_version_is_current_and_the_files_stay_as_history(
    store: Storage,
) -> None:
    files = load_demo_flows()
    store.flows.add_version("demo_main", demo_main(2, "版本二"), "admin", NOW, 2)
    store.flows.add_version("demo_main", demo_main(3, "版本三"), "admin", NOW, 3)
    store.flows.activate("demo_main", 2)
    live = with_stored_flows(files, store)
    assert live.current("demo_main").version == 2
    assert "版本二" in greeting(live)
    assert live.versions("demo_main") == (1, 2, 3)  # activating 3 or rolling back to 1 works
    assert live.current("demo_after_hours").version == 1  # untouched flows stay as loaded
    assert files.current("demo_main").version == 1  # the input registry is not changed


def test_a_version_saved_but_never_activated_does_not_go_live(store: Storage) -> None:
    store.flows.add_version("demo_main", demo_main(2, "草稿"), "admin", NOW, 2)
    other = demo_main(1, "新流程")
    other["name"] = "drafted"
    store.flows.add_version("drafted", other, "admin", NOW, 1)
    live = with_stored_flows(load_demo_flows(), store)
    assert live.current("demo_main").version == 1
    assert "草稿" not in greeting(live)
    assert "drafted" not in live.names()


def test_a_stored_flow_of_its_own_goes_live_when_active(store: Storage) -> None:
    own = demo_main(4, "自建流程")
    own["name"] = "own"
    store.flows.add_version("own", own, "admin", NOW, 4)
    store.flows.activate("own", 4)
    live = with_stored_flows(load_demo_flows(), store)
    assert live.current("own").version == 4
    assert "自建流程" in greeting(live, "own")


def test_a_stored_body_that_no_longer_parses_is_skipped(store: Storage) -> None:
    bad = demo_main(2, "坏的")
    bad["start"] = "nowhere"
    store.flows.add_version("demo_main", bad, "admin", NOW, 2)
    store.flows.activate("demo_main", 2)
    live = with_stored_flows(load_demo_flows(), store)
    assert live.versions("demo_main") == (1,)
    assert live.current("demo_main").version == 1
