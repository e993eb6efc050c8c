"""Start the real `callcenter serve` process for end-to-end tests and stop it cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                t.bind(("127.0.0.1", port))
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port")


@dataclass
class Server:
    proc: subprocess.Popen[str]
    sip_port: int
    web_port: int
    data_dir: Path
    lines: list[str] = field(default_factory=list)

    def log_text(self) -> str:
        return "".join(self.lines)

    def wait_log(self, text: str, timeout: float = 20.0) -> str:
        """The log once it contains ``text`` (the reader thread may lag behind the server)."""
        deadline = time.monotonic() + timeout
        while text not in self.log_text():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{text!r} not logged in {timeout} s:\n{self.log_text()[-3000:]}"
                )
            time.sleep(0.05)
        return self.log_text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_server(
    tmp: Path,
    env: dict[str, str] | None = None,
    prefix: list[str] | None = None,
    bind: str = "127.0.0.1",
    sip_port: int | None = None,
) -> Server:
    """Start the server; a port taken between choosing it and binding it means a retry."""
    for attempt in range(3):
        try:
            return _start_server(tmp, env, prefix, bind, sip_port)
        except PortTaken:
            if sip_port is not None or attempt == 2:
                raise
    raise AssertionError("unreachable")


class PortTaken(RuntimeError):
    pass


def _start_server(
    tmp: Path,
    env: dict[str, str] | None = None,
    prefix: list[str] | None = None,
    bind: str = "127.0.0.1",
    sip_port: int | None = None,
) -> Server:
    sip_port = sip_port or free_port()
    web_port = free_port(socket.SOCK_STREAM)
    data_dir = tmp / "var"
    full_env = dict(os.environ)
    full_env.update(
        {
            "CALLCENTER__SERVER__DATA_DIR": str(data_dir),
            "CALLCENTER__SERVER__LOG_LEVEL": "info",
            "CALLCENTER__SIP__PORT": str(sip_port),
            "CALLCENTER__SIP__BIND": bind,
            "CALLCENTER__WEB__PORT": str(web_port),
            "CALLCENTER__WEB__HOST": "127.0.0.1",
            # below the ephemeral range (32768+) that free_port() and the peers draw from
            "CALLCENTER__RTP__PORT_MIN": "20000",
            "CALLCENTER__RTP__PORT_MAX": "29999",
        }
    )
    full_env.update(env or {})
    cmd = [*(prefix or []), sys.executable, "-m", "callcenter", "serve"]
    proc = subprocess.Popen(cmd, env=full_env, stderr=subprocess.PIPE, text=True)
    server = Server(proc, sip_port, web_port, data_dir)
    started = threading.Event()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            server.lines.append(line)
            if "server.started" in line:
                started.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 30
    while not started.wait(0.1):
        if proc.poll() is not None or time.monotonic() > deadline:
            server.stop()
            if "Address already in use" in server.log_text():
                raise PortTaken(server.log_text())
            raise RuntimeError("server did not start:\n" + server.log_text())
    return server
