"""Supervisor operations on a live call (班长席, SPEC §5): monitor (监听, optionally recorded),
whisper, barge-in (强插), intercept (拦截), force release (强拆), leave.

The supervisor uses their own registered phone: the server calls it (auto-answer) and joins it
to the call; calling monitor / whisper / barge again switches the mode in the same session.
Every operation is audited with who did what to which call, and reported on the event stream.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from callcenter.api.errors import ERROR_RESPONSES, ApiError
from callcenter.api.routes.call_control import call_key
from callcenter.api.schemas import Body
from callcenter.api.security import ADMIN, SUPERVISOR, Ctx, require
from callcenter.calls.control import CallControl, ControlError
from callcenter.calls.internal_supervise import InternalSupervisor

router = APIRouter(prefix="/api/v1/supervisor/calls", tags=["supervise"], responses=ERROR_RESPONSES)
SupCtx = Annotated[Ctx, Depends(require(SUPERVISOR, ADMIN))]
CallId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f/]+$")]


class MonitorIn(Body):
    record: bool = False


class SupervisionOut(BaseModel):
    call_id: str
    agent_id: str | None
    supervisor: str | None
    mode: str | None
    answered: bool


def _control(ctx: Ctx, call_id: str) -> CallControl | InternalSupervisor:
    """A customer call's controls, or the supervision of an internal / click-to-dial call."""
    center = ctx.deps.center
    key = call_key(call_id)
    call = center.calls.get(key)
    if call is not None:
        return call.control
    internal = center.calls_out.get(key)
    if internal is not None and not internal.done.is_set():
        return internal.supervisor
    raise ApiError(404, "no_such_call", f"no live call {call_id!r}")


def _call_id(control: CallControl | InternalSupervisor) -> str:
    return control.call.acd_id


async def _phone(ctx: Ctx) -> str:
    rec = await ctx.run(ctx.deps.store.sync.agents.get_by_user, ctx.user.id)
    if rec is None or not rec.extension:
        raise ApiError(409, "no_phone", "this account has no extension to join the call with")
    return str(rec.extension)


def _out(control: CallControl | InternalSupervisor) -> SupervisionOut:
    if isinstance(control, InternalSupervisor):
        isup = control.supervision
        by = control.intercepted_by
        return SupervisionOut(
            call_id=control.call.acd_id,
            agent_id=None if by is not None else control.agent_id(),
            supervisor=by if by is not None else (None if isup is None else isup.supervisor),
            mode="intercept" if by is not None else (None if isup is None else isup.mode),
            answered=True if by is not None else (isup is not None and isup.party.answered),
        )
    sup = control.supervision
    agent = control.call.agent
    if sup is None and agent is not None and agent.agent_id.startswith("sup:"):
        # intercepted: the supervisor's own leg has taken the call
        return SupervisionOut(
            call_id=control.call.acd_id,
            agent_id=None,
            supervisor=agent.agent_id.removeprefix("sup:"),
            mode="intercept",
            answered=agent.answered,
        )
    return SupervisionOut(
        call_id=control.call.acd_id,
        agent_id=None if agent is None else agent.agent_id,
        supervisor=None if sup is None else sup.supervisor,
        mode=None if sup is None else sup.mode,
        answered=False if sup is None else sup.leg.answered,
    )


async def _supervise(ctx: Ctx, call_id: str, mode: str, record: bool) -> SupervisionOut:
    control = _control(ctx, call_id)
    async with ctx.audit(f"supervisor.{mode}", f"call:{_call_id(control)}", record=record):
        ext = await _phone(ctx)
        try:
            await control.supervise(ctx.user.username, ext, mode, record)
        except ControlError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None
    return _out(control)


@router.get("/{call_id}", response_model=SupervisionOut)
async def supervision(call_id: CallId, ctx: SupCtx) -> SupervisionOut:
    """Who supervises the call and how (mode null: nobody), and whether the supervisor's
    phone has answered; after an intercept, mode is ``intercept`` while the supervisor talks.
    The console polls it while the supervisor's phone rings."""
    return _out(_control(ctx, call_id))


@router.post("/{call_id}/monitor", response_model=SupervisionOut)
async def monitor(call_id: CallId, body: MonitorIn, ctx: SupCtx) -> SupervisionOut:
    """监听 (with ``record``: 监听录音): hear both sides, heard by nobody."""
    return await _supervise(ctx, call_id, "monitor", body.record)


@router.post("/{call_id}/whisper", response_model=SupervisionOut)
async def whisper(call_id: CallId, ctx: SupCtx) -> SupervisionOut:
    """Talk to the agent only; the caller does not hear the supervisor."""
    return await _supervise(ctx, call_id, "whisper", False)


@router.post("/{call_id}/barge", response_model=SupervisionOut)
async def barge(call_id: CallId, ctx: SupCtx) -> SupervisionOut:
    """强插: a 3-way conversation."""
    return await _supervise(ctx, call_id, "barge", False)


@router.post("/{call_id}/intercept", response_model=SupervisionOut)
async def intercept(call_id: CallId, ctx: SupCtx) -> SupervisionOut:
    """拦截: the supervisor's phone takes the call; the agent is released."""
    control = _control(ctx, call_id)
    async with ctx.audit("supervisor.intercept", f"call:{_call_id(control)}"):
        ext = await _phone(ctx)
        try:
            await control.intercept(ctx.user.username, ext)
        except ControlError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None
    return _out(control)


@router.post("/{call_id}/leave", response_model=SupervisionOut)
async def leave(call_id: CallId, ctx: SupCtx) -> SupervisionOut:
    control = _control(ctx, call_id)
    async with ctx.audit("supervisor.leave", f"call:{_call_id(control)}"):
        try:
            await control.leave(ctx.user.username)
        except ControlError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None
    return _out(control)


@router.post("/{call_id}/release", response_model=SupervisionOut)
async def release(call_id: CallId, ctx: SupCtx) -> SupervisionOut:
    """强拆: both sides are hung up."""
    control = _control(ctx, call_id)
    async with ctx.audit("supervisor.force_release", f"call:{_call_id(control)}"):
        control.force_release(ctx.user.username)
    return _out(control)
