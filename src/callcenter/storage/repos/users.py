"""Users (roles agent / supervisor / administrator), password login with lockout, API tokens.

A login failure increments ``failed_logins``; at ``max_failures`` the account is locked for
``lockout``. A success resets the counter. Unknown users cost one argon2 verification too, so the
answer time does not tell an attacker which usernames exist. Tokens are stored as SHA-256 only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from sqlalchemy import select, update

from callcenter.storage.db import Database
from callcenter.storage.errors import Conflict, ValidationFailed
from callcenter.storage.hashing import new_token, token_hash, verify_secret
from callcenter.storage.repos._base import Repo, check_aware, check_in, require, to_record
from callcenter.storage.schema import ApiToken, User
from callcenter.storage.schema.base import ROLES, TOKEN_KINDS

LoginOutcome = Literal["ok", "bad_credentials", "locked", "disabled"]
MIN_PASSWORD_LENGTH = 6
TOUCH_EVERY = timedelta(seconds=60)  # how stale a token's last_used_at may be


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    display_name: str
    role: str
    enabled: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime
    password_changed_at: datetime


@dataclass(frozen=True, slots=True)
class LoginResult:
    outcome: LoginOutcome
    user: UserRecord | None
    locked_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: int
    user_id: int
    kind: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """The bearer token (shown once, never stored) and its stored record."""

    token: str
    record: TokenRecord


@dataclass(frozen=True, slots=True)
class TokenOwner:
    token: TokenRecord
    user: UserRecord


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"password must have at least {MIN_PASSWORD_LENGTH} characters")


class UserRepo(Repo):
    def __init__(
        self,
        db: Database,
        hasher: PasswordHasher | None = None,
        max_failures: int = 5,
        lockout: timedelta = timedelta(minutes=15),
    ) -> None:
        super().__init__(db)
        self._hasher = hasher or PasswordHasher()
        self._max_failures = max_failures
        self._lockout = lockout
        self._dummy: str | None = None

    def _dummy_hash(self) -> str:
        """A hash to verify against for unknown users (made on first use, not at start-up)."""
        if self._dummy is None:
            self._dummy = self._hasher.hash("not a password")
        return self._dummy

    def create(
        self, username: str, display_name: str, role: str, password: str, now: datetime
    ) -> UserRecord:
        check_in(role, ROLES, "role")
        check_aware(now, "now")
        _check_password(password)
        if not username or len(username) > 64:
            raise ValidationFailed("username must have 1 to 64 characters")
        row = User(
            username=username,
            display_name=display_name,
            role=role,
            password_hash=self._hasher.hash(password),
            enabled=True,
            failed_logins=0,
            created_at=now,
            password_changed_at=now,
        )
        with self._db.transaction() as s:
            if s.scalar(select(User.id).where(User.username == username)) is not None:
                raise Conflict(f"user {username!r} already exists")
            s.add(row)
            s.flush()
            return to_record(UserRecord, row)

    def get(self, user_id: int) -> UserRecord | None:
        with self._db.transaction() as s:
            row = s.get(User, user_id)
            return None if row is None else to_record(UserRecord, row)

    def get_by_username(self, username: str) -> UserRecord | None:
        with self._db.transaction() as s:
            row = s.scalar(select(User).where(User.username == username))
            return None if row is None else to_record(UserRecord, row)

    def all(self) -> list[UserRecord]:
        with self._db.transaction() as s:
            rows = s.scalars(select(User).order_by(User.username))
            return [to_record(UserRecord, r) for r in rows]

    def update(
        self,
        user_id: int,
        *,
        display_name: str | None = None,
        role: str | None = None,
        enabled: bool | None = None,
    ) -> UserRecord:
        if role is not None:
            check_in(role, ROLES, "role")
        with self._db.transaction() as s:
            row = require(s, User, user_id, "user")
            if display_name is not None:
                row.display_name = display_name
            if role is not None:
                row.role = role
            if enabled is not None:
                row.enabled = enabled
            return to_record(UserRecord, row)

    def set_password(self, user_id: int, password: str, now: datetime) -> None:
        _check_password(password)
        new_hash = self._hasher.hash(password)
        with self._db.transaction() as s:
            row = require(s, User, user_id, "user")
            row.password_hash = new_hash
            row.password_changed_at = now
            row.failed_logins = 0
            row.locked_until = None

    def unlock(self, user_id: int) -> None:
        with self._db.transaction() as s:
            row = require(s, User, user_id, "user")
            row.failed_logins = 0
            row.locked_until = None

    def delete(self, user_id: int) -> None:
        with self._db.transaction() as s:
            s.delete(require(s, User, user_id, "user"))

    def authenticate(self, username: str, password: str, now: datetime) -> LoginResult:
        """Check a password and update the failure counter and lockout in one transaction."""
        check_aware(now, "now")
        with self._db.transaction() as s:
            row = s.scalar(select(User).where(User.username == username))
            if row is None:
                verify_secret(self._hasher, self._dummy_hash(), password)
                return LoginResult("bad_credentials", None)
            if row.locked_until is not None and row.locked_until > now:
                return LoginResult("locked", None, row.locked_until)
            if not verify_secret(self._hasher, row.password_hash, password):
                return self._failed(row, now)
            if not row.enabled:
                return LoginResult("disabled", None)
            row.failed_logins = 0
            row.locked_until = None
            if self._hasher.check_needs_rehash(row.password_hash):
                row.password_hash = self._hasher.hash(password)
            return LoginResult("ok", to_record(UserRecord, row))

    def _failed(self, row: User, now: datetime) -> LoginResult:
        row.failed_logins += 1
        if row.failed_logins >= self._max_failures:
            row.locked_until = now + self._lockout
            row.failed_logins = 0
            return LoginResult("locked", None, row.locked_until)
        return LoginResult("bad_credentials", None)


class TokenRepo(Repo):
    """API tokens and browser sessions; only ``sha256(token)`` is stored."""

    def issue(
        self,
        user_id: int,
        kind: str,
        now: datetime,
        ttl: timedelta | None,
        name: str = "",
    ) -> IssuedToken:
        check_in(kind, TOKEN_KINDS, "token kind")
        token = new_token()
        with self._db.transaction() as s:
            require(s, User, user_id, "user")
            row = ApiToken(
                user_id=user_id,
                token_hash=token_hash(token),
                kind=kind,
                name=name,
                created_at=now,
                expires_at=None if ttl is None else now + ttl,
            )
            s.add(row)
            s.flush()
            return IssuedToken(token, to_record(TokenRecord, row))

    def resolve(self, token: str, now: datetime) -> TokenOwner | None:
        """The live token and its enabled user, touching ``last_used_at`` (at most once per
        ``TOUCH_EVERY``: a write per API request was most of a hot route's cost); None
        otherwise."""
        with self._db.transaction() as s:  # the token and its user in one query
            found = s.execute(
                select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == token_hash(token))
            ).first()
            if found is None:
                return None
            row, user = found
            if row.revoked_at is not None:
                return None
            if row.expires_at is not None and row.expires_at <= now:
                return None
            if not user.enabled:
                return None
            if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
                row.last_used_at = now
            return TokenOwner(to_record(TokenRecord, row), to_record(UserRecord, user))

    def revoke(self, token_id: int, now: datetime) -> None:
        with self._db.transaction() as s:
            row = require(s, ApiToken, token_id, "token")
            if row.revoked_at is None:
                row.revoked_at = now

    def revoke_user(self, user_id: int, now: datetime) -> int:
        """Revoke every live token of a user (logout everywhere, password change)."""
        with self._db.transaction() as s:
            result = s.execute(
                update(ApiToken)
                .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            return int(getattr(result, "rowcount", 0))

    def list_for_user(self, user_id: int) -> list[TokenRecord]:
        with self._db.transaction() as s:
            rows = s.scalars(select(ApiToken).where(ApiToken.user_id == user_id))
            return [to_record(TokenRecord, r) for r in rows]
