"""Real SIP phones for end-to-end tests: baresip 1.0 driven headless inside a namespace.

A ``Phone`` is one baresip process in a leaf namespace of a ``netns.Network``. It REGISTERs
with digest auth (RFC 3261 §10, §22; RFC 7616) to the server in the hub, answers calls by
itself (``answermode=auto``) or on ``accept()``, dials, hangs up, and plays a WAV file into
each call (``ausrc aufile``) while the ``sndfile`` module records what it hears (the decoded
far end) and what it sends, one pair of WAV files per call. It is driven over baresip's
``ctrl_tcp`` socket (netstring-framed JSON commands and events) reached through a socket made
inside the phone's namespace; stdin stays open for key presses (DTMF, RFC 4733). The audio
helpers at the bottom write tone files and find tones in recordings (an FFT per window).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .netns import Leaf, Network, require_namespaces
from .phone_audio import RATE, write_tone
from .server import Server, start_server

MODULES = ("stdio", "g711", "aufile", "aubridge", "sndfile")
APP_MODULES = ("account", "menu", "ctrl_tcp")
CTRL_PORT = 4444
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class PhoneError(RuntimeError):
    """The phone did not do what was asked in time; the message carries its output."""


@dataclass(frozen=True)
class PhoneEvent:
    """One ctrl_tcp event, e.g. type CALL_ESTABLISHED, with the call id and peer URI."""

    type: str
    call_id: str
    peer: str
    param: str


@dataclass(frozen=True)
class PhoneSpec:
    """What a phone registers as, and how it behaves."""

    extension: str
    password: str
    server: str  # host[:port] of the registrar and proxy
    transport: str = "udp"
    answermode: str = "auto"  # or "manual": ring until accept()
    regint: int = 60  # registration interval in seconds; 0: do not register
    tone_hz: float = 0.0  # what the phone sends by default: a sine (0 Hz: silence)
    source_seconds: float = 120.0  # aufile hangs up at the end of its file: keep it long
    sip_port: int = 5060
    ctrl_port: int = CTRL_PORT

    def aor(self) -> str:
        return f"sip:{self.extension}@{self.server}"

    def account_line(self) -> str:
        params = f"auth_pass={self.password};answermode={self.answermode};regint={self.regint}"
        return f"<{self.aor()};transport={self.transport}>;{params}"


def write_config(spec: PhoneSpec, address: str, workdir: Path, source: Path) -> Path:
    """The baresip configuration directory (``config`` + ``accounts``)."""
    confdir = workdir / "baresip"
    (workdir / "recordings").mkdir(parents=True, exist_ok=True)
    confdir.mkdir(parents=True, exist_ok=True)
    lines = [
        "poll_method epoll",
        f"sip_listen {address}:{spec.sip_port}",
        "audio_player aubridge,nil",  # a player that needs no sound card
        f"audio_source aufile,{source}",
        "audio_alert aubridge,nil",
        f"audio_srate {RATE}",
        "audio_channels 1",
        "rtp_ports 10000-10999",
        "module_path /usr/lib/baresip/modules",
        *(f"module {name}.so" for name in MODULES),
        *(f"module_app {name}.so" for name in APP_MODULES),
        f"ctrl_tcp_listen 127.0.0.1:{spec.ctrl_port}",
        f"snd_path {workdir / 'recordings'}",
    ]
    (confdir / "config").write_text("\n".join(lines) + "\n")
    (confdir / "accounts").write_text(spec.account_line() + "\n")
    return confdir


def netstring(payload: dict[str, str]) -> bytes:
    data = json.dumps(payload).encode()
    return str(len(data)).encode() + b":" + data + b","


def split_netstrings(buf: bytearray) -> list[dict[str, Any]]:
    """Take every complete netstring off the front of ``buf`` and decode its JSON."""
    out: list[dict[str, Any]] = []
    while True:
        colon = buf.find(b":")
        if colon < 0 or not buf[:colon].isdigit():
            return out
        end = colon + 1 + int(buf[:colon])
        if len(buf) <= end:
            return out
        out.append(json.loads(bytes(buf[colon + 1 : end])))
        del buf[: end + 1]


@dataclass
class Phone:
    """A running baresip; build it with ``Phone.start``."""

    spec: PhoneSpec
    leaf: Leaf
    workdir: Path
    proc: subprocess.Popen[bytes]
    events: list[PhoneEvent] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    _ctrl: socket.socket | None = None
    _responses: dict[str, dict[str, Any]] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _tokens: int = 0

    @classmethod
    def start(cls, leaf: Leaf, spec: PhoneSpec, workdir: Path) -> Phone:
        """Start baresip in ``leaf``'s namespace and connect to its control socket."""
        workdir.mkdir(parents=True, exist_ok=True)
        source = workdir / f"source-{spec.tone_hz:g}hz.wav"
        write_tone(source, [(spec.tone_hz, spec.source_seconds)], amplitude=0.3)
        confdir = write_config(spec, leaf.address, workdir, source)
        proc = leaf.ns.popen(
            ["baresip", "-f", str(confdir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        phone = cls(spec, leaf, workdir, proc)
        threading.Thread(target=phone._pump_output, daemon=True).start()
        try:
            phone._connect(deadline=time.monotonic() + 15)
        except PhoneError:
            phone.stop()
            raise
        return phone

    # -- plumbing ------------------------------------------------------------------------

    def _pump_output(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        pending = b""
        for chunk in iter(lambda: os.read(fd, 65536), b""):
            pending += chunk.replace(b"\r", b"\n")
            *lines, pending = pending.split(b"\n")
            with self._cond:
                self.output.extend(x.decode("utf-8", "replace") for x in lines if x.strip())
                self._cond.notify_all()

    def _connect(self, deadline: float) -> None:
        while True:
            if self.proc.poll() is not None:
                raise PhoneError(f"baresip exited ({self.proc.returncode}):\n{self.log()}")
            sock = self.leaf.ns.socket()
            try:
                sock.connect(("127.0.0.1", self.spec.ctrl_port))
            except OSError:
                sock.close()
                if time.monotonic() > deadline:
                    raise PhoneError("ctrl_tcp did not open:\n" + self.log()) from None
                time.sleep(0.05)
                continue
            self._ctrl = sock
            threading.Thread(target=self._pump_ctrl, args=(sock,), daemon=True).start()
            return

    def _pump_ctrl(self, sock: socket.socket) -> None:
        buf = bytearray()
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                return
            buf += data
            for msg in split_netstrings(buf):
                with self._cond:
                    self._record(msg)
                    self._cond.notify_all()

    def _record(self, msg: dict[str, Any]) -> None:
        if msg.get("response"):
            self._responses[str(msg.get("token", ""))] = msg
        elif msg.get("event"):
            event = PhoneEvent(
                str(msg.get("type", "")),
                str(msg.get("id", "")),
                str(msg.get("peeruri", "")),
                str(msg.get("param", "")),
            )
            self.events.append(event)

    def log(self) -> str:
        """Everything baresip printed so far (for assertion messages)."""
        with self._cond:
            return "\n".join(self.output[-200:])

    def wait_until(self, what: str, check: Callable[[], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not check():
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise PhoneError(f"{self.spec.extension}: no {what}:\n{self.log()}")
                self._cond.wait(min(left, 0.1))

    def command(self, name: str, params: str = "", timeout: float = 10) -> str:
        """Run one baresip long command (as typed after ``/``) and return its output."""
        if self._ctrl is None:
            raise PhoneError("not connected")
        with self._cond:
            self._tokens += 1
            token = str(self._tokens)
        self._ctrl.sendall(netstring({"command": name, "params": params, "token": token}))
        self.wait_until(f"answer to {name}", lambda: token in self._responses, timeout)
        with self._cond:
            reply = self._responses.pop(token)
        if not reply.get("ok"):
            raise PhoneError(f"{name} {params}: {reply.get('data')}\n{self.log()}")
        return str(reply.get("data", ""))

    # -- registration --------------------------------------------------------------------

    def registration(self) -> str:
        """ "OK", "ERR" or "" (not yet answered), from baresip's own registration table."""
        info = ANSI.sub("", self.command("reginfo"))
        for line in info.splitlines():
            words = line.replace(">", " ").split()
            if words and words[0].startswith(f"sip:{self.spec.extension}@") and len(words) > 1:
                return words[1] if words[1] in ("OK", "ERR") else ""
        return ""

    def _wait_registration(self, wanted: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (state := self.registration()) != wanted:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise PhoneError(f"registration {state!r}, wanted {wanted}:\n{self.log()}")
            time.sleep(0.1)

    def wait_registered(self, timeout: float = 10) -> None:
        self._wait_registration("OK", timeout)

    def wait_registration_failed(self, timeout: float = 10) -> None:
        self._wait_registration("ERR", timeout)

    # -- calls ---------------------------------------------------------------------------

    def uri(self, target: str) -> str:
        """A dial string for an extension or number, through the server (or a full URI)."""
        if target.startswith(("sip:", "sips:")):
            return target
        return f"sip:{target}@{self.spec.server}"  # baresip adds the account's transport

    def dial(self, target: str) -> None:
        self.command("dial", self.uri(target))

    def accept(self) -> None:
        self.command("accept")

    def hangup(self) -> None:
        self.command("hangup")

    def play(self, wav: Path) -> None:
        """Send ``wav`` (8 kHz mono) from now on, in the current call and the next ones."""
        self.command("ausrc", f"aufile,{wav}")

    def press(self, digits: str) -> None:
        """Type digits on the keypad during a call (baresip sends them as RFC 4733 events)."""
        assert self.proc.stdin is not None
        for digit in digits:
            self.proc.stdin.write(digit.encode())
            self.proc.stdin.flush()
            time.sleep(0.25)

    def call_state(self) -> str:
        """State of the latest call: "", incoming, ringing, progress, established, closed."""
        states = {
            "CALL_INCOMING": "incoming",
            "CALL_RINGING": "ringing",
            "CALL_PROGRESS": "progress",
            "CALL_ESTABLISHED": "established",
            "CALL_CLOSED": "closed",
        }
        with self._cond:
            found = [states[e.type] for e in self.events if e.type in states]
        return found[-1] if found else ""

    def wait_call(self, state: str, timeout: float = 10) -> None:
        """Wait until ``call_state()`` is ``state``."""
        self.wait_until(f"call {state}", lambda: self.call_state() == state, timeout)

    def wait_event(self, kind: str, timeout: float = 10, after: int = 0) -> PhoneEvent:
        """The first event of type ``kind`` among events[after:], waiting for it if needed."""

        def match() -> PhoneEvent | None:
            return next((e for e in self.events[after:] if e.type == kind), None)

        self.wait_until(kind, lambda: match() is not None, timeout)
        with self._cond:
            found = match()
        assert found is not None
        return found

    def received_recordings(self) -> list[Path]:
        """What the phone heard, one WAV per call, oldest first (sndfile ``-dec`` files)."""
        return sorted((self.workdir / "recordings").glob("dump-*-dec.wav"))

    def sent_recordings(self) -> list[Path]:
        return sorted((self.workdir / "recordings").glob("dump-*-enc.wav"))

    def stop(self) -> int:
        """Quit baresip (it un-REGISTERs first) and wait for it; kill it if it hangs."""
        if self.proc.poll() is None:
            try:
                if self._ctrl is not None:
                    self._ctrl.sendall(netstring({"command": "quit", "token": "quit"}))
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        if self._ctrl is not None:
            self._ctrl.close()
        return self.proc.returncode


# -- a server and phones in a private network -----------------------------------------------


class SoftPhone(Protocol):
    """What every phone here offers (baresip ``Phone``, ``linphone.Linphone``)."""

    spec: PhoneSpec
    leaf: Leaf

    def wait_registered(self, timeout: float = 10) -> None: ...
    def wait_registration_failed(self, timeout: float = 10) -> None: ...
    def dial(self, target: str) -> None: ...
    def accept(self) -> None: ...
    def hangup(self) -> None: ...
    def play(self, wav: Path) -> None: ...
    def call_state(self) -> str: ...
    def wait_call(self, state: str, timeout: float = 10) -> None: ...
    def received_recordings(self) -> list[Path]: ...
    def log(self) -> str: ...
    def stop(self) -> int: ...


P = TypeVar("P", bound=SoftPhone)


# -- the lab: one server, many phones ---------------------------------------------------------


@dataclass
class Lab:
    """The server in the hub namespace and the phones started in leaf namespaces."""

    net: Network
    server: Server
    tmp: Path
    phones: list[SoftPhone] = field(default_factory=list)
    log_mark: int = 0  # log lines before this index belong to earlier tests

    @property
    def server_address(self) -> str:
        return f"{self.net.hub_address}:{self.server.sip_port}"

    def begin(self) -> None:
        """Start a new test on a shared lab: later ``log()`` calls see only its lines."""
        self.log_mark = len(self.server.lines)

    def log(self) -> str:
        """What the server logged since ``begin()``."""
        return "".join(self.server.lines[self.log_mark :])

    def stop_phones(self) -> None:
        """Quit every phone (they un-REGISTER) and remove their namespaces."""
        while self.phones:
            phone = self.phones.pop()
            phone.stop()
            self.net.remove_leaf(phone.leaf)

    def wait_log(self, text: str, timeout: float = 10) -> str:
        """Wait until the server logs (since ``begin()``) a line containing ``text``."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.server.lines[self.log_mark :]
            found = next((line for line in lines if text in line), None)
            if found is not None:
                return found
            if time.monotonic() > deadline or self.server.proc.poll() is not None:
                tail = self.server.log_text()[-3000:]
                raise PhoneError(f"server never logged {text!r}:\n{tail}")
            time.sleep(0.05)

    def add(
        self,
        start: Callable[[Leaf, PhoneSpec, Path], P],
        extension: str,
        password: str,
        **options: Any,
    ) -> P:
        """Start a phone (``Phone.start``, ``Linphone.start``) in a new leaf namespace."""
        leaf = self.net.add_leaf()
        spec = PhoneSpec(extension, password, self.server_address, **options)
        try:
            phone = start(leaf, spec, self.tmp / f"phone-{self.net.made}-{extension}")
        except BaseException:
            self.net.remove_leaf(leaf)
            raise
        self.phones.append(phone)
        return phone

    def phone(self, extension: str, password: str, **options: Any) -> Phone:
        """A baresip for ``extension`` (options: PhoneSpec's fields)."""
        return self.add(Phone.start, extension, password, **options)


def check_lab_prerequisites() -> str | None:
    """Why the lab cannot run here (no baresip, no namespaces), or None."""
    if shutil.which("baresip") is None:
        return "baresip is not installed: `make test` installs it (scripts/ensure-debs.sh)"
    why = require_namespaces()
    return None if why is None else f"phones run in network namespaces: {why}"


@contextmanager
def lab_session(tmp: Path, env: dict[str, str] | None = None) -> Iterator[Lab]:
    """A private network with ``callcenter serve`` in its hub on port 5060.

    On exit the phones quit, the server stops (its exit status and log are checked: a
    non-zero status or a Traceback raises AssertionError) and the namespaces go away.
    """
    why = check_lab_prerequisites()
    if why is not None:
        raise PhoneError(why)
    with Network.create() as net:
        server = start_server(
            tmp, env=env, prefix=net.hub.prefix(), bind=net.hub_address, sip_port=5060
        )
        lab = Lab(net, server, tmp)
        try:
            yield lab
        finally:
            lab.stop_phones()
            rc = server.stop()
        text = server.log_text()
        assert rc == 0, text[-4000:]
        assert "Traceback" not in text, text[-4000:]
