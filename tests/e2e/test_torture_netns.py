"""The RFC 4475 torture corpus against the running server, inside an isolated namespace.

The messages name foreign hosts, so they are only ever sent inside a network namespace this
test creates (`unshare -n`), to a server started in it; the server answers each at its source
address and still answers OPTIONS afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.protocol.sip.test_torture import EXPECTED, TORTURE

from .conftest import need

pytestmark = pytest.mark.e2e
HERE = Path(__file__).resolve().parent


def test_torture_corpus_in_namespace(tmp_path: Path) -> None:
    unshare = need("unshare")
    need("ip")
    proc = subprocess.run(
        [unshare, "-n", "--", sys.executable, str(HERE / "netns_torture_driver.py"),
         str(TORTURE), str(tmp_path)],
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(results["_rc"]) == {0} and not results["_traceback"], results["_log_tail"]
    for answers in results["_options"]:  # every server still answers OPTIONS afterwards
        assert any(line.startswith("SIP/2.0 200") for line in answers)
    for name, expected in EXPECTED.items():
        finals = [s for s in results[name] if s >= 200]
        if expected is None:
            assert results[name] == [], name
        elif expected == "call":
            assert finals == [404], (name, results[name])  # no route for these numbers
        elif expected == "app":
            assert len(finals) == 1 and 400 <= finals[0] < 500, (name, results[name])
        else:
            assert finals == [expected], (name, results[name])
