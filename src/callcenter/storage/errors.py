"""Domain errors raised by the repositories; the API layer maps them to status codes.

Every error is raised before or instead of a commit, so a write that raises has changed nothing.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error a repository raises on purpose."""


class NotFound(StorageError):
    """The addressed row does not exist."""


class Conflict(StorageError):
    """The write would break a uniqueness rule or the row is in a state that forbids it."""


class ValidationFailed(StorageError):
    """An argument is out of range or malformed (agent id range, negative money, bad role)."""


class InvalidTransition(Conflict):
    """A workflow (complaint ticket) was asked to move along an edge it does not have."""

    def __init__(self, entity: str, current: str, wanted: str) -> None:
        super().__init__(f"{entity}: cannot go from {current!r} to {wanted!r}")
        self.entity = entity
        self.current = current
        self.wanted = wanted
