from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import Server, start_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path)
    yield srv
    rc = srv.stop()
    text = srv.log_text()
    assert rc == 0, text[-4000:]
    assert "Traceback" not in text, text[-4000:]


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is not installed: `make test` installs it (scripts/ensure-debs.sh)")
    return path
