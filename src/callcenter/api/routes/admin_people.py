"""Administration of people: users (accounts and roles), agents (工号), seats and skills.

Every change is validated, audited and applied live: agent changes reload the agent directory
the call controller uses; an agent logged in gets its new skills in the ACD at once, and is
logged out (forced, by the administrator) when it is disabled or deleted.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from callcenter.api.admin_schemas import (
    AgentIn,
    AgentPatch,
    NewPasswordIn,
    SeatIn,
    SkillIn,
    UserIn,
    UserPatch,
)
from callcenter.api.errors import ERROR_RESPONSES, ApiError
from callcenter.api.routes.agent import view_or_none
from callcenter.api.routes.auth import user_out
from callcenter.api.schemas import Ok, Page, Paging, UserOut
from callcenter.api.security import ADMIN, Ctx, require
from callcenter.storage.repos.agents import AgentRecord, SeatRecord, SkillRecord

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=ERROR_RESPONSES)
AdminCtx = Annotated[Ctx, Depends(require(ADMIN))]
PagingDep = Annotated[Paging, Depends()]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
AgentNo = Annotated[int, Path(ge=1000, le=999_999)]


# ------------------------------------------------------------------ users
@router.get("/users", response_model=Page[UserOut])
async def list_users(
    ctx: AdminCtx,
    paging: PagingDep,
    role: Annotated[str | None, Query(max_length=16)] = None,
    enabled: bool | None = None,
) -> Page[UserOut]:
    users = await ctx.run(ctx.deps.store.sync.users.all)
    rows = [user_out(u) for u in users if role in (None, u.role) and enabled in (None, u.enabled)]
    return paging.page(rows)


@router.post("/users", response_model=UserOut, status_code=201)
async def create_user(body: UserIn, ctx: AdminCtx) -> UserOut:
    users = ctx.deps.store.sync.users
    async with ctx.audit("user.create", f"user:{body.username}", role=body.role):
        rec = await ctx.run(
            users.create, body.username, body.display_name, body.role, body.password, ctx.now()
        )
    return user_out(rec)


@router.get("/users/{user_id}", response_model=UserOut)
async def get_user(user_id: Id, ctx: AdminCtx) -> UserOut:
    rec = await ctx.run(ctx.deps.store.sync.users.get, user_id)
    if rec is None:
        raise ApiError(404, "not_found", f"no user {user_id}")
    return user_out(rec)


@router.patch("/users/{user_id}", response_model=UserOut)
async def update_user(user_id: Id, body: UserPatch, ctx: AdminCtx) -> UserOut:
    store = ctx.deps.store.sync
    changes = body.model_dump(exclude_none=True)
    async with ctx.audit("user.update", f"user:{user_id}", **changes):
        rec = await ctx.run(store.users.update, user_id, **changes)
        if body.enabled is False or body.role is not None:
            await ctx.run(store.tokens.revoke_user, user_id, ctx.now())
    return user_out(rec)


@router.post("/users/{user_id}/password", response_model=Ok)
async def set_password(user_id: Id, body: NewPasswordIn, ctx: AdminCtx) -> Ok:
    """Reset a password (the user's tokens are revoked)."""
    store = ctx.deps.store.sync
    async with ctx.audit("user.password_reset", f"user:{user_id}"):
        await ctx.run(store.users.set_password, user_id, body.password, ctx.now())
        await ctx.run(store.tokens.revoke_user, user_id, ctx.now())
    return Ok()


@router.post("/users/{user_id}/unlock", response_model=Ok)
async def unlock_user(user_id: Id, ctx: AdminCtx) -> Ok:
    async with ctx.audit("user.unlock", f"user:{user_id}"):
        await ctx.run(ctx.deps.store.sync.users.unlock, user_id)
    return Ok()


@router.delete("/users/{user_id}", response_model=Ok)
async def delete_user(user_id: Id, ctx: AdminCtx) -> Ok:
    if ctx.principal is not None and ctx.user.id == user_id:
        raise ApiError(409, "cannot_delete_self", "an administrator cannot delete itself")
    store = ctx.deps.store.sync
    async with ctx.audit("user.delete", f"user:{user_id}"):
        await ctx.run(store.tokens.revoke_user, user_id, ctx.now())
        await ctx.run(store.users.delete, user_id)
    return Ok()


# ----------------------------------------------------------------- agents
@router.get("/agents", response_model=Page[AgentRecord])
async def list_agents(
    ctx: AdminCtx,
    paging: PagingDep,
    category: Annotated[str | None, Query(max_length=16)] = None,
    skill: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[AgentRecord]:
    agents = await ctx.run(ctx.deps.store.sync.agents.all)
    rows = [
        a for a in agents if category in (None, a.category) and (skill is None or skill in a.skills)
    ]
    return paging.page(rows)


@router.get("/agents/{agent_id}", response_model=AgentRecord)
async def get_agent(agent_id: AgentNo, ctx: AdminCtx) -> AgentRecord:
    rec = await ctx.run(ctx.deps.store.sync.agents.get, agent_id)
    if rec is None:
        raise ApiError(404, "not_found", f"no agent {agent_id}")
    return rec


async def _agent_changed(ctx: Ctx, rec: AgentRecord | None, agent_id: int) -> None:
    """Apply live: directory reload; skills to a logged-in agent; logout when disabled."""
    center = ctx.deps.center
    await ctx.run(center.directory.reload, ctx.deps.store.sync)
    key = str(agent_id)
    if view_or_none(ctx, key) is None:
        return
    if rec is None or not rec.enabled:
        center.apply(center.acd.force_logout(key, ctx.actor, center.now()))
    else:
        center.apply(center.acd.update_agent_skills(key, rec.skills, center.now()))


@router.post("/agents", response_model=AgentRecord, status_code=201)
async def create_agent(body: AgentIn, ctx: AdminCtx) -> AgentRecord:
    agents = ctx.deps.store.sync.agents
    async with ctx.audit("agent.create", f"agent:{body.agent_id}"):
        if await ctx.run(agents.get, body.agent_id) is not None:
            raise ApiError(409, "conflict", f"agent {body.agent_id} exists")
        rec = await ctx.run(
            agents.create,
            body.agent_id,
            body.name,
            body.category,
            ctx.now(),
            skills=body.skills,
            wrapup_seconds=body.wrapup_seconds,
            user_id=body.user_id,
            extension=body.extension,
        )
        await _agent_changed(ctx, rec, rec.agent_id)
    return rec


@router.patch("/agents/{agent_id}", response_model=AgentRecord)
async def update_agent(agent_id: AgentNo, body: AgentPatch, ctx: AdminCtx) -> AgentRecord:
    agents = ctx.deps.store.sync.agents
    changes = body.model_dump(exclude_none=True)
    async with ctx.audit("agent.update", f"agent:{agent_id}", **changes):
        rec = await ctx.run(
            agents.update,
            agent_id,
            name=body.name,
            category=body.category,
            enabled=body.enabled,
            extension=body.extension,
        )
        if "wrapup_seconds" in body.model_fields_set:
            await ctx.run(agents.set_wrapup, agent_id, body.wrapup_seconds)
        if body.skills is not None:
            rec = await ctx.run(agents.set_skills, agent_id, body.skills)
        fresh = await ctx.run(agents.get, agent_id)
        rec = fresh or rec
        await _agent_changed(ctx, rec, agent_id)
    return rec


@router.delete("/agents/{agent_id}", response_model=Ok)
async def delete_agent(agent_id: AgentNo, ctx: AdminCtx) -> Ok:
    async with ctx.audit("agent.delete", f"agent:{agent_id}"):
        await ctx.run(ctx.deps.store.sync.agents.delete, agent_id)
        await _agent_changed(ctx, None, agent_id)
    return Ok()


# ------------------------------------------------------------ seats, skills
@router.get("/seats", response_model=Page[SeatRecord])
async def list_seats(ctx: AdminCtx, paging: PagingDep) -> Page[SeatRecord]:
    return paging.page(await ctx.run(ctx.deps.store.sync.seats.all))


@router.post("/seats", response_model=SeatRecord, status_code=201)
async def create_seat(body: SeatIn, ctx: AdminCtx) -> SeatRecord:
    seats = ctx.deps.store.sync.seats
    async with ctx.audit("seat.create", f"seat:{body.number}"):
        return await ctx.run(
            seats.create, body.number, extension=body.extension, location=body.location
        )


@router.delete("/seats/{seat_id}", response_model=Ok)
async def delete_seat(seat_id: Id, ctx: AdminCtx) -> Ok:
    async with ctx.audit("seat.delete", f"seat:{seat_id}"):
        await ctx.run(ctx.deps.store.sync.seats.delete, seat_id)
    return Ok()


@router.get("/skills", response_model=Page[SkillRecord])
async def list_skills(ctx: AdminCtx, paging: PagingDep) -> Page[SkillRecord]:
    return paging.page(await ctx.run(ctx.deps.store.sync.skills.all))


@router.post("/skills", response_model=SkillRecord, status_code=201)
async def create_skill(body: SkillIn, ctx: AdminCtx) -> SkillRecord:
    skills = ctx.deps.store.sync.skills
    async with ctx.audit("skill.create", f"skill:{body.name}"):
        if await ctx.run(skills.get_by_name, body.name) is not None:
            raise ApiError(409, "conflict", f"skill {body.name!r} exists")
        return await ctx.run(skills.create, body.name, body.description)


@router.delete("/skills/{skill_id}", response_model=Ok)
async def delete_skill(skill_id: Id, ctx: AdminCtx) -> Ok:
    async with ctx.audit("skill.delete", f"skill:{skill_id}"):
        await ctx.run(ctx.deps.store.sync.skills.delete, skill_id)
    return Ok()
