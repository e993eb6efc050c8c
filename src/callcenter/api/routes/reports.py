"""Routes under ``/api/v1/reports``: the wallboard snapshot, today's queue and agent reports
(JSON and CSV) and "why this agent?" for a call (SPEC §5, §12).

Figures come from the CDRs of the day (in the report time zone, system parameter
``reports.timezone``, default Asia/Shanghai) and, for calls still up, from the event log and
the live ACD; the arithmetic is :mod:`callcenter.metrics.daily`. Service level uses the formula
named by ``reports.service_level_formula`` (default ``answered_of_offered``) with each queue's
own target (``sl_target_seconds`` / ``sl_target_percent``); the wallboard alerts when a queue
is below its target or a caller has waited longer than ``wallboard.wait_alert_seconds``
(default 60).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel
from starlette.responses import Response

from callcenter.acd.model import Activity, Presence
from callcenter.acd.views import AgentView
from callcenter.api.errors import ERROR_RESPONSES, ApiError
from callcenter.api.security import ADMIN, SUPERVISOR, Ctx, require
from callcenter.metrics import ServiceLevelFormula
from callcenter.metrics.daily import (
    AgentFigures,
    CallFact,
    QueueFigures,
    agent_figures,
    alerts,
    formula_text,
    queue_figures,
)
from callcenter.storage.repos.calls import CdrRecord
from callcenter.storage.repos.events import EventRecord
from callcenter.storage.repos.queues import QueueRecord

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=ERROR_RESPONSES)
RepCtx = Annotated[Ctx, Depends(require(SUPERVISOR, ADMIN))]
Day = Annotated[date | None, Query(description="local day (default today)")]
CallId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f/]+$")]

DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_WAIT_ALERT = 60.0
MAX_CDRS = 100_000
OFF_HOOK = (Activity.RESERVED, Activity.RINGING, Activity.ON_CALL)


class CsvResponse(Response):
    media_type = "text/csv"


# The CSV routes answer errors in JSON like every route: say so, or the OpenAPI document
# would list the errors under text/csv (the route's response class).
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
    **{
        status: {
            "description": "Error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
        }
        for status in ERROR_RESPONSES
    },
}


# ------------------------------------------------------------------ bodies
class FormulaOut(BaseModel):
    name: str
    text: str


class QueueReportOut(BaseModel):
    queue: str
    display_name: str
    offered: int
    answered: int
    abandoned: int
    overflowed: int
    other: int
    in_progress: int
    answered_within: int
    abandoned_within: int
    service_level: float | None
    sl_target_seconds: int
    sl_target_percent: int
    formula: str
    asa: float | None
    aht: float | None
    abandon_rate: float | None
    longest_answered_wait: float
    by_hour: list[int]


class AgentReportOut(BaseModel):
    agent_id: str
    name: str
    handled: int
    talk: float
    hold: float
    wrapup: float
    aht: float | None
    average_talk: float | None
    by_hour: list[int]


class QueuesReport(BaseModel):
    day: date
    timezone: str
    formula: FormulaOut
    items: list[QueueReportOut]


class AgentsReport(BaseModel):
    day: date
    timezone: str
    items: list[AgentReportOut]


class WallQueueOut(QueueReportOut):
    waiting: int
    longest_wait: float
    agents_logged_in: int
    agents_ready: int
    agents_busy: int
    agents_on_call: int
    agents_wrap_up: int


class WallAgentOut(BaseModel):
    agent_id: str
    name: str
    seat: str
    category: str
    presence: str
    reason: str
    activity: str
    time_in_state: float
    pending: str | None
    call_id: str | None
    caller: str | None
    queue: str | None
    queues: list[str]
    calls_handled: int


class WallCallOut(BaseModel):
    call_id: str
    queue: str
    caller: str | None
    waited: float
    priority: int
    offered_to: list[str]


class AlertOut(BaseModel):
    queue: str
    kind: str
    value: float
    threshold: float


class WallboardOut(BaseModel):
    at: datetime
    day: date
    timezone: str
    formula: FormulaOut
    wait_alert_seconds: float
    queues: list[WallQueueOut]
    agents: list[WallAgentOut]
    waiting: list[WallCallOut]
    alerts: list[AlertOut]


class EventOut(BaseModel):
    seq: int
    type: str
    at: datetime
    agent_id: int | None
    payload: dict[str, Any]


class OfferOut(BaseModel):
    seq: int
    at: datetime
    agent_id: str
    queue_id: str
    explanation: dict[str, Any]


class WhyOut(BaseModel):
    call_id: str
    caller: str | None
    queue: str | None
    agent_id: int | None
    outcome: str | None
    offers: list[OfferOut]
    events: list[EventOut]


# ------------------------------------------------------------------ helpers
async def _params(ctx: Ctx) -> dict[str, Any]:
    return dict(await ctx.run(ctx.deps.store.sync.params.all))


def _zone(params: dict[str, Any]) -> ZoneInfo:
    name = params.get("reports.timezone", DEFAULT_TZ)
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _formula(params: dict[str, Any]) -> ServiceLevelFormula:
    try:
        return ServiceLevelFormula(str(params.get("reports.service_level_formula", "")))
    except ValueError:
        return ServiceLevelFormula.ANSWERED_OF_OFFERED


def _wait_alert(params: dict[str, Any]) -> float:
    value = params.get("wallboard.wait_alert_seconds", DEFAULT_WAIT_ALERT)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return DEFAULT_WAIT_ALERT
    return float(value)


def _bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def _left_queue(events: Sequence[EventRecord], queue: str) -> tuple[str | None, float]:
    """The queue outcome and wait of a call still up, from its CallLeftQueue event."""
    for ev in reversed(events):
        if ev.type == "CallLeftQueue" and ev.payload.get("queue_id") == queue:
            waited = ev.payload.get("waited")
            outcome = ev.payload.get("outcome")
            return (
                str(outcome) if outcome else None,
                float(waited) if isinstance(waited, int | float) else 0.0,
            )
    return None, 0.0


async def _facts(ctx: Ctx, cdrs: Iterable[CdrRecord], tz: ZoneInfo) -> list[CallFact]:
    facts = []
    for c in cdrs:
        hour = c.start_time.astimezone(tz).hour
        agent = None if c.agent_id is None else str(c.agent_id)
        if c.outcome is not None or c.queue is None:
            facts.append(
                CallFact(
                    c.queue,
                    agent,
                    c.outcome,
                    c.queue_wait_seconds,
                    c.talk_seconds,
                    c.hold_seconds,
                    c.wrapup_seconds,
                    hour,
                )
            )
            continue
        events = await ctx.run(ctx.deps.store.sync.events.for_call, c.call_id)
        outcome, waited = _left_queue(events, c.queue)
        if outcome == "answered" and agent is None:
            agent = next(
                (
                    str(e.payload.get("agent_id"))
                    for e in reversed(events)
                    if e.type == "CallLeftQueue" and e.payload.get("agent_id")
                ),
                None,
            )
        facts.append(CallFact(c.queue, agent, outcome, waited, hour=hour, closed=False))
    return facts


async def _day_data(
    ctx: Ctx, day: date | None
) -> tuple[date, ZoneInfo, dict[str, Any], list[CdrRecord], list[QueueRecord]]:
    params = await _params(ctx)
    tz = _zone(params)
    today = ctx.now().astimezone(tz).date()
    day = day or today
    if day > today + timedelta(days=1) or day.year < 2000:
        raise ApiError(422, "invalid", f"no report for {day}")
    since, until = _bounds(day, tz)
    store = ctx.deps.store.sync
    cdrs = await ctx.run(store.cdrs.search, since, until, limit=MAX_CDRS)
    queues = await ctx.run(store.queues.all)
    return day, tz, params, cdrs, queues


def _queue_names(queues: Sequence[QueueRecord], facts: Sequence[CallFact]) -> list[str]:
    names = [q.name for q in queues]
    extra = sorted({f.queue for f in facts if f.queue and f.queue not in names})
    return names + extra


def _queue_out(
    f: QueueFigures, rec: QueueRecord | None, formula: ServiceLevelFormula
) -> dict[str, Any]:
    target = rec.settings.sl_target_seconds if rec else 20
    return {
        "queue": f.queue,
        "display_name": rec.display_name if rec else f.queue,
        "offered": f.offered,
        "answered": f.answered,
        "abandoned": f.abandoned,
        "overflowed": f.overflowed,
        "other": f.other,
        "in_progress": f.in_progress,
        "answered_within": f.answered_within,
        "abandoned_within": f.abandoned_within,
        "service_level": f.service_level,
        "sl_target_seconds": target,
        "sl_target_percent": rec.settings.sl_target_percent if rec else 80,
        "formula": formula_text(formula, target),
        "asa": f.asa,
        "aht": f.aht,
        "abandon_rate": f.abandon_rate,
        "longest_answered_wait": f.longest_answered_wait,
        "by_hour": list(f.by_hour),
    }


def _queue_rows(
    queues: Sequence[QueueRecord], facts: Sequence[CallFact], formula: ServiceLevelFormula
) -> list[tuple[QueueFigures, QueueRecord | None, dict[str, Any]]]:
    by_name = {q.name: q for q in queues}
    rows = []
    for name in _queue_names(queues, facts):
        rec = by_name.get(name)
        target = rec.settings.sl_target_seconds if rec else 20
        figures = queue_figures(name, facts, target, formula)
        rows.append((figures, rec, _queue_out(figures, rec, formula)))
    return rows


async def _agent_names(ctx: Ctx) -> dict[str, str]:
    return {str(a.agent_id): a.name for a in await ctx.run(ctx.deps.store.sync.agents.all)}


def _agent_rows(
    names: dict[str, str], facts: Sequence[CallFact], live: Iterable[str] = ()
) -> list[tuple[AgentFigures, str]]:
    ids = set(names) | set(live) | {f.agent_id for f in facts if f.agent_id}
    ordered = sorted(ids, key=lambda a: (len(a), a))
    return [(agent_figures(a, facts), names.get(a, "")) for a in ordered]


def _formula_out(formula: ServiceLevelFormula) -> FormulaOut:
    return FormulaOut(name=formula.value, text=formula_text(formula, 0).replace("0s", "T"))


# ------------------------------------------------------------------ routes
@router.get("/queues", response_model=QueuesReport)
async def queue_report(ctx: RepCtx, day: Day = None) -> QueuesReport:
    """Per queue for one day: offered, answered, abandoned, service level, ASA, AHT, hourly."""
    day, tz, params, cdrs, queues = await _day_data(ctx, day)
    formula = _formula(params)
    facts = await _facts(ctx, cdrs, tz)
    items = [QueueReportOut(**row) for _, _, row in _queue_rows(queues, facts, formula)]
    return QueuesReport(day=day, timezone=str(tz), formula=_formula_out(formula), items=items)


@router.get("/agents", response_model=AgentsReport)
async def agent_report(ctx: RepCtx, day: Day = None) -> AgentsReport:
    """Per agent for one day: calls handled, talk, hold, wrap-up, AHT, hourly."""
    day, tz, _, cdrs, _ = await _day_data(ctx, day)
    facts = await _facts(ctx, cdrs, tz)
    items = [
        AgentReportOut(
            agent_id=f.agent_id,
            name=name,
            handled=f.handled,
            talk=f.talk,
            hold=f.hold,
            wrapup=f.wrapup,
            aht=f.aht,
            average_talk=f.average_talk,
            by_hour=list(f.by_hour),
        )
        for f, name in _agent_rows(await _agent_names(ctx), facts)
    ]
    return AgentsReport(day=day, timezone=str(tz), items=items)


def _csv(rows: list[list[Any]], filename: str) -> CsvResponse:
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return CsvResponse(
        "\ufeff" + buf.getvalue(),  # the BOM lets Excel read the Chinese names as UTF-8
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _num(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


@router.get(
    "/queues.csv",
    response_class=CsvResponse,
    responses=CSV_RESPONSES,
)
async def queue_report_csv(ctx: RepCtx, day: Day = None) -> CsvResponse:
    """The queue report as CSV (UTF-8 with BOM)."""
    report = await queue_report(ctx, day)
    head = ["queue", "name", "offered", "answered", "abandoned", "overflowed", "in_progress",
            "answered_within_target", "service_level_percent", "sl_formula", "asa_seconds",
            "aht_seconds", "abandon_rate_percent"]  # fmt: skip
    rows: list[list[Any]] = [head]
    for q in report.items:
        rows.append([
            q.queue, q.display_name, q.offered, q.answered, q.abandoned, q.overflowed,
            q.in_progress, q.answered_within,
            _num(None if q.service_level is None else q.service_level * 100), q.formula,
            _num(q.asa), _num(q.aht),
            _num(None if q.abandon_rate is None else q.abandon_rate * 100),
        ])  # fmt: skip
    return _csv(rows, f"queues-{report.day}.csv")


@router.get(
    "/agents.csv",
    response_class=CsvResponse,
    responses=CSV_RESPONSES,
)
async def agent_report_csv(ctx: RepCtx, day: Day = None) -> CsvResponse:
    """The agent report as CSV (UTF-8 with BOM)."""
    report = await agent_report(ctx, day)
    rows: list[list[Any]] = [
        [
            "agent_id",
            "name",
            "handled",
            "talk_seconds",
            "hold_seconds",
            "wrapup_seconds",
            "aht_seconds",
            "average_talk_seconds",
        ]
    ]
    for a in report.items:
        rows.append([a.agent_id, a.name, a.handled, _num(a.talk), _num(a.hold), _num(a.wrapup),
                     _num(a.aht), _num(a.average_talk)])  # fmt: skip
    return _csv(rows, f"agents-{report.day}.csv")


def _agent_counts(views: Sequence[AgentView], queue: str) -> dict[str, int]:
    mine = [v for v in views if any(q == queue for q, _ in v.queues)]
    return {
        "agents_logged_in": len(mine),
        "agents_ready": sum(
            1 for v in mine if v.presence is Presence.READY and v.activity is Activity.IDLE
        ),
        "agents_busy": sum(
            1 for v in mine if v.presence is Presence.BUSY and v.activity is Activity.IDLE
        ),
        "agents_on_call": sum(1 for v in mine if v.activity in OFF_HOOK),
        "agents_wrap_up": sum(1 for v in mine if v.activity is Activity.WRAP_UP),
    }


@router.get("/wallboard", response_model=WallboardOut)
async def wallboard(ctx: RepCtx) -> WallboardOut:
    """Everything the wallboard shows, at once: queues, agents, waiting callers, alerts."""
    day, tz, params, cdrs, queues = await _day_data(ctx, None)
    formula = _formula(params)
    facts = await _facts(ctx, cdrs, tz)
    center = ctx.deps.center
    acd, now = center.acd, center.now()
    views = sorted(acd.agents(), key=lambda v: (len(v.agent_id), v.agent_id))
    live_queues = set(acd.queue_ids())
    open_calls = {c.call_id: c for c in cdrs if c.outcome is None}
    wait_alert = _wait_alert(params)
    out_queues, out_alerts = [], []
    for figures, rec, row in _queue_rows(queues, facts, formula):
        if rec is not None and not rec.enabled and figures.offered == 0:
            continue
        live = figures.queue in live_queues
        view = acd.queue_view(figures.queue, now) if live else None
        waiting = view.waiting if view else 0
        longest = view.longest_wait if view else 0.0
        out_queues.append(
            WallQueueOut(
                **row,
                waiting=waiting,
                longest_wait=longest,
                **_agent_counts(views, figures.queue),
            )
        )
        target = float(row["sl_target_percent"])
        for a in alerts(figures.queue, figures, target, longest, wait_alert):
            out_alerts.append(AlertOut(queue=a.queue, kind=a.kind, value=a.value,
                                       threshold=a.threshold))  # fmt: skip
    handled = {f.agent_id: f.handled for f, _ in _agent_rows({}, facts)}
    names = await _agent_names(ctx)
    agents = []
    for v in views:
        call = open_calls.get(v.call_id or "")
        if v.call_id and call is None:
            call = await ctx.run(ctx.deps.store.sync.cdrs.get, v.call_id)
        agents.append(
            WallAgentOut(
                agent_id=v.agent_id,
                name=names.get(v.agent_id, ""),
                seat=v.seat,
                category=v.category.value,
                presence=v.presence.value,
                reason=v.reason,
                activity=v.activity.value,
                time_in_state=max(0.0, v.time_in_state(now)),
                pending=v.pending.value if v.pending else None,
                call_id=v.call_id,
                caller=call.caller if call else None,
                queue=call.queue if call else None,
                queues=[q for q, _ in v.queues],
                calls_handled=handled.get(v.agent_id, 0),
            )
        )
    entries = sorted(acd.entries(), key=lambda e: (e.enqueued_at, e.seq))
    waiting_calls = [
        WallCallOut(
            call_id=e.call_id,
            queue=e.queue_id,
            caller=open_calls[e.call_id].caller if e.call_id in open_calls else None,
            waited=max(0.0, now - e.enqueued_at),
            priority=e.priority,
            offered_to=list(e.offered_to),
        )
        for e in entries
    ]
    return WallboardOut(
        at=ctx.now(),
        day=day,
        timezone=str(tz),
        formula=_formula_out(formula),
        wait_alert_seconds=wait_alert,
        queues=out_queues,
        agents=agents,
        waiting=waiting_calls,
        alerts=out_alerts,
    )


@router.get("/calls/{call_id}/why", response_model=WhyOut)
async def why_this_agent(call_id: CallId, ctx: RepCtx) -> WhyOut:
    """ "Why this agent?": each offer of the call with the ACD's decision record (rule,
    strategy, ranked candidates and their scores), and the call's events in order."""
    store = ctx.deps.store.sync
    events = await ctx.run(store.events.for_call, call_id)
    cdr = await ctx.run(store.cdrs.get, call_id)
    if not events and cdr is None:
        raise ApiError(404, "not_found", f"no call {call_id!r}")
    offers = [
        OfferOut(
            seq=e.seq,
            at=e.at,
            agent_id=str(e.payload.get("agent_id", "")),
            queue_id=str(e.payload.get("queue_id", "")),
            explanation=dict(e.payload.get("explanation") or {}),
        )
        for e in events
        if e.type == "OfferToAgent"
    ]
    return WhyOut(
        call_id=call_id,
        caller=cdr.caller if cdr else None,
        queue=cdr.queue if cdr else None,
        agent_id=cdr.agent_id if cdr else None,
        outcome=cdr.outcome if cdr else None,
        offers=offers,
        events=[
            EventOut(seq=e.seq, type=e.type, at=e.at, agent_id=e.agent_id, payload=e.payload)
            for e in events
        ],
    )
