"""Benchmark of the CTI API (issue 6): event delivery to 1,000 WebSockets, and the hot routes.

Scenario: the real server (``callcenter serve`` on SQLite, started by the end-to-end helper) with
the demo data. A SIPp caller is talking to agent 1002 (a SIPp phone), so ``GET /agent/call`` has
a call to describe. 1,000 WebSocket clients connect to ``/api/v1/events/ws`` with the demo
supervisor's bearer token (a supervisor in no queue sees every event, so every client gets every
state change), spread over several client processes so that the clients do not become the
bottleneck of one Python loop; each client is a bare ``asyncio.Protocol`` that timestamps a
message when its last byte arrives (the ``websockets`` client cost as much CPU per message as
the server, on the same cores). Agent 1001 then changes state (busy / ready through the API)
``--changes`` times, one change every ``--interval`` seconds; each change is one
``AgentStateChanged`` event delivered to all clients.

Figures: per (event, client) the delivery latency, measured two ways on the same machine's wall
clock: from the moment the API request was sent (agent action -> event on the desktop, SPEC
§15), and from the moment the event hub published it (``at`` in the message: the fan-out
alone). p50 / p99 / max over all clients and events, and the share above the 20 ms goal. Then
requests per second for the hot routes with the clients gone: ``GET /agent/state``,
``GET /agent/call``, ``GET /reports/wallboard``, ``POST /agent/busy`` + ``/agent/ready``.
``--slow-path`` runs the server without the stream's fast path (``CALLCENTER_WS_FAST_PATH=0``:
every event through each client's queue and task) for an A/B under the same load.
Prints figures only; nothing is asserted. Needs SIPp. Run: ``.venv/bin/python bench/api.py``
(about a minute). Numbers are noisy on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
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
    """``count`` WebSocket clients in one process: connect, report ready, then timestamp every
    message until told to stop; send back (seq, at, received) of every event."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    asyncio.run(_clients(url, token, count, pipe))


class _Client(asyncio.Protocol):
    """A minimal WebSocket client (the handshake, then unmasked frames from the server): it only
    timestamps each text message as its last byte arrives and answers pings, so that 1,000 of
    them cost the shared cores little next to the server they measure. (The ``websockets``
    library's client, one reader task per socket, cost about as much CPU per message as the
    server's whole fan-out.)"""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.messages: list[tuple[bytes, float]] = []
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        now = time.time()  # the wall clock: comparable with the server's and parent's
        buf = self.buf
        buf += data
        if not self.upgraded.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            del buf[: end + 4]
            if b" 101 " not in status:
                self.upgraded.set_exception(RuntimeError(status.decode()))
                return
            self.upgraded.set_result(None)
        while len(buf) >= 2:
            opcode, n, at = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, at = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, at = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < at + n:
                return
            payload = bytes(buf[at : at + n])
            del buf[: at + n]
            if opcode == 1:
                self.messages.append((payload, now))
            elif opcode == 9 and self.transport is not None:  # ping: a pong, masked (zero key)
                self.transport.write(bytes((0x8A, 0x80 | n)) + b"\0\0\0\0" + payload)
            elif opcode == 8:
                self.closed = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True


async def _connect(host: str, port: int, path: str, token: str) -> _Client:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(_Client, host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n")  # fmt: skip
    assert client.transport is not None
    client.transport.write(request.encode())
    await client.upgraded
    while not client.messages:  # the hello
        await asyncio.sleep(0.001)
    client.messages.clear()
    return client


async def _clients(url: str, token: str, count: int, pipe: Connection) -> None:
    where = urlsplit(url)
    assert where.hostname is not None and where.port is not None
    clients = [await _connect(where.hostname, where.port, where.path, token) for _ in range(count)]
    pipe.send("ready")
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, pipe.recv)  # "stop"
    events = []
    for client in clients:
        assert client.transport is not None
        client.transport.write(bytes((0x88, 0x80)) + b"\0\0\0\0")  # close, masked, no body
        for raw, received in client.messages:
            msg = json.loads(raw)
            changed = "seq" in msg and msg["type"] == "AgentStateChanged"
            if changed and msg["payload"]["cause"] not in ("login", "logout"):  # busy/ready only
                at = datetime.fromisoformat(msg["at"]).timestamp()
                events.append((int(msg["seq"]), at, received))
    await asyncio.sleep(0.2)
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    pipe.send(events)


# ------------------------------------------------------------------- server
def start(
    tmp: Path, slow_path: bool = False
) -> tuple[Server, list[subprocess.Popen[str]], list[RtpPeer]]:
    env = prepare(tmp, OPEN_DIALPLAN)
    if slow_path:  # the stream's per-client queue and task only (routes/events.py)
        env["CALLCENTER_WS_FAST_PATH"] = "0"
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
    events: list[tuple[int, float, float]] = []
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
    events: list[tuple[int, float, float]], sent: list[float], clients: int
) -> None:
    seqs = sorted({seq for seq, _, _ in events})
    measured = seqs[-len(sent) :] if len(seqs) >= len(sent) else seqs
    by_seq = dict(zip(measured, sent[-len(measured) :], strict=True))
    e2e = [(rx - by_seq[seq]) * 1000 for seq, _, rx in events if seq in by_seq]
    fan = [(rx - at) * 1000 for seq, at, rx in events if seq in by_seq]
    expected = len(measured) * clients
    print(f"  events: {len(measured)} state changes x {clients} clients = {expected} deliveries,"
          f" received {len(e2e)}")  # fmt: skip
    for name, values in (("request -> client", e2e), ("hub publish -> client", fan)):
        values.sort()
        over = sum(1 for v in values if v > GOAL_MS) / max(1, len(values))
        print(f"  {name:22s} p50 {pct(values, 50):7.2f} ms  p99 {pct(values, 99):7.2f} ms  "
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        server, procs, peers = start(Path(tmp), args.slow_path)
        try:
            path = "slow path: queue + task per client" if args.slow_path else "fast path"
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
