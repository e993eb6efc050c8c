"""Request bodies and a few response bodies of the administration routes (SPEC §13).

Records that carry no secrets are returned as the storage's own frozen dataclasses; trunks are
returned without their HA1 values. Bounds mirror the database columns and the ACD's rules so a
bad value is a 422 here, not an error in the database.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from callcenter.api.schemas import (
    Body,
    CategoryName,
    Digits,
    Label,
    Name,
    Password,
    RoleName,
    Skills,
    Text,
)

HOST = r"^[A-Za-z0-9.:\-\[\]]+$"
DESTINATION = r"^(|callback|(queue|voicemail|extension):[A-Za-z0-9_.:\-]{1,64})$"
Host = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=HOST)]
Seconds = Annotated[int, Field(ge=0, le=86_400)]
StrategyName = Literal[
    "longest_idle",
    "round_robin",
    "fewest_calls",
    "least_talk_time",
    "skill_level",
    "ring_all",
    "random",
]
Destination = Annotated[str, StringConstraints(max_length=80, pattern=DESTINATION)]
AgentNo = Annotated[int, Field(ge=1000, le=999_999)]
DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class UserIn(Body):
    username: Name
    display_name: Label = ""
    role: RoleName
    password: Password


class UserPatch(Body):
    display_name: Label | None = None
    role: RoleName | None = None
    enabled: bool | None = None


class NewPasswordIn(Body):
    password: Password


class AgentIn(Body):
    agent_id: AgentNo
    name: Name
    category: CategoryName = "agent"
    skills: Skills = Field(default_factory=dict)
    wrapup_seconds: Seconds | None = None
    user_id: DbId | None = None
    extension: Digits | None = None


class AgentPatch(Body):
    name: Name | None = None
    category: CategoryName | None = None
    enabled: bool | None = None
    extension: Digits | None = None
    wrapup_seconds: Seconds | None = None
    skills: Skills | None = None


class SeatIn(Body):
    number: Digits
    extension: Digits | None = None
    location: Label = ""


class SkillIn(Body):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
    description: Label = ""


class QueueSettingsIn(Body):
    strategy: StrategyName = "longest_idle"
    ring_timeout_seconds: Annotated[int, Field(ge=1, le=600)] = 20
    wrapup_seconds: Annotated[int, Field(ge=0, le=3600)] = 10
    max_wait_seconds: Annotated[int, Field(ge=1, le=86_400)] | None = None
    max_length: Annotated[int, Field(ge=1, le=100_000)] | None = None
    overflow_destination: Destination | None = None
    recording_policy: Literal["none", "all", "on_demand"] = "none"
    weight: Annotated[int, Field(ge=-1000, le=1000)] = 0
    sl_target_seconds: Annotated[int, Field(ge=1, le=3600)] = 20
    sl_target_percent: Annotated[int, Field(ge=0, le=100)] = 80
    max_no_answer: Annotated[int, Field(ge=1, le=100)] = 3
    # position / expected-wait announcements, stored as given (e.g. position_every_seconds)
    announcements: dict[str, Any] = Field(default_factory=dict, max_length=32)


class QueueIn(Body):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]
    display_name: Label = ""
    settings: QueueSettingsIn = Field(default_factory=QueueSettingsIn)
    skills: Skills = Field(default_factory=dict)


class QueuePatch(Body):
    display_name: Label | None = None
    enabled: bool | None = None
    settings: QueueSettingsIn | None = None
    skills: Skills | None = None


class FlowIn(Body):
    body: dict[str, Any]


class PromptIn(Body):
    text: Text | None = None
    file_path: Label | None = None


# Wall-clock times of a schedule, "HH:MM" or "HH:MM:SS" in the schedule's own time zone (a
# JSON "time" would need an offset, which a local opening hour does not have).
ClockTime = Annotated[
    str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")
]


class Span(Body):
    weekday: Annotated[int, Field(ge=0, le=6)]
    opens: ClockTime
    closes: ClockTime


class SpanOut(BaseModel):
    weekday: int
    opens: ClockTime
    closes: ClockTime


class HolidayOut(BaseModel):
    day: date
    name: str


class ScheduleOut(BaseModel):
    name: str
    timezone: str
    hours: list[SpanOut]
    holidays: list[HolidayOut]


class ScheduleIn(Body):
    timezone: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+\-/]{1,64}$")]
    hours: Annotated[list[Span], Field(max_length=100)]


class HolidayIn(Body):
    day: date
    name: Label


class CategoryIn(Body):
    name: Name
    description: Label = ""
    sort_order: Annotated[int, Field(ge=-10_000, le=10_000)] = 0
    enabled: bool = True


class ParamIn(Body):
    value: bool | int | float | str | dict[str, Any] | list[Any]
    description: Label = ""


class ExtensionIn(Body):
    number: Digits
    display_name: Label = ""
    password: Password | None = None
    max_contacts: Annotated[int, Field(ge=1, le=20)] = 3
    voicemail_enabled: bool = True


class ExtensionPatch(Body):
    enabled: bool


class TrunkIn(Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: Name
    host: Host
    port: Annotated[int, Field(ge=1, le=65535)] = 5060
    transport: Literal["udp", "tcp", "tls"] = "udp"
    register_: Annotated[bool, Field(alias="register")] = False
    inbound_ips: Annotated[list[Host], Field(max_length=50)] = Field(default_factory=list)
    dids: Annotated[list[Digits], Field(max_length=500)] = Field(default_factory=list)


class TrunkPatch(Body):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    host: Host | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    register_: Annotated[bool | None, Field(alias="register")] = None
    inbound_ips: Annotated[list[Host], Field(max_length=50)] | None = None
    enabled: bool | None = None


class TrunkAuthIn(Body):
    username: Name
    realm: Label
    password: Password


class TrunkOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    id: int
    name: str
    host: str
    port: int
    transport: str
    auth_username: str | None
    auth_realm: str | None
    has_credentials: bool
    register_: Annotated[bool, Field(alias="register")]
    inbound_ips: list[str]
    dids: list[str]
    enabled: bool
    created_at: datetime
