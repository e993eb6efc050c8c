"""The browser UI: static files (HTML, ES modules, CSS; no build step) served at ``/ui``.

The agent desktop, the supervisor console and wallboard, and the administration pages all
talk to the same CTI API and event stream as any other client; this module only serves
their files and sends ``/`` to the UI's entry page.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

UI_DIR = Path(__file__).resolve().parent.parent / "ui"


async def _root(request: Request) -> Response:
    return RedirectResponse("/ui/", status_code=307)


def mount_ui(app: FastAPI) -> None:
    app.mount("/ui", StaticFiles(directory=UI_DIR, html=True), name="ui")
    app.add_route("/", _root, include_in_schema=False)
