"""Administration of routing and settings: queues and strategies (applied live to the ACD),
IVR flows (versioned; activating publishes to the live registry), prompts, working hours and
holidays, business categories, system parameters, and the audit log (SPEC §13).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from datetime import date, datetime, time
from importlib import resources
from pathlib import Path as FsPath
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from pydantic import BaseModel
from starlette.responses import FileResponse

from callcenter.acd.errors import QueueExistsError, UnknownQueueError
from callcenter.api.admin_schemas import (
    CategoryIn,
    FlowIn,
    HolidayIn,
    HolidayOut,
    ParamIn,
    PromptIn,
    QueueIn,
    QueuePatch,
    ScheduleIn,
    ScheduleOut,
    SpanOut,
    StrategyName,
)
from callcenter.api.errors import ERROR_RESPONSES, ApiError
from callcenter.api.routes.supervisor import refresh_memberships
from callcenter.api.schemas import Ok, Page, Paging
from callcenter.api.security import ADMIN, Ctx, require
from callcenter.calls.acd_config import queue_config
from callcenter.dialplan import HoursError, weekly_schedule
from callcenter.ivr.flow import FlowError, parse_flow
from callcenter.ivr.registry import FlowVersionError
from callcenter.lookup.demo import DEMO_FLOWS
from callcenter.media.audio import AudioError
from callcenter.media.prompt_file import to_prompt_wav
from callcenter.media.tts import Tts, TtsError
from callcenter.storage.repos.audit import AuditRecord
from callcenter.storage.repos.flows import FlowRecord, PromptRecord
from callcenter.storage.repos.queues import QueueRecord, QueueSettings
from callcenter.storage.repos.settings import CategoryRecord, OpenSpan, ScheduleRecord
from callcenter.storage.schema.base import STRATEGIES

router = APIRouter(prefix="/api/v1/admin", tags=["admin"], responses=ERROR_RESPONSES)
AdminCtx = Annotated[Ctx, Depends(require(ADMIN))]
PagingDep = Annotated[Paging, Depends()]
Key = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]


# ----------------------------------------------------------------- queues
@router.get("/strategies", response_model=list[StrategyName])
async def strategies(ctx: AdminCtx) -> list[str]:
    """The routing strategies a queue may use (docs/acd.md explains each)."""
    return list(STRATEGIES)


@router.get("/queues", response_model=Page[QueueRecord])
async def list_queues(
    ctx: AdminCtx, paging: PagingDep, enabled: bool | None = None
) -> Page[QueueRecord]:
    rows = await ctx.run(ctx.deps.store.sync.queues.all)
    return paging.page([q for q in rows if enabled in (None, q.enabled)])


@router.get("/queues/{name}", response_model=QueueRecord)
async def get_queue(name: Key, ctx: AdminCtx) -> QueueRecord:
    rec = await ctx.run(ctx.deps.store.sync.queues.get, name)
    if rec is None:
        raise ApiError(404, "not_found", f"no queue {name!r}")
    return rec


def _apply_queue(ctx: Ctx, rec: QueueRecord | None, name: str) -> None:
    """The stored queue, live in the ACD: added, updated, or removed when disabled/deleted."""
    center = ctx.deps.center
    acd, now = center.acd, center.now()
    live = name in acd.queue_ids()
    if rec is None or not rec.enabled:
        if live:
            center.apply(acd.remove_queue(name, now))
        center.recording_policies.pop(name, None)
        return
    config = queue_config(rec)
    config.validate()
    center.apply(acd.update_queue(config, now) if live else acd.add_queue(config, now))
    center.recording_policies[name] = rec.settings.recording_policy


@router.post("/queues", response_model=QueueRecord, status_code=201)
async def create_queue(body: QueueIn, ctx: AdminCtx) -> QueueRecord:
    queues = ctx.deps.store.sync.queues
    settings = QueueSettings(**body.settings.model_dump())
    async with ctx.audit("queue.create", f"queue:{body.name}"):
        if await ctx.run(queues.get, body.name) is not None:
            raise QueueExistsError(f"queue {body.name!r} exists")
        queue_config(QueueRecord(0, body.name, "", True, settings, body.skills)).validate()
        rec = await ctx.run(
            queues.create,
            body.name,
            body.display_name,
            ctx.now(),
            settings=settings,
            skills=body.skills,
        )
        _apply_queue(ctx, rec, rec.name)
        await refresh_memberships(ctx)  # (stale lists may name a queue deleted before)
    return rec


@router.patch("/queues/{name}", response_model=QueueRecord)
async def update_queue(name: Key, body: QueuePatch, ctx: AdminCtx) -> QueueRecord:
    queues = ctx.deps.store.sync.queues
    async with ctx.audit("queue.update", f"queue:{name}", **body.model_dump(exclude_none=True)):
        old = await ctx.run(queues.get, name)
        if old is None:
            raise UnknownQueueError(f"no queue {name!r}")
        settings = old.settings
        if body.settings is not None:
            settings = QueueSettings(**body.settings.model_dump())
        skills = old.skills if body.skills is None else body.skills
        queue_config(QueueRecord(0, name, "", True, settings, skills)).validate()
        await ctx.run(
            queues.update, name, settings, display_name=body.display_name, enabled=body.enabled
        )
        if body.skills is not None:
            await ctx.run(queues.set_skills, name, body.skills)
        rec = await ctx.run(queues.get, name)
        _apply_queue(ctx, rec, name)
    assert rec is not None
    return rec


@router.delete("/queues/{name}", response_model=Ok)
async def delete_queue(name: Key, ctx: AdminCtx) -> Ok:
    """Waiting callers overflow to the queue's destination; members leave it."""
    async with ctx.audit("queue.delete", f"queue:{name}"):
        await ctx.run(ctx.deps.store.sync.queues.delete, name)
        _apply_queue(ctx, None, name)
        await refresh_memberships(ctx)
    return Ok()


# ------------------------------------------------------------------ flows
@router.get("/flows", response_model=list[str])
async def list_flows(ctx: AdminCtx) -> list[str]:
    return await ctx.run(ctx.deps.store.sync.flows.names)


@router.get("/flows/{name}", response_model=list[FlowRecord])
async def flow_versions(name: Key, ctx: AdminCtx) -> list[FlowRecord]:
    return await ctx.run(ctx.deps.store.sync.flows.versions, name)


@router.post("/flows", response_model=FlowRecord, status_code=201)
async def add_flow_version(body: FlowIn, ctx: AdminCtx) -> FlowRecord:
    """Store a new version of a flow (validated; not live until activated)."""
    flows = ctx.deps.store.sync.flows
    name = str(body.body.get("name", ""))[:64]
    async with ctx.audit("flow.add_version", f"flow:{name}"):
        flow = parse_flow(body.body)
        data = dict(body.body)
        data.pop("version", None)
        version = (
            max(
                [r.version for r in await ctx.run(flows.versions, flow.name)]
                + list(ctx.deps.center.flows.versions(flow.name))
                + [0]
            )
            + 1
        )
        data["version"] = version
        return await ctx.run(flows.add_version, flow.name, data, ctx.actor, ctx.now(), version)


@router.post("/flows/{name}/{version}/activate", response_model=FlowRecord)
async def activate_flow(
    name: Key, version: Annotated[int, Path(ge=1, le=2**31 - 1)], ctx: AdminCtx
) -> FlowRecord:
    """Make a stored version current: new calls use it at once, calls in it keep theirs."""
    flows = ctx.deps.store.sync.flows
    registry = ctx.deps.center.flows
    async with ctx.audit("flow.activate", f"flow:{name}", version=version):
        rec = await ctx.run(flows.get, name, version)
        if rec is None:
            raise ApiError(404, "not_found", f"flow {name!r} has no version {version}")
        flow = parse_flow(rec.body)
        try:
            if version in registry.versions(name):
                registry.rollback(name, version)
            else:
                registry.publish(flow)
        except FlowVersionError as exc:
            raise ApiError(409, "flow_version", str(exc)) from exc
        return await ctx.run(flows.activate, name, version)


# ---------------------------------------------------------------- prompts
@router.get("/prompts", response_model=Page[PromptRecord])
async def list_prompts(ctx: AdminCtx, paging: PagingDep) -> Page[PromptRecord]:
    return paging.page(await ctx.run(ctx.deps.store.sync.prompts.all))


@router.put("/prompts/{name}/{language}", response_model=PromptRecord)
async def put_prompt(
    name: Key,
    language: Annotated[str, Path(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")],
    body: PromptIn,
    ctx: AdminCtx,
) -> PromptRecord:
    prompts = ctx.deps.store.sync.prompts
    async with ctx.audit("prompt.put", f"prompt:{name}/{language}"):
        return await ctx.run(
            prompts.put, name, language, ctx.now(), text=body.text, file_path=body.file_path
        )


@router.delete("/prompts/{name}/{language}", response_model=Ok)
async def delete_prompt(
    name: Key,
    language: Annotated[str, Path(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")],
    ctx: AdminCtx,
) -> Ok:
    async with ctx.audit("prompt.delete", f"prompt:{name}/{language}"):
        await ctx.run(ctx.deps.store.sync.prompts.delete, name, language)
    return Ok()


# ------------------------------------------------------- hours, holidays
def _schedule_out(rec: ScheduleRecord) -> ScheduleOut:
    return ScheduleOut(
        name=rec.name,
        timezone=rec.timezone,
        hours=[SpanOut(weekday=h.weekday, opens=h.opens.isoformat("seconds"),
                       closes=h.closes.isoformat("seconds")) for h in rec.hours],
        holidays=[HolidayOut(day=d.day, name=d.name) for d in rec.holidays],
    )  # fmt: skip


@router.get("/schedules/{name}", response_model=ScheduleOut)
async def get_schedule(name: Key, ctx: AdminCtx) -> ScheduleOut:
    rec = await ctx.run(ctx.deps.store.sync.schedules.get, name)
    if rec is None:
        raise ApiError(404, "not_found", f"no schedule {name!r}")
    return _schedule_out(rec)


@router.put("/schedules/{name}", response_model=ScheduleOut)
async def put_schedule(name: Key, body: ScheduleIn, ctx: AdminCtx) -> ScheduleOut:
    """Working hours: open spans per weekday (0 = Monday) in the schedule's time zone."""
    schedules = ctx.deps.store.sync.schedules
    spans = [OpenSpan(s.weekday, time.fromisoformat(s.opens), time.fromisoformat(s.closes))
             for s in body.hours]  # fmt: skip
    async with ctx.audit("schedule.put", f"schedule:{name}", timezone=body.timezone):
        try:  # the dialplan must be able to use it: a known zone (nothing stored otherwise)
            weekly_schedule(body.timezone, [(s.weekday, s.opens, s.closes) for s in spans])
        except HoursError as exc:
            raise ApiError(422, "invalid", str(exc)) from None
        rec = await ctx.run(schedules.put, name, body.timezone, spans)
        await _apply_schedules(ctx)
        return _schedule_out(rec)


async def _apply_schedules(ctx: Ctx) -> None:
    """The stored hours and holidays, live: the next call is routed with them."""
    ctx.deps.center.apply_schedules(await ctx.run(ctx.deps.store.sync.schedules.all))


@router.post("/schedules/{name}/holidays", response_model=Ok, status_code=201)
async def add_holiday(name: Key, body: HolidayIn, ctx: AdminCtx) -> Ok:
    schedules = ctx.deps.store.sync.schedules
    async with ctx.audit("holiday.add", f"schedule:{name}", day=str(body.day)):
        await ctx.run(schedules.add_holiday, name, body.day, body.name)
        await _apply_schedules(ctx)
    return Ok()


@router.delete("/schedules/{name}/holidays/{day}", response_model=Ok)
async def remove_holiday(name: Key, day: date, ctx: AdminCtx) -> Ok:
    schedules = ctx.deps.store.sync.schedules
    async with ctx.audit("holiday.remove", f"schedule:{name}", day=str(day)):
        if not await ctx.run(schedules.remove_holiday, name, day):
            raise ApiError(404, "not_found", f"no holiday {day} in {name!r}")
        await _apply_schedules(ctx)
    return Ok()


# ------------------------------------------------------ categories, params
@router.get("/categories", response_model=Page[CategoryRecord])
async def list_categories(
    ctx: AdminCtx, paging: PagingDep, enabled_only: bool = False
) -> Page[CategoryRecord]:
    rows = await ctx.run(ctx.deps.store.sync.categories.all, enabled_only=enabled_only)
    return paging.page(rows)


@router.put("/categories/{code}", response_model=CategoryRecord)
async def put_category(code: Key, body: CategoryIn, ctx: AdminCtx) -> CategoryRecord:
    """A business category (业务类别), also the agents' wrap-up codes."""
    categories = ctx.deps.store.sync.categories
    async with ctx.audit("category.put", f"category:{code}", enabled=body.enabled):
        await ctx.run(
            categories.put,
            code,
            body.name,
            description=body.description,
            sort_order=body.sort_order,
        )
        await ctx.run(categories.set_enabled, code, body.enabled)
        rows = await ctx.run(categories.all)
    return next(c for c in rows if c.code == code)


@router.get("/params", response_model=dict[str, Any])
async def list_params(ctx: AdminCtx) -> dict[str, Any]:
    return await ctx.run(ctx.deps.store.sync.params.all)


@router.put("/params/{key}", response_model=Ok)
async def put_param(key: Key, body: ParamIn, ctx: AdminCtx) -> Ok:
    """A system parameter; ``webhooks.*`` changes apply to the webhook dispatcher at once."""
    params = ctx.deps.store.sync.params
    async with ctx.audit("param.set", f"param:{key}"):
        await ctx.run(params.set, key, body.value, ctx.now(), body.description)
    await _params_changed(ctx, key)
    return Ok()


@router.delete("/params/{key}", response_model=Ok)
async def delete_param(key: Key, ctx: AdminCtx) -> Ok:
    async with ctx.audit("param.delete", f"param:{key}"):
        await ctx.run(ctx.deps.store.sync.params.delete, key)
    await _params_changed(ctx, key)
    return Ok()


async def _params_changed(ctx: Ctx, key: str) -> None:
    if key.startswith("webhooks."):
        await ctx.state.webhooks.reload()


# ------------------------------------------------------------------ audit
@router.get("/audit", response_model=Page[AuditRecord])
async def audit_log(
    ctx: AdminCtx,
    paging: PagingDep,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    target: Annotated[str | None, Query(max_length=128)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditRecord]:
    """The audit trail, newest first: who did what to which target, when, with what result."""
    for value in (since, until):
        if value is not None and value.tzinfo is None:
            raise ApiError(422, "invalid", "since/until need a time zone (e.g. Z)")
    rows = await ctx.run(
        ctx.deps.store.sync.audit.query,
        actor=actor,
        action=action,
        target=target,
        since=since,
        until=until,
        limit=paging.offset + paging.limit,
    )
    return paging.page(rows)


# ------------------------------------- for the administration pages (issue 9)
class FlowCheckOut(BaseModel):
    ok: bool
    name: str
    problems: list[str]
    warnings: list[str]


class LiveFlowOut(BaseModel):
    name: str
    current_version: int | None
    live_versions: list[int]
    stored_versions: list[int]


class CurrentFlowOut(BaseModel):
    name: str
    version: int
    source: str  # stored | builtin
    body: dict[str, Any]


@router.post("/flows/validate", response_model=FlowCheckOut)
async def validate_flow(body: FlowIn, ctx: AdminCtx) -> FlowCheckOut:
    """Check a flow document with the server's parser without storing it (the editor's
    "validate" button; saving validates again)."""
    data = dict(body.body)
    data.setdefault("version", 1)
    name = str(data.get("name", ""))[:64]
    try:
        flow = parse_flow(data)
    except FlowError as exc:
        return FlowCheckOut(ok=False, name=name, problems=list(exc.problems), warnings=[])
    return FlowCheckOut(ok=True, name=flow.name, problems=[], warnings=list(flow.warnings))


@router.get("/flow-registry", response_model=list[LiveFlowOut])
async def flow_registry(ctx: AdminCtx) -> list[LiveFlowOut]:
    """Every flow the server knows: live in the registry (what new calls use) or stored."""
    registry = ctx.deps.center.flows
    stored = await ctx.run(ctx.deps.store.sync.flows.names)
    out = []
    for name in sorted(set(registry.names()) | set(stored)):
        versions = await ctx.run(ctx.deps.store.sync.flows.versions, name)
        live = list(registry.versions(name))
        current = registry.current(name).version if name in registry.names() else None
        out.append(
            LiveFlowOut(
                name=name,
                current_version=current,
                live_versions=live,
                stored_versions=sorted(r.version for r in versions),
            )
        )
    return out


@router.get("/flows/{name}/current", response_model=CurrentFlowOut)
async def current_flow(name: Key, ctx: AdminCtx) -> CurrentFlowOut:
    """The document of the version new calls use: a stored version, or a built-in demo flow
    (matched by content digest); 404 when the live version's document is not known here."""
    registry = ctx.deps.center.flows
    if name not in registry.names():
        raise ApiError(404, "not_found", f"no live flow {name!r}")
    live = registry.current(name)
    rec = await ctx.run(ctx.deps.store.sync.flows.get, name, live.version)
    if rec is not None:
        return CurrentFlowOut(name=name, version=live.version, source="stored", body=rec.body)
    if name in DEMO_FLOWS:
        asset = resources.files("callcenter").joinpath("data", "flows", f"{name}.yaml")
        data = yaml.safe_load(asset.read_text("utf-8"))
        if parse_flow(data).digest == live.digest:
            return CurrentFlowOut(name=name, version=live.version, source="builtin", body=data)
    raise ApiError(404, "not_found", f"the document of flow {name!r} v{live.version} is not known")


AUDIO_SUFFIXES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
                  ".flac": "audio/flac", ".au": "audio/basic"}  # fmt: skip
_TTS: dict[str, Tts] = {}  # one preview synthesiser per process (its cache, its pending set)


@router.get(
    "/prompts/{name}/{language}/audio",
    response_class=FileResponse,
    responses={
        200: {
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in sorted(set(AUDIO_SUFFIXES.values()))
            }
        }
    },
)
async def prompt_audio(
    name: Key,
    language: Annotated[str, Path(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")],
    ctx: AdminCtx,
) -> FileResponse:
    """Listen to a prompt: its file (an upload: 8 kHz WAV), else its text spoken by the
    server's TTS (8 kHz WAV)."""
    rec = await ctx.run(ctx.deps.store.sync.prompts.get, name, language)
    if rec is not None and rec.file_path:
        path = FsPath(rec.file_path)
        # a path typed in by hand may name any file: only audio files are served
        if path.suffix.lower() in AUDIO_SUFFIXES and await asyncio.to_thread(path.is_file):
            return FileResponse(path, media_type=AUDIO_SUFFIXES[path.suffix.lower()])
        if not rec.text:
            raise ApiError(404, "no_file", f"the file of prompt {name}/{language} is missing "
                                           "or is not an audio file")  # fmt: skip
    if rec is None or not rec.text:
        raise ApiError(404, "not_found", f"no text prompt {name}/{language}")
    tts = _TTS.setdefault("preview", Tts(FsPath(tempfile.gettempdir()) / "cc-prompt-preview"))
    try:
        path = await tts.synth(rec.text, language.split("-")[0])
    except TtsError as exc:
        raise ApiError(409, "tts_failed", str(exc)[:300]) from exc
    return FileResponse(path, media_type="audio/wav")


MAX_PROMPT_BYTES = 20 * 1024 * 1024  # an upload larger than this is refused (413)
Language = Annotated[str, Path(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")]


def _save_upload(upload: UploadFile, dest: FsPath) -> int:
    """Copy the uploaded file to ``dest`` (storage thread); its size, or -1 past the limit."""
    size = 0
    upload.file.seek(0)
    with dest.open("wb") as out:
        while chunk := upload.file.read(1 << 20):
            size += len(chunk)
            if size > MAX_PROMPT_BYTES:
                return -1
            out.write(chunk)
    return size


def _suffix(filename: str | None) -> str:
    """The uploaded file's extension when it is a plain one (sox picks its reader by it)."""
    suffix = FsPath(filename or "").suffix.lower()
    return suffix if suffix[1:].isalnum() and len(suffix) <= 6 else ".bin"


@router.post("/prompts/{name}/{language}/audio", response_model=PromptRecord)
async def upload_prompt(
    name: Key,
    language: Language,
    ctx: AdminCtx,
    file: Annotated[UploadFile, File(description="WAV, MP3, FLAC, OGG... (sox or ffmpeg)")],
    text: Annotated[str | None, Form(max_length=2000)] = None,
) -> PromptRecord:
    """Upload a recording for a prompt (multipart form: ``file``, optional ``text``). It is
    converted to 8 kHz mono 16-bit WAV in the prompts directory and becomes the prompt's file;
    the text given (else the stored one) is kept. A file that is not audio, empty, or larger
    than 20 MB is refused (422 / 413) and nothing is stored."""
    prompts = ctx.deps.store.sync.prompts
    folder = ctx.deps.center.data_dir / "prompts" / "uploaded"
    dest = folder / f"{name}.{language}.wav"
    async with ctx.audit("prompt.upload", f"prompt:{name}/{language}", filename=file.filename):
        with tempfile.TemporaryDirectory(prefix="cc-upload-") as tmp:
            src = FsPath(tmp) / f"upload{_suffix(file.filename)}"
            size = await asyncio.to_thread(_save_upload, file, src)
            if size < 0:
                raise ApiError(413, "too_large", f"the file is larger than "
                                                 f"{MAX_PROMPT_BYTES // 2**20} MB")  # fmt: skip
            if size == 0:
                raise ApiError(422, "empty_file", "the uploaded file is empty")
            try:
                data, _ = await to_prompt_wav(src)
            except AudioError as exc:
                raise ApiError(422, "not_audio", str(exc)[:500]) from None
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.{os.getpid()}.part")
        await asyncio.to_thread(part.write_bytes, data)
        try:
            old = await ctx.run(prompts.get, name, language)
            keep = text.strip() if text and text.strip() else (old.text if old else None)
            rec = await ctx.run(prompts.put, name, language, ctx.now(), text=keep,
                                file_path=str(dest))  # fmt: skip
        except BaseException:
            await asyncio.to_thread(part.unlink, missing_ok=True)
            raise
        await asyncio.to_thread(part.replace, dest)
    return rec
