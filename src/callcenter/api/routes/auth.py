"""Accounts: log in (session cookie for the browser, the same token as bearer for systems),
log out, who am I, password change, personal API tokens (SPEC §13, §16).

Failed logins count towards the storage's lockout (5 failures: locked 15 minutes); every
attempt, success or not, is in the audit log. A password change revokes every token of the
user and hands back a fresh session.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from callcenter.api.errors import ERROR_RESPONSES, ApiError
from callcenter.api.schemas import (
    IssuedTokenOut,
    LoginIn,
    MeOut,
    Ok,
    PasswordIn,
    SessionOut,
    TokenIn,
    TokenOut,
    UserOut,
)
from callcenter.api.security import ROLES, Ctx, public, require
from callcenter.storage.repos.users import UserRecord

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=ERROR_RESPONSES)
Anyone = Annotated[Ctx, Depends(require(*ROLES))]
Public = Annotated[Ctx, Depends(public())]


def user_out(user: UserRecord) -> UserOut:
    return UserOut.model_validate(asdict(user))


def _set_cookie(ctx: Ctx, request: Request, response: Response, token: str) -> None:
    settings = ctx.deps.settings
    response.set_cookie(
        settings.cookie_name,
        token,
        max_age=int(settings.session_ttl.total_seconds()),
        httponly=True,
        samesite="strict",
        path="/",
        secure=settings.cookie_secure or request.url.scheme == "https",
    )


async def _check_password(ctx: Ctx, username: str, password: str) -> UserRecord:
    users = ctx.deps.store.sync.users
    result = await ctx.run(users.authenticate, username, password, ctx.now())
    if result.outcome == "ok" and result.user is not None:
        return result.user
    if result.outcome == "locked":
        until = result.locked_until.isoformat() if result.locked_until else None
        raise ApiError(
            423,
            "account_locked",
            "too many failed logins; try again later",
            {"locked_until": until},
        )
    if result.outcome == "disabled":
        raise ApiError(403, "account_disabled", "this account is disabled")
    raise ApiError(401, "bad_credentials", "wrong username or password")


async def _new_session(
    ctx: Ctx, request: Request, response: Response, user: UserRecord
) -> SessionOut:
    tokens = ctx.deps.store.sync.tokens
    ttl = ctx.deps.settings.session_ttl
    issued = await ctx.run(tokens.issue, user.id, "session", ctx.now(), ttl)
    _set_cookie(ctx, request, response, issued.token)
    return SessionOut(
        token=issued.token,
        token_id=issued.record.id,
        expires_at=issued.record.expires_at,
        user=user_out(user),
    )


@router.post("/login", response_model=SessionOut)
async def login(body: LoginIn, request: Request, response: Response, ctx: Public) -> SessionOut:
    """Log in with username and password: a session cookie and the same token in the body."""
    async with ctx.audit("auth.login", f"user:{body.username}", username=body.username):
        user = await _check_password(ctx, body.username, body.password)
        return await _new_session(ctx, request, response, user)


@router.post("/logout", response_model=Ok)
async def logout(response: Response, ctx: Anyone) -> Ok:
    """End this session (or revoke the bearer token used)."""
    assert ctx.principal is not None
    async with ctx.audit("auth.logout", f"user:{ctx.actor}"):
        await ctx.run(ctx.deps.store.sync.tokens.revoke, ctx.principal.token_id, ctx.now())
    response.delete_cookie(ctx.deps.settings.cookie_name, path="/")
    return Ok()


@router.get("/me", response_model=MeOut)
async def me(ctx: Anyone) -> MeOut:
    assert ctx.principal is not None
    agent = await ctx.run(ctx.deps.store.sync.agents.get_by_user, ctx.user.id)
    return MeOut(
        user=user_out(ctx.user),
        agent_id=str(agent.agent_id) if agent else None,
        token_kind=ctx.principal.kind,
    )


@router.post("/password", response_model=SessionOut)
async def change_password(
    body: PasswordIn, request: Request, response: Response, ctx: Anyone
) -> SessionOut:
    """Change your own password: every token is revoked, a new session is returned."""
    store = ctx.deps.store.sync
    async with ctx.audit("auth.password_change", f"user:{ctx.actor}"):
        user = await _check_password(ctx, ctx.user.username, body.current_password)
        await ctx.run(store.users.set_password, user.id, body.new_password, ctx.now())
        await ctx.run(store.tokens.revoke_user, user.id, ctx.now())
        return await _new_session(ctx, request, response, user)


@router.post("/tokens", response_model=IssuedTokenOut, status_code=201)
async def create_token(body: TokenIn, ctx: Anyone) -> IssuedTokenOut:
    """A personal API token for systems (shown once; only its SHA-256 is stored)."""
    ttl = None if body.ttl_days is None else timedelta(days=body.ttl_days)
    async with ctx.audit("auth.token_create", f"user:{ctx.actor}", name=body.name):
        issued = await ctx.run(
            ctx.deps.store.sync.tokens.issue, ctx.user.id, "api", ctx.now(), ttl, body.name
        )
    return IssuedTokenOut(token=issued.token, record=TokenOut.model_validate(asdict(issued.record)))


@router.get("/tokens", response_model=list[TokenOut])
async def list_tokens(ctx: Anyone) -> list[TokenOut]:
    records = await ctx.run(ctx.deps.store.sync.tokens.list_for_user, ctx.user.id)
    return [TokenOut.model_validate(asdict(r)) for r in records]


@router.delete("/tokens/{token_id}", response_model=Ok)
async def revoke_token(token_id: int, ctx: Anyone) -> Ok:
    tokens = ctx.deps.store.sync.tokens
    async with ctx.audit("auth.token_revoke", f"token:{token_id}"):
        mine = await ctx.run(tokens.list_for_user, ctx.user.id)
        if not any(t.id == token_id for t in mine):
            raise ApiError(404, "not_found", f"no token {token_id} of yours")
        await ctx.run(tokens.revoke, token_id, ctx.now())
    return Ok()
