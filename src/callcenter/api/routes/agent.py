"""Agent operations (座席子系统, SPEC §4) on the caller's own agent id, with the exact rules.

Login: the agent id (工号) must be the caller's own, in range, not logged in elsewhere; the
category must be the stored one (a 班长 may also work as a plain agent); the seat (座席号) is
the agent's extension, a seat wired to a phone, or another extension: calls then ring that
phone (hot-desking) and no other agent may log in there meanwhile; the skills, when given,
must be a subset of the granted ones at no higher level; an optional password is checked
again; the agent's queue memberships go with it. Busy while off-hook is deferred to the call's
end (or refused with ``defer=false``); ready cancels it. Answer is done on the phone; hang up,
wrap-up codes, early end of wrap-up and call notes are here. Each refusal is a 4xx with a
stable code.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from callcenter.acd import AgentLogin, Category
from callcenter.acd.errors import NotLoggedInError
from callcenter.acd.model import Activity
from callcenter.acd.views import AgentView
from callcenter.api.errors import ERROR_RESPONSES, ApiError
from callcenter.api.events_model import CallNoteAdded, HangUpRequested, WrapUpCoded
from callcenter.api.schemas import (
    AgentLoginIn,
    AgentStateOut,
    BusyIn,
    NoteIn,
    Ok,
    WrapUpCodeIn,
)
from callcenter.api.security import AGENT, SUPERVISOR, Ctx, require
from callcenter.calls.control import ControlError
from callcenter.storage.repos.agents import AgentRecord

router = APIRouter(prefix="/api/v1/agent", tags=["agent"], responses=ERROR_RESPONSES)
AgentCtx = Annotated[Ctx, Depends(require(AGENT, SUPERVISOR))]


def state_of(agent_id: str, view: AgentView | None, now: float) -> AgentStateOut:
    if view is None:
        return AgentStateOut(agent_id=agent_id, logged_in=False)
    return AgentStateOut(
        agent_id=agent_id,
        logged_in=True,
        seat=view.seat,
        category=view.category.value,
        presence=view.presence.value,
        reason=view.reason,
        activity=view.activity.value,
        since=view.since,
        time_in_state=view.time_in_state(now),
        pending=view.pending.value if view.pending else None,
        call_id=view.call_id,
        no_answers=view.no_answers,
        calls_answered=view.calls_answered,
        talk_time=view.talk_time,
        skills=dict(view.skills),
        queues=dict(view.queues),
    )


def view_or_none(ctx: Ctx, agent_id: str) -> AgentView | None:
    try:
        return ctx.deps.center.acd.agent_view(agent_id)
    except NotLoggedInError:
        return None


def current_state(ctx: Ctx, agent_id: str) -> AgentStateOut:
    center = ctx.deps.center
    return state_of(agent_id, view_or_none(ctx, agent_id), center.now())


async def own_agent(ctx: Ctx) -> AgentRecord:
    agent = await ctx.run(ctx.deps.store.sync.agents.get_by_user, ctx.user.id)
    if agent is None or not agent.enabled:
        raise ApiError(403, "no_agent_id", "this account has no (enabled) agent id")
    return agent


async def own_agent_id(ctx: Ctx) -> str:
    """The caller's (enabled) agent id, as ``own_agent`` but with one light query: what the
    per-request state and call commands need."""
    found = await ctx.run(ctx.deps.store.sync.agents.id_of_user, ctx.user.id)
    if found is None or not found[1]:
        raise ApiError(403, "no_agent_id", "this account has no (enabled) agent id")
    return str(found[0])


async def _seat_extension(ctx: Ctx, agent: AgentRecord, seat: str) -> str:
    """The extension whose phone rings for ``seat``: the agent's own, a seat's wired phone, or
    any other extension (hot-desking: the agent's calls then ring there until it logs out)."""
    if seat == agent.extension:
        return seat
    store = ctx.deps.store.sync
    rec = await ctx.run(store.seats.get_by_number, seat)
    if rec is not None:
        if not rec.enabled:
            raise ApiError(409, "seat_disabled", f"seat {seat} is disabled")
        if rec.extension is None:
            raise ApiError(409, "seat_not_assigned", f"seat {seat} has no phone (extension)")
        return rec.extension
    ext = await ctx.run(store.extensions.get_by_number, seat)
    if ext is None:
        raise ApiError(404, "unknown_seat", f"no seat or extension {seat}")
    if not ext.enabled:
        raise ApiError(409, "seat_disabled", f"extension {seat} is disabled")
    return seat


def _check_login_fields(body: AgentLoginIn, agent: AgentRecord) -> dict[str, int]:
    if body.agent_id.lstrip("0") != str(agent.agent_id):
        raise ApiError(403, "not_your_agent_id", f"agent id {body.agent_id} is not yours")
    if body.category == "supervisor" and agent.category != "supervisor":
        raise ApiError(403, "category_not_allowed", "only a 班长 may log in as supervisor")
    if body.skills is None:
        return dict(agent.skills)
    for name, level in body.skills.items():
        granted = agent.skills.get(name)
        if granted is None or level > granted:
            raise ApiError(
                403,
                "skill_not_granted",
                f"skill {name} level {level} is not granted (granted: {granted or 0})",
            )
    return dict(body.skills)


@router.post("/login", response_model=AgentStateOut)
async def login(body: AgentLoginIn, ctx: AgentCtx) -> AgentStateOut:
    """座席登录: seat, agent id, category, skills (and optionally the password again)."""
    async with ctx.audit("agent.login", f"agent:{body.agent_id}", seat=body.seat):
        agent = await own_agent(ctx)
        skills = _check_login_fields(body, agent)
        extension = await _seat_extension(ctx, agent, body.seat)
        if body.password is not None:
            users = ctx.deps.store.sync.users
            result = await ctx.run(users.authenticate, ctx.user.username, body.password, ctx.now())
            if result.outcome != "ok":
                raise ApiError(401, "bad_credentials", "wrong password")
        wrapup = None if agent.wrapup_seconds is None else float(agent.wrapup_seconds)
        agent_id = str(agent.agent_id)
        center = ctx.deps.center
        queues = center.directory.queues_of(agent_id)
        # the ACD's seat is the phone's extension: two agents can never share one phone
        login = AgentLogin(agent_id, extension, Category(body.category), skills, wrapup, queues)
        outputs = center.acd.login(login, center.now(), ready=body.ready)
        center.directory.sit(agent_id, extension)  # before any offer goes out
        center.apply(outputs)
        if body.answer_mode == "desktop":
            center.answer_modes[str(agent.agent_id)] = "desktop"
        else:
            center.answer_modes.pop(str(agent.agent_id), None)
        return current_state(ctx, str(agent.agent_id))


async def _command(ctx: Ctx, action: str, op: str, **details: object) -> AgentStateOut:
    agent_id = await own_agent_id(ctx)
    center = ctx.deps.center
    acd = center.acd
    async with ctx.audit(action, f"agent:{agent_id}", **details):
        now = center.now()
        if op == "logout":
            center.apply(acd.logout(agent_id, now))
        elif op == "ready":
            center.apply(acd.set_ready(agent_id, now))
        elif op == "busy":
            reason, defer = str(details["reason"]), bool(details["defer"])
            await _check_reason(ctx, reason)
            center.apply(acd.set_busy(agent_id, reason, now, defer=defer))
        elif op == "end_wrapup":
            center.apply(acd.end_wrapup(agent_id, now))
    return current_state(ctx, agent_id)


async def _check_reason(ctx: Ctx, reason: str) -> None:
    """When the parameter ``agent.busy_reasons`` lists reason codes, only those are accepted."""
    allowed = await ctx.run(ctx.deps.store.sync.params.get, "agent.busy_reasons")
    if isinstance(allowed, list) and allowed and reason not in allowed:
        raise ApiError(422, "unknown_reason", f"busy reason {reason!r} is not one of {allowed}")


@router.post("/logout", response_model=AgentStateOut)
async def logout(ctx: AgentCtx) -> AgentStateOut:
    """座席注销: out of every queue; a ringing offer goes back, a call up is hung up."""
    return await _command(ctx, "agent.logout", "logout")


@router.post("/ready", response_model=AgentStateOut)
async def ready(ctx: AgentCtx) -> AgentStateOut:
    """示闲: ready at once; a deferred busy is cancelled."""
    return await _command(ctx, "agent.ready", "ready")


@router.post("/busy", response_model=AgentStateOut)
async def busy(body: BusyIn, ctx: AgentCtx) -> AgentStateOut:
    """示忙 with a reason code; off-hook it waits for the call's end (``defer``) or fails."""
    return await _command(ctx, "agent.busy", "busy", reason=body.reason, defer=body.defer)


@router.post("/wrapup/end", response_model=AgentStateOut)
async def end_wrapup(ctx: AgentCtx) -> AgentStateOut:
    """End after-call work early (fails with ``not_in_wrap_up`` otherwise)."""
    return await _command(ctx, "agent.wrapup_end", "end_wrapup")


@router.get("/state", response_model=AgentStateOut)
async def state(ctx: AgentCtx) -> AgentStateOut:
    return current_state(ctx, await own_agent_id(ctx))


@router.post("/answer", response_model=AgentStateOut)
async def answer(ctx: AgentCtx) -> AgentStateOut:
    """摘机 from the desktop: with ``answer_mode`` "desktop" at login, the phone is called with
    auto-answer now; in phone mode the handset must be lifted (409 ``answer_on_phone``)."""
    agent_id = await own_agent_id(ctx)
    async with ctx.audit("agent.answer", f"agent:{agent_id}"):
        view = view_or_none(ctx, agent_id)
        if view is None:
            raise ApiError(409, "not_logged_in", f"agent {agent_id} is not logged in")
        if view.activity is Activity.ON_CALL:
            return current_state(ctx, agent_id)  # already answered: idempotent
        from callcenter.api.routes.call_control import answer_from_desktop  # (import cycle)

        if await answer_from_desktop(ctx, agent_id):
            return current_state(ctx, agent_id)
        if view.activity in (Activity.RESERVED, Activity.RINGING):
            raise ApiError(
                409,
                "answer_on_phone",
                f"call {view.call_id} is ringing at seat {view.seat}: lift the "
                "handset (a SIP phone cannot be answered from the desktop)",
            )
        raise ApiError(409, "no_such_offer", f"nothing is ringing for agent {agent_id}")


@router.post("/hangup", response_model=AgentStateOut)
async def hangup(ctx: AgentCtx) -> AgentStateOut:
    """挂机 from the desktop: the call that is up at this agent is released on both sides."""
    agent_id = await own_agent_id(ctx)
    center = ctx.deps.center
    async with ctx.audit("agent.hangup", f"agent:{agent_id}"):
        view = view_or_none(ctx, agent_id)
        key = None if view is None or view.call_id is None else view.call_id.split("#", 1)[0]
        call = None if key is None else center.calls.get(key)
        out = None if key is None else center.calls_out.get(key)
        if out is not None and view is not None and view.activity is Activity.ON_CALL:
            center.record_event(HangUpRequested(key or "", agent_id, ctx.actor))
            out.hangup_all("agent hung up (desktop)")
            return current_state(ctx, agent_id)
        if view is None or view.activity is not Activity.ON_CALL or call is None:
            raise ApiError(409, "not_on_call", f"agent {agent_id} has no call up")
        assert view.call_id is not None
        center.record_event(HangUpRequested(view.call_id, agent_id, ctx.actor))
        try:
            if await call.control.agent_leaves(agent_id):
                return current_state(ctx, agent_id)
        except ControlError:
            pass  # not this agent's leg to leave (e.g. a consult leg): release the call
        call.hangup_all("agent hung up (desktop)")
    return current_state(ctx, agent_id)


@router.post("/wrapup", response_model=Ok)
async def wrapup_code(body: WrapUpCodeIn, ctx: AgentCtx) -> Ok:
    """话后处理 code (a business category) for the agent's current or last call (one it
    answered, or one it dialled)."""
    agent = await own_agent(ctx)
    agent_id = str(agent.agent_id)
    store = ctx.deps.store.sync
    async with ctx.audit("agent.wrapup_code", f"agent:{agent_id}", code=body.code):
        view = view_or_none(ctx, agent_id)
        call_id = body.call_id or (view.call_id if view else None)
        if call_id is None:
            raise ApiError(422, "call_id_needed", "no current call: name the call_id")
        codes = {c.code for c in await ctx.run(store.categories.all, enabled_only=True)}
        if body.code not in codes:
            known = ", ".join(sorted(codes))
            raise ApiError(422, "unknown_wrapup_code", f"{body.code!r} is not one of: {known}")
        cdr = await ctx.run(store.cdrs.get, call_id)
        placed = (
            cdr is not None
            and cdr.direction in ("internal", "outbound")
            and (agent.extension is not None and cdr.caller == str(agent.extension))
        )  # a call the agent dialled from its own phone (click-to-dial)
        if cdr is None or (cdr.agent_id != agent.agent_id and not placed):
            raise ApiError(404, "not_your_call", f"no call {call_id!r} of agent {agent_id}")
        await ctx.run(store.cdrs.annotate, call_id, business_category=body.code)
        ctx.deps.center.record_event(WrapUpCoded(call_id, agent_id, body.code))
    return Ok()


@router.post("/notes", response_model=Ok, status_code=201)
async def add_note(body: NoteIn, ctx: AgentCtx) -> Ok:
    """A call note; with ``customer_id`` it also lands in the customer's history."""
    agent_id = await own_agent_id(ctx)
    store = ctx.deps.store.sync
    async with ctx.audit("agent.note", f"agent:{agent_id}", call_id=body.call_id):
        view = view_or_none(ctx, agent_id)
        call_id = body.call_id or (view.call_id if view else None)
        if body.customer_id is not None:
            await ctx.run(
                store.customers.add_note, body.customer_id, ctx.actor, body.text, ctx.now(), call_id
            )
        ctx.deps.center.record_event(CallNoteAdded(call_id, agent_id, body.text, body.customer_id))
    return Ok()
