"""SIP signaling speed: calls per second and CPU per call for INVITE -> 200 -> ACK -> BYE, our
server side by side with sippy's B2BUA (PyPI ``sippy``) under the same SIPp load, in one run.

Topologies (all UDP on 127.0.0.1):

- ours:  SIPp ``uac`` -> ``callcenter serve``, calling the echo extension 9196. The server
  answers locally: it allocates an RTP endpoint in its media engine (two sockets bound per
  call), negotiates the SDP offer and answers 100 + 200 with SDP; BYE gets 200.
- sippy: SIPp ``uac`` -> sippy ``b2bua`` (static route, no RADIUS, no accounting, logging
  off: ``SIPLOG_BEND=none``) -> SIPp ``uas`` (a scenario answering 200 straight away, no 180:
  sippy's receive threads may reorder a 180 behind the 200, which SIPp's uac rejects). Sippy
  bridges every call to a second leg: twice the SIP transactions of ours, no RTP sockets.

The machine has 2 cores shared with SIPp and with whatever else runs, so wall-clock throughput
is not the figure of merit: CPU time of the server process (utime + stime of the process and its
children, from /proc) is. ``calls/s per core`` = calls / server CPU seconds, counted from the
first call to ``--tail`` seconds after the last, so that the clean-up of transactions held
32 s for retransmissions (RFC 3261 timers J and L) is paid inside the window. The achieved
wall-clock rate and SIPp's retransmission counts are printed too; figures are noisy.

It first times the SIP core alone (SipEndpoint + UserAgent fed SIPp's messages in memory, no
sockets, no media): the part of the per-call cost this package owns, and a steadier figure.

    .venv/bin/python bench/sip_cps.py [--calls 20000 --rate 1500 --limit 3000]
        [--sippy-calls 5000 --sippy-rate 250] [--tail 34] [--only core|ours|sippy]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from callcenter.sip.endpoint import Address, SipEndpoint
from callcenter.sip.ua import IncomingCall, UserAgent

HOST = "127.0.0.1"
PYTHON = Path(sys.executable)
TICK = os.sysconf("SC_CLK_TCK")

UAS_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="UAS answering 200 at once">
  <recv request="INVITE"/>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
]]></send>
  <recv request="ACK" optional="true"/>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <timewait milliseconds="4000"/>
</scenario>
"""


# -- processes, ports and CPU time -------------------------------------------------------------


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, utime + stime in seconds) of ``pid``, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def cpu_seconds(root: int) -> float:
    """CPU time of ``root`` and its living descendants (all threads included)."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None:
            stats[int(entry)] = st
    tree, total, changed = {root}, 0.0, True
    while changed:
        changed = False
        for pid, (ppid, _) in stats.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                changed = True
    for pid in tree:
        if pid in stats:
            total += stats[pid][1]
    return total


def wait_sip_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 40.0) -> None:
    """Send OPTIONS until anything SIP answers (sippy answers at the Via address: put ours)."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        s.settimeout(0.3)
        me = s.getsockname()[1]
        n = 0
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            n += 1
            probe = (
                f"OPTIONS sip:probe@{HOST}:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {HOST}:{me};branch=z9hG4bKprobe{n};rport\r\n"
                f"Max-Forwards: 70\r\nFrom: <sip:bench@{HOST}>;tag=b\r\nTo: <sip:probe@{HOST}>\r\n"
                f"Call-ID: probe-{n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            )
            s.sendto(probe.encode(), (HOST, port))
            try:
                if s.recv(65536).startswith(b"SIP/2.0"):
                    return
            except OSError:
                time.sleep(0.2)
    raise RuntimeError(f"nothing answers SIP on port {port}")


def stop(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- SIPp ----------------------------------------------------------------------------------------


@dataclass
class Sipp:
    calls: int
    ok: int
    failed: int
    retrans_sent: int  # SIPp had to repeat a request: the server was slow to answer
    retrans_received: int  # the server repeated a response (its 200 waited for a late ACK)
    wall_s: float


def _retrans(screen: str) -> tuple[int, int]:
    sent = received = 0
    for line in screen.splitlines():
        m = re.match(r"\s+(\S+)\s+(-+>|<-+)\s+(\d+)\s+(\d+)", line)
        if m is None:
            continue
        if m.group(2).endswith(">"):
            sent += int(m.group(4))
        else:
            received += int(m.group(4))
    return sent, received


def run_uac(work: Path, port: int, calls: int, rate: int, limit: int) -> Sipp:
    screen = work / f"uac-{port}-{calls}.txt"
    cmd = [
        "sipp", "-sn", "uac", f"{HOST}:{port}", "-s", "9196", "-m", str(calls),
        "-r", str(rate), "-l", str(limit), "-i", HOST, "-p", "0", "-nostdin",
        "-timeout", "150", "-timeout_error", "-trace_screen", "-screen_file", str(screen),
        "-max_socket", "4096",
    ]  # fmt: skip
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=200, cwd=work, check=False)
    wall = time.monotonic() - start
    text = screen.read_text() if screen.exists() else proc.stdout + proc.stderr
    ok = re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", text)
    failed = re.search(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", text)
    if ok is None or failed is None:
        raise RuntimeError("SIPp printed no statistics:\n" + text[-2000:])
    sent, received = _retrans(text)
    return Sipp(calls, int(ok.group(1)), int(failed.group(1)), sent, received, wall)


# -- the SIP core alone, in memory ---------------------------------------------------------------

_SIPP_HEAD = (
    "Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-{n}-{b}\r\n"
    "From: sipp <sip:sipp@127.0.0.1:5061>;tag=1SIPpTag00{n}\r\n"
    "To: 9196 <sip:9196@127.0.0.1:5060>{to_tag}\r\n"
    "Call-ID: {n}-1@127.0.0.1\r\nCSeq: {cseq}\r\n"
    "Contact: sip:sipp@127.0.0.1:5061\r\nMax-Forwards: 70\r\nSubject: Performance Test\r\n"
)
_SDP = (
    "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
    "t=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def _sipp_message(method: str, n: int, to_tag: str = "") -> bytes:
    """What SIPp's uac scenario sends, for the in-memory run."""
    cseq, branch = {"INVITE": ("1 INVITE", 0), "ACK": ("1 ACK", 5), "BYE": ("2 BYE", 7)}[method]
    tag = f";tag={to_tag}" if to_tag else ""
    head = f"{method} sip:9196@127.0.0.1:5060 SIP/2.0\r\n" + _SIPP_HEAD.format(
        n=n, b=branch, to_tag=tag, cseq=cseq
    )
    if method != "INVITE":
        return (head + "Content-Length: 0\r\n\r\n").encode()
    return (
        head + f"Content-Type: application/sdp\r\nContent-Length: {len(_SDP)}\r\n\r\n" + _SDP
    ).encode()


def sip_core(calls: int, rate: float = 1500.0) -> tuple[float, float]:
    """CPU us per call of INVITE -> 100, 200 -> ACK -> BYE -> 200 through SipEndpoint and
    UserAgent with no sockets (timers fired as simulated time passes), and the GC-tracked objects
    still alive per call afterwards (transactions wait 32 s for retransmissions)."""
    rng = random.Random(1)
    endpoint = SipEndpoint(rng)
    endpoint.set_local("udp", HOST, 5060)
    ua = UserAgent(endpoint, rng)
    source = Address("udp", HOST, 5061)
    answer = _SDP.replace("6000", "7000").encode()
    gc.collect()
    tracked = len(gc.get_objects())
    start = time.process_time()
    now = 0.0
    for n in range(calls):
        now += 1.0 / rate
        endpoint.receive(_sipp_message("INVITE", n), source, now)
        ua.process(now)
        call = next(ev.call for ev in ua.events if isinstance(ev, IncomingCall))
        ua.answer(call, answer, now)
        endpoint.receive(_sipp_message("ACK", n, call.local_tag), source, now)
        endpoint.receive(_sipp_message("BYE", n, call.local_tag), source, now)
        ua.process(now)
        ua.events.clear()
        endpoint.outgoing.clear()
        deadline = ua.next_deadline()
        if deadline is not None and deadline <= now:
            ua.handle_timer(now)
            ua.events.clear()
    cpu = time.process_time() - start
    return cpu / calls * 1e6, (len(gc.get_objects()) - tracked) / calls


# -- the two servers ---------------------------------------------------------------------------


def start_ours(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "CALLCENTER__SERVER__DATA_DIR": str(work / "var"),
            "CALLCENTER__SERVER__LOG_LEVEL": "warning",
            "CALLCENTER__SIP__PORT": str(port),
            "CALLCENTER__SIP__BIND": HOST,
            "CALLCENTER__SIP__TCP": "false",
            "CALLCENTER__WEB__PORT": str(free_port(socket.SOCK_STREAM)),
            "CALLCENTER__WEB__HOST": HOST,
            "CALLCENTER__RTP__PORT_MIN": "41000",
            "CALLCENTER__RTP__PORT_MAX": "49000",
        }
    )
    cmd = [str(PYTHON), "-m", "callcenter", "serve"]
    log = (work / "ours.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_sip_ready(port, proc)
    except RuntimeError:
        stop(proc)
        raise
    return proc, port


def start_sippy(work: Path) -> tuple[subprocess.Popen[bytes], int, subprocess.Popen[bytes]]:
    uas_port, port = free_port(), free_port()
    (work / "uas.xml").write_text(UAS_SCENARIO)
    uas_cmd = ["sipp", "-sf", "uas.xml", "-i", HOST, "-p", str(uas_port), "-nostdin"]
    uas = subprocess.Popen(
        [*uas_cmd, "-trace_screen", "-screen_file", "uas-screen.txt", "-max_socket", "4096"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    b2bua = shutil.which("b2bua", path=str(PYTHON.parent)) or "b2bua"
    cmd = [
        str(PYTHON), b2bua, "-f", "-u", "-A", "0", "-D", "-l", HOST, "-p", str(port),
        "-s", f"{HOST}:{uas_port}", "-c", str(work / "b2bua.sock"),
        "-P", str(work / "b2bua.pid"), "-L", str(work / "b2bua.log"),
    ]  # fmt: skip
    env = dict(os.environ, SIPLOG_BEND="none")
    log = (work / "sippy.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_sip_ready(port, proc)
    except RuntimeError:
        stop(proc, timeout=2)
        stop(uas)
        raise
    return proc, port, uas


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    topology: str
    run: Sipp
    cpu_run_s: float  # server CPU from the first call to the last
    cpu_s: float  # ... to ``tail`` seconds later (transactions cleaned up)

    @property
    def cpu_us_per_call(self) -> float:
        return self.cpu_s / self.run.calls * 1e6

    @property
    def calls_per_core(self) -> float:
        return self.run.calls / self.cpu_s if self.cpu_s else 0.0

    @property
    def wall_rate(self) -> float:
        return self.run.ok / self.run.wall_s


def measure(
    name: str, topology: str, pid: int, port: int, work: Path, args: argparse.Namespace
) -> Result:
    calls, rate = (args.calls, args.rate) if name == "ours" else (args.sippy_calls, args.sippy_rate)
    warm = run_uac(work, port, args.warmup, min(rate, 200), args.limit)
    if warm.failed:
        print(f"  {name}: warm-up had {warm.failed} failed calls", flush=True)
    time.sleep(1)
    cpu0 = cpu_seconds(pid)
    run = run_uac(work, port, calls, rate, args.limit)
    cpu1 = cpu_seconds(pid)
    print(f"  {name}: {run.ok}/{calls} ok in {run.wall_s:.1f} s; tail {args.tail} s", flush=True)
    time.sleep(args.tail)
    cpu2 = cpu_seconds(pid)
    return Result(name, topology, run, cpu1 - cpu0, cpu2 - cpu0)


def bench_ours(work: Path, args: argparse.Namespace) -> Result:
    proc, port = start_ours(work)
    try:
        topology = "SIPp uac -> callcenter echo 9196 (answers locally, RTP endpoint per call)"
        return measure("ours", topology, proc.pid, port, work, args)
    finally:
        stop(proc)


def bench_sippy(work: Path, args: argparse.Namespace) -> Result:
    proc, port, uas = start_sippy(work)
    try:
        topology = "SIPp uac -> sippy b2bua (static route, logging off) -> SIPp uas"
        return measure("sippy", topology, proc.pid, port, work, args)
    finally:
        stop(proc, timeout=2)  # sippy logs SIGTERM and goes on until killed
        stop(uas)


def report(results: list[Result]) -> None:
    rows = [
        ("calls", lambda r: f"{r.run.calls}"),
        ("successful", lambda r: f"{r.run.ok}"),
        ("failed", lambda r: f"{r.run.failed}"),
        ("SIPp retransmissions (requests)", lambda r: f"{r.run.retrans_sent}"),
        ("server retransmissions (responses)", lambda r: f"{r.run.retrans_received}"),
        ("wall-clock s", lambda r: f"{r.run.wall_s:.1f}"),
        ("achieved calls/s (wall)", lambda r: f"{r.wall_rate:.0f}"),
        ("server CPU s (during calls)", lambda r: f"{r.cpu_run_s:.2f}"),
        ("server CPU s (incl. tail)", lambda r: f"{r.cpu_s:.2f}"),
        ("CPU per call, us", lambda r: f"{r.cpu_us_per_call:.0f}"),
        ("calls/s per core", lambda r: f"{r.calls_per_core:.0f}"),
    ]
    print()
    print(f"{'':36}" + "".join(f"{r.name:>12}" for r in results))
    for label, cell in rows:
        print(f"{label:36}" + "".join(f"{cell(r):>12}" for r in results))
    if len(results) == 2 and results[1].calls_per_core:
        ratio = results[0].calls_per_core / results[1].calls_per_core
        print(f"{'ours / sippy (calls/s per core)':36}{ratio:>12.2f}")
    print()
    for r in results:
        print(f"{r.name}: {r.topology}")
    print(
        "Note: ours answers locally (echo test, with an RTP endpoint allocated per call); sippy\n"
        "bridges each call to a SIPp UAS (two SIP legs, no RTP sockets). CPU counts the server\n"
        "process only, from the first call to the tail's end. 2 shared cores: figures are noisy."
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=20000)
    p.add_argument("--rate", type=int, default=1500)
    p.add_argument("--limit", type=int, default=3000)
    p.add_argument("--sippy-calls", type=int, default=5000)
    p.add_argument("--sippy-rate", type=int, default=250)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--tail", type=float, default=34.0)
    p.add_argument("--only", choices=("core", "ours", "sippy"))
    args = p.parse_args()
    if args.only in (None, "core"):
        us, objects = sip_core(20000)
        print(
            f"SIP core in memory (SipEndpoint + UserAgent, no I/O): {us:.0f} us CPU per call, "
            f"{objects:.1f} GC-tracked objects per call alive 32 s\n",
            flush=True,
        )
    if args.only == "core":
        return 0
    if shutil.which("sipp") is None:
        print("sipp (Debian package sip-tester) is not installed")
        return 1
    results = []
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"load average at start: {' '.join(load)} (2 cores shared with SIPp and others)")
    with tempfile.TemporaryDirectory(prefix="sip_cps") as tmp:
        work = Path(tmp)
        if args.only in (None, "ours"):
            print("ours ...", flush=True)
            results.append(bench_ours(work, args))
        if args.only in (None, "sippy"):
            print("sippy ...", flush=True)
            results.append(bench_sippy(work, args))
    report(results)
    print(f"load average at the end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    return 0 if all(r.run.failed == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
