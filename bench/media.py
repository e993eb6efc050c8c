"""Media engine benchmark: relayed G.711 calls through the engine's worker processes, side by
side with rtpengine (userspace) on the same streams, plus recorded calls, 3-party conferences
and TTS time per prompt.

The RTP generator is a small C program (bench/rtpgen.c, compiled here with gcc) in its own
process: 2 sockets per call, one 172-byte packet per 20 ms each way, phase-spread across the
tick; it measures loss and RFC 3550 interarrival jitter of what comes back. A direct run (the
generator's sockets talking to each other, no relay) is the baseline: "added jitter" is a
relay's jitter minus the baseline's. CPU per packet is the relay processes' CPU time (from
/proc) over the packets they received; "relay%" is that CPU time over the run's seconds (100 =
one core) and "gen%" the generator's own; "late" is the share of the generator's send slots that
went out more than a tick (20 ms) behind schedule: when it is not ~0, the generator itself (or
the machine) is the bottleneck, not the relay. The machine has 2 cores shared with the generator
(and with anything else running): figures are noisy, so run it a few times.

The engine relays bridged calls on its native path (``callcenter.media.native``, built by
``make``) when the library is there; ``--relay native,python`` measures both paths in the same
run (``--python-relay`` is ``--relay python``: the pure-Python relay only).

    .venv/bin/python bench/media.py [--calls 500,1000] [--seconds 10] [--no-rtpengine]
        [--no-rtcp] [--skip-extras] [--relay auto|native|python[,...]] [--python-relay]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "src"))

from callcenter.media.control import Leg  # noqa: E402
from callcenter.media.player import Say  # noqa: E402
from callcenter.media.tts import Tts  # noqa: E402
from callcenter.media.worker import WorkerPool  # noqa: E402

HOST = "127.0.0.1"
TICK_HZ = 50


# -- the generator ----------------------------------------------------------------------------


def build_generator(tmp: Path) -> Path | None:
    if shutil.which("gcc") is None:
        return None
    exe = tmp / "rtpgen"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(ROOT / "rtpgen.c")], check=True)
    return exe


@dataclass
class Result:
    name: str
    streams: int
    sent: int
    received: int
    expected: int
    jitter_ms: float
    jitter_p99_ms: float
    max_gap_ms: float
    cpu_s: float | None = None
    relay_packets: int = 0
    gen_cpu_s: float = 0.0
    late: float = 0.0
    seconds: float = 0.0

    @property
    def loss(self) -> float:
        return max(0, self.expected - self.received) / max(1, self.expected)

    @property
    def cpu_us_per_packet(self) -> float | None:
        if self.cpu_s is None or not self.relay_packets:
            return None
        return self.cpu_s / self.relay_packets * 1e6


class Generator:
    def __init__(self, exe: Path, sockets: int) -> None:
        self.proc = subprocess.Popen(
            [str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{sockets}\n")
        self.proc.stdin.flush()
        self.ports = [int(p) for p in self.proc.stdout.readline().split()]
        self.cpu_at_end = 0.0
        self.late_slots = 0

    def run(
        self, dests: list[tuple[int, int]], seconds: float
    ) -> list[tuple[int, int, float, float]]:
        """Send for ``seconds``; per-socket (sent, received, jitter s, max gap s). Notes the
        generator's own CPU time once all its work is done (``cpu_at_end``)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        lines = "".join(f"{d} {pt}\n" for d, pt in dests)
        self.proc.stdin.write(lines + f"go {int(seconds * 1000)}\n")
        self.proc.stdin.flush()
        stats = []
        for _ in dests:
            sent, recvd, jitter, gap = self.proc.stdout.readline().split()
            stats.append((int(sent), int(recvd), float(jitter), float(gap)))
        self.cpu_at_end = cpu_seconds([self.proc.pid])  # exiting at most: not yet reaped
        self.proc.stdin.close()
        done = self.proc.stdout.readline().split()  # "done <seconds> late_slots <n>"
        self.late_slots = int(done[3]) if len(done) > 3 else 0
        self.proc.wait(timeout=10)
        return stats


def summarise(name: str, stats: list[tuple[int, int, float, float]], expected: int) -> Result:
    receiving = [s for s in stats if s[1] > 0] or stats
    jit = np.array([s[2] for s in receiving]) * 1000
    return _with_gen(
        Result(
            name,
            len(stats),
            sum(s[0] for s in stats),
            sum(s[1] for s in stats),
            expected,
            float(jit.mean()),
            float(np.percentile(jit, 99)),
            max(s[3] for s in stats) * 1000,
        )
    )


def _with_gen(res: Result) -> Result:
    res.gen_cpu_s = LAST_GEN_CPU[0]
    res.late = LAST_LATE[0]
    res.seconds = SECONDS[0]
    return res


SECONDS = [10.0]


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


LAST_GEN_CPU = [0.0]  # the generator's own CPU seconds in the latest run
LAST_LATE = [0.0]  # share of the generator's 1 ms send slots sent over 20 ms late


async def run_gen(gen: Generator, dests: list[tuple[int, int]], seconds: float, pids: list[int]):
    before = cpu_seconds(pids) if pids else 0.0
    gen_before = cpu_seconds([gen.proc.pid])
    stats = await asyncio.to_thread(gen.run, dests, seconds)
    cpu = cpu_seconds(pids) - before if pids else None
    LAST_GEN_CPU[0] = gen.cpu_at_end - gen_before
    LAST_LATE[0] = gen.late_slots / max(1, int(seconds * TICK_HZ) * 20)
    return stats, cpu


# -- scenarios --------------------------------------------------------------------------------


async def direct(exe: Path, calls: int, seconds: float) -> Result:
    gen = Generator(exe, 2 * calls)
    p = gen.ports
    dests = [(p[i ^ 1], 0) for i in range(2 * calls)]
    stats, _ = await run_gen(gen, dests, seconds, [])
    return summarise(f"direct (no relay), {calls} calls", stats, sum(s[0] for s in stats))


def worker_pids(pool: WorkerPool) -> list[int]:
    return [w.proc.pid for w in pool._workers if w.proc.pid is not None]


async def engine_relay(
    exe: Path, pool: WorkerPool, calls: int, seconds: float, rec_dir: Path | None, path: str = ""
) -> Result:
    gen = Generator(exe, 2 * calls)
    legs: list[Leg] = []
    for c in range(calls):
        a = await pool.create_endpoint(f"bench-{c}", HOST)
        b = await pool.create_endpoint(f"bench-{c}-b", HOST, group=f"bench-{c}")
        await pool.set_remote(a, HOST, gen.ports[2 * c], 0)
        await pool.set_remote(b, HOST, gen.ports[2 * c + 1], 8 if rec_dir else 0)
        await pool.bridge(a, b)
        if rec_dir is not None:
            await pool.record(a, rec_dir / f"call-{c}.wav")
        legs += [a, b]
    dests = [(leg.local_port, 8 if rec_dir and k % 2 else 0) for k, leg in enumerate(legs)]
    stats, cpu = await run_gen(gen, dests, seconds, worker_pids(pool))
    for leg in legs:
        await pool.release(leg)
    name = f"engine{path}, {len(pool._workers)} workers, {calls} calls" + (
        ", recorded+transcoded" if rec_dir else ""
    )
    res = summarise(name, stats, sum(s[0] for s in stats))
    res.cpu_s, res.relay_packets = cpu, res.sent
    return res


async def engine_conferences(exe: Path, pool: WorkerPool, confs: int, seconds: float) -> Result:
    gen = Generator(exe, 3 * confs)
    legs: list[Leg] = []
    for c in range(confs):
        group = [
            await pool.create_endpoint(f"conf-{c}-{k}", HOST, group=f"conf-{c}") for k in range(3)
        ]
        for k, leg in enumerate(group):
            await pool.set_remote(leg, HOST, gen.ports[3 * c + k], 0)
        await pool.conference(group)
        legs += group
    dests = [(leg.local_port, 0) for leg in legs]
    stats, cpu = await run_gen(gen, dests, seconds, worker_pids(pool))
    for leg in legs:
        await pool.release(leg)
    expected = int(seconds * TICK_HZ) * len(legs)
    res = summarise(f"engine, {confs} 3-party conferences", stats, expected)
    res.cpu_s, res.relay_packets = cpu, res.sent
    return res


# -- rtpengine --------------------------------------------------------------------------------


def bencode(v: object) -> bytes:
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(bencode(x) for x in v) + b"e"
    if isinstance(v, dict):
        return b"d" + b"".join(bencode(k) + bencode(v[k]) for k in sorted(v)) + b"e"
    raise TypeError(type(v))


def bdecode(data: bytes, i: int = 0) -> tuple[object, int]:
    c = data[i : i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1 : end]), end + 1
    if c in (b"l", b"d"):
        items, i = [], i + 1
        while data[i : i + 1] != b"e":
            item, i = bdecode(data, i)
            items.append(item)
        if c == b"l":
            return items, i + 1
        return {items[k].decode(): items[k + 1] for k in range(0, len(items), 2)}, i + 1
    colon = data.index(b":", i)
    n = int(data[i:colon])
    return data[colon + 1 : colon + 1 + n], colon + 1 + n


class Ng:
    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(2)
        self.addr = (HOST, port)
        self.n = 0

    def __call__(self, **msg: object) -> dict:
        self.n += 1
        cookie = b"c%d" % self.n
        self.sock.sendto(cookie + b" " + bencode(msg), self.addr)
        while True:
            data = self.sock.recv(65536)
            if data.startswith(cookie + b" "):
                reply, _ = bdecode(data, len(cookie) + 1)
                assert isinstance(reply, dict)
                if reply.get("result") not in (b"ok", b"pong"):
                    raise RuntimeError(f"rtpengine: {reply}")
                return reply


def sdp(port: int) -> str:
    return (
        f"v=0\r\no=- 1 1 IN IP4 {HOST}\r\ns=-\r\nc=IN IP4 {HOST}\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    )


def media_port(reply: dict) -> int:
    m = re.search(rb"m=audio (\d+)", reply["sdp"])  # type: ignore[arg-type]
    assert m is not None
    return int(m.group(1))


def _apt(args: list[str], timeout: float) -> bool:
    try:
        subprocess.run(["apt-get", *args], timeout=timeout, check=True, capture_output=True)
    except (subprocess.SubprocessError, OSError) as exc:
        print(f"apt-get {args[0]} failed: {exc}", flush=True)
        return False
    return True


def ensure_rtpengine() -> str | None:
    """rtpengine on PATH, installed with apt-get if needed (bounded in time), or None."""
    exe = shutil.which("rtpengine")
    if exe:
        return exe
    print("installing rtpengine-daemon with apt-get (bounded to 4 minutes) ...", flush=True)
    install = ["install", "-y", "-qq", "--no-install-recommends"]
    install += ["-o", "DPkg::Lock::Timeout=60", "rtpengine-daemon"]
    if not _apt(install, 120) and not (_apt(["update", "-qq"], 60) and _apt(install, 120)):
        print("rtpengine is not installable here: skipping the rtpengine side", flush=True)
        return None
    return shutil.which("rtpengine")


async def rtpengine_relay(exe: Path, calls: int, seconds: float) -> Result | None:
    binary = ensure_rtpengine()
    if binary is None:
        return None
    ng_port = 22222
    proc = subprocess.Popen(
        [
            binary,
            "--interface=127.0.0.1",
            f"--listen-ng=127.0.0.1:{ng_port}",
            "--foreground",
            "--table=-1",
            "--port-min=50000",
            "--port-max=59999",
            "--log-stderr",
            "--log-level=3",
            "--num-threads=2",
            "--delete-delay=0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        ng = Ng(ng_port)
        for _ in range(50):
            try:
                ng(command="ping")
                break
            except OSError:
                await asyncio.sleep(0.1)
        gen = Generator(exe, 2 * calls)
        dests: list[tuple[int, int]] = []
        for c in range(calls):
            cid = f"bench-{c}"
            offer = ng(
                command="offer", **{"call-id": cid, "from-tag": "a", "sdp": sdp(gen.ports[2 * c])}
            )
            answer = ng(
                command="answer",
                **{
                    "call-id": cid,
                    "from-tag": "a",
                    "to-tag": "b",
                    "sdp": sdp(gen.ports[2 * c + 1]),
                },
            )
            dests += [(media_port(answer), 0), (media_port(offer), 0)]
        stats, cpu = await run_gen(gen, dests, seconds, [proc.pid])
        res = summarise(f"rtpengine (userspace), {calls} calls", stats, sum(s[0] for s in stats))
        res.cpu_s, res.relay_packets = cpu, res.sent
        return res
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


# -- TTS --------------------------------------------------------------------------------------


async def tts_timing(tmp: Path) -> tuple[float, float]:
    tts = Tts(tmp / "tts")
    texts = [Say(f"您的电费余额为一百二十{d}元", "zh") for d in "一二三四五"]
    texts += [Say(f"Your balance is {n} dollars", "en") for n in range(5)]
    start = time.perf_counter()
    for s in texts:
        await tts.synth(s.text, s.language)
    cold = (time.perf_counter() - start) / len(texts)
    start = time.perf_counter()
    for s in texts:
        await tts.synth(s.text, s.language)
    warm = (time.perf_counter() - start) / len(texts)
    return cold, warm


async def extras(exe: Path, pool: WorkerPool, args: argparse.Namespace, tmp: Path) -> None:
    rec_dir = tmp / "rec"
    rec_dir.mkdir()
    base = await direct(exe, args.recorded, args.seconds)
    print(row(base, None), flush=True)
    print(row(await engine_relay(exe, pool, args.recorded, args.seconds, rec_dir), base))
    base = await direct(exe, args.conferences * 3 // 2, args.seconds)
    print(row(base, None), flush=True)
    print(row(await engine_conferences(exe, pool, args.conferences, args.seconds), base))


# -- main -------------------------------------------------------------------------------------


HEADER = (
    f"{'run':42s} {'streams':>7s} {'received':>9s} {'loss':>9s} {'jit ms':>7s} "
    f"{'p99':>7s} {'added':>7s} {'maxgap':>8s} {'us/pkt':>7s} {'relay%':>7s} {'gen%':>6s} "
    f"{'late':>6s}"
)


def row(r: Result, base: Result | None) -> str:
    added = "" if base is None else f"{max(0.0, r.jitter_ms - base.jitter_ms):7.3f}"
    cpu = r.cpu_us_per_packet
    return (
        f"{r.name:42s} {r.streams:7d} {r.received:9d} {100 * r.loss:8.4f}% "
        f"{r.jitter_ms:7.3f} {r.jitter_p99_ms:7.3f} {added:>7s} {r.max_gap_ms:8.1f} "
        f"{'' if cpu is None else f'{cpu:6.2f}':>7s} "
        f"{'' if r.cpu_s is None else f'{100 * r.cpu_s / r.seconds:6.1f}':>7s} "
        f"{100 * r.gen_cpu_s / r.seconds:6.1f} {100 * r.late:5.1f}%"
    )


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", default="500,1000", help="comma-separated levels")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--recorded", type=int, default=200)
    ap.add_argument("--conferences", type=int, default=150)
    ap.add_argument("--no-rtpengine", action="store_true")
    ap.add_argument("--no-rtcp", action="store_true", help="engine without RTCP/statistics")
    ap.add_argument("--skip-extras", action="store_true", help="no recorded/conference/TTS runs")
    ap.add_argument(
        "--relay", default="auto", help="relay paths to measure: auto, native, python (comma list)"
    )
    ap.add_argument("--python-relay", action="store_true", help="same as --relay python")
    args = ap.parse_args()
    relays = ["python"] if args.python_relay else str(args.relay).split(",")
    modes = {"auto": "auto", "native": "on", "python": "off"}
    SECONDS[0] = args.seconds
    levels = [int(x) for x in str(args.calls).split(",")]
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        exe = build_generator(tmp)
        if exe is None:
            print("gcc not found: the C RTP generator cannot be built; nothing measured")
            return
        print(
            f"media bench: {levels} calls, {args.seconds:.0f} s per run, "
            f"{args.workers} workers, {os.cpu_count()} cores (shared: figures are noisy), "
            f"RTCP {'off' if args.no_rtcp else 'on'}, load average {os.getloadavg()[0]:.2f}"
        )
        results: list[Result] = []
        print(HEADER)
        rtcp = None if args.no_rtcp else 5.0
        # Below the kernel's ephemeral range (32768-60999), where the generator's sockets are.
        pools: dict[str, WorkerPool] = {}
        span = (32767 - 12000) // len(relays)
        for k, relay in enumerate(relays):
            lo = 12000 + k * span
            pools[relay] = WorkerPool(
                args.workers,
                lo,
                lo + span - 1,
                tmp / "prompts",
                rtcp_interval=rtcp,
                native_relay=modes[relay],
            )
            await pools[relay].start()
        pool = pools[relays[0]]
        stats: dict = {}
        ratios = []
        try:
            for calls in levels:
                base = await direct(exe, calls, args.seconds)
                print(row(base, None), flush=True)
                engines = []
                for relay, p in pools.items():
                    label = "" if relay == "auto" else f" ({relay})"
                    eng = await engine_relay(exe, p, calls, args.seconds, None, label)
                    print(row(eng, base), flush=True)
                    engines.append((relay, eng))
                if not args.no_rtpengine:
                    rtp = await rtpengine_relay(exe, calls, args.seconds)
                    if rtp is not None:
                        print(row(rtp, base), flush=True)
                        for relay, eng in engines:
                            if eng.cpu_us_per_packet and rtp.cpu_us_per_packet:
                                ratio = eng.cpu_us_per_packet / rtp.cpu_us_per_packet
                                ratios.append((calls, relay, ratio))
                results += [base, *(e for _, e in engines)]
            if not args.skip_extras:
                await extras(exe, pool, args, tmp)
            stats = await pool.stats()
        finally:
            for p in pools.values():
                await p.close()
        for calls, relay, ratio in ratios:
            print(f"CPU per packet at {calls} calls, engine ({relay}) / rtpengine: {ratio:.2f}x")
        cold, warm = (0.0, 0.0) if args.skip_extras else await tts_timing(tmp)
    del results
    print(f"engine tick resyncs over all runs: {stats.get('tick_resyncs', 0)}")
    print(
        f"TTS per prompt: {1000 * cold:.1f} ms cold (espeak-ng + sox), {1000 * warm:.2f} ms cached"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    print(f"bench wall time: {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())
