"""Call control and supervisor operations on real calls (issue 7): SIPp callers, SIPp agent
and supervisor phones registered with digest auth, each party's media a test-owned RTP socket
sending its own tone, so every check is on the audio path: who hears whom.

Tones: caller 440 Hz, agent 1001 (ext 8001) 1000 Hz, agent 1002 (ext 8002) 1200 Hz, the
supervisor (1009, ext 8009) 1500 Hz.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

import httpx
import numpy as np
import pytest

from callcenter.rtp.g711 import ulaw_to_pcm16

from . import sipp
from .rtp_peer import RtpPeer, rms
from .test_inbound import Center, center, wait_for

__all__ = ["center"]  # the fixture: the real server seeded with the demo

pytestmark = pytest.mark.e2e
CALLER, A1, A2, SUP = 440.0, 1000.0, 1200.0, 1500.0


def share(samples: np.ndarray, hz: float) -> float:
    """The share of the signal's energy within 25 Hz of ``hz`` (0..1)."""
    if len(samples) < 1600:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / 8000.0)
    total = float(spectrum[freqs > 50].sum())
    band = float(spectrum[(freqs > hz - 25) & (freqs < hz + 25)].sum())
    return band / total if total > 0 else 0.0


def recent(peer: RtpPeer, seconds: float) -> np.ndarray:
    """What ``peer`` received in the last ``seconds`` (nothing when nothing arrived)."""
    cut = time.monotonic() - seconds
    chunks = [p for at, p in list(peer.received) if at >= cut]
    if not chunks:
        return np.zeros(0)
    return np.frombuffer(b"".join(ulaw_to_pcm16(p) for p in chunks), dtype="<i2").astype(float)


def hears(peer: RtpPeer, hz: float, seconds: float = 1.5) -> bool:
    return share(recent(peer, seconds), hz) > 0.05


def settle(check: Any, timeout: float = 10.0) -> None:
    """Audio checks look at the last 1.5 s: wait until what each party hears settles (the
    machine may be loaded); fail when it never does."""
    wait_for(check, timeout=timeout)


class Api:
    def __init__(self, center: Center, username: str, password: str) -> None:
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{center.server.web_port}")
        r = self.http.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        self.http.headers["Authorization"] = f"Bearer {r.json()['token']}"

    def post(self, path: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
        r = self.http.post(path, json=body or {})
        assert r.status_code == status, (path, r.status_code, r.text)
        return r.json()

    def get(self, path: str) -> Any:
        r = self.http.get(path)
        assert r.status_code == 200, (path, r.text)
        return r.json()


def caller(center: Center, number: str = "7001", hold_ms: int = 60000) -> tuple[RtpPeer, Any]:
    """A SIPp caller in the background: it stays ``hold_ms`` unless the server hangs up."""
    media = center.peer(CALLER)
    xml = center.tmp / f"caller-{len(center.peers)}.xml"
    xml.write_text(sipp.caller_scenario(rtp_port=media.port, before_ms=500, hold_ms=hold_ms))
    csv = center.tmp / f"caller-{len(center.peers)}.csv"
    csv.write_text("SEQUENTIAL\n13800000009\n")
    proc = sipp.start(["-sf", str(xml), "-inf", str(csv), "-s", number,
                       f"127.0.0.1:{center.server.sip_port}", "-m", "1", "-i", "127.0.0.1",
                       "-p", "0", "-timeout", "120", "-timeout_error"],
                      center.tmp, f"caller-{len(center.peers)}")  # fmt: skip
    center.procs.append(proc)
    return media, proc


def ended(proc: subprocess.Popen[str], timeout: float = 30) -> int:
    return proc.wait(timeout=timeout)


def bridged_call(center: Center, agent: Api) -> str:
    wait_for(lambda: "call.bridged" in center.server.log_text(), timeout=20)
    time.sleep(1.5)
    return str(agent.get("/api/v1/agent/call")["call_id"])


def state(api: Api) -> dict[str, Any]:
    return dict(api.get("/api/v1/agent/state"))


def test_hold_then_blind_transfer_to_another_agent(center: Center) -> None:
    a1 = center.agent("8001", hz=A1)
    a2 = center.agent("8002", hz=A2)
    api1, api2 = Api(center, "a1001", "demo1001"), Api(center, "a1002", "demo1002")
    api2.post("/api/v1/agent/busy", {"reason": "break"})  # so the queue offers 1001 first
    media, proc = caller(center)
    call_id = bridged_call(center, api1)
    settle(lambda: hears(media, A1) and hears(a1, CALLER))
    # hold: the caller hears music on hold, not the agent; the agent no longer hears the caller
    held = api1.post("/api/v1/agent/call/hold")
    assert held["held"] is True
    api1.post("/api/v1/agent/call/hold", status=409)  # already held: refused, nothing changes
    time.sleep(2)
    settle(lambda: not hears(media, A1) and rms(recent(media, 1)) > 100)
    settle(lambda: not hears(a1, CALLER))
    api1.post("/api/v1/agent/call/unhold")
    time.sleep(1.5)
    settle(lambda: hears(media, A1) and hears(a1, CALLER))
    # blind transfer to agent 1002: refused while 1002 is busy, then done when ready
    bad = api1.post("/api/v1/agent/call/transfer", {"kind": "agent", "target": "1002"}, 409)
    assert bad["error"]["code"] == "agent_not_available"
    api2.post("/api/v1/agent/ready")
    api1.post("/api/v1/agent/call/transfer", {"kind": "agent", "target": "1002"})
    wait_for(lambda: state(api2)["activity"] == "on_call", timeout=15)
    assert state(api1)["activity"] in ("wrap_up", "idle")
    time.sleep(1.5)
    settle(lambda: hears(media, A2) and hears(a2, CALLER) and not hears(media, A1))
    api2.post("/api/v1/agent/hangup")
    assert ended(proc) == 0
    wait_for(lambda: any(c.outcome for c in center.cdrs()))
    (cdr,) = center.cdrs()
    assert cdr.call_id == call_id and cdr.outcome == "answered" and cdr.agent_id == 1002
    assert cdr.hold_seconds >= 1.5
    agents = [(leg.peer, leg.disposition) for leg in cdr.legs if leg.role == "agent"]
    assert agents == [("8001", "answered"), ("8002", "answered")]
    assert "CallTransferred" in events(center)


def test_play_voice_string_releases_the_agent_then_hangs_up(center: Center) -> None:
    center.agent("8001", hz=A1)
    api = Api(center, "a1001", "demo1001")
    api.post("/api/v1/agent/call/play-string", {"text": "x"}, 409)  # no call: refused
    media, proc = caller(center)
    bridged_call(center, api)
    api.post("/api/v1/agent/call/play-string", {"text": "您的电费已缴清，谢谢。"})
    # the agent is already back with the ACD while the caller still listens
    assert state(api)["activity"] in ("wrap_up", "idle")
    before = len(media.received)
    assert ended(proc, timeout=60) == 0  # the server hung up the caller after the text
    spoken = media.heard()[before * 160 :]
    assert len(spoken) > 8000 * 2 and rms(spoken) > 300 and share(spoken, A1) < 0.05
    log = center.server.log_text()
    assert "voice string played" in log
    assert log.index("cause=transferred") < log.index("voice string played")


def test_record_on_demand_fails_on_hook_and_records_in_a_call(center: Center) -> None:
    center.agent("8001", hz=A1)
    api = Api(center, "a1001", "demo1001")
    bad = api.post("/api/v1/agent/call/record", {"name": "card-1"}, 409)
    assert bad["error"]["code"] == "not_on_call"
    _, proc = caller(center)
    bridged_call(center, api)
    out = api.post("/api/v1/agent/call/record", {"name": "card-1"})
    assert out["recording"] == "card-1"
    api.post("/api/v1/agent/call/record", {"name": "card-2"}, 409)
    time.sleep(1)
    api.post("/api/v1/agent/call/record/pause")
    time.sleep(1.5)
    api.post("/api/v1/agent/call/record/resume")
    time.sleep(1)
    api.post("/api/v1/agent/hangup")
    assert ended(proc) == 0
    path = center.server.data_dir / "recordings" / "named" / "card-1.wav"
    wait_for(lambda: path.exists() and path.stat().st_size > 44)
    wait_for(lambda: "RecordingStopped" in events(center))
    seconds = (path.stat().st_size - 44) / (8000 * 2 * 2)
    assert 1.5 < seconds < 3.2, seconds  # ~2 s recorded; the paused 1.5 s are left out


def events(center: Center) -> str:
    from callcenter.storage.db import database_url
    from callcenter.storage.store import Storage

    store = Storage.open(database_url("", center.server.data_dir), migrate=False)
    try:
        return " ".join(e.type for e in store.events.since(0, 5000))
    finally:
        store.close()


def test_monitor_whisper_barge_then_leave(center: Center) -> None:
    agent = center.agent("8001", hz=A1)
    sup_media = center.agent("8009", hz=SUP)  # the supervisor's phone answers by itself
    sup = Api(center, "sup", "sup-demo")
    api = Api(center, "a1001", "demo1001")
    sup.post("/api/v1/agent/busy", {"reason": "supervising"})  # the queue must not ring 8009
    media, proc = caller(center)
    call_id = bridged_call(center, api)
    base = f"/api/v1/supervisor/calls/{call_id}"
    out = sup.post(f"{base}/monitor", {"record": True})
    assert out["mode"] == "monitor"
    wait_for(lambda: hears(sup_media, CALLER) and hears(sup_media, A1), timeout=10)
    time.sleep(1.5)
    # monitor: the supervisor hears both; neither hears the supervisor
    settle(lambda: hears(sup_media, CALLER) and hears(sup_media, A1))
    settle(lambda: not hears(media, SUP) and not hears(agent, SUP))
    settle(lambda: hears(media, A1) and hears(agent, CALLER))
    # whisper: the agent hears the supervisor, the caller does not
    sup.post(f"{base}/whisper")
    time.sleep(2)
    settle(lambda: hears(agent, SUP) and hears(agent, CALLER))
    settle(lambda: not hears(media, SUP) and hears(media, A1))
    # barge: everyone hears everyone
    sup.post(f"{base}/barge")
    time.sleep(2)
    settle(lambda: hears(media, SUP) and hears(media, A1))
    settle(lambda: hears(agent, SUP) and hears(agent, CALLER))
    settle(lambda: hears(sup_media, CALLER) and hears(sup_media, A1))
    # another supervisor cannot join; agents cannot supervise at all
    api.post(f"{base}/monitor", {}, 403)
    sup.post(f"{base}/leave")
    time.sleep(2)
    settle(lambda: hears(media, A1) and hears(agent, CALLER) and not hears(media, SUP))
    api.post("/api/v1/agent/hangup")
    assert ended(proc) == 0
    monitored = list((center.server.data_dir / "recordings" / "monitor").rglob("*.wav"))
    assert len(monitored) == 1 and monitored[0].stat().st_size > 44 + 8000 * 4
    wait_for(lambda: "SupervisionEnded" in events(center))
    kinds = events(center)
    for kind in ("SupervisionStarted", "SupervisionModeChanged", "SupervisionEnded"):
        assert kind in kinds


def test_intercept_takes_the_call_and_force_release_ends_it(center: Center) -> None:
    agent = center.agent("8001", hz=A1)
    sup_media = center.agent("8009", hz=SUP)
    sup = Api(center, "sup", "sup-demo")
    api = Api(center, "a1001", "demo1001")
    sup.post("/api/v1/agent/busy", {"reason": "supervising"})
    media, proc = caller(center)
    call_id = bridged_call(center, api)
    base = f"/api/v1/supervisor/calls/{call_id}"
    sup.post(f"{base}/intercept")
    wait_for(lambda: state(api)["activity"] in ("wrap_up", "idle"), timeout=15)
    time.sleep(2)
    settle(lambda: hears(media, SUP) and hears(sup_media, CALLER) and not hears(media, A1))
    settle(lambda: not hears(agent, CALLER, seconds=1))
    sup.post(f"{base}/release")
    assert ended(proc) == 0
    wait_for(lambda: any(c.outcome for c in center.cdrs()))
    (cdr,) = center.cdrs()
    roles = [(leg.role, leg.disposition) for leg in cdr.legs]
    assert ("agent", "answered") in roles and ("supervisor", "answered") in roles
    kinds = events(center)
    assert "CallIntercepted" in kinds and "CallForceReleased" in kinds


def test_consult_then_three_way_then_agent_leaves(center: Center) -> None:
    a1 = center.agent("8001", hz=A1)
    a2 = center.agent("8002", hz=A2)
    api1, api2 = Api(center, "a1001", "demo1001"), Api(center, "a1002", "demo1002")
    api2.post("/api/v1/agent/busy", {"reason": "break"})
    media, proc = caller(center)
    bridged_call(center, api1)
    api2.post("/api/v1/agent/ready")
    out = api1.post("/api/v1/agent/call/consult", {"kind": "agent", "target": "1002"})
    assert out["held"] is True
    wait_for(lambda: api1.get("/api/v1/agent/call")["consult"]["state"] == "talking")
    time.sleep(1.5)
    # consult: the two agents talk; the caller hears music, not them
    settle(lambda: hears(a1, A2) and hears(a2, A1))
    settle(lambda: not hears(media, A1) and not hears(media, A2))
    api1.post("/api/v1/agent/call/consult/conference")
    time.sleep(2)
    settle(lambda: hears(media, A1) and hears(media, A2))
    settle(lambda: hears(a1, CALLER) and hears(a2, CALLER))
    # the first agent hangs up: the caller stays with the second (transfer by hang-up)
    api1.post("/api/v1/agent/hangup")
    wait_for(lambda: state(api1)["activity"] in ("wrap_up", "idle"))
    time.sleep(2)
    assert proc.poll() is None
    settle(lambda: hears(media, A2) and hears(a2, CALLER))
    assert state(api2)["activity"] == "on_call"
    api2.post("/api/v1/agent/hangup")
    assert ended(proc) == 0
    wait_for(lambda: any(c.outcome for c in center.cdrs()))
    (cdr,) = center.cdrs()
    assert cdr.agent_id == 1002
    assert "ConferenceStarted" in events(center)


def test_internal_call_from_the_desktop(center: Center) -> None:
    a1 = center.agent("8001", hz=A1, answer_after_ms=3000)  # the agent's own phone rings 3 s
    a2 = center.agent("8002", hz=A2)
    api1, api2 = Api(center, "a1001", "demo1001"), Api(center, "a1002", "demo1002")
    bad = api1.post("/api/v1/agent/call/dial", {"target": "1001"}, 422)
    assert bad["error"]["code"] == "self_call"
    out = api1.post("/api/v1/agent/call/dial", {"target": "1002"})
    # while its own phone rings the agent is reserved: the queues offer it nothing meanwhile
    assert state(api1)["activity"] == "reserved"
    wait_for(lambda: state(api2)["activity"] == "on_call", timeout=15)
    assert state(api1)["activity"] == "on_call"
    time.sleep(1.5)
    settle(lambda: hears(a1, A2) and hears(a2, A1))
    api1.post("/api/v1/agent/hangup")
    wait_for(lambda: state(api2)["activity"] != "on_call")
    wait_for(lambda: any(c.outcome for c in center.cdrs()))
    (cdr,) = center.cdrs()
    assert cdr.call_id == out["call_id"] and cdr.direction == "internal"
    assert cdr.outcome == "answered" and cdr.caller == "8001" and cdr.called == "1002"
    assert [(leg.peer, leg.disposition) for leg in cdr.legs] == [
        ("8001", "answered"), ("8002", "answered")]  # fmt: skip
    assert "InternalCallStarted" in events(center)


def test_supervising_an_internal_call(center: Center) -> None:
    """内部呼叫 between agents 1001 (the agent, who placed it) and 1002: monitor, whisper, barge,
    leave, then intercept (1001 released to wrap-up, the supervisor talks to 1002) and force
    release - the same rules as on a customer call."""
    a1 = center.agent("8001", hz=A1)
    a2 = center.agent("8002", hz=A2)
    sup_media = center.agent("8009", hz=SUP, count=2)  # monitor, then intercept
    sup = Api(center, "sup", "sup-demo")
    api1, api2 = Api(center, "a1001", "demo1001"), Api(center, "a1002", "demo1002")
    sup.post("/api/v1/agent/busy", {"reason": "supervising"})
    out = api1.post("/api/v1/agent/call/dial", {"target": "1002"})
    base = f"/api/v1/supervisor/calls/{out['call_id']}"
    wait_for(lambda: state(api2)["activity"] == "on_call", timeout=15)
    time.sleep(1.5)
    settle(lambda: hears(a1, A2) and hears(a2, A1))
    sup.post(f"{base}/monitor", {"record": True}, 422)  # not offered on internal calls
    assert sup.post(f"{base}/monitor")["mode"] == "monitor"
    time.sleep(1.5)
    settle(lambda: hears(sup_media, A1) and hears(sup_media, A2))
    settle(lambda: not hears(a1, SUP) and not hears(a2, SUP) and hears(a1, A2) and hears(a2, A1))
    sup.post(f"{base}/whisper")  # the agent (1001, who placed the call) hears the supervisor
    time.sleep(2)
    settle(lambda: hears(a1, SUP) and hears(a1, A2) and not hears(a2, SUP))
    sup.post(f"{base}/barge")
    time.sleep(2)
    settle(lambda: hears(a1, SUP) and hears(a2, SUP) and hears(sup_media, A1))
    sup.post(f"{base}/leave")
    time.sleep(2)
    settle(lambda: hears(a1, A2) and hears(a2, A1) and not hears(a2, SUP))
    # intercept: 1001 is released to wrap-up, the supervisor talks with 1002
    sup_media.remote = None  # the phone's second call: its audio follows the new endpoint
    got = sup.post(f"{base}/intercept")
    wait_for(lambda: state(api1)["activity"] in ("wrap_up", "idle"), timeout=15)
    assert sup.get(base)["mode"] == "intercept"
    time.sleep(2)
    settle(lambda: hears(a2, SUP) and hears(sup_media, A2) and not hears(a2, A1))
    assert got["call_id"] == out["call_id"]
    sup.post(f"{base}/release")
    wait_for(lambda: state(api2)["activity"] != "on_call", timeout=15)
    wait_for(lambda: any(c.outcome for c in center.cdrs()))
    (cdr,) = center.cdrs()
    assert cdr.direction == "internal" and cdr.outcome == "answered"
    peers = [(leg.peer, leg.role, leg.disposition) for leg in cdr.legs]
    assert peers[:2] == [("8001", "agent", "answered"), ("8002", "agent", "answered")], peers
    assert [p for p in peers[2:] if p[0] == "8009"] and all(p[1] == "supervisor" for p in peers[2:])
    kinds = events(center)
    for kind in ("SupervisionStarted", "SupervisionModeChanged", "SupervisionEnded",
                 "CallIntercepted", "CallForceReleased"):  # fmt: skip
        assert kind in kinds, kinds


def test_desktop_answer_mode_rings_the_phone_on_click(center: Center) -> None:
    agent = center.agent("8001", hz=A1, expect=("Call-Info: <sip:[^>]+>;answer-after=0",))
    api = Api(center, "a1001", "demo1001")
    api.post("/api/v1/agent/logout")
    api.post("/api/v1/agent/login", {"agent_id": "1001", "seat": "8001",
                                     "answer_mode": "desktop"})  # fmt: skip
    media, proc = caller(center)
    wait_for(lambda: "CallOffered" in events(center), timeout=15)
    time.sleep(1.5)
    assert state(api)["activity"] in ("reserved", "ringing")
    assert not agent.received and "call.bridged" not in center.server.log_text()
    api.post("/api/v1/agent/answer")
    wait_for(lambda: "call.bridged" in center.server.log_text(), timeout=15)
    time.sleep(1.5)
    settle(lambda: hears(media, A1) and hears(agent, CALLER))
    api.post("/api/v1/agent/hangup")
    assert ended(proc) == 0


def test_phone_refer_transfers_the_caller_to_a_queue(center: Center) -> None:
    # agent 1001's phone answers, talks 2 s, then REFERs the caller to agent 1002.
    center.agent("8001", hz=A1, talk_ms=2000, refer_to="1002")
    a2 = center.agent("8002", hz=A2)
    api1, api2 = Api(center, "a1001", "demo1001"), Api(center, "a1002", "demo1002")
    api2.post("/api/v1/agent/busy", {"reason": "break"})
    media, proc = caller(center)
    wait_for(lambda: "call.bridged" in center.server.log_text(), timeout=20)
    api2.post("/api/v1/agent/ready")
    wait_for(lambda: state(api2)["activity"] == "on_call", timeout=20)
    assert state(api1)["activity"] in ("wrap_up", "idle")
    time.sleep(1.5)
    settle(lambda: hears(media, A2) and hears(a2, CALLER))
    center.procs[0].wait(timeout=20)  # the REFERing phone got NOTIFY 200, then our BYE
    screen = (center.tmp / "agent-8001.screen").read_text()
    assert sipp.parse_screen(screen) == (1, 0), screen
    api2.post("/api/v1/agent/hangup")
    assert ended(proc) == 0
    assert "CallTransferred" in events(center)
