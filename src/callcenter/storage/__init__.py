"""Storage: the only layer that knows SQL (SQLAlchemy 2 + Alembic, SQLite or PostgreSQL).

It owns the schema (configuration tables, users and credentials, the typed append-only event log,
CDRs with their legs, customers and complaint tickets), the Alembic migrations that build it, and
synchronous repositories that each write in exactly one transaction. ``AsyncStorage`` runs those
repositories on one dedicated worker thread so that the asyncio loop never blocks. See
``docs/storage.md``.
"""

from callcenter.storage.aio import AsyncStorage
from callcenter.storage.db import Database, database_url
from callcenter.storage.errors import (
    Conflict,
    InvalidTransition,
    NotFound,
    StorageError,
    ValidationFailed,
)
from callcenter.storage.migrate import check_models, current_revision, downgrade, upgrade
from callcenter.storage.store import Storage

__all__ = [
    "AsyncStorage",
    "Conflict",
    "Database",
    "InvalidTransition",
    "NotFound",
    "Storage",
    "StorageError",
    "ValidationFailed",
    "check_models",
    "current_revision",
    "database_url",
    "downgrade",
    "upgrade",
]
