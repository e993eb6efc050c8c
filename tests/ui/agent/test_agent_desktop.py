"""The agent desktop end to end (issue 8): a real SIPp call pops the caller's customer record
before the answer, the agent answers from the page, creates and dispatches a complaint ticket,
a unit member updates it in a second browser and the agent sees the status change live (also
after a dropped event-stream connection); an unknown caller is created from the pop form.
Screenshots of the main screens in both languages go to artifacts/screenshots/."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_inbound import Center

from .conftest import Caller, Desktops, both_languages, phone, shot

pytestmark = pytest.mark.e2e
TIMEOUT = 20_000  # ms, for what waits on a real call


def sign_in_agent(d: Desktops, page: Page) -> None:
    d.login(page, "a1001")
    page.wait_for_selector('[data-testid="alogin-seat"]')
    page.fill('[data-testid="alogin-seat"]', "8001")
    page.select_option('[data-testid="alogin-mode"]', "desktop")
    page.click('[data-testid="alogin-submit"]')
    page.wait_for_selector('body[data-ready="1"]')
    expect(page.locator('[data-testid="state"]')).to_have_attribute("data-state", "ready")
    expect(page.locator('[data-testid="conn"]')).to_have_attribute("data-status", "open")


def api_as(center: Center, user: str, password: str) -> httpx.Client:
    http = httpx.Client(base_url=f"http://127.0.0.1:{center.server.web_port}", timeout=10)
    r = http.post("/api/v1/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return http


def test_pop_answer_ticket_dispatch_unit_update_live(center: Center, desktops: Desktops) -> None:
    agent = desktops.open("zh")
    both_languages(agent, "login")
    sign_in_agent(desktops, agent)
    phone(center, "8001")
    both_languages(agent, "desktop-idle")

    # 赵国强 (13800000001) calls the hotline, presses 0 (人工服务): billing queue -> 1001
    call = Caller(center, "95598", "13800000001", digits="0", before_ms=1500, hold_ms=60000,
                  expect_bye=True)  # fmt: skip
    pop = agent.locator('[data-testid="pop"]')
    expect(pop).to_be_visible(timeout=TIMEOUT)
    expect(agent.locator('[data-testid="pop-caller"]')).to_have_text("13800000001")
    expect(agent.locator('[data-testid="pop-customer"]')).to_contain_text("赵国强", timeout=TIMEOUT)
    expect(agent.locator('[data-testid="pop-category"]')).to_have_text("电费查询")
    # the record popped in the customer panel before the answer
    expect(agent.locator('[data-testid="cust-name"]')).to_have_text("赵国强")
    assert agent.locator('[data-testid="state"]').get_attribute("data-state") != "on_call"
    both_languages(agent, "screen-pop")

    agent.click('[data-testid="btn-answer"]')  # the server calls the phone, which auto-answers
    expect(agent.locator('[data-testid="oncall"]')).to_be_visible(timeout=TIMEOUT)
    expect(agent.locator('[data-testid="state"]')).to_have_attribute("data-state", "on_call")
    expect(agent.locator('[data-testid="call-caller"]')).to_have_text("13800000001")
    both_languages(agent, "on-call")
    # hold and resume from the page (the call-control API; the caller hears music meanwhile)
    agent.click('[data-testid="btn-hold"]')
    expect(agent.locator('[data-testid="oncall"]')).to_contain_text("已保持", timeout=10_000)
    agent.click('[data-testid="btn-hold"]')
    expect(agent.locator('[data-testid="oncall"]')).to_contain_text("通话中", timeout=10_000)

    # a complaint ticket from the call, dispatched to 城北抢修班 at once
    agent.click('[data-testid="oncall"] ~ .controls [data-testid="btn-call-ticket"]')
    form = agent.locator('[data-testid="tk-form"]')
    expect(form).to_be_visible()
    expect(form).to_contain_text("赵国强")
    form.locator('[data-testid="tf-title"]').fill("抢修后仍频繁停电")
    form.locator('[data-testid="tf-category"]').select_option("outage")
    form.locator('[data-testid="tf-priority"]').select_option("high")
    form.locator('[data-testid="tf-description"]').fill("客户反映本周三次停电，要求尽快处理。")
    form.locator('[data-testid="tf-unit"]').select_option(label="城北抢修班")
    both_languages(agent, "ticket-new", settle=lambda: None)
    form.locator('[data-testid="tf-create"]').click()
    detail = agent.locator('[data-testid="tk-detail"]')
    expect(detail).to_be_visible()
    status = agent.locator('[data-testid="tk-detail-status"]')
    expect(status).to_have_attribute("data-status", "dispatched")
    expect(agent.locator('[data-testid="tk-unit"]')).to_have_text("城北抢修班")
    number = agent.locator('[data-testid="tk-number"]').inner_text()
    assert number.startswith("T")

    # the unit member, in a second browser, sees the ticket and starts work on it
    unit = desktops.open("zh")
    desktops.login(unit, "unit1")
    unit.wait_for_selector('body[data-ready="1"]')
    row = unit.locator(f'[data-testid="tk-row"][data-number="{number}"]')
    expect(row).to_be_visible()
    both_languages(unit, "unit-tickets")
    row.click()
    unit.click('[data-testid="tk-move-in_progress"]')
    expect(unit.locator('[data-testid="tk-detail-status"]')).to_have_attribute(
        "data-status", "in_progress")  # fmt: skip

    # ... and the agent sees it at once, without reloading
    expect(status).to_have_attribute("data-status", "in_progress", timeout=10_000)
    expect(agent.locator('[data-testid="tk-history"]')).to_contain_text("unit1")
    both_languages(agent, "ticket-detail")

    # the event stream drops; the unit member resolves the ticket meanwhile; the agent's page
    # reconnects, resumes from the last event it saw and shows the new status
    agent.evaluate("window.ccStream.drop()")
    unit.fill('[data-testid="tk-remark"]', "已更换故障开关")
    unit.click('[data-testid="tk-move-resolved"]')
    expect(unit.locator('[data-testid="tk-detail-status"]')).to_have_attribute(
        "data-status", "resolved")  # fmt: skip
    expect(status).to_have_attribute("data-status", "resolved", timeout=15_000)
    expect(agent.locator('[data-testid="conn"]')).to_have_attribute("data-status", "resync")

    # hang up from the page: the caller gets the BYE, the agent goes to wrap-up
    agent.click('[data-testid="btn-hangup"]')
    assert call.wait() == 0, center.last
    expect(agent.locator('[data-testid="wrapup"]')).to_be_visible(timeout=TIMEOUT)
    agent.select_option('[data-testid="wrap-code"]', "complaint")
    agent.fill('[data-testid="wrap-notes"]', "已建投诉单 " + number)
    both_languages(agent, "wrap-up")
    agent.click('[data-testid="wrap-save"]')
    expect(agent.locator('[data-testid="wrapup"]')).to_be_hidden()

    # what the pages showed is what the server stored
    http = api_as(center, "sup", "sup-demo")
    tickets = http.get("/api/v1/tickets", params={"q": number}).json()["items"]
    assert [(t["status"], t["unit"]["code"], t["customer_name"]) for t in tickets] == [
        ("resolved", "repair-north", "赵国强")]  # fmt: skip
    history = http.get(f"/api/v1/tickets/{tickets[0]['id']}").json()["history"]
    assert [(h["actor"], h["to_status"]) for h in history if h["action"] == "transition"] == [
        ("a1001", "dispatched"), ("unit1", "in_progress"), ("unit1", "resolved")]  # fmt: skip
    call_id = tickets[0]["call_id"]
    assert call_id
    cdr_calls = http.get(f"/api/v1/customers/{tickets[0]['customer_id']}/calls").json()
    mine = [c for c in cdr_calls if c["call_id"] == call_id]
    assert mine and mine[0]["agent_id"] == 1001 and mine[0]["outcome"] == "answered"

    # the customer record: the call is in its history, its recording plays in the page
    agent.click('[data-testid="tab-customers"]')
    agent.click('[data-testid="cust-tab-tickets"]')
    expect(agent.locator('[data-testid="cust-subpane"]')).to_contain_text(number)
    agent.click('[data-testid="cust-tab-calls"]')
    expect(agent.locator('[data-testid="call-row"]').first).to_be_visible()
    agent.locator('[data-testid="play-recording"]').first.click()
    src = agent.locator(".player audio").get_attribute("src")
    assert src is not None and call_id in src.replace("%40", "@")
    played = agent.request.get(f"{desktops.base}{src}")
    assert played.ok and played.headers["content-type"] == "audio/wav"
    assert played.body()[:4] == b"RIFF" and len(played.body()) > 8000
    both_languages(agent, "customer")


def test_unknown_caller_is_created_from_the_pop_form(center: Center, desktops: Desktops) -> None:
    agent = desktops.open("en")
    sign_in_agent(desktops, agent)
    phone(center, "8001")
    call = Caller(center, "7001", "13912345678", before_ms=500, hold_ms=60000)
    expect(agent.locator('[data-testid="pop"]')).to_be_visible(timeout=TIMEOUT)
    expect(agent.locator('[data-testid="pop-caller"]')).to_have_text("13912345678")
    expect(agent.locator('[data-testid="pop-unknown"]')).to_be_visible(timeout=TIMEOUT)
    form = agent.locator('[data-testid="cust-form"]')
    expect(form).to_be_visible()
    expect(form.locator('[data-testid="cf-from-call"]')).to_contain_text("13912345678")
    expect(form.locator('[data-testid="cf-phones"]')).to_have_value("13912345678")
    # a bad account number and ID number get clear messages and create nothing
    form.locator('[data-testid="cf-account_no"]').fill("12")
    form.locator('[data-testid="cf-name"]').fill("马晓东")
    form.locator('[data-testid="cf-id_number"]').fill("1234")
    form.locator('[data-testid="cf-save"]').click()
    expect(form.locator('[data-testid="cf-account_no-error"]')).to_contain_text("4-32")
    expect(form.locator('[data-testid="cf-id_number-error"]')).not_to_be_empty()
    both_languages(agent, "new-customer-from-pop")
    # an account number that exists already: the server's refusal is shown on the field
    form.locator('[data-testid="cf-account_no"]').fill("3100000001")
    form.locator('[data-testid="cf-id_number"]').fill("")
    form.locator('[data-testid="cf-save"]').click()
    expect(form.locator('[data-testid="cf-account_no-error"]')).to_contain_text("3100000001")
    form.locator('[data-testid="cf-account_no"]').fill("3300000042")
    form.locator('[data-testid="cf-address"]').fill("北京市通州区新华大街 5 号")
    form.locator('[data-testid="cf-save"]').click()
    expect(agent.locator('[data-testid="cust-name"]')).to_have_text("马晓东")
    expect(agent.locator('[data-testid="pop-customer"]')).to_contain_text("马晓东")

    # answer and hang up with the keyboard shortcuts
    agent.keyboard.press("Alt+A")
    expect(agent.locator('[data-testid="oncall"]')).to_be_visible(timeout=TIMEOUT)
    agent.keyboard.press("Alt+H")
    expect(agent.locator('[data-testid="wrapup"]')).to_be_visible(timeout=TIMEOUT)
    assert call.wait() == 0, center.last
    shot(agent, "after-call", "en")

    http = api_as(center, "a1001", "demo1001")
    found = http.get("/api/v1/customers", params={"phone": "13912345678"}).json()["items"]
    assert [(c["name"], c["account_no"], c["address"]) for c in found] == [
        ("马晓东", "3300000042", "北京市通州区新华大街 5 号")]  # fmt: skip
    assert http.get("/api/v1/customers").json()["total"] == 6  # the 5 demo customers + 1
    # busy and ready from the keyboard (after the wrap-up)
    agent.click('[data-testid="btn-end-wrapup"]')
    expect(agent.locator('[data-testid="state"]')).to_have_attribute("data-state", "ready")
    agent.keyboard.press("Alt+B")
    expect(agent.locator('[data-testid="state"]')).to_have_attribute("data-state", "busy")
    agent.keyboard.press("Alt+R")
    expect(agent.locator('[data-testid="state"]')).to_have_attribute("data-state", "ready")

    # edit the new record, then delete it: cancelled once, confirmed the second time
    agent.click('[data-testid="cust-edit"]')
    form = agent.locator('[data-testid="cust-form"]')
    form.locator('[data-testid="cf-phones"]').fill("13912345678, 010-1234")
    form.locator('[data-testid="cf-save"]').click()
    expect(form.locator('[data-testid="cf-phones-error"]')).to_contain_text("010-1234")
    form.locator('[data-testid="cf-phones"]').fill("13912345678, 01061234567")
    form.locator('[data-testid="cf-save"]').click()
    expect(agent.locator('[data-testid="cust-detail"]')).to_contain_text("01061234567")
    agent.click('[data-testid="cust-delete"]')
    expect(agent.locator(".modal")).to_contain_text("马晓东")
    shot(agent, "delete-confirm", "en")
    agent.click('[data-testid="confirm-cancel"]')
    expect(agent.locator('[data-testid="cust-detail"]')).to_be_visible()
    agent.click('[data-testid="cust-delete"]')
    agent.click('[data-testid="confirm-ok"]')
    expect(agent.locator('[data-testid="cust-detail"]')).to_be_hidden()
    assert http.get("/api/v1/customers", params={"phone": "13912345678"}).json()["total"] == 0
