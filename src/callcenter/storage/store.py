"""``Storage``: every repository over one ``Database``, built in one place.

``Storage.open(url)`` migrates the database to the newest revision first, so a server started on
an empty data directory, or on a database of an older release, works at once. ``recover(now)`` is
the start-up step after a crash: calls that were up are closed as ``interrupted``.
"""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher

from callcenter.storage.db import Database
from callcenter.storage.migrate import upgrade
from callcenter.storage.repos.agents import AgentRepo, SeatRepo, SkillRepo
from callcenter.storage.repos.audit import AuditRepo
from callcenter.storage.repos.calls import CdrRepo
from callcenter.storage.repos.customers import CustomerRepo
from callcenter.storage.repos.events import EventLog
from callcenter.storage.repos.flows import FlowRepo, PromptRepo
from callcenter.storage.repos.idempotency import IdempotencyRepo
from callcenter.storage.repos.media import RecordingRepo, VoicemailRepo
from callcenter.storage.repos.queues import QueueRepo
from callcenter.storage.repos.settings import CategoryRepo, ParamRepo, ScheduleRepo
from callcenter.storage.repos.telephony import ExtensionRepo, RegistrationRepo, TrunkRepo
from callcenter.storage.repos.tickets import TicketRepo, UnitRepo
from callcenter.storage.repos.users import TokenRepo, UserRepo


class Storage:
    """The synchronous repositories. From asyncio code use ``AsyncStorage`` around it."""

    def __init__(self, db: Database, hasher: PasswordHasher | None = None) -> None:
        hasher = hasher or PasswordHasher()
        self.db = db
        self.users = UserRepo(db, hasher)
        self.tokens = TokenRepo(db)
        self.audit = AuditRepo(db)
        self.extensions = ExtensionRepo(db)
        self.trunks = TrunkRepo(db)
        self.registrations = RegistrationRepo(db)
        self.skills = SkillRepo(db)
        self.agents = AgentRepo(db)
        self.seats = SeatRepo(db)
        self.queues = QueueRepo(db)
        self.flows = FlowRepo(db)
        self.prompts = PromptRepo(db)
        self.schedules = ScheduleRepo(db)
        self.categories = CategoryRepo(db)
        self.params = ParamRepo(db)
        self.customers = CustomerRepo(db)
        self.units = UnitRepo(db)
        self.tickets = TicketRepo(db)
        self.events = EventLog(db)
        self.cdrs = CdrRepo(db)
        self.recordings = RecordingRepo(db)
        self.voicemail = VoicemailRepo(db, hasher)
        self.idempotency = IdempotencyRepo(db)

    @classmethod
    def open(
        cls, url: str, *, hasher: PasswordHasher | None = None, migrate: bool = True
    ) -> Storage:
        """Connect to ``url`` and (by default) migrate it to the newest revision."""
        db = Database(url)
        if migrate:
            upgrade(db)
        return cls(db, hasher)

    def recover(self, now: datetime) -> list[str]:
        """Close the CDRs of calls that were up when the process died; their call ids."""
        return self.cdrs.close_interrupted(now)

    def close(self) -> None:
        self.db.dispose()
