"""Supervisor console and administration in headless Chromium against the real server, with
SIPp phones and callers (issue 9): the wallboard's counts follow real calls live and match the
CDRs; a supervisor forces an agent busy from the wallboard and the agent sees it; an
administrator creates a skill and a queue, gives an agent the skill, routes the IVR to the new
queue, and a new call lands there without a restart. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e import sipp
from tests.e2e.test_inbound import Center, wait_for

from .conftest import Pages, shot

pytestmark = pytest.mark.e2e
AGENT_PAGE = Path(__file__).resolve().parents[3] / "src/callcenter/ui/agent/index.html"


def api(center: Center, user: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=f"http://127.0.0.1:{center.server.web_port}/api/v1")
    r = client.post("/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return client


def tile_value(page: Page, queue: str, field: str) -> str:
    return page.locator(f'[data-testid="wb-queue-{queue}"] [data-field="{field}"]').inner_text()


def test_wallboard_counts_follow_calls_and_match_the_cdrs(center: Center, pages: Pages) -> None:
    center.agent("8001", hz=1000.0, talk_ms=1500, count=2)
    page = pages.open("sup", "/ui/supervisor/")
    expect(page.locator('[data-testid="wb-queue-billing"]')).to_be_visible()
    assert tile_value(page, "billing", "offered") == "0"
    expect(page.locator('[data-testid="wb-agent-1001"] [data-field="presence"]')).to_have_attribute(
        "data-value", "ready"
    )
    for caller in ("13800000001", "13800000002"):
        _, rc = center.call("7001", caller, hz=440.0, before_ms=300, hold_ms=30000)
        assert rc == 0, center.last
    # a third caller hangs up while waiting: the only agent is put busy first
    sup = api(center, "sup", "sup-demo")
    wait_for(lambda: sup.get("/supervisor/agents/1001").json()["activity"] == "idle", timeout=30)
    assert sup.post("/supervisor/agents/1001/force-busy", json={"reason": "meeting"}).is_success
    _, rc = center.call("7001", "13800000003", hz=440.0, before_ms=300, hold_ms=2500)
    wait_for(lambda: sum(1 for c in center.cdrs() if c.outcome) == 3, timeout=30)
    cdrs = [c for c in center.cdrs() if c.queue == "billing"]
    outcomes = Counter(c.outcome for c in cdrs)
    assert outcomes["answered"] == 2, outcomes
    # the open page follows by itself (event stream -> snapshot), no reload
    within = sum(1 for c in cdrs if c.outcome == "answered" and c.queue_wait_seconds <= 20)
    decided = sum(1 for c in cdrs if c.outcome)
    expected = {
        "offered": len(cdrs),
        "answered": outcomes["answered"],
        "abandoned": outcomes["abandoned"],
        "overflowed": outcomes["overflowed"] + outcomes["voicemail"],
        "service_level": f"{round(within / decided * 1000) / 10}%",
    }
    for field, value in expected.items():
        tile = page.locator(f'[data-testid="wb-queue-billing"] [data-field="{field}"]')
        expect(tile).to_have_text(str(value), timeout=15000)
    expect(page.locator('[data-testid="wb-agent-1001"] [data-field="handled"]')).to_have_text("2")
    expect(page.locator('[data-testid="wb-agent-1001"] [data-field="presence"]')).to_have_attribute(
        "data-value", "busy"
    )
    page.wait_for_timeout(300)
    shot(page, "wallboard", "zh")
    page.locator('[data-testid="lang-switch"]').first.click()
    expect(page.locator('[data-testid="tab-wall"]')).to_have_text("Wallboard")
    shot(page, "wallboard", "en")
    # the reports tab agrees, and TV mode shows the same figures without controls
    page.locator('[data-testid="tab-reports"]').click()
    row = page.locator('[data-testid="r-queues"] tr[data-queue="billing"]')
    expect(row.locator('[data-field="offered"]')).to_have_text(str(len(cdrs)))
    expect(page.locator('[data-testid="chart-queues"]')).to_be_visible()
    shot(page, "reports", "en")
    tv = pages.open("sup", "/ui/supervisor/?tv=1")
    expect(tv.locator('[data-testid="wb-queue-billing"] [data-field="offered"]')).to_have_text(
        str(len(cdrs))
    )
    assert tv.locator('[data-testid="act-force_busy"]').count() == 0
    shot(tv, "wallboard-tv", "zh")


def test_force_busy_from_the_wallboard_reaches_the_agent(center: Center, pages: Pages) -> None:
    agent = api(center, "a1002", "demo1002")
    r = agent.post("/agent/login", json={"agent_id": "1002", "seat": "8002"})
    assert r.status_code == 200, r.text
    page = pages.open("sup", "/ui/supervisor/")
    row = page.locator('[data-testid="wb-agent-1002"]')
    expect(row.locator('[data-field="presence"]')).to_have_attribute("data-value", "ready")
    row.locator('[data-testid="act-force_busy"]').click()
    page.locator('[data-testid="confirm-ok"]').click()
    expect(page.locator('[data-testid="toast"]').first).to_contain_text("强制示忙")
    expect(row.locator('[data-field="presence"]')).to_have_attribute("data-value", "busy")
    state = agent.get("/agent/state").json()
    assert (state["presence"], state["reason"]) == ("busy", "supervisor")
    if AGENT_PAGE.exists():  # the agent desktop (ui/agent/) shows it too
        desk = pages.open("a1002", "/ui/agent/")
        expect(desk.locator('[data-testid="state"]')).to_have_attribute(
            "data-state", "busy", timeout=10000
        )
    # force ready from the wallboard: back to ready for the agent too
    row.locator('[data-testid="act-force_ready"]').click()
    expect(row.locator('[data-field="presence"]')).to_have_attribute("data-value", "ready")
    assert agent.get("/agent/state").json()["presence"] == "ready"


def edit_flow(page: Page) -> None:
    """Route 人工服务 (0) of the live demo flow to the new queue vip, in the editor's JSON."""
    box = page.locator('[data-testid="flow-json"]')
    expect(box).to_have_value(re.compile('"main_menu"'))
    doc = json.loads(box.input_value())
    menu = next(n for n in doc["nodes"] if n["id"] == "main_menu")
    menu["choices"]["0"] = "to_vip"
    doc["nodes"].append({"id": "to_vip", "type": "enqueue", "queue": "vip", "category": "vip"})
    box.fill(json.dumps(doc, ensure_ascii=False, indent=2))


def test_admin_creates_queue_and_skill_routes_ivr_and_a_call_lands(
    center: Center, pages: Pages
) -> None:
    center.agent("8003", hz=1200.0, talk_ms=1500, expect=("X-CC-Queue: vip",))
    page = pages.open("admin", "/ui/admin/#skills")
    page.locator('[data-testid="new"]').click()
    page.locator('[data-testid="field-name"]').fill("vip_skill")
    page.locator('[data-testid="field-description"]').fill("大客户")
    page.locator('[data-testid="form-save"]').click()
    expect(page.locator('[data-testid="table-skills"]')).to_contain_text("vip_skill")
    page.locator('[data-testid="nav-queues"]').click()
    page.locator('[data-testid="new"]').click()
    page.locator('[data-testid="field-name"]').fill("vip")
    page.locator('[data-testid="field-display_name"]').fill("大客户专席")
    page.locator('[data-testid="field-skills"]').fill("vip_skill:1")
    page.locator('[data-testid="field-strategy"]').select_option("round_robin")
    page.locator('[data-testid="field-ring_timeout_seconds"]').fill("15")
    shot(page, "admin-queue-form", "zh")
    page.locator('[data-testid="form-save"]').click()
    expect(page.locator('[data-testid="table-queues"]')).to_contain_text("大客户专席")
    # give agent 1003 (logged in by its phone) the skill: it joins the queue live
    page.locator('[data-testid="nav-agents"]').click()
    page.locator('tr[data-key="1003"] [data-testid="edit"]').click()
    skills = page.locator('[data-testid="field-skills"]')
    skills.fill(skills.input_value() + ", vip_skill:3")
    page.locator('[data-testid="form-save"]').click()
    expect(page.locator('tr[data-key="1003"] [data-field="skills"]')).to_contain_text("vip_skill:3")
    sup = api(center, "sup", "sup-demo")
    # 1003 has stored queue memberships (repair): they narrow what skills allow, so the admin
    # assigns it to the new queue too, from the agent row's queues action (live)
    assert "vip" not in sup.get("/supervisor/agents/1003").json()["queues"]
    page.locator('tr[data-key="1003"] [data-testid="act-queues"]').click()
    queues = page.locator('[data-testid="admin-form"] [data-testid="field-queues"]')
    queues.fill(queues.input_value() + ", vip:0")
    page.locator('[data-testid="admin-form"] [data-testid="form-save"]').click()
    expect(page.locator('[data-testid="toast"]').first).to_be_visible()
    wait_for(lambda: "vip" in sup.get("/supervisor/agents/1003").json()["queues"], timeout=10)
    # the IVR: load the live demo flow, route "0" to vip, validate, save, activate
    page.locator('[data-testid="nav-flows"]').click()
    page.locator('[data-testid="flow-pick"]').select_option("demo_main")
    edit_flow(page)
    page.locator('[data-testid="flow-validate"]').click()
    expect(page.locator('[data-testid="flow-report"]')).to_contain_text("校验通过")
    expect(page.locator('[data-testid="flow-diagram"] [data-node="to_vip"]')).to_be_visible()
    shot(page, "ivr-diagram", "zh")
    page.locator('[data-testid="flow-save"]').click()
    expect(page.locator('[data-testid="flow-report"]')).to_contain_text("已保存为版本 2")
    page.locator('[data-testid="flow-activate-2"]').click()
    expect(page.locator('[data-testid="flow-report"]')).to_contain_text("版本 2 已生效")
    # a new call through the IVR presses 0 and lands in vip at agent 1003, no restart
    _, rc = center.call("8888", "13900000001", hz=440.0, digits="0", before_ms=1500,
                        hold_ms=60000, expect_bye=True)  # fmt: skip
    assert rc == 0, center.last
    center.procs[0].wait(timeout=30)
    screen = (center.tmp / "agent-8003.screen").read_text()
    assert sipp.parse_screen(screen) == (1, 0), screen
    wait_for(lambda: any(c.outcome for c in center.cdrs()), timeout=20)
    cdr = next(c for c in center.cdrs() if c.outcome)
    assert (cdr.queue, cdr.agent_id, cdr.outcome) == ("vip", 1003, "answered")
    # the English admin form, for the screenshots
    en = pages.open("admin", "/ui/admin/#queues", lang="en")
    en.locator('tr[data-key="vip"] [data-testid="edit"]').click()
    expect(en.locator('[data-testid="admin-form"]')).to_contain_text("Strategy")
    shot(en, "admin-queue-form", "en")
    flows = pages.open("admin", "/ui/admin/#flows", lang="en")
    flows.locator('[data-testid="flow-pick"]').select_option("demo_main")
    expect(flows.locator('[data-testid="flow-diagram"] [data-node="to_vip"]')).to_be_visible()
    shot(flows, "ivr-diagram", "en")
