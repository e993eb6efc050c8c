"""Pure cores never read the clock or the global RNG: ``now`` and ``random.Random`` come in.

import-linter forbids importing I/O modules; this AST check also catches ``import random`` used
as the global generator and ``datetime.now()`` style clock reads that a module import hides.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "callcenter"
PURE = ["core", "sip", "sdp", "rtp", "acd", "ivr", "dialplan", "metrics"]
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}
GLOBAL_RANDOM = {"random", "randint", "choice", "shuffle", "uniform", "randrange", "sample"}


def _files() -> list[Path]:
    return sorted(p for pkg in PURE for p in (SRC / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_clock_or_global_random(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else ""
            if name in {"datetime", "date", "time"}:
                assert node.func.attr not in FORBIDDEN_CALLS, f"{path}:{node.lineno} reads clock"
            if name == "random":
                assert node.func.attr not in GLOBAL_RANDOM, f"{path}:{node.lineno} global RNG"
