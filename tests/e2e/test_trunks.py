"""Carrier trunks against the real server: SIPp plays the carrier.

- outbound: an IVR transfer to an external number goes out through the trunk, answering the
  carrier's digest challenge, and the two calls are bridged;
- registration: a trunk with ``register`` registers to the carrier with digest auth;
- inbound: with unknown callers refused, a call from the trunk's IP is accepted and a call
  from another address gets 403.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from callcenter.storage import demo
from callcenter.storage.db import database_url
from callcenter.storage.store import Storage

from . import sipp
from .rtp_peer import RtpPeer, dominant_hz
from .server import free_port, start_server

pytestmark = pytest.mark.e2e

CHALLENGE = ('WWW-Authenticate: Digest realm="carrier.example", nonce="4b3c2a1f9e8d7c6b", '
             'algorithm=MD5, qop="auth"')  # fmt: skip

DIALPLAN = """
default: {hangup: no_route}
rules:
  - {name: out, did: ["7100"], flow: to_carrier}
  - {name: hotline, did: ["95598"], flow: demo_main}
"""
FLOW = """
name: to_carrier
version: 1
start: hello
nodes:
  - {id: hello, type: play, prompt: 正在为您转接。, next: out}
  - {id: out, type: transfer, to: external, target: "13900001234", trunk: carrier}
"""


def _reply(status: str, extra: str = "", body: str = "", tag: bool = True) -> str:
    to_tag = ";tag=[pid]carrier[call_number]" if tag else ""
    ctype = "      Content-Type: application/sdp\n" if body else ""
    return f"""  <send>
    <![CDATA[
      SIP/2.0 {status}
      [last_Via:]
      [last_From:]
      [last_To:]{to_tag}
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:carrier@[local_ip]:[local_port]>
{extra}{ctype}      Content-Length: [len]

{body}    ]]>
  </send>"""


def carrier_invite_scenario(rtp_port: int) -> str:
    verify = ('<action><verifyauth assign_to="authok" username="trunkuser" '
              'password="trunkpass" /></action>')  # fmt: skip
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8" ?>', '<scenario name="carrier">',
        '  <recv request="INVITE" />',
        _reply("401 Unauthorized", f"      {CHALLENGE}\n"),
        '  <recv request="ACK" />',
        f'  <recv request="INVITE">{verify}</recv>',
        '  <nop test="authok" next="good" />',
        '  <nop><action><exec int_cmd="stop_now" /></action></nop>',
        '  <label id="good" />',
        _reply("180 Ringing"),
        _reply("200 OK", body=sipp.sdp(rtp_port)),
        '  <recv request="ACK" />',
        '  <recv request="BYE" />',
        _reply("200 OK", tag=False),
        "</scenario>",
    ]) + "\n"  # fmt: skip


def carrier_register_scenario() -> str:
    verify = ('<action><verifyauth assign_to="authok" username="trunkuser" '
              'password="trunkpass" /></action>')  # fmt: skip
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8" ?>', '<scenario name="registrar">',
        '  <recv request="REGISTER" />',
        _reply("401 Unauthorized", f"      {CHALLENGE}\n"),
        f'  <recv request="REGISTER">{verify}</recv>',
        '  <nop test="authok" next="good" />',
        '  <nop><action><exec int_cmd="stop_now" /></action></nop>',
        '  <label id="good" />',
        _reply("200 OK", "      Expires: 120\n"),
        "</scenario>",
    ]) + "\n"  # fmt: skip


def seed(tmp: Path, carrier_port: int, registrar_port: int, inbound_ip: str) -> dict[str, str]:
    data_dir = tmp / "var"
    data_dir.mkdir(parents=True)
    store = Storage.open(database_url("", data_dir))
    now = datetime.now(UTC)
    try:
        demo.seed(store, "callcenter.local", now)
        out = store.trunks.create("carrier", "127.0.0.1", now, port=carrier_port,
                                  inbound_ips=[inbound_ip])  # fmt: skip
        store.trunks.set_auth(out.id, "trunkuser", "carrier.example", "trunkpass")
        reg = store.trunks.create("carrier-reg", "127.0.0.1", now, port=registrar_port,
                                  register=True)  # fmt: skip
        store.trunks.set_auth(reg.id, "trunkuser", "carrier.example", "trunkpass")
    finally:
        store.close()
    flows = tmp / "flows"
    flows.mkdir()
    (flows / "to_carrier.yaml").write_text(FLOW)
    (tmp / "dialplan.yaml").write_text(DIALPLAN)
    return {
        "CALLCENTER__IVR__DIALPLAN": str(tmp / "dialplan.yaml"),
        "CALLCENTER__IVR__FLOWS_DIR": str(flows),
        "CALLCENTER__SIP__ALLOW_UNKNOWN_CALLERS": "false",
    }


def test_trunks(tmp_path: Path) -> None:
    carrier_port, registrar_port = free_port(), free_port()
    carrier_media = RtpPeer(1500.0)
    caller_media = RtpPeer(440.0)
    (tmp_path / "carrier.xml").write_text(carrier_invite_scenario(carrier_media.port))
    (tmp_path / "registrar.xml").write_text(carrier_register_scenario())
    carrier = sipp.start(["-sf", str(tmp_path / "carrier.xml"), "-i", "127.0.0.1", "-p",
                          str(carrier_port), "-m", "1"], tmp_path, "carrier")  # fmt: skip
    registrar = sipp.start(["-sf", str(tmp_path / "registrar.xml"), "-i", "127.0.0.1", "-p",
                            str(registrar_port), "-m", "1"], tmp_path, "registrar")  # fmt: skip
    time.sleep(0.3)
    env = seed(tmp_path, carrier_port, registrar_port, inbound_ip="127.0.0.2")
    server = start_server(tmp_path, env)
    try:
        registrar.wait(timeout=20)
        assert registrar.returncode == 0, (tmp_path / "registrar.screen").read_text()
        deadline = time.monotonic() + 10
        while "state=registered" not in server.log_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "trunk.registration trunk=carrier-reg state=registered" in server.log_text()

        # inbound from the trunk's IP (127.0.0.2) is accepted; from elsewhere refused
        xml = tmp_path / "caller.xml"
        xml.write_text(sipp.caller_scenario(rtp_port=caller_media.port, before_ms=300,
                                            hold_ms=6000))  # fmt: skip
        csv = tmp_path / "caller.csv"
        csv.write_text("SEQUENTIAL\n13800000009\n")
        common = ["-sf", str(xml), "-inf", str(csv), f"127.0.0.1:{server.sip_port}", "-m", "1",
                  "-p", "0", "-timeout", "30", "-timeout_error"]  # fmt: skip
        refused = sipp.run([*common, "-s", "95598", "-i", "127.0.0.3"], tmp_path)
        assert refused.rc != 0 and "403" in (tmp_path / "screen-0.err").read_text()

        # accepted, through the IVR, out through the trunk with digest auth, bridged
        result = sipp.run([*common, "-s", "7100", "-i", "127.0.0.2"], tmp_path)
        assert result.rc == 0, result.text
        carrier.wait(timeout=20)
        assert carrier.returncode == 0, (tmp_path / "carrier.screen").read_text()
        assert dominant_hz(caller_media.heard(last_seconds=2)) == pytest.approx(1500, abs=15)
        assert dominant_hz(carrier_media.heard(last_seconds=2)) == pytest.approx(440, abs=15)
        assert "trunkpass" not in server.log_text()
    finally:
        for proc in (carrier, registrar):
            if proc.poll() is None:
                proc.kill()
        carrier_media.close()
        caller_media.close()
        assert server.stop() == 0
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]
