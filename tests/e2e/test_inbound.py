"""Inbound calls end to end against the real server: SIPp callers and SIPp agent phones
registered with digest auth; the media of both parties is a test-owned RTP socket, so the
audio path is checked in both directions (issue 5).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callcenter.storage import demo
from callcenter.storage.db import database_url
from callcenter.storage.repos.calls import CdrRecord
from callcenter.storage.store import Storage

from . import sipp
from .rtp_peer import RtpPeer, dominant_hz, rms
from .server import Server, free_port, start_server

pytestmark = pytest.mark.e2e

OPEN_DIALPLAN = """
default: {hangup: no_route}
rules:
  - {name: hotline, did: ["95598"], flow: demo_main}
  - {name: billing-direct, did: ["7001"], queue: billing}
"""


def closed_dialplan() -> str:
    """Today (and the days around it, in the office's zone) are public holidays."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    days = ", ".join(str(today + timedelta(days=d)) for d in (-1, 0, 1))
    return f"""
hours:
  office:
    tz: Asia/Shanghai
    windows:
      - {{days: mon-sun, from: "00:00", to: "24:00"}}
holidays:
  dates: [{days}]
default: {{hangup: no_route}}
rules:
  - {{name: closed, did: ["95598"], hours: office, when: holiday, flow: demo_after_hours}}
  - {{name: open, did: ["95598"], hours: office, when: open, flow: demo_main}}
"""


@dataclass
class Center:
    server: Server
    tmp: Path
    peers: list[RtpPeer] = field(default_factory=list)
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    last: sipp.SippResult | None = None

    def peer(self, hz: float) -> RtpPeer:
        p = RtpPeer(hz)
        self.peers.append(p)
        return p

    def agent(self, ext: str, hz: float, calls: str = "answer", count: int = 1,
              expect: tuple[str, ...] = (), talk_ms: int | None = None,
              refer_to: str | None = None, answer_after_ms: int = 500) -> RtpPeer:  # fmt: skip
        """Register extension ``ext`` and start its phone (a SIPp UAS) on a free port."""
        media = self.peer(hz)
        port = free_port()
        xml = self.tmp / f"agent-{ext}.xml"
        xml.write_text(sipp.agent_scenario(ext, media.port, calls=calls, expect=expect,
                                           talk_ms=talk_ms, refer_to=refer_to,
                                           answer_after_ms=answer_after_ms))  # fmt: skip
        proc = sipp.start(["-sf", str(xml), "-i", "127.0.0.1", "-p", str(port),
                           "-m", str(count)], self.tmp, f"agent-{ext}")  # fmt: skip
        self.procs.append(proc)
        time.sleep(0.3)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "agent SIPp exited"
        reg = sipp.register(self.server.sip_port, ext, f"sip-{ext}", port, self.tmp)
        assert reg.rc == 0, reg.text
        wait_for(lambda: f"agent_id=1{ext[1:]} extension={ext}" in self.server.log_text())
        return media

    def call(self, number: str, caller: str, hz: float, **kw: object) -> tuple[RtpPeer, int]:
        """Place one SIPp call; returns the caller's media and SIPp's exit code (0: success)."""
        media = self.peer(hz)
        xml = self.tmp / f"caller-{len(self.peers)}.xml"
        xml.write_text(sipp.caller_scenario(rtp_port=media.port, **kw))  # type: ignore[arg-type]
        csv = self.tmp / f"caller-{len(self.peers)}.csv"
        csv.write_text(f"SEQUENTIAL\n{caller}\n")
        result = sipp.run(["-sf", str(xml), "-inf", str(csv), "-s", number,
                           f"127.0.0.1:{self.server.sip_port}", "-m", "1", "-i", "127.0.0.1",
                           "-p", "0", "-timeout", "90", "-timeout_error"], self.tmp)  # fmt: skip
        self.last = result
        return media, result.rc

    def cdrs(self) -> list[CdrRecord]:
        store = Storage.open(database_url("", self.server.data_dir), migrate=False)
        try:
            return store.cdrs.search(
                datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
            )
        finally:
            store.close()


def wait_for(pred: object, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def prepare(tmp: Path, dialplan: str, **queue_changes: object) -> dict[str, str]:
    """Seed the demo into the data directory first, then adjust the billing queue."""
    data_dir = tmp / "var"
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Storage.open(database_url("", data_dir))
    try:
        demo.seed(store, "callcenter.local", datetime.now(UTC))
        if queue_changes:
            rec = store.queues.get("billing")
            assert rec is not None
            store.queues.update("billing", replace(rec.settings, **queue_changes))  # type: ignore[arg-type]
    finally:
        store.close()
    plan = tmp / "dialplan.yaml"
    plan.write_text(dialplan)
    return {"CALLCENTER__IVR__DIALPLAN": str(plan)}


@pytest.fixture
def center(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Center]:
    params = getattr(request, "param", {})
    env = prepare(tmp_path, params.get("dialplan", OPEN_DIALPLAN), **params.get("queue", {}))
    server = start_server(tmp_path, env)
    c = Center(server, tmp_path)
    yield c
    for p in c.procs:
        p.kill()
        p.wait()
    for peer in c.peers:
        peer.close()
    rc = server.stop()
    (tmp_path / "server.log").write_text(server.log_text())  # kept for failure analysis
    assert rc == 0
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]


def test_ivr_to_queue_to_agent_audio_both_ways(center: Center) -> None:
    agent_media = center.agent("8001", hz=1000.0, talk_ms=3000)
    # "0": 人工服务 -> billing queue -> agent 8001 rings with the caller's number, answers,
    # talks 3 s and hangs up; the server then hangs up the caller.
    caller_media, rc = center.call("95598", "13800000001", hz=440.0, digits="0",
                                   before_ms=1500, hold_ms=60000, expect_bye=True)  # fmt: skip
    assert rc == 0, center.last
    log = center.server.wait_log("call.bridged")
    assert "agent_id=1001" in log
    assert dominant_hz(agent_media.heard(last_seconds=3)) == pytest.approx(440, abs=15)
    assert dominant_hz(caller_media.heard(last_seconds=3)) == pytest.approx(1000, abs=15)
    wait_for(lambda: 'cause="call ended"' in center.server.log_text())
    wait_for(lambda: any(c.outcome for c in center.cdrs()))
    cdr = center.cdrs()[0]
    assert cdr.outcome == "answered" and cdr.agent_id == 1001 and cdr.queue == "billing"
    assert cdr.caller == "13800000001" and cdr.called == "95598"
    assert cdr.talk_seconds > 3 and cdr.business_category == "billing"
    assert cdr.recording_id is not None
    legs = [(leg.role, leg.peer, leg.disposition) for leg in cdr.legs]
    assert legs[0][:2] == ("caller", "13800000001") and ("agent", "8001", "answered") in legs
    rec_files = list((center.server.data_dir / "recordings").rglob("*.wav"))
    assert len(rec_files) == 1 and rec_files[0].stat().st_size > 44 + 8000 * 4 * 2
    # after the call: wrap-up, then idle again
    wait_for(lambda: "activity=idle reason=\"\" cause=\"wrap-up ended\"" in center.server.log_text()
             or "cause=wrapup" in center.server.log_text(), timeout=20)  # fmt: skip


def test_agent_phone_shows_caller_category_and_customer(center: Center) -> None:
    # The agent's INVITE carries the caller's number, the IVR business category and the
    # customer found by the lookup (1 电费查询, 2 来电号码, then 0 人工服务).
    center.agent("8001", hz=1000.0, talk_ms=1000, expect=(
        'From: "13800000002" <sip:13800000002@', "X-CC-Category: billing",
        "X-CC-Customer: [0-9]+", "X-CC-Queue: billing"))  # fmt: skip
    _, rc = center.call("95598", "13800000002", hz=440.0, digits="120", before_ms=1200,
                        between_ms=1500, hold_ms=60000, expect_bye=True)  # fmt: skip
    assert rc == 0, center.last
    center.procs[0].wait(timeout=30)
    screen = (center.tmp / "agent-8001.screen").read_text()
    assert sipp.parse_screen(screen) == (1, 0), screen


@pytest.mark.parametrize("center", [{"queue": {"ring_timeout_seconds": 3}}], indirect=True)
def test_no_answer_goes_to_next_agent(center: Center) -> None:
    center.agent("8001", hz=1000.0, calls="no_answer")
    center.agent("8002", hz=1200.0, talk_ms=3000)
    caller_media, rc = center.call("7001", "13800000002", hz=440.0, before_ms=500,
                                   hold_ms=60000, expect_bye=True)  # fmt: skip
    assert rc == 0, center.last
    log = center.server.wait_log("call.bridged")
    first = log.index("call.offered")
    assert "agent_id=1001" in log[first : first + 300]
    assert "call.offer_withdrawn" in log
    assert "call.bridged call_id" in log
    bridged = log[log.index("call.bridged") :]
    assert "agent_id=1002" in bridged[:200]
    wait_for(lambda: any(c.outcome for c in center.cdrs()))
    legs = [(leg.role, leg.peer, leg.disposition) for leg in center.cdrs()[0].legs]
    assert ("agent", "8001", "cancelled") in legs and ("agent", "8002", "answered") in legs
    assert dominant_hz(caller_media.heard(last_seconds=3)) == pytest.approx(1200, abs=15)


def test_caller_abandons_while_queued(center: Center) -> None:
    center.agent("8001", hz=1000.0, calls="no_answer")
    _, rc = center.call("7001", "13800000003", hz=440.0, before_ms=500, hold_ms=2000)
    assert rc == 0
    wait_for(lambda: any(c.outcome for c in center.cdrs()))
    assert center.cdrs()[0].outcome == "abandoned"


# The ACD checks max wait when the caller is back in line: a ringing offer runs its course.
@pytest.mark.parametrize("center", [{"queue": {"max_wait_seconds": 2, "ring_timeout_seconds": 3,
                                               "overflow_destination": "voicemail:general"}}],
                         indirect=True)  # fmt: skip
def test_overflow_on_max_wait_to_voicemail(center: Center) -> None:
    center.agent("8001", hz=1000.0, calls="no_answer")
    _, rc = center.call("7001", "13800000004", hz=440.0, before_ms=500, hold_ms=12000)
    assert rc == 0
    log = center.server.wait_log("call.overflow")
    assert "reason=max_wait" in log
    wait_for(lambda: any(c.outcome for c in center.cdrs()))
    assert center.cdrs()[0].outcome in ("overflowed", "voicemail")
    assert list((center.server.data_dir / "voicemail").rglob("*.wav"))


def test_business_lookup_speaks_balance(center: Center) -> None:
    # 1 电费查询 -> 2 使用来电号码查询 -> "赵国强您好，您的电费余额为123.40元。"
    # After the balance the flow asks twice what next, then says goodbye and hangs up.
    caller_media, rc = center.call("95598", "13800000001", hz=440.0, digits="12",
                                   before_ms=1200, between_ms=1200, hold_ms=90000,
                                   expect_bye=True)  # fmt: skip
    assert rc == 0, center.last
    heard = caller_media.heard()
    assert rms(heard) > 300  # prompts were heard
    wait_for(lambda: any(c.outcome for c in center.cdrs()))
    cdr = center.cdrs()[0]
    assert "lookup_by_phone" in cdr.ivr_path and "say_balance" in cdr.ivr_path
    assert cdr.customer_id is not None


@pytest.mark.parametrize("center", [{"dialplan": closed_dialplan()}], indirect=True)
def test_after_hours_routing(center: Center) -> None:
    _, rc = center.call("95598", "13800000005", hz=440.0, before_ms=500, hold_ms=3000)
    assert rc == 0
    log = center.server.wait_log("destination=flow:demo_after_hours")
    assert "rule=closed" in log


def test_rfc4733_digits_drive_the_ivr(center: Center) -> None:
    """The caller's digit comes as RFC 4733 packets in the RTP stream, not as SIP INFO."""
    center.agent("8001", hz=1000.0, talk_ms=3000)
    media = center.peer(440.0)
    xml = center.tmp / "rtp-caller.xml"
    xml.write_text(sipp.caller_scenario(rtp_port=media.port, before_ms=0, hold_ms=60000,
                                        expect_bye=True))  # fmt: skip
    csv = center.tmp / "rtp-caller.csv"
    csv.write_text("SEQUENTIAL\n13800000006\n")
    proc = sipp.start(["-sf", str(xml), "-inf", str(csv), "-s", "95598",
                       f"127.0.0.1:{center.server.sip_port}", "-m", "1", "-i", "127.0.0.1",
                       "-p", "0"], center.tmp, "rtp-caller")  # fmt: skip
    wait_for(lambda: media.remote is not None)  # the greeting started: we know where to send
    time.sleep(1.0)
    media.press("0")  # 人工服务
    center.server.wait_log("call.bridged", timeout=30)
    proc.wait(timeout=60)
    assert proc.returncode == 0
    assert dominant_hz(media.heard(last_seconds=2)) == pytest.approx(1000, abs=15)
