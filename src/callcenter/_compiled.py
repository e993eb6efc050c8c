"""The ACD core compiled with mypyc, used in place of its Python modules when it is built.

``make`` compiles the hot modules of :mod:`callcenter.acd` (the list is in
scripts/build-acd.sh) with mypyc, from these same sources, into ``build/mypyc``, and writes
``manifest.json`` there: the SHA-256 of every source of the package it was built from and the
extension module of each compiled one.
:func:`install` (run once, by ``callcenter/__init__.py``) puts a finder first on
``sys.meta_path`` that imports those modules from their extensions, but only when every
listed source is byte for byte the file in ``src`` today: an edited module, a missing build
or a build for another Python leaves the whole core interpreted, which behaves the same (the
unit tests run on both; docs/acd.md). ``CALLCENTER_ACD_COMPILED=0`` (or ``CALLCENTER_NATIVE=0``)
turns it off: the unit tests measure coverage on the Python code that way.

Standard library only: this runs before any other module of the package.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader, ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path
from types import ModuleType

SRC = Path(__file__).resolve().parent.parent  # holds the callcenter package
BUILD = SRC.parent / "build" / "mypyc"  # the checkout's build/ (an editable install)

_state = {"reason": "not checked yet"}


class _Finder:
    """Finds the compiled modules (and mypyc's shared library) by their full names."""

    def __init__(self, extensions: dict[str, Path]) -> None:
        self.extensions = extensions

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        extension = self.extensions.get(fullname)
        if extension is None:
            return None
        loader = ExtensionFileLoader(fullname, str(extension))
        return spec_from_file_location(fullname, extension, loader=loader)


def _why_not(manifest: dict[str, object]) -> str | None:
    """None if the build matches this Python and today's sources, else why not."""
    if manifest.get("suffix") != EXTENSION_SUFFIXES[0]:
        return f"built for {manifest.get('suffix')}, this Python needs {EXTENSION_SUFFIXES[0]}"
    sources = manifest.get("sources")
    if not isinstance(sources, dict) or not sources:
        return "the manifest lists no sources"
    for relative, digest in sources.items():
        source = SRC / relative
        if not source.exists() or hashlib.sha256(source.read_bytes()).hexdigest() != digest:
            return f"{relative} changed since the build (make rebuilds it)"
    return None


def install() -> None:
    """Put the finder in place when the build is there, current, and not turned off."""
    if "0" in (os.environ.get("CALLCENTER_ACD_COMPILED"), os.environ.get("CALLCENTER_NATIVE")):
        _state["reason"] = "turned off (CALLCENTER_ACD_COMPILED=0 or CALLCENTER_NATIVE=0)"
        return
    try:
        manifest = json.loads((BUILD / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        _state["reason"] = f"{BUILD} is not built (make builds it with mypyc)"
        return
    why = _why_not(manifest)
    extensions = {name: BUILD / file for name, file in manifest.get("modules", {}).items()}
    if why is None and not all(path.exists() for path in extensions.values()):
        why = "an extension of the build is missing (make rebuilds it)"
    if why is not None:
        _state["reason"] = why
        return
    sys.meta_path.insert(0, _Finder(extensions))
    _state["reason"] = ""


def active() -> bool:
    """True when the compiled ACD core is the one imported."""
    return _state["reason"] == ""


def reason() -> str:
    """Why the ACD core runs interpreted ("" when it is compiled)."""
    return _state["reason"]
