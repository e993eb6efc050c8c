"""Administration of telephony: extensions (SIP accounts; passwords stored as HA1 values) and
trunks (carriers). Extension changes reload the registrar's credential cache at once, so a new
or changed phone can register without a restart.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from callcenter.api.admin_schemas import (
    ExtensionIn,
    ExtensionPatch,
    NewPasswordIn,
    TrunkAuthIn,
    TrunkIn,
    TrunkOut,
    TrunkPatch,
)
from callcenter.api.errors import ERROR_RESPONSES, ApiError
from callcenter.api.schemas import Ok, Page, Paging
from callcenter.api.security import ADMIN, Ctx, require
from callcenter.storage.repos.telephony import ExtensionRecord, TrunkRecord

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=ERROR_RESPONSES)
AdminCtx = Annotated[Ctx, Depends(require(ADMIN))]
PagingDep = Annotated[Paging, Depends()]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def _reload_credentials(ctx: Ctx) -> None:
    deps = ctx.deps
    await ctx.run(deps.credentials.reload, deps.store.sync, deps.realm)


@router.get("/extensions", response_model=Page[ExtensionRecord])
async def list_extensions(
    ctx: AdminCtx, paging: PagingDep, enabled: bool | None = None
) -> Page[ExtensionRecord]:
    rows = await ctx.run(ctx.deps.store.sync.extensions.all)
    return paging.page([e for e in rows if enabled in (None, e.enabled)])


@router.post("/extensions", response_model=ExtensionRecord, status_code=201)
async def create_extension(body: ExtensionIn, ctx: AdminCtx) -> ExtensionRecord:
    exts = ctx.deps.store.sync.extensions
    async with ctx.audit("extension.create", f"extension:{body.number}"):
        if await ctx.run(exts.get_by_number, body.number) is not None:
            raise ApiError(409, "conflict", f"extension {body.number} exists")
        rec = await ctx.run(
            exts.create,
            body.number,
            ctx.now(),
            display_name=body.display_name,
            max_contacts=body.max_contacts,
            voicemail_enabled=body.voicemail_enabled,
        )
        if body.password is not None:
            await ctx.run(exts.set_password, rec.id, ctx.deps.realm, body.password, ctx.now())
        await _reload_credentials(ctx)
    return rec


@router.patch("/extensions/{ext_id}", response_model=ExtensionRecord)
async def update_extension(ext_id: Id, body: ExtensionPatch, ctx: AdminCtx) -> ExtensionRecord:
    exts = ctx.deps.store.sync.extensions
    async with ctx.audit("extension.update", f"extension:{ext_id}", enabled=body.enabled):
        await ctx.run(exts.set_enabled, ext_id, body.enabled)
        rec = await ctx.run(exts.get, ext_id)
        await _reload_credentials(ctx)
    if rec is None:
        raise ApiError(404, "not_found", f"no extension {ext_id}")
    return rec


@router.put("/extensions/{ext_id}/password", response_model=Ok)
async def set_extension_password(ext_id: Id, body: NewPasswordIn, ctx: AdminCtx) -> Ok:
    """The SIP password (stored as digest HA1 values for the configured realm)."""
    exts = ctx.deps.store.sync.extensions
    async with ctx.audit("extension.password", f"extension:{ext_id}"):
        await ctx.run(exts.set_password, ext_id, ctx.deps.realm, body.password, ctx.now())
        await _reload_credentials(ctx)
    return Ok()


@router.delete("/extensions/{ext_id}", response_model=Ok)
async def delete_extension(ext_id: Id, ctx: AdminCtx) -> Ok:
    async with ctx.audit("extension.delete", f"extension:{ext_id}"):
        await ctx.run(ctx.deps.store.sync.extensions.delete, ext_id)
        await _reload_credentials(ctx)
    return Ok()


def trunk_out(rec: TrunkRecord) -> TrunkOut:
    data = asdict(rec)
    md5, sha256 = data.pop("ha1_md5"), data.pop("ha1_sha256")
    return TrunkOut.model_validate({**data, "has_credentials": bool(md5 or sha256)})


@router.get("/trunks", response_model=Page[TrunkOut])
async def list_trunks(ctx: AdminCtx, paging: PagingDep) -> Page[TrunkOut]:
    rows = await ctx.run(ctx.deps.store.sync.trunks.all)
    return paging.page([trunk_out(t) for t in rows])


async def _trunk(ctx: Ctx, trunk_id: int) -> TrunkOut:
    rows = await ctx.run(ctx.deps.store.sync.trunks.all)
    for rec in rows:
        if rec.id == trunk_id:
            return trunk_out(rec)
    raise ApiError(404, "not_found", f"no trunk {trunk_id}")


@router.post("/trunks", response_model=TrunkOut, status_code=201)
async def create_trunk(body: TrunkIn, ctx: AdminCtx) -> TrunkOut:
    trunks = ctx.deps.store.sync.trunks
    async with ctx.audit("trunk.create", f"trunk:{body.name}", host=body.host):
        if await ctx.run(trunks.get_by_name, body.name) is not None:
            raise ApiError(409, "conflict", f"trunk {body.name!r} exists")
        rec = await ctx.run(
            trunks.create,
            body.name,
            body.host,
            ctx.now(),
            port=body.port,
            transport=body.transport,
            register=body.register_,
            inbound_ips=body.inbound_ips,
            dids=body.dids,
        )
        await _apply_trunks(ctx)
    return trunk_out(rec)


async def _apply_trunks(ctx: Ctx) -> None:
    """The stored trunks, live: registrations start and stop without a restart."""
    await ctx.deps.center.apply_trunks(await ctx.run(ctx.deps.store.sync.trunks.all))


@router.patch("/trunks/{trunk_id}", response_model=TrunkOut)
async def update_trunk(trunk_id: Id, body: TrunkPatch, ctx: AdminCtx) -> TrunkOut:
    trunks = ctx.deps.store.sync.trunks
    changes = body.model_dump(exclude_none=True, by_alias=True)
    async with ctx.audit("trunk.update", f"trunk:{trunk_id}", **changes):
        rec = await ctx.run(trunks.update, trunk_id, **changes)
        await _apply_trunks(ctx)
    return trunk_out(rec)


@router.put("/trunks/{trunk_id}/auth", response_model=TrunkOut)
async def set_trunk_auth(trunk_id: Id, body: TrunkAuthIn, ctx: AdminCtx) -> TrunkOut:
    """The carrier's digest credentials (stored as HA1 values for its realm)."""
    trunks = ctx.deps.store.sync.trunks
    async with ctx.audit("trunk.auth", f"trunk:{trunk_id}", username=body.username):
        await ctx.run(trunks.set_auth, trunk_id, body.username, body.realm, body.password)
        await _apply_trunks(ctx)
    return await _trunk(ctx, trunk_id)


@router.delete("/trunks/{trunk_id}", response_model=Ok)
async def delete_trunk(trunk_id: Id, ctx: AdminCtx) -> Ok:
    async with ctx.audit("trunk.delete", f"trunk:{trunk_id}"):
        await ctx.run(ctx.deps.store.sync.trunks.delete, trunk_id)
        await _apply_trunks(ctx)
    return Ok()
