"""Request and response bodies of the business routes: customers (客户资料), their notes and
calls, the screen pop (来电弹屏), complaint tickets (投诉单) with comments and history.

Strings are bounded and free of control characters; phone numbers are digits (an optional
leading ``+``); account numbers are 4-32 letters or digits; an ID number (身份证号) is 15 digits
or 17 digits and a check character (digit or X). Money is integer fen, never a float.
Datetimes without a zone are refused (422), so a due time always means one instant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from callcenter.api.schemas import NO_CONTROL, Body

PHONE = r"^\+?[0-9]{3,20}$"
ACCOUNT = r"^[A-Za-z0-9]{4,32}$"
ID_NUMBER = r"^([0-9]{15}|[0-9]{17}[0-9Xx])$"
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=PHONE)]
AccountNo = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9]{4,32}$")]
IdNumber = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_upper=True, pattern=r"^([0-9]{15}|[0-9]{17}[0-9Xx])$"
    ),
]
PersonName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=NO_CONTROL)
]
Address = Annotated[str, StringConstraints(max_length=255, pattern=NO_CONTROL)]
LongText = Annotated[str, StringConstraints(max_length=4000, pattern=r"^[^\x00]*$")]
NoteText = Annotated[
    str, StringConstraints(min_length=1, max_length=2000, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=NO_CONTROL)
]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,32}$")]
CallId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_CONTROL)]
DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Fen = Annotated[int, Field(ge=-(10**12), le=10**12)]
Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["new", "dispatched", "in_progress", "resolved", "closed"]


# ------------------------------------------------------------------ customers
class CustomerIn(Body):
    account_no: AccountNo
    name: PersonName
    phones: Annotated[list[Phone], Field(max_length=10, default_factory=list)]
    address: Address = ""
    id_number: IdNumber | None = None
    balance_fen: Fen = 0


class CustomerPatch(Body):
    """Only the fields given change; ``id_number: null`` clears it; ``phones`` replaces all."""

    account_no: AccountNo | None = None
    name: PersonName | None = None
    phones: Annotated[list[Phone], Field(max_length=10)] | None = None
    address: Address | None = None
    id_number: IdNumber | None = None


class CustomerOut(BaseModel):
    id: int
    account_no: str
    name: str
    phones: list[str]
    address: str
    balance_fen: int
    id_number: str | None
    created_at: datetime
    updated_at: datetime


class CustomerNoteIn(Body):
    text: NoteText
    call_id: CallId | None = None


class CustomerNoteOut(BaseModel):
    id: int
    customer_id: int
    author: str
    text: str
    call_id: str | None
    created_at: datetime


class CustomerCallOut(BaseModel):
    call_id: str
    direction: str
    caller: str
    called: str
    start_time: datetime
    answer_time: datetime | None
    end_time: datetime | None
    queue: str | None
    agent_id: int | None
    talk_seconds: float
    outcome: str | None
    business_category: str | None
    recording: bool


class PopOut(BaseModel):
    """What the desktop shows when a call is offered: the caller, the IVR's business category,
    the customer the IVR found (``customer_id``) and every customer with the caller's number."""

    call_id: str
    caller: str
    called: str
    queue: str | None
    category: str | None
    customer_id: int | None
    matches: list[CustomerOut]


# -------------------------------------------------------------------- tickets
class TicketIn(Body):
    title: Title
    description: LongText = ""
    category: Code
    priority: Priority = "normal"
    customer_id: DbId | None = None
    call_id: CallId | None = None
    due_at: AwareDatetime | None = None
    unit_id: DbId | None = None  # dispatch at once to this unit


class TicketPatch(Body):
    title: Title | None = None
    description: LongText | None = None
    category: Code | None = None
    priority: Priority | None = None
    due_at: AwareDatetime | None = None
    clear_due: bool = False
    customer_id: DbId | None = None


class TransitionIn(Body):
    status: Status
    comment: LongText = ""
    unit_id: DbId | None = None


class CommentIn(Body):
    text: NoteText


class UnitOut(BaseModel):
    id: int
    code: str
    name: str


class TicketOut(BaseModel):
    id: int
    number: str
    customer_id: int | None
    customer_name: str | None
    category: str
    priority: str
    unit_id: int | None
    unit: UnitOut | None
    status: str
    title: str
    description: str
    call_id: str | None
    due_at: datetime | None
    overdue: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    can_update: bool


class HistoryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    comment: str


class TicketDetailOut(TicketOut):
    history: list[HistoryOut]
    next_statuses: list[str]


class CategoryOut(BaseModel):
    code: str
    name: str


class TicketMetaOut(BaseModel):
    """What the ticket forms offer: categories, priorities, statuses and their moves, units."""

    categories: list[CategoryOut]
    priorities: list[str]
    statuses: list[str]
    transitions: dict[str, list[str]]
    units: list[UnitOut]
    my_units: list[int]
    business_categories: list[CategoryOut]  # IVR categories = wrap-up codes (enabled ones)


class MyDayOut(BaseModel):
    """Today's own figures (since ``since``, the start of the agent's day)."""

    since: datetime
    agent_id: str | None
    calls_answered: int
    talk_seconds: float
    average_talk_seconds: float
    tickets_created: int
    tickets_open: int
    wrapup_seconds: dict[str, float]  # after-call work per queue of the agent (for countdowns)
