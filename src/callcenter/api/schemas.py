"""Request and response bodies of the auth, agent, supervisor and event routes (pydantic).

Strings are bounded and free of control characters so that a bad message gets a clear 422 and
never reaches the database (SPEC §16); ids are digit strings as in the ACD (工号, 座席号).
Lists are pages: ``{"items": [...], "total": n, "limit": l, "offset": o}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_CONTROL)]
Text = Annotated[str, StringConstraints(max_length=2000, pattern=r"^[^\x00]*$")]
Label = Annotated[str, StringConstraints(max_length=128, pattern=NO_CONTROL)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00]*$")]
Digits = Annotated[str, StringConstraints(min_length=1, max_length=8, pattern=r"^[0-9]+$")]
SkillName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
Level = Annotated[int, Field(ge=1, le=10)]
Skills = Annotated[dict[SkillName, Level], Field(max_length=64)]
RoleName = Literal["agent", "supervisor", "administrator"]
CategoryName = Literal["agent", "supervisor"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class Paging:
    """``?limit=&offset=`` on every list."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset

    def page(self, items: list[T]) -> Page[T]:
        chunk = items[self.offset : self.offset + self.limit]
        return Page[T](items=chunk, total=len(items), limit=self.limit, offset=self.offset)


class Ok(BaseModel):
    ok: bool = True


# ---------------------------------------------------------------- auth
class LoginIn(Body):
    username: Name
    password: Password


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    enabled: bool
    locked_until: datetime | None
    created_at: datetime
    password_changed_at: datetime


class SessionOut(BaseModel):
    token: str
    token_id: int
    expires_at: datetime | None
    user: UserOut


class MeOut(BaseModel):
    user: UserOut
    agent_id: str | None
    token_kind: str


class PasswordIn(Body):
    current_password: Password
    new_password: Password


class TokenIn(Body):
    name: Label = ""
    ttl_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class TokenOut(BaseModel):
    id: int
    kind: str
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedTokenOut(BaseModel):
    token: str
    record: TokenOut


# --------------------------------------------------------------- agents
class AgentLoginIn(Body):
    agent_id: Digits
    seat: Digits
    category: CategoryName = "agent"
    skills: Skills | None = None
    password: Password | None = None
    ready: bool = True
    answer_mode: Literal["phone", "desktop"] = "phone"


class BusyIn(Body):
    reason: Name = "busy"
    defer: bool = True


class WrapUpCodeIn(Body):
    code: Name
    call_id: Label | None = None


class NoteIn(Body):
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]
    call_id: Label | None = None
    customer_id: Annotated[int, Field(ge=1, le=2**62)] | None = None


class AgentStateOut(BaseModel):
    agent_id: str
    logged_in: bool
    seat: str | None = None
    category: str | None = None
    presence: str = "logged_out"
    reason: str = ""
    activity: str = "idle"
    since: float | None = None
    time_in_state: float | None = None
    pending: str | None = None
    call_id: str | None = None
    no_answers: int = 0
    calls_answered: int = 0
    talk_time: float = 0.0
    skills: dict[str, int] = Field(default_factory=dict)
    queues: dict[str, int] = Field(default_factory=dict)


class ForceBusyIn(Body):
    reason: Name = "supervisor"


class SkillsIn(Body):
    skills: Skills


class Membership(Body):
    queue: Name
    penalty: Annotated[int, Field(ge=0, le=100)] = 0


class QueuesIn(Body):
    queues: Annotated[list[Membership], Field(max_length=200)]


class MembershipOut(BaseModel):
    queue: str
    agent_id: int
    penalty: int


class QueueStateOut(BaseModel):
    queue_id: str
    waiting: int
    offered: int
    longest_wait: float
    members: int
    ready: int
    idle: int
    average_handle_time: float


class WaitingCallOut(BaseModel):
    call_id: str
    queue_id: str
    priority: int
    category: str
    waited: float
    offered_to: list[str]


# --------------------------------------------------------------- events
class EventOut(BaseModel):
    seq: int
    type: str
    at: datetime
    call_id: str | None
    agent_id: int | None
    payload: dict[str, Any]
