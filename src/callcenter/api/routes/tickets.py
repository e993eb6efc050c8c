"""Routes under ``/api/v1/tickets``: complaint tickets (投诉单, SPEC §4 投诉处理).

A ticket is created from a call or by hand (category, priority, due time; without a due time
one follows from the priority: urgent 4 h, high 24 h, normal 72 h, low 7 days), dispatched to a
responsible unit (责任单位) and moved along ``new -> dispatched -> in_progress -> resolved ->
closed`` (resolved can be reopened to in_progress; see ``storage/repos/tickets.py``). Every
step, edit and comment is in the ticket's history, the audit log and the event stream.

Who (any logged-in role reaches these routes; the finer rules are here):
- call-center staff (an account with an agent id, supervisors, administrators) see and search
  every ticket; other accounts (unit members) see the tickets of their units and their own;
- a ticket is updated (edited, moved, commented) only by the members of its unit, its creator,
  supervisors and administrators (``403 not_your_ticket`` otherwise).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from callcenter.api.business_events import (
    TicketCommented,
    TicketCreated,
    TicketTransitioned,
    TicketUpdated,
)
from callcenter.api.business_schemas import (
    CategoryOut,
    CommentIn,
    HistoryOut,
    MyDayOut,
    Priority,
    Status,
    TicketDetailOut,
    TicketIn,
    TicketMetaOut,
    TicketOut,
    TicketPatch,
    TransitionIn,
    UnitOut,
)
from callcenter.api.errors import ERROR_RESPONSES, ApiError
from callcenter.api.schemas import NO_CONTROL, Page, Paging
from callcenter.api.security import ADMIN, ROLES, SUPERVISOR, Ctx, require
from callcenter.api.stream import Visibility
from callcenter.storage.repos.tickets import TRANSITIONS, NewTicket, TicketRecord, UnitRecord
from callcenter.storage.schema.base import TICKET_PRIORITIES, TICKET_STATUSES

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], responses=ERROR_RESPONSES)
Anyone = Annotated[Ctx, Depends(require(*ROLES))]
TicketId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IdQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]

DEFAULT_CATEGORIES = (
    ("outage", "停电"),
    ("repair", "抢修质量"),
    ("billing", "电费争议"),
    ("meter", "计量装置"),
    ("service", "服务态度"),
    ("other", "其他"),
)
DUE_AFTER = {
    "urgent": timedelta(hours=4),
    "high": timedelta(hours=24),
    "normal": timedelta(hours=72),
    "low": timedelta(days=7),
}
OPEN = ("new", "dispatched", "in_progress")


@dataclass(frozen=True, slots=True)
class Who:
    """The caller as the ticket rules see it."""

    username: str
    staff: bool  # sees every ticket
    privileged: bool  # supervisor or administrator: updates every ticket
    units: frozenset[int]
    agent_id: int | None


async def who(ctx: Ctx) -> Who:
    store = ctx.deps.store.sync
    agent = await ctx.run(store.agents.get_by_user, ctx.user.id)
    units = frozenset(u.id for u in await ctx.run(store.units.units_of, ctx.user.id))
    privileged = ctx.role in (SUPERVISOR, ADMIN)
    return Who(
        ctx.user.username,
        privileged or agent is not None,
        privileged,
        units,
        None if agent is None else agent.agent_id,
    )


async def business_visibility(ctx: Ctx, vis: Visibility) -> Visibility:
    """Add what the event stream shows of tickets and customers (see ``stream.Visibility``)."""
    if ctx.principal is None or vis.everything:
        return vis
    me = await who(ctx)
    vis.user = me.username
    vis.units = me.units
    vis.staff = me.staff
    vis.tickets_all = me.privileged
    return vis


async def categories(ctx: Ctx) -> list[CategoryOut]:
    """The parameter ``tickets.categories`` ([{code, name}]) or the built-in list."""
    configured = await ctx.run(ctx.deps.store.sync.params.get, "tickets.categories")
    out = []
    if isinstance(configured, list):
        for item in configured:
            if isinstance(item, dict) and isinstance(item.get("code"), str):
                out.append(CategoryOut(code=item["code"], name=str(item.get("name", item["code"]))))
    return out or [CategoryOut(code=c, name=n) for c, n in DEFAULT_CATEGORIES]


async def _check_category(ctx: Ctx, code: str) -> None:
    known = [c.code for c in await categories(ctx)]
    if code not in known:
        raise ApiError(422, "unknown_category", f"category {code!r} is not one of {known}")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Renderer:
    """TicketRecord -> TicketOut with the unit, customer name, overdue flag and rights."""

    def __init__(self, ctx: Ctx, me: Who) -> None:
        self.ctx = ctx
        self.me = me
        self.units: dict[int, UnitRecord] | None = None
        self.names: dict[int, str | None] = {}

    def may_update(self, t: TicketRecord) -> bool:
        me = self.me
        return (
            me.privileged
            or t.created_by == me.username
            or (t.unit_id is not None and t.unit_id in me.units)
        )

    def may_see(self, t: TicketRecord) -> bool:
        return self.me.staff or self.may_update(t)

    async def out(self, t: TicketRecord) -> TicketOut:
        return TicketOut.model_validate(await self._fields(t))

    async def detail(self, t: TicketRecord) -> TicketDetailOut:
        data = await self._fields(t)
        history = await self.ctx.run(self.ctx.deps.store.sync.tickets.history, t.id)
        data["history"] = [HistoryOut.model_validate(asdict(h)) for h in history]
        data["next_statuses"] = sorted(TRANSITIONS[t.status], key=TICKET_STATUSES.index)
        return TicketDetailOut.model_validate(data)

    async def _fields(self, t: TicketRecord) -> dict[str, Any]:
        store = self.ctx.deps.store.sync
        if self.units is None:
            self.units = {u.id: u for u in await self.ctx.run(store.units.all)}
        if t.customer_id is not None and t.customer_id not in self.names:
            customer = await self.ctx.run(store.customers.get, t.customer_id)
            self.names[t.customer_id] = None if customer is None else customer.name
        data = asdict(t)
        unit = self.units.get(t.unit_id) if t.unit_id is not None else None
        data["unit"] = None if unit is None else UnitOut.model_validate(asdict(unit))
        data["customer_name"] = None if t.customer_id is None else self.names[t.customer_id]
        data["overdue"] = (
            t.due_at is not None and t.status in OPEN and _aware(t.due_at) < self.ctx.now()
        )
        data["can_update"] = self.may_update(t)
        return data


async def _ticket(ctx: Ctx, r: Renderer, ticket_id: int, *, update: bool) -> TicketRecord:
    t = await ctx.run(ctx.deps.store.sync.tickets.get, ticket_id)
    if t is None or not r.may_see(t):
        raise ApiError(404, "not_found", f"ticket {ticket_id} not found")
    if update and not r.may_update(t):
        raise ApiError(
            403,
            "not_your_ticket",
            f"ticket {t.number} may be updated by the members of its unit, its creator, "
            "supervisors and administrators",
        )
    return t


@router.get("/meta", response_model=TicketMetaOut)
async def meta(ctx: Anyone) -> TicketMetaOut:
    """Categories, priorities, statuses and their moves, units (and the caller's units)."""
    me = await who(ctx)
    store = ctx.deps.store.sync
    units = await ctx.run(store.units.all)
    business = await ctx.run(store.categories.all, enabled_only=True)
    return TicketMetaOut(
        categories=await categories(ctx),
        priorities=list(TICKET_PRIORITIES),
        statuses=list(TICKET_STATUSES),
        transitions={k: sorted(v, key=TICKET_STATUSES.index) for k, v in TRANSITIONS.items()},
        units=[UnitOut.model_validate(asdict(u)) for u in units],
        my_units=sorted(me.units),
        business_categories=[CategoryOut(code=c.code, name=c.name) for c in business],
    )


@router.get("/my-day", response_model=MyDayOut)
async def my_day(ctx: Anyone, since: Annotated[datetime | None, Query()] = None) -> MyDayOut:
    """Today's own figures: calls answered and talk time (CDRs), tickets created and open."""
    now = ctx.now()
    start = _aware(since) if since is not None else now.replace(hour=0, minute=0, second=0)
    if start > now or now - start > timedelta(days=31):
        raise ApiError(422, "invalid", "since must be within the last 31 days")
    me = await who(ctx)
    store = ctx.deps.store.sync
    answered = 0
    talk = 0.0
    wrapup: dict[str, float] = {}
    if me.agent_id is not None:
        agent = await ctx.run(store.agents.get, me.agent_id)
        for membership in await ctx.run(store.queues.queues_of, me.agent_id):
            queue = await ctx.run(store.queues.get, membership.queue)
            if agent is not None and agent.wrapup_seconds is not None:
                wrapup[membership.queue] = float(agent.wrapup_seconds)
            elif queue is not None:
                wrapup[membership.queue] = float(queue.settings.wrapup_seconds)
        cdrs = await ctx.run(store.cdrs.search, start, now, agent_id=me.agent_id, limit=10_000)
        done = [c for c in cdrs if c.answer_time is not None]
        answered = len(done)
        talk = sum(c.talk_seconds for c in done)
    _, created = await ctx.run(
        store.tickets.find, created_by=me.username, created_since=start, limit=1
    )
    _, still_open = await ctx.run(
        store.tickets.find, created_by=me.username, open_only=True, limit=1
    )
    return MyDayOut(
        since=start,
        agent_id=None if me.agent_id is None else str(me.agent_id),
        calls_answered=answered,
        talk_seconds=talk,
        average_talk_seconds=talk / answered if answered else 0.0,
        tickets_created=created,
        tickets_open=still_open,
        wrapup_seconds=wrapup,
    )


@router.get("", response_model=Page[TicketOut])
async def search(
    ctx: Anyone,
    paging: Annotated[Paging, Depends()],
    q: Annotated[str | None, Query(min_length=1, max_length=64, pattern=NO_CONTROL)] = None,
    status: Annotated[Status | None, Query()] = None,
    category: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.\-]{1,32}$")] = None,
    priority: Annotated[Priority | None, Query()] = None,
    unit_id: IdQuery = None,
    customer_id: IdQuery = None,
    call_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=NO_CONTROL)] = None,
    mine: bool = False,
    overdue: bool = False,
    open_: Annotated[bool, Query(alias="open")] = False,
) -> Page[TicketOut]:
    """Search (newest first): text (number, title, description), status, category, priority,
    unit, customer, call; ``mine`` = created by me or for my units; ``overdue``; ``open``."""
    me = await who(ctx)
    r = Renderer(ctx, me)
    restrict = mine or not me.staff
    found, total = await ctx.run(
        ctx.deps.store.sync.tickets.find,
        status=status,
        customer_id=customer_id,
        unit_id=unit_id,
        overdue_at=ctx.now() if overdue else None,
        q=q,
        category=category,
        priority=priority,
        call_id=call_id,
        open_only=open_,
        visible_units=me.units if restrict else None,
        visible_creator=me.username if restrict else None,
        limit=paging.limit,
        offset=paging.offset,
    )
    items = [await r.out(t) for t in found]
    return Page[TicketOut](items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post("", response_model=TicketDetailOut, status_code=201)
async def create(body: TicketIn, ctx: Anyone) -> TicketDetailOut:
    """A new ticket (from a call with ``call_id``, or by hand); ``unit_id`` dispatches it."""
    store = ctx.deps.store.sync
    me = await who(ctx)
    now = ctx.now()
    due = body.due_at or now + DUE_AFTER[body.priority]
    async with ctx.audit("ticket.create", "ticket:new", title=body.title) as scope:
        await _check_category(ctx, body.category)
        if body.unit_id is not None and await ctx.run(store.units.get, body.unit_id) is None:
            raise ApiError(404, "not_found", f"unit {body.unit_id} not found")
        new = NewTicket(
            body.title,
            body.description,
            body.category,
            body.priority,
            body.customer_id,
            body.call_id,
            due,
        )
        t = await ctx.run(store.tickets.create, new, ctx.actor, now)
        scope.target = f"ticket:{t.number}"
        center = ctx.deps.center
        center.record_event(
            TicketCreated(t.id, t.number, t.title, t.category, t.priority, t.status,
                          t.unit_id, t.customer_id, t.call_id, t.created_by, ctx.actor),
            t.call_id,
        )  # fmt: skip
        if body.unit_id is not None:
            t = await ctx.run(
                store.tickets.transition, t.id, "dispatched", ctx.actor, now, unit_id=body.unit_id
            )
            center.record_event(
                TicketTransitioned(t.id, t.number, "new", t.status, t.unit_id, t.created_by,
                                   ctx.actor, ""),
                t.call_id,
            )  # fmt: skip
    return await Renderer(ctx, me).detail(t)


@router.get("/{ticket_id}", response_model=TicketDetailOut)
async def get(ticket_id: TicketId, ctx: Anyone) -> TicketDetailOut:
    """A ticket with its full history and the statuses it may move to."""
    r = Renderer(ctx, await who(ctx))
    return await r.detail(await _ticket(ctx, r, ticket_id, update=False))


@router.patch("/{ticket_id}", response_model=TicketDetailOut)
async def edit(ticket_id: TicketId, body: TicketPatch, ctx: Anyone) -> TicketDetailOut:
    """Edit title, description, category, priority, due time or customer of an open ticket."""
    store = ctx.deps.store.sync
    r = Renderer(ctx, await who(ctx))
    fields = sorted(body.model_fields_set)
    async with ctx.audit("ticket.update", f"ticket:{ticket_id}", fields=fields):
        await _ticket(ctx, r, ticket_id, update=True)
        if body.category is not None:
            await _check_category(ctx, body.category)
        t = await ctx.run(
            store.tickets.update,
            ticket_id,
            ctx.actor,
            ctx.now(),
            title=body.title,
            description=body.description,
            category=body.category,
            priority=body.priority,
            due_at=body.due_at,
            clear_due=body.clear_due,
            customer_id=body.customer_id,
        )
        ctx.deps.center.record_event(
            TicketUpdated(t.id, t.number, t.status, t.unit_id, t.created_by, ctx.actor,
                          tuple(fields)),
            t.call_id,
        )  # fmt: skip
    return await r.detail(t)


@router.post("/{ticket_id}/transition", response_model=TicketDetailOut)
async def transition(ticket_id: TicketId, body: TransitionIn, ctx: Anyone) -> TicketDetailOut:
    """Move along the workflow: dispatched (needs a unit), in_progress, resolved, closed;
    resolved -> in_progress reopens. Any other move is ``409 invalid_transition``."""
    store = ctx.deps.store.sync
    r = Renderer(ctx, await who(ctx))
    async with ctx.audit(
        "ticket.transition", f"ticket:{ticket_id}", to=body.status, unit_id=body.unit_id
    ):
        before = await _ticket(ctx, r, ticket_id, update=True)
        if body.status not in TRANSITIONS[before.status]:
            allowed = sorted(TRANSITIONS[before.status], key=TICKET_STATUSES.index)
            raise ApiError(
                409,
                "invalid_transition",
                f"ticket {before.number} is {before.status}: it can go to {allowed or 'nothing'}",
            )
        if body.status == "dispatched" and body.unit_id is None and before.unit_id is None:
            raise ApiError(422, "unit_needed", "dispatching a ticket needs a unit")
        if body.unit_id is not None and await ctx.run(store.units.get, body.unit_id) is None:
            raise ApiError(404, "not_found", f"unit {body.unit_id} not found")
        t = await ctx.run(
            store.tickets.transition,
            ticket_id,
            body.status,
            ctx.actor,
            ctx.now(),
            comment=body.comment,
            unit_id=body.unit_id if body.status == "dispatched" else None,
        )
        ctx.deps.center.record_event(
            TicketTransitioned(t.id, t.number, before.status, t.status, t.unit_id, t.created_by,
                               ctx.actor, body.comment),
            t.call_id,
        )  # fmt: skip
    return await r.detail(t)


@router.post("/{ticket_id}/comments", response_model=TicketDetailOut, status_code=201)
async def comment(ticket_id: TicketId, body: CommentIn, ctx: Anyone) -> TicketDetailOut:
    """Add a comment (it is in the ticket's history)."""
    store = ctx.deps.store.sync
    r = Renderer(ctx, await who(ctx))
    async with ctx.audit("ticket.comment", f"ticket:{ticket_id}"):
        t = await _ticket(ctx, r, ticket_id, update=True)
        await ctx.run(store.tickets.comment, ticket_id, ctx.actor, body.text, ctx.now())
        ctx.deps.center.record_event(
            TicketCommented(t.id, t.number, t.status, t.unit_id, t.created_by, ctx.actor,
                            body.text),
            t.call_id,
        )  # fmt: skip
        t = await _ticket(ctx, r, ticket_id, update=False)
    return await r.detail(t)
