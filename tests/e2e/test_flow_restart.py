"""An IVR flow version activated through the admin API (the editor's "activate") is still the
one new calls use after the server restarts: stored activations win over the files' copies."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .server import Server, start_server
from .test_inbound import Center, prepare, wait_for

pytestmark = pytest.mark.e2e
DIALPLAN = """
default: {hangup: no_route}
rules:
  - {name: ivr, did: ["8888"], flow: demo_main}
"""


def admin(server: Server) -> httpx.Client:
    client = httpx.Client(base_url=f"http://127.0.0.1:{server.web_port}/api/v1/admin")
    r = client.post("/../auth/login", json={"username": "admin", "password": "admin-demo"})
    assert r.status_code == 200, r.text
    return client


def straight_to_repair() -> dict[str, Any]:
    """demo_main with its welcome going straight to the repair queue (no menu)."""
    asset = resources.files("callcenter").joinpath("data", "flows", "demo_main.yaml")
    doc = dict(yaml.safe_load(asset.read_text("utf-8")))
    welcome = next(n for n in doc["nodes"] if n["id"] == "welcome")
    welcome["next"] = "repair_queue"
    return doc


def stop(server: Server, tmp: Path, name: str) -> None:
    rc = server.stop()
    (tmp / name).write_text(server.log_text())
    assert rc == 0
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]


def test_an_activated_flow_version_survives_a_restart(tmp_path: Path) -> None:
    env = prepare(tmp_path, DIALPLAN)
    server = start_server(tmp_path, env)
    try:
        api = admin(server)
        r = api.post("/flows", json={"body": straight_to_repair()})
        assert r.status_code == 201, r.text
        version = r.json()["version"]
        assert version == 2
        r = api.post(f"/flows/demo_main/{version}/activate")
        assert r.status_code == 200, r.text
    finally:
        stop(server, tmp_path, "server-1.log")
    server = start_server(tmp_path, env)
    center = Center(server, tmp_path)
    try:
        assert "flow.stored_active" in server.wait_log("server.started")
        api = admin(server)
        current = api.get("/flows/demo_main/current").json()
        assert (current["version"], current["source"]) == (2, "stored")
        live = {f["name"]: f for f in api.get("/flow-registry").json()}
        assert live["demo_main"]["current_version"] == 2
        assert live["demo_main"]["live_versions"] == [1, 2]  # rolling back to 1 still works
        # a call: version 2 queues it for repair at once (version 1 would wait in the menu)
        _, rc = center.call("8888", "13700000001", hz=440.0, before_ms=500, hold_ms=12000)
        assert rc == 0, center.last
        wait_for(lambda: any(c.outcome for c in center.cdrs()), timeout=20)
        (cdr,) = center.cdrs()
        # nobody staffs repair: the call overflows from it (to billing, then voicemail)
        assert f"call.overflow call_id={cdr.call_id} queue=repair " in server.log_text()
    finally:
        for peer in center.peers:
            peer.close()
        stop(server, tmp_path, "server-2.log")
