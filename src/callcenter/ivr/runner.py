"""The pure IVR runner: one ``IvrSession`` per call walks one immutable flow version.

Theory of operation (sans-IO, like h11 and aioquic): the shell feeds inputs -- ``start``,
``on_digit``, ``on_play_done``, ``on_timer``, ``on_lookup_result``, ``on_hangup``, each with
``now`` (monotonic seconds) -- and carries out the commands returned (``ivr.commands``). The
session owns its timers: the shell arms one timer at ``next_deadline()`` and calls ``on_timer``
when it fires; an early or stale timer is harmless. Phases:

* ``PLAYING``   a play node's prompts are playing; ``on_play_done`` moves on. Digits barge in
  only on an interruptible play: the play stops and the digit is kept for the next input node.
* ``PROMPTING`` an input node (menu, collect) plays its prompt; a digit stops it and counts.
* ``WAITING``   the prompt is over and the input timer runs (first digit, then inter-digit).
* ``LOOKUP``    a business lookup is out; its result, or the node's own timeout, picks the exit.
* ``DONE``      exactly one terminal command was returned; every later input returns ``[]``.

Invalid input and timeouts replay the invalid/timeout prompt and the node's prompt, up to the
node's ``tries``; then ``on_failure`` (or a hang-up). ``path`` lists every node entered, for the
CDR. Hanging up returns ``Hangup(CALLER_HANGUP)`` as the terminal command.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from callcenter.ivr.commands import (
    CALLER_HANGUP,
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
from callcenter.ivr.conditions import evaluate
from callcenter.ivr.nodes import (
    BranchNode,
    CallbackNode,
    CollectNode,
    EnqueueNode,
    FaxNode,
    Flow,
    HangupNode,
    LookupNode,
    MenuNode,
    Node,
    PlayNode,
    PromptSpec,
    SetNode,
    TransferNode,
    VoicemailNode,
)

__all__ = ["DIGITS", "MAX_ENTRIES", "IvrSession", "Phase"]

DIGITS = "0123456789*#"
MAX_ENTRIES = 1000  # node entries per session: a guard against flows that loop on silence
_SCALARS = (str, int, float, bool)


class Phase(enum.Enum):
    NEW = "new"
    PLAYING = "playing"
    PROMPTING = "prompting"
    WAITING = "waiting"
    LOOKUP = "lookup"
    DONE = "done"


_Out = list[Command]


class IvrSession:
    """One caller in one flow version. ``call_vars`` usually holds ``caller`` and ``called``."""

    def __init__(
        self,
        flow: Flow,
        call_vars: Mapping[str, object],
        now: float,
        wall_time: datetime | None = None,
    ) -> None:
        self.flow = flow
        self.vars: dict[str, object] = dict(call_vars)
        self.caller = str(call_vars.get("caller", ""))
        self.result: Terminal | None = None
        self._path: list[str] = []
        self._started_at = now
        self._wall_time = wall_time
        self._phase = Phase.NEW
        self._node: Node | None = None
        self._deadline: float | None = None
        self._tries = 0
        self._digits = ""
        self._pending: deque[str] = deque()
        self._play_seq = 0
        self._enter_handlers: Mapping[type, Callable[[Node, float, _Out], str | None]] = {
            PlayNode: self._enter_play,
            MenuNode: self._enter_input,
            CollectNode: self._enter_input,
            LookupNode: self._enter_lookup,
            BranchNode: self._enter_branch,
            SetNode: self._enter_set,
        }

    # -- read-only view -------------------------------------------------------------------

    @property
    def path(self) -> tuple[str, ...]:
        """Node ids in the order they were entered (the CDR's IVR path)."""
        return tuple(self._path)

    @property
    def phase(self) -> Phase:
        return self._phase

    @property
    def done(self) -> bool:
        return self._phase is Phase.DONE

    @property
    def current(self) -> str | None:
        return None if self._node is None else self._node.id

    def next_deadline(self) -> float | None:
        """When ``on_timer`` should be called next, or None when no timer is needed."""
        return self._deadline

    # -- inputs ---------------------------------------------------------------------------

    def start(self, now: float) -> list[Command]:
        if self._phase is not Phase.NEW:
            return []
        out: _Out = []
        self._enter(self.flow.start, now, out)
        return out

    def on_digit(self, digit: str, now: float) -> list[Command]:
        """One DTMF key (``0-9 * #``); anything else is ignored."""
        if len(digit) != 1 or digit not in DIGITS:
            return []
        out: _Out = []
        if self._phase is Phase.PLAYING:
            assert isinstance(self._node, PlayNode)
            if self._node.interruptible:
                out.append(StopPlay())
                self._pending.append(digit)
                self._enter(self._node.next, now, out)
        elif self._phase in (Phase.PROMPTING, Phase.WAITING):
            self._pending.append(digit)
        self._drain(now, out)
        return out

    def on_play_done(self, now: float, seq: int | None = None) -> list[Command]:
        """The current Play finished; a ``seq`` of an older play is ignored."""
        if seq is not None and seq != self._play_seq:
            return []
        out: _Out = []
        if self._phase is Phase.PLAYING:
            assert isinstance(self._node, PlayNode)
            self._enter(self._node.next, now, out)
        elif self._phase is Phase.PROMPTING:
            assert isinstance(self._node, MenuNode | CollectNode)
            self._wait(self._node.timeout, now)
        self._drain(now, out)
        return out

    def on_timer(self, now: float) -> list[Command]:
        if self._deadline is None or now < self._deadline:
            return []
        self._deadline = None
        out: _Out = []
        node = self._node
        if self._phase is Phase.LOOKUP:
            assert isinstance(node, LookupNode)
            self._lookup_done(node, LookupFailed("timeout"), now, out)
        elif isinstance(node, MenuNode):
            self._retry(node, node.timeout_prompts, now, out)
        else:  # only lookups and input nodes arm a timer
            assert isinstance(node, CollectNode)
            self._collect_timeout(node, now, out)
        self._drain(now, out)
        return out

    def on_lookup_result(self, result: LookupResult, now: float) -> list[Command]:
        """A Mapping (found), None (not found) or ``LookupFailed``; late results are ignored."""
        if self._phase is not Phase.LOOKUP:
            return []
        assert isinstance(self._node, LookupNode)
        out: _Out = []
        self._lookup_done(self._node, result, now, out)
        self._drain(now, out)
        return out

    def on_hangup(self, now: float) -> list[Command]:
        """The caller hung up: the terminal command is ``Hangup(CALLER_HANGUP)``."""
        if self._phase is Phase.DONE:
            return []
        out: _Out = []
        self._finish(Hangup(CALLER_HANGUP), out)
        return out

    # -- moving between nodes -------------------------------------------------------------

    def _enter(self, node_id: str, now: float, out: _Out) -> None:
        target: str | None = node_id
        while target is not None:
            if len(self._path) >= MAX_ENTRIES:
                self._finish(Hangup("ivr_loop"), out)
                return
            node = self.flow.node(target)
            self._path.append(node.id)
            self._node = node
            self._deadline = None
            handler = self._enter_handlers.get(type(node))
            if handler is None:
                self._finish(self._terminal(node), out)
                return
            target = handler(node, now, out)

    def _enter_play(self, node: Node, now: float, out: _Out) -> str | None:
        assert isinstance(node, PlayNode)
        self._phase = Phase.PLAYING
        out.append(self._play(node.prompts, node.interruptible))
        return None

    def _enter_input(self, node: Node, now: float, out: _Out) -> str | None:
        assert isinstance(node, MenuNode | CollectNode)
        self._tries = 0
        self._digits = ""
        if isinstance(node, MenuNode):
            out.append(CollectDigits(1, 1, None, node.timeout))
        else:
            out.append(
                CollectDigits(node.min_length, node.max_length, node.terminator, node.timeout)
            )
        if self._pending:
            self._wait(node.timeout, now)  # type-ahead: the caller already answered
        else:
            self._phase = Phase.PROMPTING
            out.append(self._play(node.prompts, True))
        return None

    def _enter_lookup(self, node: Node, now: float, out: _Out) -> str | None:
        assert isinstance(node, LookupNode)
        self._phase = Phase.LOOKUP
        self._deadline = now + node.timeout
        out.append(Lookup(node.kind, node.key.render(self.vars)))
        return None

    def _enter_branch(self, node: Node, now: float, out: _Out) -> str | None:
        assert isinstance(node, BranchNode)
        when = self._wall_time
        if when is not None:
            when = when + timedelta(seconds=now - self._started_at)
        for case in node.cases:
            if evaluate(case.when, self.vars, self.caller, when):
                return case.next
        return node.otherwise

    def _enter_set(self, node: Node, now: float, out: _Out) -> str | None:
        assert isinstance(node, SetNode)
        for name, template in node.assignments:
            self.vars[name] = template.render(self.vars)
        if node.category is not None:
            self.vars["category"] = node.category
            out.append(SetCategory(node.category))
        return node.next

    def _terminal(self, node: Node) -> Terminal:
        if isinstance(node, EnqueueNode):
            category = node.category or self._text_var("category")
            return Enqueue(node.queue, node.priority, category, self._export_vars())
        if isinstance(node, TransferNode):
            return Transfer(node.to, node.target.render(self.vars), node.trunk)
        if isinstance(node, VoicemailNode):
            return Voicemail(node.box.render(self.vars))
        if isinstance(node, FaxNode):
            target = node.target.render(self.vars)
            return ReceiveFax(target) if node.mode == "receive" else SendFax(target)
        if isinstance(node, CallbackNode):
            return OfferCallback(node.queue, node.number.render(self.vars))
        assert isinstance(node, HangupNode)
        return Hangup(node.cause)

    def _finish(self, command: Terminal, out: _Out) -> None:
        self._phase = Phase.DONE
        self._deadline = None
        self._pending.clear()
        self.result = command
        out.append(command)

    # -- input nodes ----------------------------------------------------------------------

    def _drain(self, now: float, out: _Out) -> None:
        while self._pending and self._phase in (Phase.PROMPTING, Phase.WAITING):
            digit = self._pending.popleft()
            if self._phase is Phase.PROMPTING:
                out.append(StopPlay())
                self._phase = Phase.WAITING
            node = self._node
            if isinstance(node, MenuNode):
                self._menu_digit(node, digit, now, out)
            else:
                assert isinstance(node, CollectNode)
                self._collect_digit(node, digit, now, out)
        if self._phase not in (Phase.PROMPTING, Phase.WAITING):
            self._pending.clear()

    def _wait(self, seconds: float, now: float) -> None:
        self._phase = Phase.WAITING
        self._deadline = now + seconds

    def _menu_digit(self, node: MenuNode, digit: str, now: float, out: _Out) -> None:
        target = node.target(digit)
        if target is None:
            self._retry(node, node.invalid_prompts, now, out)
        else:
            self._enter(target, now, out)

    def _collect_digit(self, node: CollectNode, digit: str, now: float, out: _Out) -> None:
        if digit == node.terminator:
            if len(self._digits) >= node.min_length:
                self._collected(node, now, out)
            else:
                self._retry(node, node.invalid_prompts, now, out)
        elif digit.isdigit():
            self._digits += digit
            if len(self._digits) >= node.max_length:
                self._collected(node, now, out)
            else:
                self._wait(node.inter_digit_timeout, now)
        else:
            self._retry(node, node.invalid_prompts, now, out)

    def _collect_timeout(self, node: CollectNode, now: float, out: _Out) -> None:
        if self._digits and len(self._digits) >= node.min_length:
            self._collected(node, now, out)
        elif self._digits:
            self._retry(node, node.invalid_prompts, now, out)
        else:
            self._retry(node, node.timeout_prompts, now, out)

    def _collected(self, node: CollectNode, now: float, out: _Out) -> None:
        self.vars[node.var] = self._digits
        self._digits = ""
        self._enter(node.next, now, out)

    def _retry(
        self, node: MenuNode | CollectNode, notice: tuple[PromptSpec, ...], now: float, out: _Out
    ) -> None:
        self._tries += 1
        self._digits = ""
        self._pending.clear()
        if self._tries < node.tries:
            self._phase = Phase.PROMPTING
            self._deadline = None
            out.append(self._play(notice + node.prompts, True))
        elif node.on_failure is not None:
            self._enter(node.on_failure, now, out)
        else:
            self._finish(Hangup("no_valid_input"), out)

    # -- lookups --------------------------------------------------------------------------

    def _lookup_done(self, node: LookupNode, result: LookupResult, now: float, out: _Out) -> None:
        self._deadline = None
        if isinstance(result, LookupFailed):
            self.vars["lookup_status"] = "failed"
            self.vars["lookup_error"] = result.reason
            self._enter(node.on_error, now, out)
        elif result is None:
            self.vars["lookup_status"] = "not_found"
            self._enter(node.on_not_found, now, out)
        else:
            self.vars["lookup_status"] = "found"
            for key, value in result.items():
                if value is None or isinstance(value, _SCALARS):
                    self.vars[f"{node.into}{key}"] = value
                else:
                    self.vars[f"{node.into}{key}"] = str(value)
            self._enter(node.on_found, now, out)

    # -- helpers --------------------------------------------------------------------------

    def _play(self, specs: tuple[PromptSpec, ...], interruptible: bool) -> Play:
        self._play_seq += 1
        prompts: list[Prompt] = []
        for spec in specs:
            text = spec.template.render(self.vars)
            prompts.append(File(text) if spec.kind == "file" else Tts(text, spec.voice))
        return Play(tuple(prompts), interruptible, self._play_seq)

    def _text_var(self, name: str) -> str | None:
        value = self.vars.get(name)
        return None if value is None or value == "" else str(value)

    def _export_vars(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.vars.items() if v is not None}
