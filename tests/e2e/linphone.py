"""linphonec (liblinphone 5.1) as a second real phone for end-to-end tests.

Same job as ``phones.Phone`` (REGISTER with digest auth, RFC 3261 §22; call; play a WAV; record
what it hears) with another SIP stack (belle-sip), driven over stdin/stdout: ``soundcard use
files`` then ``play``/``record`` set the WAV sent and the WAV written for the next call, and
its console lines tell the registration and call states. It runs in a leaf namespace of a
``netns.Network`` with ``HOME`` in its work directory (its databases and its rewritten rc file
stay there). On a refused registration it asks for a password on stdin; that prompt is how a
refusal is seen, and nothing is typed back (the phone is stopped with a signal instead).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from .netns import Leaf
from .phone_audio import write_tone
from .phones import PhoneError, PhoneSpec

STATES = (  # console text -> call state, checked in this order
    ("Receiving new incoming call", "incoming"),
    (" ringing", "ringing"),
    (" in progress", "progress"),
    (" connected.", "established"),
    (" ended (", "closed"),
    (" error.", "closed"),
)


def rc_text(spec: PhoneSpec, workdir: Path) -> str:
    """The linphonec rc file: one proxy with our credentials, a writable database."""
    host = spec.server.split(":")[0]
    tcp = spec.sip_port if spec.transport == "tcp" else -1
    udp = spec.sip_port if spec.transport == "udp" else -1
    return f"""[sip]
sip_port={udp}
sip_tcp_port={tcp}
sip_tls_port=-1
default_proxy=0
[proxy_0]
reg_proxy=<sip:{spec.server};transport={spec.transport}>
reg_identity=sip:{spec.extension}@{host}
reg_expires={max(spec.regint, 60)}
reg_sendregister={1 if spec.regint else 0}
realm=callcenter.local
[auth_info_0]
username={spec.extension}
passwd={spec.password}
realm=callcenter.local
[storage]
uri={workdir / "linphone.db"}
[rtp]
audio_rtp_port=7078
[video]
automatically_initiate=0
automatically_accept=0
"""


@dataclass
class Linphone:
    """A running linphonec; build it with ``Linphone.start``."""

    spec: PhoneSpec
    leaf: Leaf
    workdir: Path
    proc: subprocess.Popen[bytes]
    output: list[str] = field(default_factory=list)
    recordings: list[Path] = field(default_factory=list)
    pending: str = ""  # an unfinished line, e.g. the password prompt
    _cond: threading.Condition = field(default_factory=threading.Condition)

    @classmethod
    def start(cls, leaf: Leaf, spec: PhoneSpec, workdir: Path) -> Linphone:
        """Start linphonec in ``leaf``'s namespace (``Lab.add(Linphone.start, ...)``)."""
        if shutil.which("linphonec") is None:
            raise PhoneError("linphonec is not installed: `make test` installs linphone-cli")
        (workdir / ".local" / "share" / "linphone").mkdir(parents=True, exist_ok=True)
        rc = workdir / "linphonerc"
        rc.write_text(rc_text(spec, workdir))
        source = workdir / f"source-{spec.tone_hz:g}hz.wav"
        write_tone(source, [(spec.tone_hz, spec.source_seconds)], amplitude=0.3)
        cmd = [*leaf.ns.prefix(), "linphonec", "-c", str(rc), "-d", "0"]
        if spec.answermode == "auto":
            cmd.append("-a")
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HOME": str(workdir)},
        )
        phone = cls(spec, leaf, workdir, proc)
        threading.Thread(target=phone._pump, daemon=True).start()
        phone.send("soundcard use files")
        phone.play(source)
        phone._arm_recorder()
        return phone

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        for chunk in iter(lambda: os.read(fd, 65536), b""):
            with self._cond:
                *lines, self.pending = (self.pending + chunk.decode("utf-8", "replace")).split("\n")
                self.output.extend(lines)
                self._cond.notify_all()
            ended = any(" ended (" in line for line in lines)
            if ended and self.spec.answermode == "auto":
                self._arm_recorder()  # the next auto-answered call records to a new file

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(command.encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise PhoneError(f"linphonec is gone ({command}):\n{self.log()}") from exc

    def _arm_recorder(self) -> None:
        path = self.workdir / f"heard-{len(self.recordings) + 1}.wav"
        self.recordings.append(path)
        self.send(f"record {path}")

    def log(self) -> str:
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

    def _seen(self, text: str, after: int = 0) -> bool:
        return text in self.pending or any(text in line for line in self.output[after:])

    def wait_registered(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while True:
            mark = len(self.output)
            self.send("status register")
            with contextlib.suppress(PhoneError):
                self.wait_until("status", partial(self._seen, "registered", mark), 2)
            if self._seen("registered, identity=", mark):
                return
            if time.monotonic() > deadline:
                raise PhoneError(f"{self.spec.extension} did not register:\n{self.log()}")
            time.sleep(0.2)

    def wait_registration_failed(self, timeout: float = 10) -> None:
        """The registrar refused us: linphonec asks for another password."""
        self.wait_until("password prompt", lambda: self._seen("Password for "), timeout)

    def uri(self, target: str) -> str:
        if target.startswith(("sip:", "sips:")):
            return target
        return f"sip:{target}@{self.spec.server};transport={self.spec.transport}"

    def dial(self, target: str) -> None:
        self._arm_recorder()
        self.send(f"call {self.uri(target)}")

    def accept(self) -> None:
        self._arm_recorder()
        self.send("answer")

    def hangup(self) -> None:
        self.send("terminate")

    def play(self, wav: Path) -> None:
        """Send ``wav`` (8 kHz mono) in the next calls."""
        self.send(f"play {wav}")

    def call_state(self) -> str:
        """State of the latest call: "", incoming, ringing, progress, established, closed."""
        with self._cond:
            for line in reversed(self.output):
                if "Call " not in line and "incoming call" not in line:
                    continue
                for text, state in STATES:
                    if text in line:
                        return state
        return ""

    def wait_call(self, state: str, timeout: float = 10) -> None:
        self.wait_until(f"call {state}", lambda: self.call_state() == state, timeout)

    def received_recordings(self) -> list[Path]:
        """What the phone heard, one WAV per call, oldest first."""
        return [p for p in self.recordings if p.exists() and p.stat().st_size > 44]

    def stop(self) -> int:
        """Quit (un-REGISTER first); a phone stuck at a password prompt gets SIGTERM."""
        if self.proc.poll() is None:
            try:
                if not self._seen("Password for "):
                    self.send("quit")
                    self.proc.wait(timeout=5)
            except (PhoneError, subprocess.TimeoutExpired):
                pass
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        return self.proc.returncode
