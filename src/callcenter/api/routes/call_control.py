"""Agent call control on the agent's own live call (SPEC §4 人工话务).

Hold / unhold, blind transfer (to an agent, a queue, an extension or an outside number),
consult with attended transfer or 3-way, play a voice string (播放语音), record on demand
(录音) with pause and resume. Each acts on the call up at the caller's own agent id; the
operations and their rules live in ``calls/control.py`` and refuse with a 4xx and a stable
code before changing anything. Every call is audited and reported on the event stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, StringConstraints

from callcenter.acd.model import Activity
from callcenter.api.errors import ERROR_RESPONSES, ApiError
from callcenter.api.routes.agent import own_agent, own_agent_id, view_or_none
from callcenter.api.schemas import Body, Name, Ok
from callcenter.api.security import AGENT, SUPERVISOR, Ctx, require
from callcenter.calls.control import CallControl, ControlError
from callcenter.logs import get_logger
from callcenter.storage.errors import NotFound

log = get_logger("callcenter.api")
router = APIRouter(prefix="/api/v1/agent/call", tags=["call-control"], responses=ERROR_RESPONSES)
AgentCtx = Annotated[Ctx, Depends(require(AGENT, SUPERVISOR))]
Target = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.+*#-]+$")
]
SpokenText = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"^[^\x00]*$")]


class TargetIn(Body):
    kind: Literal["agent", "queue", "extension", "number"]
    target: Target


class PlayStringIn(Body):
    text: SpokenText


class RecordIn(Body):
    name: Name


class CallOut(BaseModel):
    call_id: str
    agent_id: str
    caller: str
    called: str
    queue: str | None
    category: str
    customer_id: int | None
    state: str
    held: bool
    recording: str | None
    consult: dict[str, str] | None
    supervised_by: str | None


def call_key(call_id: str) -> str:
    """The ACD keys a consult leg ``<call>#c<n>``: the caller's call is the part before."""
    return call_id.split("#", 1)[0]


async def my_call(ctx: Ctx) -> tuple[str, CallControl]:
    agent_id = await own_agent_id(ctx)
    view = view_or_none(ctx, agent_id)
    if view is None:
        raise ApiError(409, "not_logged_in", f"agent {agent_id} is not logged in")
    call = None if view.call_id is None else ctx.deps.center.calls.get(call_key(view.call_id))
    if call is None:
        raise ApiError(409, "not_on_call", f"agent {agent_id} has no call")
    return agent_id, call.control


def describe(agent_id: str, control: CallControl) -> CallOut:
    call = control.call
    partner = control.partner()
    consult = control.consult
    sup = control.supervision
    if partner is not None:
        state = "talking"
    elif call.agent is not None and call.agent.agent_id == agent_id:
        state = "ringing" if call.agent.call is not None else "offered"
    else:
        state = "other"
    return CallOut(
        call_id=call.acd_id,
        agent_id=agent_id,
        caller=call.call.caller,
        called=call.call.called,
        queue=call.queue_id,
        category=call.category,
        customer_id=call.customer_id,
        state=state,
        held=control.held is not None,
        recording=None if control.ondemand is None else control.ondemand.name,
        consult=None
        if consult is None
        else {
            "kind": consult.kind,
            "target": consult.target,
            "state": "conference"
            if consult.conference is not None
            else ("talking" if consult.answered else "ringing"),
        },
        supervised_by=None if sup is None else sup.supervisor,
    )


async def _act(
    ctx: Ctx, action: str, op: Callable[[str, CallControl], Awaitable[object]], **details: object
) -> CallOut:
    agent_id, control = await my_call(ctx)
    async with ctx.audit(action, f"call:{control.call.acd_id}", agent_id=agent_id, **details):
        try:
            await op(agent_id, control)
        except ControlError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None
    return describe(agent_id, control)


@router.get("", response_model=CallOut)
async def current_call(ctx: AgentCtx) -> CallOut:
    """The agent's call: caller, queue, category, customer, hold, consult, recording."""
    agent_id, control = await my_call(ctx)
    return describe(agent_id, control)


@router.post("/hold", response_model=CallOut)
async def hold(ctx: AgentCtx) -> CallOut:
    """保持: the caller hears music on hold."""
    return await _act(ctx, "call.hold", lambda a, c: c.hold(a))


@router.post("/unhold", response_model=CallOut)
async def unhold(ctx: AgentCtx) -> CallOut:
    return await _act(ctx, "call.unhold", lambda a, c: c.unhold(a))


@router.post("/transfer", response_model=CallOut)
async def transfer(body: TargetIn, ctx: AgentCtx) -> CallOut:
    """Blind transfer; the agent goes to wrap-up at once."""
    return await _act(ctx, "call.transfer", lambda a, c: c.transfer(a, body.kind, body.target),
                      kind=body.kind, to=body.target)  # fmt: skip


@router.post("/consult", response_model=CallOut)
async def consult(body: TargetIn, ctx: AgentCtx) -> CallOut:
    """咨询: the caller is held while the agent talks with the target."""
    return await _act(ctx, "call.consult",
                      lambda a, c: c.consult_start(a, body.kind, body.target),
                      kind=body.kind, to=body.target)  # fmt: skip


@router.post("/consult/transfer", response_model=CallOut)
async def consult_transfer(ctx: AgentCtx) -> CallOut:
    """Attended transfer: the consulted party takes the caller."""
    return await _act(ctx, "call.consult_transfer", lambda a, c: c.consult_transfer(a))


@router.post("/consult/conference", response_model=CallOut)
async def consult_conference(ctx: AgentCtx) -> CallOut:
    """三方通话: caller, agent and consulted party together."""
    return await _act(ctx, "call.conference", lambda a, c: c.conference(a))


@router.post("/consult/cancel", response_model=CallOut)
async def consult_cancel(ctx: AgentCtx) -> CallOut:
    return await _act(ctx, "call.consult_cancel", lambda a, c: c.consult_cancel(a))


@router.post("/play-string", response_model=CallOut)
async def play_string(body: PlayStringIn, ctx: AgentCtx) -> CallOut:
    """播放语音: the agent is released; the caller hears the text twice, then is hung up."""
    return await _act(ctx, "call.play_string", lambda a, c: c.play_string(a, body.text),
                      text=body.text)  # fmt: skip


@router.post("/record", response_model=CallOut)
async def record(body: RecordIn, ctx: AgentCtx) -> CallOut:
    """录音 into a named file; fails unless the agent is talking to the caller."""
    return await _act(ctx, "call.record", lambda a, c: c.record_start(a, body.name),
                      name=body.name)  # fmt: skip


@router.post("/record/pause", response_model=CallOut)
async def record_pause(ctx: AgentCtx) -> CallOut:
    return await _act(ctx, "call.record_pause", lambda a, c: c.record_pause(a))


@router.post("/record/resume", response_model=CallOut)
async def record_resume(ctx: AgentCtx) -> CallOut:
    return await _act(ctx, "call.record_resume", lambda a, c: c.record_resume(a))


@router.post("/record/stop", response_model=CallOut)
async def record_stop(ctx: AgentCtx) -> CallOut:
    return await _act(ctx, "call.record_stop", lambda a, c: c.record_stop(a))


class DialIn(Body):
    target: Target
    customer_id: int | None = Field(default=None, ge=1, le=2**62)  # click-to-dial from a record


class DialOut(BaseModel):
    call_id: str
    target: str


@router.post("/dial", response_model=DialOut)
async def dial(body: DialIn, ctx: AgentCtx) -> DialOut:
    """内部呼叫 / click-to-dial: your phone is called first (auto-answer), then the target (an
    agent id, an extension or an outside number); they are bridged when it answers. With
    ``customer_id`` (dialled from a customer record) the call is linked to that customer."""
    agent = await own_agent(ctx)
    store = ctx.deps.store.sync
    async with ctx.audit("call.dial", f"agent:{agent.agent_id}", to=body.target):
        if not agent.extension:
            raise ApiError(409, "no_phone", "this agent id has no extension")
        customer = body.customer_id
        if customer is not None and await ctx.run(store.customers.get, customer) is None:
            raise ApiError(404, "not_found", f"customer {customer} not found")
        logged_in = view_or_none(ctx, str(agent.agent_id)) is not None
        origin = str(agent.agent_id) if logged_in else None
        try:
            key = await ctx.deps.center.dial(origin, str(agent.extension), body.target)
        except ControlError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None
        if customer is not None:
            # the call's CDR is opened by a write already scheduled: one turn of the loop
            # and it is queued on the storage thread (FIFO) before this one
            await asyncio.sleep(0)
            try:
                await ctx.run(store.cdrs.annotate, key, customer_id=customer)
            except NotFound:  # the call is placed all the same; only the link is missing
                log.warning("dial.cdr_missing", call_id=key, customer_id=customer)
    return DialOut(call_id=key, target=body.target)


async def answer_from_desktop(ctx: Ctx, agent_id: str) -> bool:
    """Desktop answer mode: ring the phone with auto-answer; False when nothing waits."""
    view = view_or_none(ctx, agent_id)
    if view is None or view.call_id is None or view.activity is Activity.ON_CALL:
        return False
    call = ctx.deps.center.calls.get(call_key(view.call_id))
    if call is None or call.control.pending_answer is None:
        return False
    try:
        await call.control.answer(agent_id)
    except ControlError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    return True


__all__ = ["Ok", "answer_from_desktop", "call_key", "router"]
