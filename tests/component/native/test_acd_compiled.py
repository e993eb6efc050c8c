"""The ACD unit tests once more, on the mypyc-compiled core (``make`` builds it into
build/mypyc; callcenter/_compiled.py loads it). ``make test``'s unit run itself uses the Python
sources, so both forms of the core pass the same tests, Hypothesis state machines included; and
the two forms print the same trace of thousands of random commands (acd_trace.py)."""

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


def _need_build() -> None:
    if not (_compiled.BUILD / "manifest.json").exists():
        # `make` builds it wherever gcc and mypyc are; under CI the build is required
        assert shutil.which("gcc") is None and os.environ.get("CI") != "true", (
            "gcc is here but build/mypyc is not built"
        )
        pytest.skip("no C compiler: the ACD core runs interpreted")
    manifest = json.loads((_compiled.BUILD / "manifest.json").read_text(encoding="utf-8"))
    assert "callcenter.acd.engine" in manifest["modules"]


def _env(compiled: bool) -> dict[str, str]:
    env = {**os.environ, "CALLCENTER_EXPECT_ACD_COMPILED": "1" if compiled else "0"}
    env.pop("CALLCENTER_NATIVE", None)
    if compiled:
        env.pop("CALLCENTER_ACD_COMPILED", None)
    else:
        env["CALLCENTER_ACD_COMPILED"] = "0"
    return env


def test_both_forms_print_the_same_trace() -> None:
    _need_build()
    traces = []
    for compiled in (False, True):
        run = subprocess.run(
            [sys.executable, "-m", "tests.component.native.acd_trace", "150", "300"],
            check=True, cwd=ROOT, env=_env(compiled), capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        header, _, body = run.stdout.partition("\n")
        assert header == f"# compiled={compiled}"
        traces.append(body)
    python, compiled_trace = traces
    assert python.count("OfferToAgent(") > 1000 and "candidates=(ScoredCandidate(" in python
    if python != compiled_trace:  # the first line that differs, not a 50,000-line diff
        first = next(
            (a, b)
            for a, b in zip(python.splitlines(), compiled_trace.splitlines(), strict=False)
            if a != b
        )
        pytest.fail(f"the compiled core differs from the Python sources:\n{first[0]}\n{first[1]}")


def test_the_unit_tests_pass_on_the_compiled_core() -> None:
    _need_build()
    env = _env(compiled=True)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/acd"],
        check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " skipped" not in run.stdout.splitlines()[-1]
