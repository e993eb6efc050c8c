"""The loader of the mypyc-compiled ACD core (callcenter/_compiled.py): it is used only when
the build matches this Python and today's sources, and can be turned off."""

from __future__ import annotations

import hashlib
import json
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from callcenter import _compiled

SUFFIX = EXTENSION_SUFFIXES[0]


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A source tree with one module and a build of it (an empty file stands for the .so)."""
    src, build = tmp_path / "src", tmp_path / "build"
    (src / "callcenter" / "acd").mkdir(parents=True)
    (src / "callcenter" / "acd" / "engine.py").write_text("X = 1\n")
    (build / "callcenter" / "acd").mkdir(parents=True)
    (build / "callcenter" / "acd" / f"engine{SUFFIX}").write_bytes(b"")
    digest = hashlib.sha256(b"X = 1\n").hexdigest()
    manifest = {
        "suffix": SUFFIX,
        "modules": {"callcenter.acd.engine": f"callcenter/acd/engine{SUFFIX}"},
        "sources": {"callcenter/acd/engine.py": digest},
    }
    (build / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setattr(_compiled, "SRC", src)
    monkeypatch.setattr(_compiled, "BUILD", build)
    monkeypatch.setattr(_compiled, "_state", {"reason": "not checked yet"})
    monkeypatch.delenv("CALLCENTER_ACD_COMPILED", raising=False)
    monkeypatch.delenv("CALLCENTER_NATIVE", raising=False)
    # restored after the test; without this process's own finder (when it uses the build)
    others = [f for f in sys.meta_path if not isinstance(f, _compiled._Finder)]
    monkeypatch.setattr(sys, "meta_path", others)
    return src, build


def _finder() -> object | None:
    return next((f for f in sys.meta_path if isinstance(f, _compiled._Finder)), None)


def test_a_current_build_is_used(tree: tuple[Path, Path]) -> None:
    _, build = tree
    _compiled.install()
    assert _compiled.active() and _compiled.reason() == ""
    finder = _finder()
    assert isinstance(finder, _compiled._Finder)
    spec = finder.find_spec("callcenter.acd.engine")
    assert spec is not None and spec.origin == str(build / "callcenter/acd" / f"engine{SUFFIX}")
    assert finder.find_spec("callcenter.acd.events") is None  # not compiled: the .py is found


def test_an_edited_source_leaves_the_core_interpreted(tree: tuple[Path, Path]) -> None:
    src, _ = tree
    (src / "callcenter" / "acd" / "engine.py").write_text("X = 2\n")
    _compiled.install()
    assert not _compiled.active() and _finder() is None
    assert "callcenter/acd/engine.py changed" in _compiled.reason()


def test_a_removed_source_leaves_the_core_interpreted(tree: tuple[Path, Path]) -> None:
    src, _ = tree
    (src / "callcenter" / "acd" / "engine.py").unlink()
    _compiled.install()
    assert not _compiled.active() and "changed since the build" in _compiled.reason()


def test_a_build_for_another_python_is_not_used(tree: tuple[Path, Path]) -> None:
    _, build = tree
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["suffix"] = ".cpython-39-x86_64-linux-gnu.so"
    (build / "manifest.json").write_text(json.dumps(manifest))
    _compiled.install()
    assert not _compiled.active() and "built for .cpython-39" in _compiled.reason()


def test_a_manifest_without_sources_is_not_used(tree: tuple[Path, Path]) -> None:
    _, build = tree
    manifest = json.loads((build / "manifest.json").read_text())
    manifest["sources"] = {}
    (build / "manifest.json").write_text(json.dumps(manifest))
    _compiled.install()
    assert not _compiled.active() and "lists no sources" in _compiled.reason()


def test_a_missing_extension_is_not_used(tree: tuple[Path, Path]) -> None:
    _, build = tree
    (build / "callcenter" / "acd" / f"engine{SUFFIX}").unlink()
    _compiled.install()
    assert not _compiled.active() and "missing" in _compiled.reason()


@pytest.mark.parametrize("broken", [None, "{not json"])
def test_no_build_is_not_used(tree: tuple[Path, Path], broken: str | None) -> None:
    _, build = tree
    if broken is None:
        (build / "manifest.json").unlink()
    else:
        (build / "manifest.json").write_text(broken)
    _compiled.install()
    assert not _compiled.active() and "is not built" in _compiled.reason()


@pytest.mark.parametrize("variable", ["CALLCENTER_ACD_COMPILED", "CALLCENTER_NATIVE"])
def test_it_can_be_turned_off(
    tree: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "0")
    _compiled.install()
    assert not _compiled.active() and "turned off" in _compiled.reason()
    assert _finder() is None
