"""Domain errors of the ACD core: each has a stable ``code`` string that the API maps to a 4xx.

A command is validated before it changes anything, so a refused command has no effect of its
own (SPEC §16: "a bad message gets a clear error and changes nothing"); timers that were due
still fire, and their outputs come back with the router's next answer.
"""

from __future__ import annotations


class AcdError(Exception):
    """Base class: ``code`` is stable and machine-readable; the message is for people."""

    code = "acd_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidLoginError(AcdError):
    """A login field is out of range (agent id, seat, category, skill or level)."""

    code = "invalid_login"


class AlreadyLoggedInError(AcdError):
    """SPEC §4: a second login of an agent id that is logged in elsewhere fails."""

    code = "already_logged_in"


class SeatInUseError(AcdError):
    """Another agent is logged in at this seat (extension)."""

    code = "seat_in_use"


class NotLoggedInError(AcdError):
    """The agent id is not logged in."""

    code = "not_logged_in"


class NotOnHookError(AcdError):
    """SPEC §4: busy without deferral fails while the seat is off-hook (ringing or talking)."""

    code = "not_on_hook"


class NotInWrapUpError(AcdError):
    """Ending wrap-up early needs an agent in wrap-up."""

    code = "not_in_wrap_up"


class UnknownQueueError(AcdError):
    code = "unknown_queue"


class QueueExistsError(AcdError):
    code = "queue_exists"


class InvalidQueueConfigError(AcdError):
    """Relaxation steps that narrow instead of widen, negative timers, and the like."""

    code = "invalid_queue_config"


class UnknownCallError(AcdError):
    """No queued caller, offer or agent call with this call id."""

    code = "unknown_call"


class CallAlreadyQueuedError(AcdError):
    code = "call_already_queued"


class NoSuchOfferError(AcdError):
    """The agent has no live offer for this call (late answer after withdrawal, for example)."""

    code = "no_such_offer"


class NotOnCallError(AcdError):
    """A transfer needs the call to be up at an agent."""

    code = "not_on_call"


class AgentNotAvailableError(AcdError):
    """A call outside the queues cannot go to this agent now (``Acd.reserve`` / ``Acd.take``).

    ``reason`` is stable and machine-readable: ``not_logged_in``, ``busy``, ``reserved``,
    ``ringing``, ``on_call`` or ``wrap_up``; the message says the same for people.
    """

    code = "agent_not_available"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
