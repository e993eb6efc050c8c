"""Figures for ``bench/inbound.py`` from three independent records of the same calls: the
server's JSON log (``call.incoming`` / ``call.offered`` / ``call.bridged`` / ``call.closed``, each
stamped with ``time.time()`` when the record was made), the SIPp logs of callers and agent phones
(wall-clock stamps from ``gettimeofday``), and the CDR table.

Callers are told apart by number: each load step calls from numbers with its own prefix, and
the server puts the caller's number in ``call.incoming`` and in the agent's INVITE (From).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from callcenter.storage.repos.calls import CdrRecord

_STAMP = r"(\d+)\.0+\.(\d+)\.0+"  # SIPp prints gettimeofday's two integers as doubles
_CALL = re.compile(rf"^call (\d+) {_STAMP} {_STAMP} {_STAMP} (ok|premature)$")
_INV = re.compile(rf"^inv (\d+) (\d+) {_STAMP} (\S+)")
_BYE = re.compile(rf"^bye (\d+) {_STAMP} (\S+)")
_ABORTED = re.compile(r"Call-Id:? '?([^\s',]+)")


def _t(sec: str, usec: str) -> float:
    return int(sec) + int(usec) / 1e6


# ------------------------------------------------------------------------- server log


@dataclass
class ServerCall:
    call_id: str
    caller: str
    called: str
    t_in: float
    t_offered: float | None = None
    offers: int = 0
    bridged_agent: str | None = None
    outcome: str | None = None


@dataclass
class ServerLog:
    """The server's JSON log lines, consumed incrementally (``update``) as the run goes on."""

    by_id: dict[str, ServerCall] = field(default_factory=dict)
    by_caller: dict[str, ServerCall] = field(default_factory=dict)
    logged_in: int = 0
    errors: list[str] = field(default_factory=list)
    stats: list[tuple[float, dict[str, int]]] = field(default_factory=list)  # server.stats
    pos: int = 0

    def update(self, lines: list[str]) -> None:
        end = len(lines)
        for line in lines[self.pos : end]:
            self._line(line)
        self.pos = end

    def _line(self, line: str) -> None:
        try:
            rec = json.loads(line)
        except ValueError:
            if line.strip():
                self.errors.append(line.strip()[:300])
            return
        event = rec.get("event")
        if rec.get("level") in ("error", "critical") or "exc" in rec:
            self.errors.append(line.strip()[:300])
        if event == "call.incoming":
            call = ServerCall(rec["call_id"], str(rec.get("caller")), str(rec.get("called")),
                              float(rec["ts"]))  # fmt: skip
            self.by_id[call.call_id] = call
            self.by_caller[call.caller] = call
        elif event == "agent.logged_in":
            self.logged_in += 1
        elif event == "server.stats":
            counts = {k: v for k, v in rec.items() if isinstance(v, int) and k != "ts"}
            self.stats.append((float(rec["ts"]), counts))
        else:
            self._call_event(event, rec)

    def _call_event(self, event: str, rec: dict[str, object]) -> None:
        call = self.by_id.get(str(rec.get("call_id")))
        if call is None:
            return
        if event == "call.offered":
            call.offers += 1
            if call.t_offered is None:
                call.t_offered = float(rec["ts"])  # type: ignore[arg-type]
        elif event == "call.bridged":
            call.bridged_agent = str(rec.get("agent_id"))
        elif event == "call.closed":
            call.outcome = str(rec.get("outcome"))

    def calls(self, prefix: str) -> list[ServerCall]:
        return [c for c in self.by_id.values() if c.caller.startswith(prefix)]


# --------------------------------------------------------------------------- SIPp logs


@dataclass(frozen=True)
class CallerEnd:
    caller: str
    t_invite: float
    t_answer: float
    t_digit: float | None
    premature: bool


def caller_log(path: Path) -> dict[str, CallerEnd]:
    """Completed calls of one caller SIPp (a failed call writes no line)."""
    out: dict[str, CallerEnd] = {}
    if not path.exists():
        return out
    for line in path.read_text(errors="replace").splitlines():
        m = _CALL.match(line.strip())
        if m:
            digit = _t(m.group(6), m.group(7))
            out[m.group(1)] = CallerEnd(m.group(1), _t(m.group(2), m.group(3)),
                                        _t(m.group(4), m.group(5)), digit or None,
                                        m.group(8) == "premature")  # fmt: skip
    return out


@dataclass
class AgentSide:
    """What the agent phones saw: first INVITE time per caller, INVITEs per extension, INVITEs
    that reached an extension still holding an earlier call (no BYE yet), calls the phone
    aborted (SIPp error file: unexpected message), and calls never released (no BYE at all)."""

    first_invite: dict[str, float] = field(default_factory=dict)
    invites_by_ext: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    busy_offers: list[str] = field(default_factory=list)
    invites: int = 0
    cancels: int = 0
    aborted: set[str] = field(default_factory=set)
    not_released: list[str] = field(default_factory=list)


def agent_logs(paths: list[Path]) -> AgentSide:
    side = AgentSide()
    for path in paths:
        err = path.with_suffix(".err")
        if err.exists():
            side.aborted |= set(_ABORTED.findall(err.read_text(errors="replace")))
    for path in paths:
        if path.exists():
            _agent_log(path.read_text(errors="replace").splitlines(), side)
    return side


def _agent_log(lines: list[str], side: AgentSide) -> None:
    holding: dict[str, set[str]] = defaultdict(set)  # extension -> Call-IDs without BYE
    for raw in lines:
        line = raw.strip()
        if m := _INV.match(line):
            ext, caller, call_id = m.group(1), m.group(2), m.group(5)
            side.invites += 1
            side.invites_by_ext[ext] += 1
            side.first_invite.setdefault(caller, _t(m.group(3), m.group(4)))
            holding[ext] -= side.aborted
            if holding[ext]:
                side.busy_offers.append(f"{ext}: {call_id} while {sorted(holding[ext])}")
            holding[ext].add(call_id)
        elif m := _BYE.match(line):
            holding[m.group(1)].discard(m.group(4))
        elif line.startswith("cancel "):
            side.cancels += 1
    for ext, calls in holding.items():
        side.not_released.extend(f"{ext}: {c}" for c in sorted(calls - side.aborted))


# -------------------------------------------------------------------------------- CDRs


@dataclass
class CdrCheck:
    rows: int = 0
    distinct: int = 0
    closed: int = 0
    answered: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    ineligible: list[str] = field(default_factory=list)
    overlaps: list[str] = field(default_factory=list)
    wrong_queue: int = 0


def check_cdrs(cdrs: list[CdrRecord], prefix: str, eligible: set[int], queue: str) -> CdrCheck:
    mine = [c for c in cdrs if c.caller.startswith(prefix)]
    out = CdrCheck(rows=len(mine), distinct=len({c.call_id for c in mine}))
    outcomes: dict[str, int] = defaultdict(int)
    per_agent: dict[int, list[CdrRecord]] = defaultdict(list)
    for c in mine:
        outcomes[c.outcome or "open"] += 1
        out.closed += c.end_time is not None and c.outcome is not None
        if c.outcome == "answered" and c.agent_id is not None:
            out.answered += 1
            per_agent[c.agent_id].append(c)
            if c.agent_id not in eligible:
                out.ineligible.append(f"{c.call_id} -> agent {c.agent_id}")
        if c.queue != queue:
            out.wrong_queue += 1
    out.outcomes = dict(outcomes)
    for agent, rows in per_agent.items():
        out.overlaps.extend(_overlaps(agent, rows))
    return out


def _overlaps(agent: int, rows: list[CdrRecord]) -> list[str]:
    """Talk intervals [answer_time, end_time] of one agent that overlap.

    ``end_time`` is written when the caller's leg is torn down, after the ACD has already freed
    the agent; a next call is answered at least one INVITE/200/ACK exchange later, so a real
    overlap of these intervals means the agent had two calls at once.
    """
    spans = sorted((c.answer_time, c.end_time, c.call_id) for c in rows
                   if c.answer_time is not None and c.end_time is not None)  # fmt: skip
    found = []
    for (_, end_a, id_a), (start_b, _, id_b) in itertools.pairwise(spans):
        if start_b < end_a:
            found.append(f"agent {agent}: {id_b} answered before {id_a} ended")
    return found


# ------------------------------------------------------------------------------ figures


def udp_drops(port: int) -> int:
    """Datagrams the kernel dropped at the UDP socket bound to 127.0.0.1:``port`` (receive
    buffer full), from /proc/net/udp; 0 when there is no such socket."""
    want = f"0100007F:{port:04X}"
    try:
        lines = Path("/proc/net/udp").read_text().splitlines()[1:]
    except OSError:
        return 0
    for line in lines:
        fields = line.split()
        if len(fields) > 12 and fields[1] == want:
            return int(fields[-1])
    return 0


def timeline(
    calls: list[tuple[float, float]], window: float
) -> list[tuple[float, int, float, float]]:
    """(window start from the first call, calls, setup p50, p99) per ``window`` seconds of
    (arrival, setup) pairs: shows whether the server keeps up or falls behind as a run goes on."""
    if not calls:
        return []
    t0 = min(t for t, _ in calls)
    buckets: dict[int, list[float]] = defaultdict(list)
    for t, setup in calls:
        buckets[int((t - t0) // window)].append(setup)
    return [(k * window, len(v), percentile(v, 50), percentile(v, 99))
            for k, v in sorted(buckets.items())]  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(values: list[float], q: float) -> str:
    v = percentile(values, q)
    return "-" if math.isnan(v) else f"{v * 1000:.1f}"
