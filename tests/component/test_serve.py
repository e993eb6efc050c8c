"""The real `callcenter serve` process starts on its defaults and stops cleanly on SIGTERM."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_serve_stops_on_sigterm(tmp_path: Path) -> None:
    env = dict(os.environ)
    env.update(
        {
            "CALLCENTER__SERVER__DATA_DIR": str(tmp_path / "var"),
            "CALLCENTER__SIP__PORT": "25999",
            "CALLCENTER__SIP__BIND": "127.0.0.1",
            "CALLCENTER__WEB__PORT": "28999",
            "CALLCENTER__WEB__HOST": "127.0.0.1",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "callcenter", "serve"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 20
    lines = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        lines.append(line)
        if "server.started" in line:
            break
    else:
        proc.kill()
        raise AssertionError("server did not start: " + "".join(lines))
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "server.stopped" in err
