"""Routes added for the administration pages: flow validation without storing, the flow
registry, the live flow's document (stored or built-in demo), prompt preview by TTS, and queue
announcements kept through create and update."""

from __future__ import annotations

import shutil

import pytest

from callcenter.lookup.demo import load_demo_flows

from .conftest import Api

FLOW = {
    "name": "ui_test",
    "start": "hello",
    "nodes": [
        {"id": "hello", "type": "play", "prompt": "您好", "next": "q"},
        {"id": "q", "type": "enqueue", "queue": "billing"},
    ],
}


def test_validate_flow_reports_problems_and_stores_nothing(api: Api) -> None:
    admin = api.auth("admin")
    r = api.client.post("/api/v1/admin/flows/validate", json={"body": FLOW}, headers=admin)
    assert r.status_code == 200 and r.json() == {
        "ok": True, "name": "ui_test", "problems": [], "warnings": []
    }  # fmt: skip
    bad = {**FLOW, "nodes": [{"id": "hello", "type": "play", "prompt": "x", "next": "nowhere"}]}
    r = api.client.post("/api/v1/admin/flows/validate", json={"body": bad}, headers=admin)
    body = r.json()
    assert body["ok"] is False and any("nowhere" in p for p in body["problems"])
    assert api.store.flows.names() == []


def test_registry_and_current_document(api: Api) -> None:
    api.center.flows = load_demo_flows()
    admin = api.auth("admin")
    r = api.client.get("/api/v1/admin/flow-registry", headers=admin)
    names = {f["name"]: f for f in r.json()}
    assert (
        names["demo_main"]["current_version"] == 1 and names["demo_main"]["stored_versions"] == []
    )
    r = api.client.get("/api/v1/admin/flows/demo_main/current", headers=admin)
    assert r.status_code == 200 and r.json()["source"] == "builtin"
    assert r.json()["body"]["start"] == "welcome"
    # a new version saved and activated: the current document is the stored one
    doc = {**FLOW, "name": "demo_main", "version": 1}
    r = api.client.post("/api/v1/admin/flows", json={"body": doc}, headers=admin)
    assert r.status_code == 201, r.text
    version = r.json()["version"]
    r = api.client.post(f"/api/v1/admin/flows/demo_main/{version}/activate", headers=admin)
    assert r.status_code == 200, r.text
    r = api.client.get("/api/v1/admin/flows/demo_main/current", headers=admin)
    assert r.json()["source"] == "stored" and r.json()["version"] == version
    assert r.json()["body"]["start"] == "hello"
    r = api.client.get("/api/v1/admin/flows/nope/current", headers=admin)
    assert r.status_code == 404


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_prompt_preview_is_spoken_wav(api: Api) -> None:
    admin = api.auth("admin")
    r = api.client.get("/api/v1/admin/prompts/welcome/zh/audio", headers=admin)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    assert r.content[:4] == b"RIFF" and len(r.content) > 8000
    r = api.client.get("/api/v1/admin/prompts/none/zh/audio", headers=admin)
    assert r.status_code == 404


def test_queue_announcements_are_kept(api: Api) -> None:
    admin = api.auth("admin")
    settings = {"strategy": "round_robin", "announcements": {"position_every_seconds": 20}}
    r = api.client.post("/api/v1/admin/queues", headers=admin,
                        json={"name": "vip", "settings": settings})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["settings"]["announcements"] == {"position_every_seconds": 20}
    settings["announcements"] = {"expected_wait": True}
    r = api.client.patch("/api/v1/admin/queues/vip", headers=admin, json={"settings": settings})
    assert r.json()["settings"]["announcements"] == {"expected_wait": True}
