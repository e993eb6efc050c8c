"""Browser tests of the supervisor console and the administration pages: the real server
(tests/e2e/server.py), SIPp phones and callers (tests/e2e/sipp.py via the inbound tests'
``Center``), headless Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.e2e.server import start_server
from tests.e2e.test_inbound import Center, prepare

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"
DIALPLAN = """
default: {hangup: no_route}
rules:
  - {name: ivr, did: ["8888"], flow: demo_main}
  - {name: billing-direct, did: ["7001"], queue: billing}
"""
PASSWORDS = {"sup": "sup-demo", "admin": "admin-demo", "a1002": "demo1002"}


@pytest.fixture
def center(tmp_path: Path) -> Iterator[Center]:
    env = prepare(tmp_path, DIALPLAN)
    server = start_server(tmp_path, env)
    c = Center(server, tmp_path)
    yield c
    for p in c.procs:
        p.kill()
        p.wait()
    for peer in c.peers:
        peer.close()
    rc = server.stop()  # open event streams are closed by the server at once (1001)
    (tmp_path / "server.log").write_text(server.log_text())
    assert rc == 0
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: `make test` installs it (scripts/ensure-debs.sh)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


class Pages:
    """Browser contexts logged in as a user, on the server of the test."""

    def __init__(self, browser: Browser, center: Center) -> None:
        self.browser = browser
        self.base = f"http://127.0.0.1:{center.server.web_port}"
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    def open(self, user: str, path: str, lang: str = "zh") -> Page:
        ctx = self.browser.new_context(viewport={"width": 1366, "height": 768})
        self.contexts.append(ctx)
        ctx.add_init_script(f"try {{ localStorage.setItem('cc.lang', '{lang}') }} catch (e) {{}}")
        page = ctx.new_page()
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        r = page.request.post(f"{self.base}/api/v1/auth/login",
                              data={"username": user, "password": PASSWORDS[user]})  # fmt: skip
        assert r.ok, r.text()
        page.goto(f"{self.base}{path}")
        return page

    def close(self) -> None:
        # leave the pages first: their WebSockets close cleanly (a context closed with a socket
        # open leaves the server waiting for it at shutdown)
        for ctx in self.contexts:
            for page in ctx.pages:
                page.goto("about:blank")
        for ctx in self.contexts:
            ctx.close()


@pytest.fixture
def pages(browser: Browser, center: Center) -> Iterator[Pages]:
    p = Pages(browser, center)
    yield p
    p.close()
    assert not p.errors, p.errors


def shot(page: Page, name: str, lang: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}-{lang}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
