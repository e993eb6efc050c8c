"""Benchmark of the CTI API (issue 6): event delivery to 1,000 WebSockets, and the hot routes.

Scenario: the real server (``callcenter serve`` on SQLite, started by the end-to-end helper) with
the demo data. A SIPp caller is talking to agent 1002 (a SIPp phone), so ``GET /agent/call`` has
a call to describe. 1,000 WebSocket clients connect to ``/api/v1/events/ws`` with the demo
supervisor's bearer token (a supervisor in no queue sees every event, so every client gets every
state change), spread over several client processes; each client is a plain socket read from
one epoll loop per process that only takes each chunk with its times and parses the messages
in the quiet moments between events. Agent 1001 then changes state (busy / ready through the API)
``--changes`` times, one change every ``--interval`` seconds; each change is one
``AgentStateChanged`` event delivered to all clients.

Figures: per (event, client) the delivery latency on the machine's wall clock, from the agent
state change (the event's ``at``: when the ACD applied it and the contact center logged it;
the same ``at`` as in the event log) and from the API request that caused it (sent by this
script: adds the HTTP request, authentication and the audit log before the change), to the
message's ARRIVAL in the client socket (the kernel's receive timestamp, ``SO_TIMESTAMPNS``) and
to its READ by the client process (which adds the wait for the client processes, sharing the
same 2 cores, to be scheduled). p50 / p99 / max over all clients and events, and the share above
the 20 ms goal. Then requests per second for the hot routes with the clients gone:
``GET /agent/state``, ``GET /agent/call``, ``GET /reports/wallboard``, ``POST /agent/busy`` +
``/agent/ready``. A/B switches run the server without an optimisation under the same load:
``--python-fanout`` (``CALLCENTER_NATIVE=0``: the hub writes each frame with
``transport.write`` on the event loop instead of the native multi-threaded send,
``callcenter/native/fanout.c``), ``--slow-path`` (``CALLCENTER_WS_FAST_PATH=0``: every event
through each client's queue and task).
Prints figures only; nothing is asserted. Needs SIPp. Run: ``.venv/bin/python bench/api.py``
(about a minute). Numbers are noisy on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing as mp
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # the end-to-end helpers live in tests/e2e
    sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from tests.e2e import sipp  # noqa: E402
from tests.e2e.rtp_peer import RtpPeer  # noqa: E402
from tests.e2e.server import Server, free_port, start_server  # noqa: E402
from tests.e2e.test_inbound import OPEN_DIALPLAN, prepare, wait_for  # noqa: E402

GOAL_MS = 20.0


# ------------------------------------------------------------------ clients
def client_process(url: str, token: str, count: int, pipe: Connection) -> None:
    """``count`` WebSocket clients in one process: connect, report ready, then read every
    message until told to stop; send back (seq, at, arrived, read) of every measured event."""
    where = urlsplit(url)
    assert where.hostname is not None and where.port is not None
    clients = [_Client(where.hostname, where.port, where.path, token) for _ in range(count)]
    pipe.send("ready")
    poller = select.epoll()
    by_fd = {c.sock.fileno(): c for c in clients}
    for fd in by_fd:
        poller.register(fd, select.EPOLLIN)
    pending: set[_Client] = set()
    while not pipe.poll():
        ready = poller.poll(0.05)
        for fd, _ in ready:
            client = by_fd[fd]
            if client.read():
                pending.add(client)
        if not ready:  # a quiet moment (between events): parse what was read, answer pings
            for client in pending:
                client.drain()
            pending.clear()
    pipe.recv()  # "stop"
    for client in clients:
        client.read()
        client.drain()
    events = []
    for client in clients:
        with contextlib.suppress(OSError):
            client.sock.send(bytes((0x88, 0x80)) + b"\0\0\0\0")  # close, masked, no body
        for raw, arrived, read in client.messages:
            msg = json.loads(raw)
            changed = "seq" in msg and msg["type"] == "AgentStateChanged"
            if changed and msg["payload"]["cause"] not in ("login", "logout"):  # busy/ready only
                at = datetime.fromisoformat(msg["at"]).timestamp()
                events.append((int(msg["seq"]), at, arrived, read))
    time.sleep(0.2)
    for client in clients:
        client.sock.close()
    pipe.send(events)


class _Client:
    """A minimal WebSocket client on a plain socket (the handshake, then unmasked frames from
    the server) read from one epoll loop per process. Each message gets two times: when its
    last segment ARRIVED in the client's socket (the kernel's receive timestamp,
    ``SO_TIMESTAMPNS``: delivery, whatever the client process is doing) and when the client
    READ it (that plus the wait for this process to be scheduled on the shared cores and to
    reach the socket). Pings are answered. (The ``websockets`` library's client, one reader
    task per socket, cost about as much CPU per message as the server's whole fan-out.)"""

    def __init__(self, host: str, port: int, path: str, token: str) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        self.buf = bytearray()
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(4096)
        end = self.buf.find(b"\r\n\r\n")
        status = bytes(self.buf[: self.buf.find(b"\r\n")])
        del self.buf[: end + 4]
        if b" 101 " not in status:
            raise RuntimeError(status.decode())
        self.messages: list[tuple[bytes, float, float]] = []
        self.chunks: list[tuple[bytes, float, float]] = []
        while not self.messages:  # the hello
            self.read()
            self.drain()
        self.messages.clear()
        self.sock.setblocking(False)

    def read(self) -> bool:
        """Take what arrived, with its times; parsed later (``drain``), off the hot path.
        True when something was read."""
        try:
            data, anc, _, _ = self.sock.recvmsg(65536, 64)
        except BlockingIOError:
            return False
        read = time.time()  # the wall clock: comparable with the server's and parent's
        arrived = read
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", value[:16])
                arrived = sec + nsec / 1e9
        self.chunks.append((data, arrived, read))
        return True

    def drain(self) -> None:
        """Split what was read into messages (each with the times of the chunk that completed
        it) and answer pings."""
        buf = self.buf
        for data, arrived, read in self.chunks:
            buf += data
            while len(buf) >= 2:
                opcode, n, at = buf[0] & 0x0F, buf[1] & 0x7F, 2
                if n == 126:
                    if len(buf) < 4:
                        break
                    n, at = int.from_bytes(buf[2:4], "big"), 4
                elif n == 127:
                    if len(buf) < 10:
                        break
                    n, at = int.from_bytes(buf[2:10], "big"), 10
                if len(buf) < at + n:
                    break
                payload = bytes(buf[at : at + n])
                del buf[: at + n]
                if opcode == 1:
                    self.messages.append((payload, arrived, read))
                elif opcode == 9:  # ping: a pong, masked (zero key)
                    self.sock.send(bytes((0x8A, 0x80 | n)) + b"\0\0\0\0" + payload)
        self.chunks.clear()


SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


# ------------------------------------------------------------------- server
def start(
    tmp: Path, slow_path: bool = False, python_fanout: bool = False
) -> tuple[Server, list[subprocess.Popen[str]], list[RtpPeer]]:
    env = prepare(tmp, OPEN_DIALPLAN)
    if slow_path:  # the stream's per-client queue and task only (routes/events.py)
        env["CALLCENTER_WS_FAST_PATH"] = "0"
    if python_fanout:  # transport.write per client on the loop (no callcenter.native)
        env["CALLCENTER_NATIVE"] = "0"
    server = start_server(tmp, env)
    procs: list[subprocess.Popen[str]] = []
    peers = [RtpPeer(1000.0), RtpPeer(440.0)]
    # agent 1002's phone answers; a caller on 7001 (billing) talks to it for the whole run
    xml = tmp / "agent.xml"
    xml.write_text(sipp.agent_scenario("8002", peers[0].port))
    port = free_port()
    procs.append(sipp.start(["-sf", str(xml), "-i", "127.0.0.1", "-p", str(port), "-m", "1"],
                            tmp, "agent-8002"))  # fmt: skip
    time.sleep(0.3)
    reg = sipp.register(server.sip_port, "8002", "sip-8002", port, tmp)
    assert reg.rc == 0, reg.text
    wait_for(lambda: "agent_id=1002 extension=8002" in server.log_text())
    caller = tmp / "caller.xml"
    caller.write_text(sipp.caller_scenario(rtp_port=peers[1].port, before_ms=500,
                                           hold_ms=600_000))  # fmt: skip
    csv = tmp / "caller.csv"
    csv.write_text("SEQUENTIAL\n13800000001\n")
    procs.append(sipp.start(["-sf", str(caller), "-inf", str(csv), "-s", "7001",
                             f"127.0.0.1:{server.sip_port}", "-m", "1", "-i", "127.0.0.1",
                             "-p", "0"], tmp, "caller"))  # fmt: skip
    wait_for(lambda: 'cause="answered"' in server.log_text() or "on_call" in server.log_text())
    return server, procs, peers


def login(base: str, username: str, password: str) -> str:
    r = httpx.post(f"{base}/auth/login", json={"username": username, "password": password})
    r.raise_for_status()
    return str(r.json()["token"])


# ----------------------------------------------------------------- delivery
def delivery(server: Server, clients: int, procs: int, changes: int, interval: float,
             profile: str | None = None) -> None:  # fmt: skip
    base = f"http://127.0.0.1:{server.web_port}/api/v1"
    url = f"ws://127.0.0.1:{server.web_port}/api/v1/events/ws"
    sup = login(base, "sup", "sup-demo")
    agent = {"Authorization": f"Bearer {login(base, 'a1001', 'demo1001')}"}
    ctx = mp.get_context("spawn")
    pipes, workers = [], []
    started = time.perf_counter()
    for i in range(procs):
        ours, theirs = ctx.Pipe()
        n = clients // procs + (1 if i < clients % procs else 0)
        p = ctx.Process(target=client_process, args=(url, sup, n, theirs), daemon=True)
        p.start()
        pipes.append(ours)
        workers.append(p)
    for pipe in pipes:
        assert pipe.recv() == "ready"
    spy = None
    if profile:  # py-spy (pip install py-spy) samples the server while events are delivered
        seconds = str(int(changes * interval + 4))
        spy = subprocess.Popen(["py-spy", "record", "-r", "100", "-f", "raw", "-o", profile,
                                "-d", seconds, "-p", str(server.proc.pid)])  # fmt: skip
    print(f"  {clients} WebSocket clients connected in {time.perf_counter() - started:.1f} s "
          f"({procs} client processes)")  # fmt: skip
    sent: list[float] = []
    with httpx.Client(base_url=base, headers=agent) as http:
        r = http.post("/agent/login", json={"agent_id": "1001", "seat": "8001", "ready": True})
        r.raise_for_status()
        time.sleep(1.0)  # the login event is delivered before the measured changes
        cpu = cpu_seconds(server.proc.pid)
        for i in range(changes):
            path, body = (
                ("/agent/busy", {"reason": "bench"}) if i % 2 == 0 else ("/agent/ready", None)
            )
            sent.append(time.time())
            http.post(path, json=body).raise_for_status()
            time.sleep(interval)
        time.sleep(1.0)
        cpu = cpu_seconds(server.proc.pid) - cpu
        http.post("/agent/logout")
    for pipe in pipes:
        pipe.send("stop")
    events: list[tuple[int, float, float, float]] = []
    for pipe in pipes:
        events.extend(pipe.recv())
    for p in workers:
        p.join(timeout=10)
    if spy is not None:
        spy.wait()
    report_delivery(events, sent, clients)
    per_event, per_delivery = cpu / changes * 1000, cpu / changes / clients * 1e6
    print(f"  server CPU while delivering: {cpu:.2f} s = {per_event:.1f} ms per event, "
          f"{per_delivery:.1f} µs per delivery (with the API requests)")  # fmt: skip


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report_delivery(
    events: list[tuple[int, float, float, float]], sent: list[float], clients: int
) -> None:
    """Per (event, client): from the API request and from the hub's publish, to the message's
    arrival in the client socket (kernel timestamp) and to its read by the client process."""
    seqs = sorted({ev[0] for ev in events})
    measured = seqs[-len(sent) :] if len(seqs) >= len(sent) else seqs
    by_seq = dict(zip(measured, sent[-len(measured) :], strict=True))
    mine = [ev for ev in events if ev[0] in by_seq]
    expected = len(measured) * clients
    print(f"  events: {len(measured)} state changes x {clients} clients = {expected} deliveries,"
          f" received {len(mine)}")  # fmt: skip
    rows = (
        ("state change -> arrived", [(arr - at) * 1000 for _, at, arr, _ in mine]),
        ("state change -> read", [(rd - at) * 1000 for _, at, _, rd in mine]),
        ("request -> arrived", [(arr - by_seq[seq]) * 1000 for seq, _, arr, _ in mine]),
        ("request -> read", [(rd - by_seq[seq]) * 1000 for seq, _, _, rd in mine]),
    )
    for name, values in rows:
        values.sort()
        over = sum(1 for v in values if v > GOAL_MS) / max(1, len(values))
        print(f"  {name:24s} p50 {pct(values, 50):7.2f} ms  p99 {pct(values, 99):7.2f} ms  "
              f"max {values[-1]:7.2f} ms  > {GOAL_MS:.0f} ms: {over:.2%}")  # fmt: skip


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * p / 100))]


# ---------------------------------------------------------------- hot routes
async def rate(base: str, token: str, label: str, steps: list[tuple[str, str, Any]],
               seconds: float, concurrency: int) -> None:  # fmt: skip
    done = 0
    latencies: list[float] = []
    end = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as http:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < end:
                for method, path, body in steps:
                    t0 = time.perf_counter()
                    r = await http.request(method, path, json=body)
                    latencies.append((time.perf_counter() - t0) * 1000)
                    if r.status_code >= 400:
                        raise RuntimeError(f"{method} {path}: {r.status_code} {r.text}")
                    done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    print(f"  {label:34s} {done / elapsed:8.0f} req/s   p50 {pct(latencies, 50):6.1f} ms  "
          f"p99 {pct(latencies, 99):6.1f} ms  ({concurrency} concurrent)")  # fmt: skip


async def hot_routes(server: Server, seconds: float, concurrency: int) -> None:
    base = f"http://127.0.0.1:{server.web_port}/api/v1"
    a1001, a1002 = login(base, "a1001", "demo1001"), login(base, "a1002", "demo1002")
    sup = login(base, "sup", "sup-demo")
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {a1001}"}) as http:
        r = http.post("/agent/login", json={"agent_id": "1001", "seat": "8001", "ready": False})
        r.raise_for_status()
    await rate(base, a1001, "GET /agent/state", [("GET", "/agent/state", None)], seconds,
               concurrency)  # fmt: skip
    await rate(base, a1002, "GET /agent/call (a live call)", [("GET", "/agent/call", None)],
               seconds, concurrency)  # fmt: skip
    await rate(base, sup, "GET /reports/wallboard", [("GET", "/reports/wallboard", None)],
               seconds, concurrency)  # fmt: skip
    steps = [("POST", "/agent/busy", {"reason": "bench"}), ("POST", "/agent/ready", None)]
    await rate(base, a1001, "POST /agent/busy, /agent/ready", steps, seconds, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--procs", type=int, default=4, help="client processes")
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between changes")
    parser.add_argument("--seconds", type=float, default=5.0, help="per hot route")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", help="collapsed-stack file of the server (py-spy)")
    parser.add_argument("--slow-path", action="store_true",
                        help="no frames written straight to the transports (the A/B)")  # fmt: skip
    parser.add_argument("--python-fanout", action="store_true",
                        help="no native multi-threaded fan-out (the A/B)")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        server, procs, peers = start(Path(tmp), args.slow_path, args.python_fanout)
        try:
            path = (
                "slow path: queue + task per client"
                if args.slow_path
                else "fast path, " + ("Python writes" if args.python_fanout else "native fan-out")
            )
            print(f"event delivery: agent state change -> {args.clients} WebSockets "
                  f"(goal p99 <= {GOAL_MS:.0f} ms; {path})")  # fmt: skip
            delivery(server, args.clients, args.procs, args.changes, args.interval, args.profile)
            print("hot routes (requests per second, one client process, HTTP/1.1 keep-alive)")
            asyncio.run(hot_routes(server, args.seconds, args.concurrency))
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
            for peer in peers:
                peer.close()
            server.stop()


if __name__ == "__main__":
    main()
