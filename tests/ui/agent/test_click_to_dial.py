"""Click-to-dial from a customer record on the agent desktop (issue 8), end to end: the page
calls ``POST /agent/call/dial``; the server rings the agent's own SIPp phone first (auto-answer
headers, the customer's number as caller), and once it answers calls the customer's number
through a trunk to a SIPp carrier; the page follows the call (calling your phone -> ringing
the customer -> talking), both sides hear each other, the agent hangs up from the page and
codes the wrap-up; the CDR and the events say the same. Failed dials show their reason on
the page: phone offline, a malformed number, not signed in."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e import sipp
from tests.e2e.rtp_peer import RtpPeer
from tests.e2e.server import free_port
from tests.e2e.test_call_control import hears, recent, settle, share
from tests.e2e.test_inbound import Center, wait_for

from .conftest import Desktops, both_languages, phone, shot
from .test_agent_desktop import TIMEOUT, api_as, sign_in_agent

pytestmark = pytest.mark.e2e
AGENT_HZ, CUSTOMER_HZ = 1000.0, 700.0
NUMBER = "13800000001"  # 赵国强's phone (demo data)
# the page's call box through its phases, as rendered (a MutationObserver in the page)
WATCH_PHASES = """() => {
  window.phases = [];
  const note = () => {
    const node = document.querySelector('[data-testid="oncall"]');
    const phase = node && node.dataset.phase;
    if (phase && window.phases[window.phases.length - 1] !== phase) window.phases.push(phase);
  };
  new MutationObserver(note).observe(document.body, { subtree: true, childList: true });
}"""


def carrier(center: Center) -> tuple[RtpPeer, int]:
    """A SIPp carrier on a free port answering one call to NUMBER after ringing 2.5 s (the
    test's RTP peers only send once they have received: the agent's learns the server's
    address from the ringback it hears meanwhile)."""
    media = center.peer(CUSTOMER_HZ)
    port = free_port()
    xml = center.tmp / "carrier.xml"
    xml.write_text(sipp.agent_scenario("carrier", media.port, answer_after_ms=2500,
                                       expect=(f"INVITE sip:{NUMBER}@",)))  # fmt: skip
    proc = sipp.start(["-sf", str(xml), "-i", "127.0.0.1", "-p", str(port), "-m", "1"],
                      center.tmp, "carrier")  # fmt: skip
    center.procs.append(proc)
    time.sleep(0.3)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else "carrier SIPp exited"
    return media, port


def heard(peer: RtpPeer, hz: float, what: str) -> None:
    try:
        settle(lambda: hears(peer, hz), timeout=20)
    except AssertionError:
        got, packets = recent(peer, 1.5), list(peer.received)
        last = time.monotonic() - packets[-1][0] if packets else None
        raise AssertionError(f"not met: {what} ({len(got)} samples in the last 1.5 s, "
                             f"{share(got, hz):.3f} of them at {hz} Hz; {len(packets)} packets "
                             f"in all, the last {last} s ago)") from None  # fmt: skip


def open_customer(page: Page, phone_number: str) -> None:
    page.click('[data-testid="tab-customers"]')
    page.select_option('[data-testid="cust-key"]', "phone")
    page.fill('[data-testid="cust-query"]', phone_number)
    page.click('[data-testid="cust-search"]')
    page.locator('[data-testid="cust-row"]').first.click()
    expect(page.locator('[data-testid="cust-detail"]')).to_be_visible()


def test_click_to_dial_a_customer_from_the_record(center: Center, desktops: Desktops) -> None:
    admin = api_as(center, "admin", "admin-demo")
    media, port = carrier(center)
    r = admin.post("/api/v1/admin/trunks", json={"name": "carrier", "host": "127.0.0.1",
                                                 "port": port})  # fmt: skip
    assert r.status_code == 201, r.text
    agent = desktops.open("zh")
    sign_in_agent(desktops, agent)
    open_customer(agent, NUMBER)
    expect(agent.locator('[data-testid="cust-name"]')).to_have_text("赵国强")
    dial_button = agent.locator('[data-testid="dial-phone"]').first

    # the agent's phone is not registered yet: the reason shows on the page, nothing is placed
    dial_button.click()
    error = agent.locator('[data-testid="dial-error"]')
    expect(error).to_contain_text("话机未注册", timeout=TIMEOUT)
    expect(error).to_contain_text(NUMBER)
    both_languages(agent, "dial-error")
    # a malformed number typed in the dial box: refused with a clear message
    agent.fill('[data-testid="dial-target"]', "138 0000")
    agent.click('[data-testid="btn-dial"]')
    expect(error).to_contain_text("号码格式不正确")

    agent_phone = phone(center, "8001", answer_after_ms=1500, hz=AGENT_HZ, expect=(
        "Call-Info: <sip:[^>]+>;answer-after=0", f"From: <sip:{NUMBER}@"))  # fmt: skip
    agent.evaluate(WATCH_PHASES)
    dial_button.click()
    expect(error).to_be_hidden()
    oncall = agent.locator('[data-testid="oncall"]')
    expect(oncall).to_be_visible(timeout=TIMEOUT)
    expect(agent.locator('[data-testid="call-caller"]')).to_have_text(NUMBER)
    expect(oncall).to_have_attribute("data-phase", "talking", timeout=TIMEOUT)
    expect(agent.locator('[data-testid="call-phase"]')).to_have_text(f"与 {NUMBER} 通话中")
    expect(agent.locator('[data-testid="state"]')).to_have_attribute("data-state", "on_call")
    call_id = oncall.get_attribute("data-call-id")
    assert call_id
    heard(agent_phone, CUSTOMER_HZ, "the agent hears the customer")
    heard(media, AGENT_HZ, "the customer hears the agent")
    both_languages(agent, "click-to-dial")
    phases = agent.evaluate("window.phases")
    # our phone first, then the customer rings, then talking (in order; a phase may be brief)
    assert phases[0] == "calling_me" and phases[-1] == "talking", phases
    assert phases == [p for p in ("calling_me", "ringing", "talking") if p in phases], phases

    # hang up from the page: both phones get the BYE; the agent codes the wrap-up
    agent.click('[data-testid="btn-hangup"]')
    expect(agent.locator('[data-testid="wrapup"]')).to_be_visible(timeout=TIMEOUT)
    for proc in center.procs:
        assert proc.wait(timeout=30) == 0, proc.args
    agent.select_option('[data-testid="wrap-code"]', "billing")
    agent.fill('[data-testid="wrap-notes"]', "回访：电费已结清")
    agent.click('[data-testid="wrap-save"]')
    expect(agent.locator('[data-testid="wrapup"]')).to_be_hidden()

    # what the page showed is what the server stored
    http = api_as(center, "a1001", "demo1001")
    customer = agent.locator('[data-testid="cust-detail"]').get_attribute("data-id")

    def stored() -> list[dict[str, Any]]:
        calls = http.get(f"/api/v1/customers/{customer}/calls").json()
        return [c for c in calls if c["call_id"] == call_id and c["outcome"]]

    wait_for(stored)  # closed on the storage thread just after the BYEs
    (cdr,) = stored()
    assert (cdr["direction"], cdr["caller"], cdr["called"], cdr["outcome"]) == (
        "outbound", "8001", NUMBER, "answered")  # fmt: skip
    assert cdr["business_category"] == "billing" and cdr["talk_seconds"] > 0
    (rec,) = [c for c in center.cdrs() if c.call_id == call_id]
    mine, theirs = rec.legs
    assert (mine.peer, mine.disposition, theirs.peer, theirs.disposition) == (
        "8001", "answered", NUMBER, "answered")  # fmt: skip
    assert mine.answer_time is not None and theirs.start_time >= mine.answer_time  # phone first
    kinds = [e["type"] for e in events_of(http, call_id)]
    for kind in ("InternalCallStarted", "CallBridged", "HangUpRequested", "CallClosed"):
        assert kind in kinds, kinds
    # the call is in the record's history on the page
    agent.click('[data-testid="cust-tab-calls"]')
    expect(agent.locator(f'[data-testid="call-row"][data-call-id="{call_id}"]')).to_be_visible()

    # signed out (here by the API): the page refuses to dial and says why
    http.post("/api/v1/agent/wrapup/end")  # 409 when the wrap-up time is already over
    expect(agent.locator('[data-testid="state"]')).to_have_attribute("data-state", "ready")
    assert http.post("/api/v1/agent/logout").status_code == 200
    expect(agent.locator('[data-testid="call-panel"]')).to_contain_text(
        "签入后可接听来电", timeout=TIMEOUT
    )
    dial_button.click()
    expect(error).to_contain_text("请先签入座席再外呼")
    shot(agent, "dial-not-signed-in", "zh")


def events_of(http: httpx.Client, call_id: str) -> list[dict[str, object]]:
    since, out = 0, []
    while True:
        page = http.get("/api/v1/events", params={"since": since, "limit": 1000}).json()
        out += [e for e in page["items"] if e["call_id"] == call_id]
        if page["next_since"] == since:
            return out
        since = page["next_since"]
