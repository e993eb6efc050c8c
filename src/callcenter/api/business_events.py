"""Events of the business routes (customers, complaint tickets), past tense and frozen.

They go through ``ContactCenter.record_event`` like every other event, so they land in the
event log, on the WebSocket stream and in the webhooks. None of them names an ``agent_id``
(they are not agent-state events); ``stream.Visibility`` shows ticket events to the members of
the ticket's unit, to its creator and to whoever acted (``actor``, ``created_by`` are usernames),
and customer events to the call-center staff.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TicketCreated:
    ticket_id: int
    number: str
    title: str
    category: str
    priority: str
    status: str
    unit_id: int | None
    customer_id: int | None
    call_id: str | None
    created_by: str
    actor: str


@dataclass(frozen=True, slots=True)
class TicketUpdated:
    """Fields of a ticket edited (``fields`` names them)."""

    ticket_id: int
    number: str
    status: str
    unit_id: int | None
    created_by: str
    actor: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TicketTransitioned:
    """A move along the workflow (dispatch, start, resolve, close, reopen)."""

    ticket_id: int
    number: str
    from_status: str
    status: str
    unit_id: int | None
    created_by: str
    actor: str
    comment: str


@dataclass(frozen=True, slots=True)
class TicketCommented:
    ticket_id: int
    number: str
    status: str
    unit_id: int | None
    created_by: str
    actor: str
    comment: str


@dataclass(frozen=True, slots=True)
class CustomerCreated:
    customer_id: int
    account_no: str
    name: str
    actor: str


@dataclass(frozen=True, slots=True)
class CustomerUpdated:
    customer_id: int
    account_no: str
    name: str
    actor: str


@dataclass(frozen=True, slots=True)
class CustomerDeleted:
    customer_id: int
    account_no: str
    name: str
    actor: str


TICKET_EVENTS = frozenset(
    {"TicketCreated", "TicketUpdated", "TicketTransitioned", "TicketCommented"}
)
CUSTOMER_EVENTS = frozenset({"CustomerCreated", "CustomerUpdated", "CustomerDeleted"})
