"""Routes under ``/api/v1/customers``: customer records (客户资料查询与录入, SPEC §4), their notes,
calls and recordings, and the screen pop (来电弹屏) of an offered call.

Any logged-in role may look customers up and create, edit or delete them (the desktop asks
for a confirmation before a delete; every change is audited and goes to the event stream).
Finer rules inside: the pop of a call is for the agent the call was offered to (and
supervisors, administrators); call history and recordings are for call-center staff (an
account with an agent id, supervisors, administrators), not for unit members without one.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import FileResponse

from callcenter.api.business_events import CustomerCreated, CustomerDeleted, CustomerUpdated
from callcenter.api.business_schemas import (
    ACCOUNT,
    ID_NUMBER,
    PHONE,
    CustomerCallOut,
    CustomerIn,
    CustomerNoteIn,
    CustomerNoteOut,
    CustomerOut,
    CustomerPatch,
    PopOut,
)
from callcenter.api.errors import ERROR_RESPONSES, ApiError
from callcenter.api.routes.agent import view_or_none
from callcenter.api.schemas import NO_CONTROL, Ok, Page, Paging
from callcenter.api.security import ADMIN, ROLES, SUPERVISOR, Ctx, require
from callcenter.storage.repos.customers import CustomerRecord

router = APIRouter(prefix="/api/v1/customers", tags=["customers"], responses=ERROR_RESPONSES)
Anyone = Annotated[Ctx, Depends(require(*ROLES))]
CustomerId = Annotated[int, Path(ge=1, le=2**31 - 1)]
CallIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=NO_CONTROL)]
Fragment = Annotated[str | None, Query(min_length=1, max_length=64, pattern=NO_CONTROL)]


def customer_out(rec: CustomerRecord) -> CustomerOut:
    data = asdict(rec)
    data["phones"] = list(rec.phones)
    return CustomerOut.model_validate(data)


async def is_staff(ctx: Ctx) -> bool:
    """Call-center staff: supervisors, administrators and accounts with an agent id."""
    if ctx.role in (SUPERVISOR, ADMIN):
        return True
    agent = await ctx.run(ctx.deps.store.sync.agents.get_by_user, ctx.user.id)
    return agent is not None


async def _require_staff(ctx: Ctx) -> None:
    if not await is_staff(ctx):
        raise ApiError(403, "staff_only", "only call-center staff may see calls and recordings")


async def _get(ctx: Ctx, customer_id: int) -> CustomerRecord:
    rec = await ctx.run(ctx.deps.store.sync.customers.get, customer_id)
    if rec is None:
        raise ApiError(404, "not_found", f"customer {customer_id} not found")
    return rec


async def _check_unique(ctx: Ctx, account_no: str, own_id: int | None = None) -> None:
    other = await ctx.run(ctx.deps.store.sync.customers.by_account, account_no)
    if other is not None and other.id != own_id:
        raise ApiError(
            409, "account_exists", f"account number {account_no} belongs to customer {other.id}"
        )


@router.get("", response_model=Page[CustomerOut])
async def find_customers(
    ctx: Anyone,
    paging: Annotated[Paging, Depends()],
    q: Fragment = None,
    phone: Annotated[str | None, Query(pattern=PHONE)] = None,
    account_no: Annotated[str | None, Query(pattern=ACCOUNT)] = None,
    id_number: Annotated[str | None, Query(pattern=ID_NUMBER)] = None,
    name: Fragment = None,
) -> Page[CustomerOut]:
    """Look customers up by phone, account number, ID number, a part of the name, or ``q``
    (any of them: a part of the name or address, a prefix of a phone, account or ID number)."""
    found, total = await ctx.run(
        ctx.deps.store.sync.customers.find,
        q=q,
        phone=phone,
        account_no=account_no,
        id_number=id_number,
        name=name,
        limit=paging.limit,
        offset=paging.offset,
    )
    items = [customer_out(c) for c in found]
    return Page[CustomerOut](items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post("", response_model=CustomerOut, status_code=201)
async def create_customer(body: CustomerIn, ctx: Anyone) -> CustomerOut:
    """Create a customer record (e.g. from the pop form of an unknown caller)."""
    store = ctx.deps.store.sync
    async with ctx.audit("customer.create", f"account:{body.account_no}", name=body.name):
        await _check_unique(ctx, body.account_no)
        rec = await ctx.run(
            store.customers.create,
            body.account_no,
            body.name,
            ctx.now(),
            phones=body.phones,
            address=body.address,
            balance_fen=body.balance_fen,
            id_number=body.id_number,
        )
        ctx.deps.center.record_event(CustomerCreated(rec.id, rec.account_no, rec.name, ctx.actor))
    return customer_out(rec)


@router.get("/pop/{call_id}", response_model=PopOut)
async def pop(call_id: CallIdPath, ctx: Anyone) -> PopOut:
    """来电弹屏: the caller, IVR category and matching customers of a call offered to me."""
    store = ctx.deps.store.sync
    cdr = await ctx.run(store.cdrs.get, call_id)
    if cdr is None:
        raise ApiError(404, "not_found", f"no call {call_id!r} (yet)")
    if ctx.role not in (SUPERVISOR, ADMIN):
        agent = await ctx.run(store.agents.get_by_user, ctx.user.id)
        if agent is None:
            raise ApiError(403, "staff_only", "only call-center staff see calls")
        view = view_or_none(ctx, str(agent.agent_id))
        current = view.call_id if view is not None else None
        if current != call_id and cdr.agent_id != agent.agent_id:
            raise ApiError(403, "not_your_call", f"call {call_id!r} was not offered to you")
    matches = await ctx.run(store.customers.by_phone, cdr.caller) if cdr.caller else []
    if cdr.customer_id is not None and all(m.id != cdr.customer_id for m in matches):
        linked = await ctx.run(store.customers.get, cdr.customer_id)
        if linked is not None:
            matches = [linked, *matches]
    return PopOut(
        call_id=cdr.call_id,
        caller=cdr.caller,
        called=cdr.called,
        queue=cdr.queue,
        category=cdr.business_category,
        customer_id=cdr.customer_id,
        matches=[customer_out(m) for m in matches],
    )


@router.get("/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: CustomerId, ctx: Anyone) -> CustomerOut:
    return customer_out(await _get(ctx, customer_id))


@router.patch("/{customer_id}", response_model=CustomerOut)
async def update_customer(customer_id: CustomerId, body: CustomerPatch, ctx: Anyone) -> CustomerOut:
    """Change the fields given (``phones`` replaces the list, ``id_number: null`` clears it)."""
    store = ctx.deps.store.sync
    fields = sorted(body.model_fields_set)
    async with ctx.audit("customer.update", f"customer:{customer_id}", fields=fields):
        await _get(ctx, customer_id)
        if body.account_no is not None:
            await _check_unique(ctx, body.account_no, customer_id)
        clear = "id_number" in body.model_fields_set and body.id_number is None
        rec = await ctx.run(
            store.customers.update,
            customer_id,
            ctx.now(),
            name=body.name,
            phones=body.phones,
            address=body.address,
            id_number=body.id_number,
            account_no=body.account_no,
            clear_id_number=clear,
        )
        ctx.deps.center.record_event(CustomerUpdated(rec.id, rec.account_no, rec.name, ctx.actor))
    return customer_out(rec)


@router.delete("/{customer_id}", response_model=Ok)
async def delete_customer(customer_id: CustomerId, ctx: Anyone) -> Ok:
    """Delete a customer with its phones and notes (its tickets and calls stay, unlinked)."""
    store = ctx.deps.store.sync
    async with ctx.audit("customer.delete", f"customer:{customer_id}") as scope:
        rec = await _get(ctx, customer_id)
        scope.details.update(account_no=rec.account_no, name=rec.name)
        await ctx.run(store.customers.delete, customer_id)
        ctx.deps.center.record_event(CustomerDeleted(rec.id, rec.account_no, rec.name, ctx.actor))
    return Ok()


@router.get("/{customer_id}/notes", response_model=list[CustomerNoteOut])
async def notes(customer_id: CustomerId, ctx: Anyone) -> list[CustomerNoteOut]:
    recs = await ctx.run(ctx.deps.store.sync.customers.notes, customer_id)
    return [CustomerNoteOut.model_validate(asdict(n)) for n in recs]


@router.post("/{customer_id}/notes", response_model=CustomerNoteOut, status_code=201)
async def add_note(customer_id: CustomerId, body: CustomerNoteIn, ctx: Anyone) -> CustomerNoteOut:
    store = ctx.deps.store.sync
    async with ctx.audit("customer.note", f"customer:{customer_id}", call_id=body.call_id):
        rec = await ctx.run(
            store.customers.add_note, customer_id, ctx.actor, body.text, ctx.now(), body.call_id
        )
    return CustomerNoteOut.model_validate(asdict(rec))


@router.get("/{customer_id}/calls", response_model=list[CustomerCallOut])
async def calls(
    customer_id: CustomerId,
    ctx: Anyone,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CustomerCallOut]:
    """The customer's calls, newest first (linked by the IVR lookup or from its phones)."""
    await _require_staff(ctx)
    recs = await ctx.run(ctx.deps.store.sync.customers.calls, customer_id, limit)
    out = []
    for r in recs:
        data = asdict(r)
        data["recording"] = data.pop("recording_id") is not None
        out.append(CustomerCallOut.model_validate(data))
    return out


@router.get(
    "/{customer_id}/calls/{call_id}/recording",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}, "description": "the recording (WAV)"}},
)
async def recording(customer_id: CustomerId, call_id: CallIdPath, ctx: Anyone) -> FileResponse:
    """Play a recording of one of the customer's calls (call-center staff only)."""
    await _require_staff(ctx)
    store = ctx.deps.store.sync
    if not await ctx.run(store.customers.owns_call, customer_id, call_id):
        raise ApiError(404, "not_found", f"no call {call_id!r} of customer {customer_id}")
    recs = await ctx.run(store.recordings.for_call, call_id)
    finished = [r for r in recs if r.ended_at is not None] or recs
    for rec in reversed(finished):
        path = FsPath(rec.path)
        if await asyncio.to_thread(path.is_file):
            return FileResponse(path, media_type="audio/wav", filename=f"{call_id}.wav")
    raise ApiError(404, "no_recording", f"call {call_id!r} has no recording on disk")
