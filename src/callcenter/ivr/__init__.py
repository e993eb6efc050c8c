"""IVR flows as data and a pure runner that turns events into media commands.

Public API: ``load_flow_text`` / ``parse_flow`` build a validated immutable ``Flow``;
``FlowRegistry`` keeps its versions; ``IvrSession`` runs one call through one version and
returns the commands of ``ivr.commands``. No I/O happens in this package (see docs/ivr.md).
"""

from callcenter.ivr.commands import (
    CALLER_HANGUP,
    TERMINAL_COMMANDS,
    CollectDigits,
    Command,
    Enqueue,
    File,
    Hangup,
    Lookup,
    LookupFailed,
    LookupResult,
    OfferCallback,
    Play,
    Prompt,
    ReceiveFax,
    SendFax,
    SetCategory,
    StopPlay,
    Terminal,
    Transfer,
    Tts,
    Voicemail,
)
from callcenter.ivr.flow import FlowError, load_flow_text, parse_flow
from callcenter.ivr.nodes import Flow
from callcenter.ivr.registry import FlowRegistry, FlowVersionError
from callcenter.ivr.runner import IvrSession, Phase

__all__ = [
    "CALLER_HANGUP",
    "TERMINAL_COMMANDS",
    "CollectDigits",
    "Command",
    "Enqueue",
    "File",
    "Flow",
    "FlowError",
    "FlowRegistry",
    "FlowVersionError",
    "Hangup",
    "IvrSession",
    "Lookup",
    "LookupFailed",
    "LookupResult",
    "OfferCallback",
    "Phase",
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
    "load_flow_text",
    "parse_flow",
]
