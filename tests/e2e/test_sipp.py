"""SIPp's built-in `uac` scenario against the real server: thousands of calls, 0 failures."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import need
from .server import Server

pytestmark = pytest.mark.e2e


def run_sipp(server: Server, tmp: Path, *args: str, calls: int, rate: int) -> dict[str, int]:
    sipp = need("sipp")
    screen = tmp / "screen.txt"
    cmd = [
        sipp, "-sn", "uac", f"127.0.0.1:{server.sip_port}", "-s", "9196",
        "-m", str(calls), "-r", str(rate), "-l", "200", "-nostdin",
        "-trace_screen", "-screen_file", str(screen), "-timeout", "120", "-timeout_error",
        "-i", "127.0.0.1", "-p", "0", *args,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=tmp, check=False)
    text = screen.read_text() if screen.exists() else proc.stdout + proc.stderr
    ok = re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", text)
    failed = re.search(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", text)
    assert ok and failed, text
    return {"rc": proc.returncode, "ok": int(ok.group(1)), "failed": int(failed.group(1))}


def test_sipp_uac_udp_thousands_of_calls(server: Server, tmp_path: Path) -> None:
    result = run_sipp(server, tmp_path, calls=2000, rate=200)
    assert result == {"rc": 0, "ok": 2000, "failed": 0}


def test_sipp_uac_tcp(server: Server, tmp_path: Path) -> None:
    result = run_sipp(server, tmp_path, "-t", "t1", calls=1000, rate=200)
    assert result == {"rc": 0, "ok": 1000, "failed": 0}


def test_unknown_number_is_404(server: Server, tmp_path: Path) -> None:
    sipp = need("sipp")
    proc = subprocess.run(
        [sipp, "-sn", "uac", f"127.0.0.1:{server.sip_port}", "-s", "55555", "-m", "1",
         "-nostdin", "-timeout", "20", "-timeout_error", "-i", "127.0.0.1", "-p", "0",
         "-trace_err", "-error_file", str(tmp_path / "err.log")],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert proc.returncode != 0  # the uac scenario expects 200; it got something else
    assert "SIP/2.0 404" in (tmp_path / "err.log").read_text()


def test_session_timer_ends_unrefreshed_call(tmp_path: Path) -> None:
    """RFC 4028: the caller asked for a 3 s session and never refreshes: the server BYEs."""
    from . import sipp as helpers
    from .server import start_server

    server = start_server(tmp_path, {"CALLCENTER__SIP__MIN_SESSION_EXPIRES": "2"})
    try:
        xml = tmp_path / "st.xml"
        xml.write_text(helpers.caller_scenario(hold_ms=10000, expect_bye=True,
                                               invite_headers=("Session-Expires: 3",
                                                               "Supported: timer")))  # fmt: skip
        csv = tmp_path / "st.csv"
        csv.write_text("SEQUENTIAL\n8100\n")
        common = ["-inf", str(csv), "-s", "9196", f"127.0.0.1:{server.sip_port}", "-m", "1",
                  "-i", "127.0.0.1", "-p", "0", "-timeout", "30", "-timeout_error"]  # fmt: skip
        result = helpers.run(["-sf", str(xml), *common], tmp_path)
        assert result.rc == 0, result.text
        server.wait_log("call.session_expired")
        short = tmp_path / "short.xml"
        short.write_text(helpers.caller_scenario(invite_headers=("Session-Expires: 1",)))
        refused = helpers.run(["-sf", str(short), *common], tmp_path)
        assert refused.rc != 0
        assert "422" in next(tmp_path.glob("screen-1.err")).read_text()
    finally:
        assert server.stop() == 0


def test_overload_sheds_new_calls_with_503(tmp_path: Path) -> None:
    """With room for one call, a second INVITE gets 503 + Retry-After; the first goes on."""
    from . import sipp as helpers
    from .server import start_server

    server = start_server(tmp_path, {"CALLCENTER__SIP__MAX_CALLS": "1"})
    try:
        csv = tmp_path / "c.csv"
        csv.write_text("SEQUENTIAL\n8100\n")
        long_call = tmp_path / "long.xml"
        long_call.write_text(helpers.caller_scenario(before_ms=0, hold_ms=6000))
        common = ["-inf", str(csv), "-s", "9196", f"127.0.0.1:{server.sip_port}", "-m", "1",
                  "-i", "127.0.0.1", "-p", "0", "-timeout", "30", "-timeout_error"]  # fmt: skip
        first = helpers.start(["-sf", str(long_call), *common], tmp_path, "first")
        server.wait_log("call.confirmed")
        second = helpers.run(["-sf", str(long_call), *common], tmp_path)
        assert second.rc != 0
        err = next(tmp_path.glob("screen-*.err")).read_text()
        assert "SIP/2.0 503" in err and "Retry-After: 5" in err
        server.wait_log("call.shed")
        assert first.wait(timeout=30) == 0  # the call already up was not disturbed
    finally:
        assert server.stop() == 0


def _invite_with_replaces(server: Server, replaces: str) -> str:
    """Send one INVITE carrying ``Replaces`` over UDP; the final response's status line."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        port = sock.getsockname()[1]
        msg = (
            f"INVITE sip:9196@127.0.0.1:{server.sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-repl-{port};rport\r\n"
            f"From: <sip:pickup@127.0.0.1>;tag=p{port}\r\nTo: <sip:9196@127.0.0.1>\r\n"
            f"Call-ID: repl-{port}@127.0.0.1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"
            f"Contact: <sip:pickup@127.0.0.1:{port}>\r\nReplaces: {replaces}\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        sock.sendto(msg.encode(), ("127.0.0.1", server.sip_port))
        while True:
            first = sock.recv(65535).split(b"\r\n", 1)[0].decode()
            if not first.startswith("SIP/2.0 1"):
                return first


def test_invite_with_replaces_naming_no_dialog_is_481_and_malformed_400(server: Server) -> None:
    """RFC 3891 §3: a Replaces naming no dialog gets 481; a malformed one 400; the server
    goes on answering calls."""
    assert _invite_with_replaces(server, "nosuch@x;to-tag=1;from-tag=2").startswith("SIP/2.0 481")
    assert _invite_with_replaces(server, "nosuch@x;to-tag=1").startswith("SIP/2.0 400")
    assert "call.rejected" in server.log_text()
