"""The IVR flow model: one frozen dataclass per node type, and the immutable ``Flow`` itself.

A flow is a named, versioned graph of nodes; every field is immutable (tuples, not lists or
dicts) so a session that started on a version keeps exactly that version however the flow is
edited afterwards. ``ivr.flow`` builds these from data and validates them; ``ivr.runner`` walks
them. Input nodes (``MenuNode``, ``CollectNode``) wait for the caller; ``PlayNode`` and
``LookupNode`` wait for the media layer or the business system; the rest act at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from callcenter.dialplan.hours import Schedule
from callcenter.ivr.template import Template

__all__ = [
    "AllOf",
    "AnyOf",
    "BranchCase",
    "BranchNode",
    "CallbackNode",
    "CallerPrefix",
    "CollectNode",
    "Condition",
    "EnqueueNode",
    "FaxNode",
    "Flow",
    "HangupNode",
    "LookupNode",
    "MenuNode",
    "Node",
    "Not",
    "PlayNode",
    "PromptSpec",
    "SetNode",
    "TimeOfDay",
    "TransferNode",
    "VarTest",
    "VoicemailNode",
]


@dataclass(frozen=True, slots=True)
class PromptSpec:
    """A prompt as written in the flow: a recorded file or a TTS template."""

    kind: Literal["file", "tts"]
    template: Template
    voice: str


# -- branch conditions ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VarTest:
    """``var <op> value``; ops: eq ne lt le gt ge in prefix exists empty."""

    var: str
    op: str
    value: object


@dataclass(frozen=True, slots=True)
class CallerPrefix:
    prefixes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TimeOfDay:
    schedule: Schedule


@dataclass(frozen=True, slots=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition


Condition = VarTest | CallerPrefix | TimeOfDay | AllOf | AnyOf | Not


# -- nodes ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlayNode:
    id: str
    prompts: tuple[PromptSpec, ...]
    next: str
    interruptible: bool = False


@dataclass(frozen=True, slots=True)
class MenuNode:
    """One digit chooses the next node; invalid or missing input is retried ``tries`` times."""

    id: str
    prompts: tuple[PromptSpec, ...]
    choices: tuple[tuple[str, str], ...]
    timeout: float
    tries: int
    invalid_prompts: tuple[PromptSpec, ...]
    timeout_prompts: tuple[PromptSpec, ...]
    on_failure: str | None

    def target(self, digit: str) -> str | None:
        return dict(self.choices).get(digit)


@dataclass(frozen=True, slots=True)
class CollectNode:
    """Collect ``min_length``..``max_length`` digits into ``var``; ``terminator`` ends early."""

    id: str
    prompts: tuple[PromptSpec, ...]
    var: str
    min_length: int
    max_length: int
    terminator: str | None
    timeout: float
    inter_digit_timeout: float
    tries: int
    invalid_prompts: tuple[PromptSpec, ...]
    timeout_prompts: tuple[PromptSpec, ...]
    next: str
    on_failure: str | None


@dataclass(frozen=True, slots=True)
class LookupNode:
    """Ask the business system; found / not found / failed (timeout, error) each have a next."""

    id: str
    kind: str
    key: Template
    into: str
    timeout: float
    on_found: str
    on_not_found: str
    on_error: str


@dataclass(frozen=True, slots=True)
class BranchCase:
    when: Condition
    next: str


@dataclass(frozen=True, slots=True)
class BranchNode:
    id: str
    cases: tuple[BranchCase, ...]
    otherwise: str


@dataclass(frozen=True, slots=True)
class SetNode:
    id: str
    assignments: tuple[tuple[str, Template], ...]
    category: str | None
    next: str


@dataclass(frozen=True, slots=True)
class EnqueueNode:
    id: str
    queue: str
    priority: int
    category: str | None


@dataclass(frozen=True, slots=True)
class TransferNode:
    id: str
    to: Literal["extension", "external"]
    target: Template
    trunk: str | None


@dataclass(frozen=True, slots=True)
class VoicemailNode:
    id: str
    box: Template


@dataclass(frozen=True, slots=True)
class FaxNode:
    id: str
    mode: Literal["receive", "send"]
    target: Template


@dataclass(frozen=True, slots=True)
class CallbackNode:
    id: str
    queue: str
    number: Template


@dataclass(frozen=True, slots=True)
class HangupNode:
    id: str
    cause: str


Node = (
    PlayNode
    | MenuNode
    | CollectNode
    | LookupNode
    | BranchNode
    | SetNode
    | EnqueueNode
    | TransferNode
    | VoicemailNode
    | FaxNode
    | CallbackNode
    | HangupNode
)


@dataclass(frozen=True, slots=True)
class Flow:
    """A validated, immutable flow version. ``digest`` fingerprints the source data."""

    name: str
    version: int
    start: str
    nodes: tuple[Node, ...]
    digest: str
    warnings: tuple[str, ...] = ()

    def node(self, node_id: str) -> Node:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    @property
    def label(self) -> str:
        return f"{self.name}@v{self.version}"
