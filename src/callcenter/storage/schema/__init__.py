"""The whole schema as SQLAlchemy 2 typed declarative models, one ``Base.metadata``.

Models are split by concept (security, telephony, acd, settings, business, calls); importing this
package registers all of them so that ``Base.metadata`` is the complete schema that the Alembic
migrations must match (checked by ``callcenter.storage.migrate.check_models``).
"""

from callcenter.storage.schema.acd import (
    Agent,
    AgentSkill,
    Queue,
    QueueMember,
    QueueSkill,
    Seat,
    Skill,
)
from callcenter.storage.schema.base import Base
from callcenter.storage.schema.business import (
    Customer,
    CustomerNote,
    CustomerPhone,
    Ticket,
    TicketHistory,
    Unit,
    UnitMember,
)
from callcenter.storage.schema.calls import (
    Cdr,
    CdrLeg,
    EventRow,
    Mailbox,
    Recording,
    VoicemailMessage,
)
from callcenter.storage.schema.security import ApiToken, AuditEntry, IdempotencyEntry, User
from callcenter.storage.schema.settings import (
    BusinessCategory,
    Holiday,
    IvrFlow,
    Prompt,
    Schedule,
    ScheduleHours,
    SystemParam,
)
from callcenter.storage.schema.telephony import Extension, Registration, SipCredential, Trunk

metadata = Base.metadata

__all__ = [
    "Agent",
    "AgentSkill",
    "ApiToken",
    "AuditEntry",
    "Base",
    "BusinessCategory",
    "Cdr",
    "CdrLeg",
    "Customer",
    "CustomerNote",
    "CustomerPhone",
    "EventRow",
    "Extension",
    "Holiday",
    "IdempotencyEntry",
    "IvrFlow",
    "Mailbox",
    "Prompt",
    "Queue",
    "QueueMember",
    "QueueSkill",
    "Recording",
    "Registration",
    "Schedule",
    "ScheduleHours",
    "Seat",
    "SipCredential",
    "Skill",
    "SystemParam",
    "Ticket",
    "TicketHistory",
    "Trunk",
    "Unit",
    "UnitMember",
    "User",
    "VoicemailMessage",
    "metadata",
]
