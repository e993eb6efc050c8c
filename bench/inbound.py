"""Inbound calls under load (issue 5, item 4): SIPp callers at a steady rate -> dialplan -> (IVR)
-> ACD queue ``billing`` -> auto-answering SIPp agent phones, through the real ``callcenter
serve`` on 127.0.0.1.

Set-up: the demo is seeded into a fresh SQLite data directory, then ``--agents`` more agents
(2001.., extensions 6001.., skill billing 3) are added and the billing queue is set to wrap-up 0,
ring timeout 10 s, no max wait, no length limit, no recording. Agent phones are SIPp UAS processes
(``--agents-per-phone`` extensions share one SIPp, each extension registered with its own digest
password); extension 8003 (agent 1003, skill repair only: not eligible for billing) is registered
too, as a trap for wrong selections. Dialplan: DID 7001 -> queue billing; DID 95598 -> IVR flow
``demo_main`` (the caller presses 0 after 1.5 s of the welcome prompt -> billing).

Run: a rate search on the queue path (``--rates``, ``--step-seconds`` of calls each, stopping at
the first rate that loses a call), then the main run: at least ``--main-calls`` calls in total,
the queue path at ``--main-factor`` x the highest loss-free rate plus the IVR path at
``--ivr-rate``, concurrently. Each caller holds ``--hold-ms`` after answer (IVR: after its digit)
and hangs up. See docs/performance.md ("Inbound") for what each figure means.

    .venv/bin/python bench/inbound.py [--rates 10,20,40,60,80] [--main-calls 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the end-to-end helpers live in tests/e2e
    sys.path.insert(0, str(REPO))

from tests.e2e import sipp as e2e  # noqa: E402

import _inbound_analysis as ana  # noqa: E402
import _inbound_scenarios as scn  # noqa: E402
from _inbound_setup import Lab, start_lab, stop_lab  # noqa: E402

HOST = "127.0.0.1"
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Load:
    """One SIPp caller process: ``calls`` calls at ``rate`` calls/s to ``did``."""

    name: str
    path: str  # "queue" or "ivr"
    did: str
    rate: float
    calls: int
    prefix: str  # caller numbers of this load start with it
    hold_ms: int
    digits: str = ""
    before_ms: int = 0
    answer_timeout_ms: int = 5000  # a caller without a 200 by then would have hung up: lost


@dataclass
class Result:
    load: Load
    wall_s: float = 0.0
    server_cpu_s: float = 0.0  # the whole server process, every thread
    loop_cpu_s: float = 0.0  # its main thread (the asyncio loop)
    sip_drops: int = 0  # datagrams dropped at the server's SIP socket (buffer full)
    achieved: float = 0.0  # INVITEs per second actually sent (completed calls)
    completed: int = 0  # SIPp callers that ended as planned (or with a server BYE)
    late: int = 0  # ... but whose 200 OK came after the answer timeout (counted lost)
    premature: int = 0  # ... of which the server hung up before the caller's planned BYE
    bridged: int = 0  # the server bridged the caller to an agent
    connected: int = 0  # completed in SIPp, answered in time and bridged: the call worked
    server_latency: list[float] = field(default_factory=list)  # call.incoming -> call.offered
    arrivals: list[tuple[float, float]] = field(default_factory=list)  # (incoming, setup)
    not_offered: int = 0
    reoffers: int = 0
    answer_latency: list[float] = field(default_factory=list)  # caller INVITE -> its 200 OK
    wire_latency: list[float] = field(default_factory=list)  # caller INVITE -> agent INVITE
    digit_latency: list[float] = field(default_factory=list)  # caller digit -> agent INVITE
    cdr: ana.CdrCheck = field(default_factory=ana.CdrCheck)
    kept_up: bool = False  # search steps: no loss and setup p99 within --max-setup-ms

    @property
    def cpu_percent(self) -> float:
        return 100 * self.server_cpu_s / max(self.wall_s, 1e-9)

    @property
    def loop_percent(self) -> float:
        return 100 * self.loop_cpu_s / max(self.wall_s, 1e-9)

    @property
    def lost(self) -> int:
        return self.load.calls - self.connected


def cpu_seconds(pid: int, task: int | None = None) -> float:
    """utime + stime of process ``pid`` (all threads), or of its thread ``task`` only."""
    path = f"/proc/{pid}/stat" if task is None else f"/proc/{pid}/task/{task}/stat"
    try:
        text = Path(path).read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK


# ------------------------------------------------------------------------------- running


def start_load(lab: Lab, load: Load) -> subprocess.Popen[str]:
    xml = lab.tmp / f"{load.name}.xml"
    xml.write_text(scn.caller(load.digits, before_ms=load.before_ms, hold_ms=load.hold_ms))
    csv = lab.tmp / f"{load.name}.csv"
    width = 11 - len(load.prefix)
    csv.write_text("SEQUENTIAL\n" + "".join(f"{load.prefix}{i:0{width}d}\n"
                                            for i in range(load.calls)))  # fmt: skip
    hold_s = load.hold_ms / 1000 + load.before_ms / 1000 + 15
    limit = max(50, int(load.rate * hold_s * 2))
    args = ["-sf", str(xml), "-inf", str(csv), "-s", load.did, f"{HOST}:{lab.server.sip_port}",
            "-m", str(load.calls), "-r", str(load.rate), "-rp", "1000", "-l", str(limit),
            "-i", HOST, "-p", "0", "-mp", str(lab.media_port()), "-recv_timeout", "30000",
            "-trace_logs", "-log_file", str(lab.tmp / f"{load.name}.log"),
            "-trace_err", "-error_file", str(lab.tmp / f"{load.name}.err"),
            "-max_socket", "4096"]  # fmt: skip
    if load.rate != int(load.rate):
        args[args.index("-rp") + 1] = "10000"
        args[args.index("-r") + 1] = str(round(load.rate * 10))
    return e2e.start(args, lab.tmp, load.name)


def run_loads(lab: Lab, loads: list[Load], deadline: float, settle: float = 0.0) -> list[Result]:
    """Run the loads side by side, wait for the server to close every call, measure."""
    pid = lab.server.proc.pid
    cpu0, loop0 = cpu_seconds(pid), cpu_seconds(pid, pid)
    drops0 = ana.udp_drops(lab.server.sip_port)
    start = time.monotonic()
    sampler = StatsSampler(pid, lab.stats_every)
    procs = [start_load(lab, load) for load in loads]
    longest = max(load.calls / load.rate for load in loads)
    for proc in procs:
        budget = max(5.0, min(longest + 60, deadline - time.monotonic()))
        try:
            proc.wait(timeout=max(1.0, budget - (time.monotonic() - start) + longest))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    wall = time.monotonic() - start
    drain(lab, loads)
    sampler.stop(settle)  # and one last snapshot, with every call of these loads closed
    cpu, loop = cpu_seconds(pid) - cpu0, cpu_seconds(pid, pid) - loop0
    results = [measure(lab, load, wall, cpu) for load in loads]
    drops = ana.udp_drops(lab.server.sip_port) - drops0
    for res in results:
        res.loop_cpu_s, res.sip_drops = loop, drops
    return results


class StatsSampler:
    """SIGUSR1 to the server every ``every`` seconds: it logs ``server.stats`` (per-call table
    sizes, asyncio tasks, memory; calls/stats.py), which ``print_stats`` shows as a timeline."""

    def __init__(self, pid: int, every: float) -> None:
        self.pid = pid
        self.every = every
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        if every > 0:
            self._thread.start()

    def _signal(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGUSR1)

    def _loop(self) -> None:
        self._signal()
        while not self._done.wait(self.every):
            self._signal()

    def stop(self, settle: float) -> None:
        """One more snapshot ``settle`` seconds after the last call closed (SIP transactions
        linger 32 s for retransmissions; anything per-call still there after that leaked)."""
        self._done.set()
        if self.every > 0:
            self._thread.join()
            time.sleep(max(2.0, settle))
            self._signal()
            time.sleep(0.5)


def drain(lab: Lab, loads: list[Load], timeout: float = 45.0) -> None:
    """Until every call the server saw from these loads is closed (CDR written, logged)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        lab.log.update(lab.server.lines)
        calls = [c for load in loads for c in lab.log.calls(load.prefix)]
        if all(c.outcome is not None for c in calls):
            return
        time.sleep(0.5)


def measure(lab: Lab, load: Load, wall: float, cpu: float) -> Result:
    res = Result(load, wall_s=wall, server_cpu_s=cpu)
    ends = ana.caller_log(lab.tmp / f"{load.name}.log")
    res.completed = len(ends)
    res.answer_latency = [e.t_answer - e.t_invite for e in ends.values()]
    late = {
        e.caller for e in ends.values() if e.t_answer - e.t_invite > load.answer_timeout_ms / 1000
    }
    res.late = len(late)
    sent = sorted(e.t_invite for e in ends.values())
    if len(sent) > 1:
        res.achieved = (len(sent) - 1) / max(sent[-1] - sent[0], 1e-9)
    res.premature = sum(e.premature for e in ends.values())
    for call in lab.log.calls(load.prefix):
        if call.bridged_agent is not None:
            res.bridged += 1
            res.connected += call.caller in ends and call.caller not in late
        if call.t_offered is None:
            res.not_offered += 1
        else:
            res.server_latency.append(call.t_offered - call.t_in)
            res.arrivals.append((call.t_in, call.t_offered - call.t_in))
            res.reoffers += call.offers - 1
    res.not_offered += load.calls - len(lab.log.calls(load.prefix))
    return res


def add_agent_side(results: list[Result], lab: Lab, side: ana.AgentSide) -> None:
    for res in results:
        ends = ana.caller_log(lab.tmp / f"{res.load.name}.log")
        for caller, end in ends.items():
            seen = side.first_invite.get(caller)
            if seen is None:
                continue
            res.wire_latency.append(seen - end.t_invite)
            if end.t_digit is not None:
                res.digit_latency.append(seen - end.t_digit)


# ------------------------------------------------------------------------------ the plan


def search_step(lab: Lab, args: argparse.Namespace, rate: float, n: int,
                deadline: float) -> Result | None:  # fmt: skip
    calls = max(20, int(rate * args.step_seconds))
    if time.monotonic() + calls / rate + 40 > deadline - args.reserve:
        print(f"  {rate:g} calls/s skipped: no time left in the budget", flush=True)
        return None
    load = Load(f"search-{rate:g}", "queue", lab.seeded.queue_did, rate, calls, f"130{n:02d}",
                args.hold_ms, answer_timeout_ms=args.answer_timeout_ms)  # fmt: skip
    (res,) = run_loads(lab, [load], deadline)
    res.kept_up = res.lost == 0 and percentile_ms(res.server_latency, 99) <= args.max_setup_ms
    print(f"  {rate:g} calls/s: {calls} offered, {res.lost} lost, {res.premature} premature,"
          f" setup p50 {ana.ms(res.server_latency, 50)} ms, p99"
          f" {ana.ms(res.server_latency, 99)} ms, server CPU {res.cpu_percent:.0f}%"
          f"{'' if res.kept_up else '  <- did not keep up'}", flush=True)  # fmt: skip
    return res


def percentile_ms(values: list[float], q: float) -> float:
    v = ana.percentile(values, q)
    return math.inf if math.isnan(v) else v * 1000


def rate_search(lab: Lab, args: argparse.Namespace, deadline: float) -> list[Result]:
    """Up the ``--rates`` list until a step loses a call or its setup p99 exceeds
    ``--max-setup-ms``; then ``--refine`` bisection steps between the last good rate and it."""
    results: list[Result] = []
    good, bad = 0.0, None
    for rate in args.rates:
        res = search_step(lab, args, rate, len(results), deadline)
        if res is None:
            return results
        results.append(res)
        if not res.kept_up:
            bad = rate
            break
        good = rate
    for _ in range(args.refine):
        if bad is None or bad - good <= 2 * args.rate_step:
            break
        mid = good + round((bad - good) / 2 / args.rate_step) * args.rate_step
        res = search_step(lab, args, mid, len(results), deadline)
        if res is None:
            break
        results.append(res)
        good, bad = (mid, bad) if res.kept_up else (good, mid)
    return results


def best_rate(results: list[Result], kept_up: bool) -> float | None:
    """The highest rate with no lost call (and, with ``kept_up``, setup p99 within bound)."""
    ok = [r.load.rate for r in results if (r.kept_up if kept_up else r.lost == 0)]
    return max(ok) if ok else None


def main_loads(
    lab: Lab, args: argparse.Namespace, queue_rate: float, deadline: float
) -> list[Load]:
    total_rate = queue_rate + args.ivr_rate
    seconds = args.main_calls / total_rate
    room = deadline - time.monotonic() - 45
    if seconds > room:
        print(
            f"  main run cut to {room:.0f} s by --budget: {room * total_rate:.0f} calls instead"
            f" of {args.main_calls} at {total_rate:g} calls/s; raise --budget (or run on a"
            " quieter machine, where the search finds a higher rate) for the full count"
        )
        seconds = max(10.0, room)
    queue = Load("main-queue", "queue", lab.seeded.queue_did, queue_rate,
                 math.ceil(queue_rate * seconds), "13100", args.hold_ms,
                 answer_timeout_ms=args.answer_timeout_ms)  # fmt: skip
    ivr = Load("main-ivr", "ivr", lab.seeded.ivr_did, args.ivr_rate,
               math.ceil(args.ivr_rate * seconds), "13200", args.hold_ms, digits="0",
               before_ms=1500, answer_timeout_ms=args.answer_timeout_ms)  # fmt: skip
    return [queue, ivr]


def finish(lab: Lab, results: list[Result]) -> None:
    """Agent-side and CDR checks, once the phones and the server have stopped."""
    side = ana.agent_logs(lab.agent_logs)
    add_agent_side(results, lab, side)
    cdrs = lab.seeded.read_cdrs()
    for res in results:
        res.cdr = ana.check_cdrs(cdrs, res.load.prefix, lab.seeded.eligible_ids, "billing")
    lab.side = side


# ------------------------------------------------------------------------------- report


def _row(label: str, results: list[Result], cell: object) -> str:
    return f"{label:42}" + "".join(f"{cell(r):>13}" for r in results)  # type: ignore[operator]


def report(results: list[Result], lab: Lab) -> None:
    rows = [
        ("path", lambda r: r.load.path),
        ("rate offered, calls/s", lambda r: f"{r.load.rate:g}"),
        ("calls offered (SIPp)", lambda r: str(r.load.calls)),
        ("achieved calls/s (SIPp INVITEs)", lambda r: f"{r.achieved:.1f}"),
        ("SIPp calls completed", lambda r: str(r.completed)),
        ("... answered late (no 200 in time)", lambda r: str(r.late)),
        ("bridged to an agent (server log)", lambda r: str(r.bridged)),
        ("LOST (offered - in time&bridged)", lambda r: str(r.lost)),
        ("premature releases (server BYE)", lambda r: str(r.premature)),
        ("caller INVITE->200 p50 ms (SIPp)", lambda r: ana.ms(r.answer_latency, 50)),
        ("caller INVITE->200 p99 ms (SIPp)", lambda r: ana.ms(r.answer_latency, 99)),
        ("setup p50 ms, server log", lambda r: ana.ms(r.server_latency, 50)),
        ("setup p99 ms, server log", lambda r: ana.ms(r.server_latency, 99)),
        ("setup max ms, server log", lambda r: ana.ms(r.server_latency, 100)),
        ("setup p50 ms, wire (SIPp clocks)", lambda r: ana.ms(r.wire_latency, 50)),
        ("setup p99 ms, wire (SIPp clocks)", lambda r: ana.ms(r.wire_latency, 99)),
        ("digit->agent INVITE p50 ms (IVR)", lambda r: ana.ms(r.digit_latency, 50)),
        ("digit->agent INVITE p99 ms (IVR)", lambda r: ana.ms(r.digit_latency, 99)),
        ("calls never offered", lambda r: str(r.not_offered)),
        ("re-offers (no answer, failure)", lambda r: str(r.reoffers)),
        ("CDR rows / distinct call ids", lambda r: f"{r.cdr.rows}/{r.cdr.distinct}"),
        ("CDRs closed", lambda r: str(r.cdr.closed)),
        ("CDR outcome answered", lambda r: str(r.cdr.answered)),
        ("CDR: agent not eligible", lambda r: str(len(r.cdr.ineligible))),
        ("CDR: agent talk intervals overlapping", lambda r: str(len(r.cdr.overlaps))),
        ("CDR: queue not billing", lambda r: str(r.cdr.wrong_queue)),
        ("server CPU % of one core", lambda r: f"{r.cpu_percent:.0f}"),
        ("... of which main thread (event loop) %", lambda r: f"{r.loop_percent:.0f}"),
        ("SIP datagrams dropped at server socket", lambda r: str(r.sip_drops)),
    ]  # fmt: skip
    print()
    print(_row("", results, lambda r: r.load.name))
    for label, cell in rows:
        print(_row(label, results, cell))
    side = lab.side
    trap = side.invites_by_ext.get(lab.seeded.trap_extension, 0) if side else 0
    busy = len(side.busy_offers) if side else 0
    print()
    print(
        f"agent phones: {side.invites if side else 0} INVITEs; to the ineligible trap "
        f"extension {lab.seeded.trap_extension}: {trap}; to an extension still in a call: {busy}"
    )
    if side is not None:
        print(
            f"agent phones: {side.cancels} CANCELs crossing a 200, {len(side.aborted)} calls "
            f"aborted by the phone (unexpected message), {len(side.not_released)} answered "
            "calls never released (no BYE)"
        )
        for line in side.busy_offers[:5] + side.not_released[:5]:
            print("  ", line)
    for res in results:
        for line in (res.cdr.ineligible + res.cdr.overlaps)[:5]:
            print(f"  {res.load.name}: {line}")
    print(f"server errors/exceptions logged: {len(lab.log.errors)}")
    for line in lab.log.errors[:5]:
        print("  ", line)


def print_timeline(results: list[Result], window: float = 60.0) -> None:
    for res in results:
        rows = ana.timeline(res.arrivals, window)
        if len(rows) < 2:
            continue
        print(f"\n{res.load.name}: setup (server log) per {window:g} s of the run")
        print(f"{'from s':>8}{'calls':>8}{'p50 ms':>10}{'p99 ms':>10}")
        for start, n, p50, p99 in rows:
            print(f"{start:8.0f}{n:8d}{p50 * 1000:10.1f}{p99 * 1000:10.1f}")


def print_stats(lab: Lab) -> None:
    """The server's per-call tables over the run: a count that climbs with the number of calls
    and stays up after the last call closed is a leak."""
    samples = lab.log.stats
    if len(samples) < 2:
        return
    keys = [k for k in samples[0][1] if len({s.get(k) for _, s in samples}) > 1]
    t0 = samples[0][0]
    print("\nserver tables over the run (server.stats on SIGUSR1; only those that changed)")
    print(f"{'s':>6} " + " ".join(f"{k[-14:]:>14}" for k in keys))
    step = max(1, len(samples) // 40)
    for ts, counts in samples[::step] + ([samples[-1]] if (len(samples) - 1) % step else []):
        print(f"{ts - t0:6.0f} " + " ".join(f"{counts.get(k, -1):>14}" for k in keys))


def summary(search: list[Result], main: list[Result], lab: Lab, bound_ms: float) -> None:
    best, kept = best_rate(search, False), best_rate(search, True)
    total = sum(r.load.calls for r in main)
    lost = sum(r.lost for r in main)
    premature = sum(r.premature for r in main)
    cdrs = sum(r.cdr.distinct for r in main)
    wrong = sum(len(r.cdr.ineligible) for r in main)
    side = lab.side
    if side is not None:
        wrong += len(side.busy_offers) + side.invites_by_ext.get(lab.seeded.trap_extension, 0)
    print()
    print(
        f"highest queue-path rate with 0 lost calls: {best if best is not None else '-'} /s;"
        f" with 0 lost and setup p99 <= {bound_ms:g} ms: {kept if kept is not None else '-'} /s"
    )
    print(
        f"main run: {total} calls offered, {lost} lost, CDRs {cdrs} (== offered: "
        f"{cdrs == total}), premature releases {premature} ({premature / max(total, 1):.1e};"
        f" SPEC <= 2e-5), wrong selections {wrong} ({wrong / max(total, 1):.1e}; SPEC <= 1e-4)"
    )
    if total:
        print(f"(0 events in {total} calls bounds the probability below {3 / total:.1e} at 95%)")
    print("2 shared cores (SIPp, the server and other engineers' tests): figures are noisy.")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")],
                   default=[10.0, 20.0, 30.0, 40.0, 60.0])  # fmt: skip
    p.add_argument("--step-seconds", type=float, default=20.0)
    p.add_argument("--refine", type=int, default=1, help="bisection steps after the first fail")
    p.add_argument("--rate-step", type=float, default=5.0, help="bisection granularity, calls/s")
    p.add_argument("--max-setup-ms", type=float, default=500.0,
                   help="a search step keeps up if setup p99 is within it")  # fmt: skip
    p.add_argument("--answer-timeout-ms", type=int, default=5000,
                   help="callers give up (a lost call) without a 200 by then")  # fmt: skip
    p.add_argument("--main-calls", type=int, default=10000)
    p.add_argument("--main-factor", type=float, default=0.7)
    p.add_argument("--main-rate", type=float, help="skip the search; queue path at this rate")
    p.add_argument("--ivr-rate", type=float, default=3.0)
    p.add_argument("--hold-ms", type=int, default=1500)
    p.add_argument("--agents", type=int, default=0, help="0: enough for the highest rate")
    p.add_argument("--agents-per-phone", type=int, default=40)
    p.add_argument("--budget", type=float, default=570.0, help="seconds for the whole bench")
    p.add_argument("--reserve", type=float, default=330.0, help="seconds kept for the main run")
    p.add_argument("--stats-every", type=float, default=30.0,
                   help="seconds between server.stats snapshots (0: none)")  # fmt: skip
    p.add_argument("--stats-settle", type=float, default=35.0,
                   help="seconds after the main run before the last server.stats")  # fmt: skip
    p.add_argument("--workdir", type=Path, help="keep the files here (default: a temp dir)")
    return p.parse_args()


def run(args: argparse.Namespace, tmp: Path, deadline: float) -> int:
    top = args.main_rate or max(args.rates)
    agents = args.agents or int((top + args.ivr_rate) * (args.hold_ms / 1000 + 0.5) * 1.3) + 10
    print(f"setting up: {agents} agents, data in {tmp}", flush=True)
    lab = start_lab(tmp, agents, args.agents_per_phone)
    lab.stats_every = args.stats_every
    search: list[Result] = []
    main: list[Result] = []
    try:
        print(f"ready: {lab.log.logged_in} agents logged in; rate search", flush=True)
        rate = args.main_rate
        if rate is None:
            search = rate_search(lab, args, deadline)
            best = best_rate(search, True)  # below the lowest rate tried if that failed
            rate = max(1.0, math.floor((best or args.rates[0] / 2) * args.main_factor))
        loads = main_loads(lab, args, rate, deadline)
        print(f"main run: {', '.join(f'{x.calls} x {x.path} at {x.rate:g}/s' for x in loads)}",
              flush=True)  # fmt: skip
        main = run_loads(lab, loads, deadline, args.stats_settle)
    finally:
        stop_lab(lab)
    finish(lab, search + main)
    if search:
        print("\nrate search (queue path)")
        report(search, lab)
    print("\nmain run")
    report(main, lab)
    print_timeline(main)
    print_stats(lab)
    summary(search, main, lab, args.max_setup_ms)
    return 0 if main and all(r.lost == 0 for r in main) else 1


def main() -> int:
    args = parse_args()
    if shutil.which("sipp") is None:
        print("sipp (Debian package sip-tester) is not installed")
        return 1
    deadline = time.monotonic() + args.budget
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=False)
        return run(args, args.workdir.resolve(), deadline)
    with tempfile.TemporaryDirectory(prefix="bench_inbound") as tmp:
        return run(args, Path(tmp), deadline)


if __name__ == "__main__":
    raise SystemExit(main())
