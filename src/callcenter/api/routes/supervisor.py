"""Supervisor operations (班长席, SPEC §5) at the ACD level, and the live wallboard data.

Force logout / busy / ready act at once on any logged-in agent, with the supervisor recorded as
the actor in the ACD's ``AgentStateChanged`` and in the audit log. Skills change live (stored,
then ``Acd.update_agent_skills`` when the agent is logged in: future offers use them) and queue
memberships (with penalty) are replaced as a whole, live too (``Acd.update_agent_queues``): an
agent with memberships serves only those queues (whose skills it meets), one without any serves
every queue its skills meet.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from callcenter.acd.errors import UnknownQueueError
from callcenter.api.errors import ERROR_RESPONSES, ApiError
from callcenter.api.routes.agent import current_state, state_of, view_or_none
from callcenter.api.schemas import (
    AgentStateOut,
    ForceBusyIn,
    MembershipOut,
    Page,
    Paging,
    QueuesIn,
    QueueStateOut,
    SkillsIn,
    WaitingCallOut,
)
from callcenter.api.security import ADMIN, SUPERVISOR, Ctx, require

router = APIRouter(prefix="/api/v1/supervisor", tags=["supervisor"], responses=ERROR_RESPONSES)
SupCtx = Annotated[Ctx, Depends(require(SUPERVISOR, ADMIN))]
AgentId = Annotated[str, Path(pattern=r"^[0-9]{1,8}$")]


@router.get("/agents", response_model=Page[AgentStateOut])
async def agents(
    ctx: SupCtx,
    paging: Annotated[Paging, Depends()],
    presence: Annotated[str | None, Query(max_length=16)] = None,
    activity: Annotated[str | None, Query(max_length=16)] = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[AgentStateOut]:
    """Logged-in agents with state and time in state; filter by presence, activity, queue."""
    center = ctx.deps.center
    now = center.now()
    views = sorted(center.acd.agents(), key=lambda v: (len(v.agent_id), v.agent_id))
    rows = [
        state_of(v.agent_id, v, now)
        for v in views
        if (presence is None or v.presence.value == presence)
        and (activity is None or v.activity.value == activity)
        and (queue is None or any(q == queue for q, _ in v.queues))
    ]
    return paging.page(rows)


@router.get("/agents/{agent_id}", response_model=AgentStateOut)
async def agent(agent_id: AgentId, ctx: SupCtx) -> AgentStateOut:
    return current_state(ctx, agent_id)


@router.get("/queues", response_model=Page[QueueStateOut])
async def queues(ctx: SupCtx, paging: Annotated[Paging, Depends()]) -> Page[QueueStateOut]:
    """Per queue: waiting, offered, longest wait, members, ready, idle, average handle time."""
    center = ctx.deps.center
    now = center.now()
    rows = []
    for qid in center.acd.queue_ids():
        v = center.acd.queue_view(qid, now)
        rows.append(
            QueueStateOut(
                queue_id=v.queue_id,
                waiting=v.waiting,
                offered=v.offered,
                longest_wait=v.longest_wait,
                members=v.members,
                ready=v.ready,
                idle=v.idle,
                average_handle_time=v.average_handle_time,
            )
        )
    return paging.page(rows)


@router.get("/calls", response_model=Page[WaitingCallOut])
async def waiting_calls(
    ctx: SupCtx,
    paging: Annotated[Paging, Depends()],
    queue: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[WaitingCallOut]:
    """Callers in queues (waiting or being offered), longest waiting first."""
    center = ctx.deps.center
    now = center.now()
    entries = sorted(center.acd.entries(), key=lambda e: (e.enqueued_at, e.seq))
    rows = [
        WaitingCallOut(
            call_id=e.call_id,
            queue_id=e.queue_id,
            priority=e.priority,
            category=e.category,
            waited=now - e.enqueued_at,
            offered_to=list(e.offered_to),
        )
        for e in entries
        if queue is None or e.queue_id == queue
    ]
    return paging.page(rows)


def _known(ctx: Ctx, agent_id: str) -> None:
    if view_or_none(ctx, agent_id) is None:
        raise ApiError(409, "not_logged_in", f"agent {agent_id} is not logged in")


@router.post("/agents/{agent_id}/force-logout", response_model=AgentStateOut)
async def force_logout(agent_id: AgentId, ctx: SupCtx) -> AgentStateOut:
    """强制签出."""
    center = ctx.deps.center
    async with ctx.audit("supervisor.force_logout", f"agent:{agent_id}"):
        _known(ctx, agent_id)
        center.apply(center.acd.force_logout(agent_id, ctx.actor, center.now()))
    return current_state(ctx, agent_id)


@router.post("/agents/{agent_id}/force-busy", response_model=AgentStateOut)
async def force_busy(agent_id: AgentId, body: ForceBusyIn, ctx: SupCtx) -> AgentStateOut:
    """强制示忙: at once, even on a call (the call continues); a ringing offer goes back."""
    center = ctx.deps.center
    async with ctx.audit("supervisor.force_busy", f"agent:{agent_id}", reason=body.reason):
        _known(ctx, agent_id)
        center.apply(center.acd.force_busy(agent_id, ctx.actor, center.now(), body.reason))
    return current_state(ctx, agent_id)


@router.post("/agents/{agent_id}/force-ready", response_model=AgentStateOut)
async def force_ready(agent_id: AgentId, ctx: SupCtx) -> AgentStateOut:
    """强制示闲."""
    center = ctx.deps.center
    async with ctx.audit("supervisor.force_ready", f"agent:{agent_id}"):
        _known(ctx, agent_id)
        center.apply(center.acd.force_ready(agent_id, ctx.actor, center.now()))
    return current_state(ctx, agent_id)


def _agent_no(agent_id: str) -> int:
    number = int(agent_id)
    if not 1000 <= number <= 999_999:
        raise ApiError(404, "not_found", f"no agent {agent_id}")
    return number


@router.put("/agents/{agent_id}/skills", response_model=AgentStateOut)
async def set_skills(agent_id: AgentId, body: SkillsIn, ctx: SupCtx) -> AgentStateOut:
    """Replace an agent's skills: stored, and live in the ACD when the agent is logged in."""
    center, store = ctx.deps.center, ctx.deps.store
    async with ctx.audit("supervisor.set_skills", f"agent:{agent_id}", skills=body.skills):
        await ctx.run(store.sync.agents.set_skills, _agent_no(agent_id), body.skills)
        await ctx.run(center.directory.reload, store.sync)
        if view_or_none(ctx, agent_id) is not None:
            center.apply(center.acd.update_agent_skills(agent_id, body.skills, center.now()))
    return current_state(ctx, agent_id)


@router.get("/agents/{agent_id}/queues", response_model=list[MembershipOut])
async def get_queues(agent_id: AgentId, ctx: SupCtx) -> list[MembershipOut]:
    members = await ctx.run(ctx.deps.store.sync.queues.queues_of, _agent_no(agent_id))
    return [MembershipOut(queue=m.queue, agent_id=m.agent_id, penalty=m.penalty) for m in members]


@router.put("/agents/{agent_id}/queues", response_model=list[MembershipOut])
async def set_queues(agent_id: AgentId, body: QueuesIn, ctx: SupCtx) -> list[MembershipOut]:
    """Replace the agent's queue memberships (with penalties) as a whole."""
    queues = ctx.deps.store.sync.queues
    number = _agent_no(agent_id)
    wanted = {m.queue: m.penalty for m in body.queues}
    async with ctx.audit("supervisor.set_queues", f"agent:{agent_id}", queues=wanted):
        for name in wanted:
            if await ctx.run(queues.get, name) is None:
                raise UnknownQueueError(f"no queue {name!r}")
        if await ctx.run(ctx.deps.store.sync.agents.get, number) is None:
            raise ApiError(404, "not_found", f"no agent {agent_id}")
        for member in await ctx.run(queues.queues_of, number):
            if member.queue not in wanted:
                await ctx.run(queues.remove_member, member.queue, number)
        for name, penalty in wanted.items():
            await ctx.run(queues.remove_member, name, number)
            await ctx.run(queues.add_member, name, number, penalty)
        await refresh_memberships(ctx)
    return await get_queues(agent_id, ctx)


async def refresh_memberships(ctx: Ctx) -> None:
    """Reload the stored memberships and give every logged-in agent its list in the ACD at
    once (an agent with no membership list serves every queue by skills)."""
    center = ctx.deps.center
    await ctx.run(center.directory.reload, ctx.deps.store.sync)
    now = center.now()
    for view in center.acd.agents():
        queues = center.directory.queues_of(view.agent_id)
        center.apply(center.acd.update_agent_queues(view.agent_id, queues, now))
