"""Browser tests of the agent desktop: the real server (tests/e2e/server.py), SIPp agent phones
and callers (tests/e2e/sipp.py, the inbound tests' ``Center``), headless Chromium (Debian's
``/usr/bin/chromium``) driven by Playwright."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.e2e import sipp
from tests.e2e.rtp_peer import RtpPeer
from tests.e2e.server import free_port, start_server
from tests.e2e.test_inbound import Center, prepare

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"
DIALPLAN = """
default: {hangup: no_route}
rules:
  - {name: hotline, did: ["95598"], flow: demo_main}
  - {name: billing-direct, did: ["7001"], queue: billing}
"""
PASSWORDS = {"a1001": "demo1001", "unit1": "unit-demo", "sup": "sup-demo", "admin": "admin-demo"}


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
    rc = server.stop()  # open event streams are closed at once (1001): no waiting for them
    (tmp_path / "server.log").write_text(server.log_text())
    assert rc == 0
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]


def phone(center: Center, ext: str, calls: int = 1, answer_after_ms: int = 300,
          expect: tuple[str, ...] = (), hz: float = 1000.0) -> RtpPeer:  # fmt: skip
    """A SIPp phone for ``ext`` that answers every call it gets (after ``answer_after_ms``)
    and waits for the BYE; registered with digest auth. Each regex of ``expect`` must match
    the INVITE. (With the agent signed in at the desktop first, the registration does not log
    it in again.)"""
    media = center.peer(hz)
    port = free_port()
    xml = center.tmp / f"phone-{ext}.xml"
    xml.write_text(sipp.agent_scenario(ext, media.port, answer_after_ms=answer_after_ms,
                                       expect=expect))  # fmt: skip
    proc = sipp.start(["-sf", str(xml), "-i", "127.0.0.1", "-p", str(port), "-m", str(calls)],
                      center.tmp, f"phone-{ext}")  # fmt: skip
    center.procs.append(proc)
    time.sleep(0.3)
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else "phone SIPp exited"
    reg = sipp.register(center.server.sip_port, ext, f"sip-{ext}", port, center.tmp)
    assert reg.rc == 0, reg.text
    return media


class Caller:
    """One SIPp call placed in the background (SIPp blocks until the call ends)."""

    def __init__(self, center: Center, number: str, caller: str, **kw: Any) -> None:
        self.rc: int | None = None
        self.thread = threading.Thread(target=self._run, args=(center, number, caller, kw))
        self.thread.start()

    def _run(self, center: Center, number: str, caller: str, kw: dict[str, Any]) -> None:
        _, self.rc = center.call(number, caller, hz=440.0, **kw)

    def wait(self, timeout: float = 60.0) -> int | None:
        self.thread.join(timeout)
        return self.rc


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: `make test` installs it (scripts/ensure-debs.sh)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


class Desktops:
    """Browser contexts (one per user) on the server of the test, 1366x768."""

    def __init__(self, browser: Browser, center: Center) -> None:
        self.browser = browser
        self.base = f"http://127.0.0.1:{center.server.web_port}"
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    def open(self, lang: str = "zh") -> Page:
        ctx = self.browser.new_context(viewport={"width": 1366, "height": 768})
        self.contexts.append(ctx)
        ctx.add_init_script(f"try {{ localStorage.setItem('cc.lang', '{lang}') }} catch (e) {{}}")
        page = ctx.new_page()
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.goto(f"{self.base}/ui/agent/")
        return page

    def login(self, page: Page, user: str) -> None:
        """Through the page's own login form."""
        page.fill('[data-testid="login-username"]', user)
        page.fill('[data-testid="login-password"]', PASSWORDS[user])
        page.click('[data-testid="login-submit"]')

    def close(self) -> None:
        for ctx in self.contexts:  # leave the pages first: their WebSockets close cleanly
            for page in ctx.pages:
                page.goto("about:blank")
        for ctx in self.contexts:
            ctx.close()


@pytest.fixture
def desktops(browser: Browser, center: Center) -> Iterator[Desktops]:
    d = Desktops(browser, center)
    yield d
    d.close()
    assert not d.errors, d.errors


def shot(page: Page, name: str, lang: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"agent-{name}-{lang}.png"
    page.screenshot(path=str(path))
    return path


def both_languages(page: Page, name: str, settle: Callable[[], None] | None = None) -> None:
    """Screenshot the screen in Chinese, switch to English, screenshot, switch back."""
    current = page.evaluate("document.documentElement.lang")
    first, second = ("zh", "en") if current.startswith("zh") else ("en", "zh")
    shot(page, name, first)
    page.locator('[data-testid="lang-switch"]').first.click()
    page.wait_for_function(f"document.documentElement.lang.startsWith('{second}')")
    if settle:
        settle()
    shot(page, name, second)
    page.locator('[data-testid="lang-switch"]').first.click()
    page.wait_for_function(f"document.documentElement.lang.startsWith('{first}')")
