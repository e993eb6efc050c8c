"""The ACD unit tests once more, on the mypyc-compiled core (``make`` builds it into
build/mypyc; callcenter/_compiled.py loads it). ``make test``'s unit run itself uses the Python
sources, so both forms of the core pass the same tests, Hypothesis state machines included."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from callcenter import _compiled

ROOT = Path(__file__).resolve().parents[3]


def test_the_unit_tests_pass_on_the_compiled_core() -> None:
    if not (_compiled.BUILD / "manifest.json").exists():
        # `make` builds it wherever gcc and mypyc are; under CI the build is required
        assert shutil.which("gcc") is None and os.environ.get("CI") != "true", (
            "gcc is here but build/mypyc is not built"
        )
        pytest.skip("no C compiler: the ACD core runs interpreted")
    manifest = json.loads((_compiled.BUILD / "manifest.json").read_text(encoding="utf-8"))
    assert "callcenter.acd.engine" in manifest["modules"]
    env = {**os.environ, "CALLCENTER_EXPECT_ACD_COMPILED": "1"}
    env.pop("CALLCENTER_ACD_COMPILED", None)
    env.pop("CALLCENTER_NATIVE", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/acd"],
        check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " skipped" not in run.stdout.splitlines()[-1]
