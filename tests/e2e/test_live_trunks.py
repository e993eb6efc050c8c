"""Trunks changed through the admin API apply live in the real server: SIPp plays the carrier's
registrar. Giving a registering trunk its credentials starts its registration (digest auth);
deleting the trunk removes the binding (REGISTER with Expires 0) — no restart."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from . import sipp
from .server import free_port, start_server
from .test_trunks import CHALLENGE, _reply

pytestmark = pytest.mark.e2e


def registrar_scenario() -> str:
    verify = ('<action><verifyauth assign_to="authok" username="trunkuser" '
              'password="trunkpass" /></action>')  # fmt: skip
    unregister = ('<action><ereg regexp="[Ee]xpires: *0[^0-9]" search_in="msg" check_it="true" '
                  'assign_to="gone" /></action>')  # fmt: skip
    return "\n".join([
        '<?xml version="1.0" encoding="UTF-8" ?>', '<scenario name="registrar">',
        '  <recv request="REGISTER" />',
        _reply("401 Unauthorized", f"      {CHALLENGE}\n"),
        f'  <recv request="REGISTER">{verify}</recv>',
        '  <nop test="authok" next="good" />',
        '  <nop><action><exec int_cmd="stop_now" /></action></nop>',
        '  <label id="good" />',
        _reply("200 OK", "      Expires: 120\n"),
        f'  <recv request="REGISTER" timeout="30000">{unregister}</recv>',
        '  <nop><action><log message="unregistered: [$gone]" /></action></nop>',
        _reply("200 OK", "      Expires: 0\n"),
        "</scenario>",
    ]) + "\n"  # fmt: skip


def wait_log(server: object, text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.log_text():  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, f"{text!r} not logged:\n" + "".join(
            line
            for line in server.log_text().splitlines(True)
            if "trunk" in line  # type: ignore[attr-defined]
        )
        time.sleep(0.1)


def test_trunk_registration_starts_and_stops_live(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "registrar.xml").write_text(registrar_scenario())
    registrar = sipp.start(["-sf", str(tmp_path / "registrar.xml"), "-i", "127.0.0.1", "-p",
                            str(port), "-m", "1"], tmp_path, "registrar")  # fmt: skip
    server = start_server(tmp_path)
    api = f"http://127.0.0.1:{server.web_port}/api/v1"
    try:
        r = httpx.post(f"{api}/auth/login", json={"username": "admin", "password": "admin-demo"})
        admin = {"Authorization": f"Bearer {r.json()['token']}"}
        body = {"name": "carrier-live", "host": "127.0.0.1", "port": port, "register": True}
        r = httpx.post(f"{api}/admin/trunks", json=body, headers=admin)
        assert r.status_code == 201, r.text
        trunk_id = r.json()["id"]
        wait_log(server, "trunk.loaded trunk=carrier-live")
        assert "trunk=carrier-live state=" not in server.log_text()  # no credentials yet
        auth = {"username": "trunkuser", "realm": "carrier.example", "password": "trunkpass"}
        r = httpx.put(f"{api}/admin/trunks/{trunk_id}/auth", json=auth, headers=admin)
        assert r.status_code == 200, r.text
        wait_log(server, "trunk.registration trunk=carrier-live state=registered")
        r = httpx.delete(f"{api}/admin/trunks/{trunk_id}", headers=admin)
        assert r.status_code == 200, r.text
        wait_log(server, "trunk.removed trunk=carrier-live")
        registrar.wait(timeout=30)
        assert registrar.returncode == 0, (tmp_path / "registrar.screen").read_text()
        assert "trunkpass" not in server.log_text()
    finally:
        if registrar.poll() is None:
            registrar.kill()
        assert server.stop() == 0
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]
