"""Who is asking and may they: sessions (cookie), bearer tokens, roles, the audit trail.

Every route declares ``Depends(require(role, ...))`` (or ``public()`` for the login itself):
the dependency resolves the caller from ``Authorization: Bearer <token>`` or the session cookie
(tokens are 256-bit random values; storage keeps only their SHA-256), refuses with 401 when
there is none and 403 when the role is not in the list, and hands the route a ``Ctx`` with the
collaborators, the clock and ``ctx.audit(action, target)``: an async context manager that writes
one audit row (who, what, target, when, result ok / denied / failed) whatever the outcome.
Refused mutating calls are audited as ``denied`` too (SPEC §13, §16).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from starlette.requests import HTTPConnection

from callcenter.api.deps import ApiDeps
from callcenter.api.errors import ApiError, describe
from callcenter.storage.repos.users import UserRecord

AGENT, SUPERVISOR, ADMIN = "agent", "supervisor", "administrator"
ROLES = (AGENT, SUPERVISOR, ADMIN)
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Principal:
    user: UserRecord
    token_id: int
    kind: str  # session | api
    via: str  # cookie | bearer


def bearer_token(conn: HTTPConnection, cookie_name: str) -> tuple[str, str] | None:
    """(token, via) from the Authorization header, else from the session cookie."""
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), "bearer"
    cookie = conn.cookies.get(cookie_name)
    if cookie:
        return cookie, "cookie"
    return None


async def authenticate(deps: ApiDeps, conn: HTTPConnection) -> Principal | None:
    found = bearer_token(conn, deps.settings.cookie_name)
    if found is None:
        return None
    token, via = found
    if len(token) > 512:
        return None
    owner = await deps.store.run(deps.store.sync.tokens.resolve, token, deps.wall())
    if owner is None:
        return None
    return Principal(owner.user, owner.token.id, owner.token.kind, via)


class Ctx:
    """One request's view of the API: the caller, the collaborators, the audit trail."""

    def __init__(self, deps: ApiDeps, principal: Principal | None, conn: HTTPConnection) -> None:
        self.deps = deps
        self.principal = principal
        self.source = conn.client.host if conn.client else ""
        self.state = conn.app.state

    @property
    def user(self) -> UserRecord:
        if self.principal is None:
            raise ApiError(401, "unauthenticated", "log in first")
        return self.principal.user

    @property
    def actor(self) -> str:
        return self.principal.user.username if self.principal else "anonymous"

    @property
    def role(self) -> str:
        return self.principal.user.role if self.principal else ""

    def now(self) -> datetime:
        return self.deps.wall()

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.deps.store.run(fn, *args, **kwargs)

    def audit(self, action: str, target: str, **details: Any) -> AuditScope:
        return AuditScope(self, action, target, dict(details))

    async def record(self, action: str, target: str, result: str, details: dict[str, Any]) -> None:
        store = self.deps.store
        uid = self.principal.user.id if self.principal else None
        await store.run(
            store.sync.audit.record,
            self.actor,
            action,
            target[:128],
            result,
            self.now(),
            details=details,
            actor_user_id=uid,
            source=self.source,
        )


class AuditScope:
    """``async with ctx.audit("queue.update", "queue:billing") as a:`` -> one audit row."""

    def __init__(self, ctx: Ctx, action: str, target: str, details: dict[str, Any]) -> None:
        self.ctx = ctx
        self.action = action
        self.target = target
        self.details = details

    async def __aenter__(self) -> AuditScope:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        result = "ok"
        if isinstance(exc, Exception):
            status, code, message = describe(exc)
            result = "denied" if status in (401, 403, 423) else "failed"
            self.details.update(error=code, message=message[:500])
        elif exc is not None:
            return  # cancelled: nothing happened that we could vouch for
        await self.ctx.record(self.action, self.target, result, self.details)


class Access:
    """The dependency behind ``require``: ``roles`` None means public (the login route).

    With ``soft`` (WebSocket routes, which cannot answer with an HTTP error once routed) a
    refusal returns a ``Ctx`` without principal and the route closes the socket itself.
    """

    def __init__(self, roles: frozenset[str] | None, *, soft: bool = False) -> None:
        self.roles = roles
        self.soft = soft

    async def __call__(self, conn: HTTPConnection) -> Ctx:
        deps: ApiDeps = conn.app.state.deps
        if self.roles is None:
            return Ctx(deps, None, conn)
        principal = await authenticate(deps, conn)
        if principal is None:
            if self.soft:
                return Ctx(deps, None, conn)
            raise ApiError(401, "unauthenticated", "a session cookie or bearer token is needed")
        ctx = Ctx(deps, principal, conn)
        if principal.user.role in self.roles:
            return ctx
        if self.soft:
            return Ctx(deps, None, conn)
        if conn.scope.get("method", "GET") in MUTATING:
            await ctx.record(
                f"{conn.scope.get('method')} {conn.url.path}"[:64],
                conn.url.path[:128],
                "denied",
                {"error": "forbidden", "role": principal.user.role},
            )
        raise ApiError(403, "forbidden", f"role {principal.user.role!r} may not do this")

    def allows(self, role: str | None) -> bool:
        return self.roles is None or (role is not None and role in self.roles)


def require(*roles: str) -> Access:
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return Access(frozenset(roles))


def require_ws(*roles: str) -> Access:
    return Access(require(*roles).roles, soft=True)


def public() -> Access:
    return Access(None)
