"""The declarative base, its deterministic constraint names, and the vocabularies of enum columns.

Constraint names come from a naming convention so that migrations can drop and alter them by name
on both SQLite and PostgreSQL. Enum vocabularies live here, next to the CHECK constraints that use
them, so that repositories validate against the same lists the database enforces.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("agent", "supervisor", "administrator")
AGENT_CATEGORIES = ("agent", "supervisor")
# 工号: numeric, range-checked at login and in the database.
AGENT_ID_MIN = 1000
AGENT_ID_MAX = 999999
SKILL_LEVEL_MIN = 1
SKILL_LEVEL_MAX = 10
STRATEGIES = (
    "longest_idle",
    "round_robin",
    "fewest_calls",
    "least_talk_time",
    "skill_level",
    "ring_all",
    "random",
)
RECORDING_POLICIES = ("none", "all", "on_demand")
TRANSPORTS = ("udp", "tcp", "tls")
TOKEN_KINDS = ("session", "api")
AUDIT_RESULTS = ("ok", "denied", "failed")
PARAM_TYPES = ("int", "float", "bool", "str", "json")
TICKET_STATUSES = ("new", "dispatched", "in_progress", "resolved", "closed")
TICKET_PRIORITIES = ("low", "normal", "high", "urgent")
OUTCOMES = ("answered", "abandoned", "overflowed", "voicemail", "interrupted", "failed")
LEG_ROLES = ("caller", "agent", "supervisor", "external")
LEG_DISPOSITIONS = (
    "answered",
    "no_answer",
    "busy",
    "rejected",
    "cancelled",
    "failed",
    "interrupted",
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
