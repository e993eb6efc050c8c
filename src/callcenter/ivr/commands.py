"""What the IVR runner asks its shell to do: prompts and imperative commands, all frozen data.

The runner (``ivr.runner``) never performs I/O; it returns these commands and the calls
controller carries them out (media player, DTMF detector, business lookup, ACD, B2BUA).
Exactly one *terminal* command (``Enqueue``, ``Transfer``, ``Voicemail``, ``ReceiveFax``,
``SendFax``, ``OfferCallback`` or ``Hangup``) ends every session; after it the runner ignores
all input. ``LookupFailed`` is the one input value defined here: the shell passes it to
``IvrSession.on_lookup_result`` when the business system timed out or failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CALLER_HANGUP",
    "TERMINAL_COMMANDS",
    "CollectDigits",
    "Command",
    "Enqueue",
    "File",
    "Hangup",
    "Lookup",
    "LookupFailed",
    "LookupResult",
    "OfferCallback",
    "Play",
    "Prompt",
    "ReceiveFax",
    "SendFax",
    "SetCategory",
    "StopPlay",
    "Terminal",
    "Transfer",
    "Tts",
    "Voicemail",
]

CALLER_HANGUP = "caller_hangup"


@dataclass(frozen=True, slots=True)
class File:
    """A recorded prompt, by path relative to the prompt store."""

    path: str


@dataclass(frozen=True, slots=True)
class Tts:
    """Text to speak; variables are already substituted by the runner."""

    text: str
    voice: str = "zh"


Prompt = File | Tts


@dataclass(frozen=True, slots=True)
class Play:
    """Play the prompts in order, then report ``on_play_done(now, seq)``; digits may barge in.

    ``seq`` numbers the plays of a session so a late "done" of a stopped play is ignored.
    """

    prompts: tuple[Prompt, ...]
    interruptible: bool = True
    seq: int = 0


@dataclass(frozen=True, slots=True)
class StopPlay:
    """Stop the prompt now playing (a digit barged in); no ``on_play_done`` is expected."""


@dataclass(frozen=True, slots=True)
class CollectDigits:
    """The runner now waits for DTMF: the shell enables digit detection.

    The runner owns the timers itself (``next_deadline``); the fields are informative for the
    media layer (e.g. to stop detecting after ``max_length`` digits).
    """

    min_length: int
    max_length: int
    terminator: str | None
    timeout: float


@dataclass(frozen=True, slots=True)
class Lookup:
    """Look up business data; answer with ``on_lookup_result``."""

    kind: str
    key: str


@dataclass(frozen=True, slots=True)
class SetCategory:
    """The caller's business category (业务类别) is now known, e.g. for the agent screen pop."""

    category: str


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Terminal: hand the call to the ACD."""

    queue: str
    priority: int
    category: str | None
    vars: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Transfer:
    """Terminal: blind transfer to an extension or to an external number via a trunk."""

    kind: Literal["extension", "external"]
    target: str
    trunk: str | None = None


@dataclass(frozen=True, slots=True)
class Voicemail:
    """Terminal: let the caller leave a message in ``box``."""

    box: str


@dataclass(frozen=True, slots=True)
class ReceiveFax:
    """Terminal: switch the call to fax reception into ``box``."""

    box: str


@dataclass(frozen=True, slots=True)
class SendFax:
    """Terminal: fax-on-demand; send ``document`` to the caller."""

    document: str


@dataclass(frozen=True, slots=True)
class OfferCallback:
    """Terminal: the caller accepted a callback: create a callback task for ``number``."""

    queue: str
    number: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """Terminal: release the call. ``cause == CALLER_HANGUP`` means the caller already left."""

    cause: str = "normal"


@dataclass(frozen=True, slots=True)
class LookupFailed:
    """Input: the business lookup timed out or failed (the flow takes its fallback branch)."""

    reason: str = "error"


Terminal = Enqueue | Transfer | Voicemail | ReceiveFax | SendFax | OfferCallback | Hangup
TERMINAL_COMMANDS = (Enqueue, Transfer, Voicemail, ReceiveFax, SendFax, OfferCallback, Hangup)
Command = Play | StopPlay | CollectDigits | Lookup | SetCategory | Terminal
LookupResult = Mapping[str, object] | LookupFailed | None
