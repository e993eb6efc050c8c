"""The supervisor's call buttons in the console (headless Chromium) on a real call, with a real
supervisor phone: a SIPp caller talks to agent 1001's SIPp phone; the supervisor (1009, ext
8009, its own registered SIPp phone answering by itself) monitors, whispers, barges and leaves,
then intercepts and force-releases, from the wallboard and its session panel. Every party sends
its own tone and the checks are on the audio path, as in tests/e2e/test_call_control.py: who
hears whom. The page shows each result (toast), the session's mode and whether the
supervisor's phone is up; destructive operations ask first.

Tones: caller 440 Hz, agent 1001 1000 Hz, supervisor 1500 Hz.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_call_control import (
    A1,
    CALLER,
    SUP,
    Api,
    bridged_call,
    caller,
    ended,
    events,
    hears,
    settle,
    state,
)
from tests.e2e.test_inbound import Center, wait_for

from .conftest import Pages, shot

pytestmark = pytest.mark.e2e


def console(center: Center, pages: Pages) -> tuple[Page, Api, Api]:
    sup = Api(center, "sup", "sup-demo")
    sup.post("/api/v1/agent/busy", {"reason": "supervising"})  # the queue must not ring 8009
    return pages.open("sup", "/ui/supervisor/"), sup, Api(center, "a1001", "demo1001")


def toast(page: Page, text: str) -> None:
    expect(page.locator('[data-testid="toast"]', has_text=text).first).to_be_visible()


def test_monitor_whisper_barge_and_leave_from_the_console(center: Center, pages: Pages) -> None:
    agent = center.agent("8001", hz=A1)
    phone = center.agent("8009", hz=SUP)  # the supervisor's own phone
    page, sup, api = console(center, pages)
    media, proc = caller(center)
    call_id = bridged_call(center, api)
    row = page.locator('[data-testid="wb-agent-1001"]')
    expect(row.locator('[data-field="activity"]')).to_have_attribute("data-value", "on_call")
    panel = page.locator('[data-testid="sup-session"]')
    expect(panel).to_be_hidden()
    # monitor (监听), from the agent's row: the supervisor's phone rings, answers, hears both
    row.locator('[data-testid="act-monitor"]').click()
    toast(page, "监听：成功")
    expect(panel).to_be_visible()
    expect(panel).to_have_attribute("data-call", call_id)
    expect(panel).to_have_attribute("data-mode", "monitor")
    expect(panel).to_have_attribute("data-answered", "true", timeout=15000)
    expect(panel.locator('[data-testid="sess-phone"]')).to_have_text("话机已接通")
    settle(lambda: hears(phone, CALLER) and hears(phone, A1))
    settle(lambda: not hears(media, SUP) and not hears(agent, SUP))
    settle(lambda: hears(media, A1) and hears(agent, CALLER))
    shot(page, "supervisor-monitor", "zh")
    # whisper (密语), from the row again: only the agent hears the supervisor
    row.locator('[data-testid="act-whisper"]').click()
    toast(page, "密语：成功")
    expect(panel).to_have_attribute("data-mode", "whisper")
    expect(panel.locator('[data-testid="sess-mode"]')).to_contain_text("密语")
    settle(lambda: hears(agent, SUP) and hears(agent, CALLER))
    settle(lambda: not hears(media, SUP) and hears(media, A1))
    assert sup.get(f"/api/v1/supervisor/calls/{call_id}")["mode"] == "whisper"
    # barge (强插), from the session panel: all three hear each other
    panel.locator('[data-testid="sess-barge"]').click()
    toast(page, "强插：成功")
    expect(panel).to_have_attribute("data-mode", "barge")
    settle(lambda: hears(media, SUP) and hears(media, A1))
    settle(lambda: hears(agent, SUP) and hears(agent, CALLER))
    settle(lambda: hears(phone, CALLER) and hears(phone, A1))
    page.locator('[data-testid="lang-switch"]').first.click()
    expect(panel.locator('[data-testid="sess-mode"]')).to_contain_text("Barged into agent 1001")
    shot(page, "supervisor-barge", "en")
    page.locator('[data-testid="lang-switch"]').first.click()
    # leave (退出监听): the panel goes, the caller and the agent talk on without the supervisor
    panel.locator('[data-testid="sess-leave"]').click()
    toast(page, "退出监听：成功")
    expect(panel).to_be_hidden()
    settle(lambda: hears(media, A1) and hears(agent, CALLER) and not hears(media, SUP))
    settle(lambda: not hears(agent, SUP))
    assert sup.get(f"/api/v1/supervisor/calls/{call_id}")["mode"] is None
    api.post("/api/v1/agent/hangup")
    assert ended(proc) == 0
    wait_for(lambda: "SupervisionEnded" in events(center))
    kinds = events(center)
    assert all(k in kinds for k in ("SupervisionStarted", "SupervisionModeChanged"))


def test_intercept_and_force_release_ask_first_and_show_the_result(
    center: Center, pages: Pages
) -> None:
    agent = center.agent("8001", hz=A1)
    phone = center.agent("8009", hz=SUP)
    page, sup, api = console(center, pages)
    media, proc = caller(center)
    call_id = bridged_call(center, api)
    row = page.locator('[data-testid="wb-agent-1001"]')
    expect(row.locator('[data-field="activity"]')).to_have_attribute("data-value", "on_call")
    panel = page.locator('[data-testid="sup-session"]')
    dialog = page.locator('[role="dialog"]')
    # intercept (拦截) asks first; cancelled, nothing happens
    row.locator('[data-testid="act-intercept"]').click()
    expect(dialog).to_contain_text("确定拦截座席 1001 的通话吗")
    page.locator('[data-testid="confirm-cancel"]').click()
    expect(dialog).to_have_count(0)
    assert sup.get(f"/api/v1/supervisor/calls/{call_id}")["mode"] is None
    assert state(api)["activity"] == "on_call"
    # confirmed: the supervisor's phone takes the caller, the agent is released
    row.locator('[data-testid="act-intercept"]').click()
    page.locator('[data-testid="confirm-ok"]').click()
    toast(page, "拦截：成功")
    expect(panel).to_have_attribute("data-mode", "intercept")
    expect(panel).to_have_attribute("data-answered", "true", timeout=15000)
    expect(panel.locator('[data-testid="sess-mode"]')).to_contain_text("您正在与来电者通话")
    wait_for(lambda: state(api)["activity"] in ("wrap_up", "idle"), timeout=15)
    expect(row.locator('[data-field="activity"]')).not_to_have_attribute("data-value", "on_call")
    settle(lambda: hears(media, SUP) and hears(phone, CALLER) and not hears(media, A1))
    settle(lambda: not hears(agent, CALLER, seconds=1))
    shot(page, "supervisor-intercept", "zh")
    # force release (强拆) from the panel: asks, then the call ends and the panel goes
    assert [b.get_attribute("data-testid") for b in panel.locator("button").all()] == [
        "sess-release"
    ]
    panel.locator('[data-testid="sess-release"]').click()
    expect(dialog).to_contain_text("确定强制挂断")
    page.locator('[data-testid="confirm-ok"]').click()
    toast(page, "强拆：成功")
    expect(panel).to_be_hidden()
    assert ended(proc) == 0
    wait_for(lambda: any(c.outcome for c in center.cdrs()))
    (cdr,) = center.cdrs()
    roles = [(leg.role, leg.disposition) for leg in cdr.legs]
    assert ("agent", "answered") in roles and ("supervisor", "answered") in roles
    kinds = events(center)
    assert "CallIntercepted" in kinds and "CallForceReleased" in kinds
