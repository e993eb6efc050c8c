"""Hot-desking with the real server: agent 1001 logs in through the API at the demo's plain
phone 8100 (not its own 8001); a caller in the billing queue rings 8100 (a SIPp phone), whose
INVITE names agent 1001; after logout the seat is free again."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from . import sipp
from .server import free_port, start_server
from .test_inbound import OPEN_DIALPLAN, prepare

pytestmark = pytest.mark.e2e


def test_calls_ring_the_seat_the_agent_logged_in_at(tmp_path: Path) -> None:
    server = start_server(tmp_path, prepare(tmp_path, OPEN_DIALPLAN))
    procs = []
    try:
        port = free_port()
        xml = tmp_path / "phone-8100.xml"
        xml.write_text(sipp.agent_scenario("8100", free_port(), expect=("X-CC-Agent: 1001",),
                                           talk_ms=1000))  # fmt: skip
        phone = sipp.start(["-sf", str(xml), "-i", "127.0.0.1", "-p", str(port), "-m", "1"],
                           tmp_path, "phone-8100")  # fmt: skip
        procs.append(phone)
        time.sleep(0.3)
        reg = sipp.register(server.sip_port, "8100", "sip-8100", port, tmp_path)
        assert reg.rc == 0, reg.text
        api = f"http://127.0.0.1:{server.web_port}/api/v1"
        r = httpx.post(f"{api}/auth/login", json={"username": "a1001", "password": "demo1001"})
        agent = {"Authorization": f"Bearer {r.json()['token']}"}
        r = httpx.post(f"{api}/agent/login", json={"agent_id": "1001", "seat": "8100"},
                       headers=agent)  # fmt: skip
        assert r.status_code == 200 and r.json()["seat"] == "8100", r.text
        caller = tmp_path / "caller.xml"
        caller.write_text(sipp.caller_scenario(before_ms=300, hold_ms=15000))
        csv = tmp_path / "caller.csv"
        csv.write_text("SEQUENTIAL\n13800000001\n")
        result = sipp.run(["-sf", str(caller), "-inf", str(csv), "-s", "7001",
                           f"127.0.0.1:{server.sip_port}", "-m", "1", "-i", "127.0.0.1",
                           "-p", "0", "-timeout", "60", "-timeout_error"], tmp_path)  # fmt: skip
        assert result.rc == 0, result.text
        phone.wait(timeout=30)
        assert phone.returncode == 0, (tmp_path / "phone-8100.screen").read_text()
        assert "call.offered" in server.log_text()
        offered = [ln for ln in server.log_text().splitlines() if "call.offered" in ln]
        assert "agent_id=1001" in offered[0] and "extension=8100" in offered[0], offered
        r = httpx.post(f"{api}/agent/logout", headers=agent)
        assert r.status_code == 200 and r.json()["logged_in"] is False
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        assert server.stop() == 0
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]
