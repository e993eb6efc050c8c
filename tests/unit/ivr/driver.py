"""A tiny test driver: feeds a script of inputs to an ``IvrSession`` on a fake timeline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from callcenter.ivr import (
    TERMINAL_COMMANDS,
    Command,
    Flow,
    IvrSession,
    LookupFailed,
    Play,
    Tts,
)

Step = tuple[Any, ...]


class Driver:
    """Runs a session; ``now`` moves one second per step, or to the deadline for ``timer``."""

    def __init__(
        self,
        flow: Flow,
        caller: str = "13800000001",
        wall_time: datetime | None = None,
        **call_vars: object,
    ) -> None:
        self.now = 100.0
        self.session = IvrSession(
            flow, {"caller": caller, "called": "95598", **call_vars}, self.now, wall_time
        )
        self.log: list[Command] = list(self.session.start(self.now))

    def step(self, kind: str, *args: Any) -> list[Command]:
        self.now += 1.0
        s = self.session
        if kind == "digit":
            out = s.on_digit(args[0], self.now)
        elif kind == "digits":
            out = [c for d in args[0] for c in s.on_digit(d, self.now)]
        elif kind == "done":
            out = s.on_play_done(self.now, *args)
        elif kind == "timer":
            deadline = s.next_deadline()
            self.now = deadline if deadline is not None else self.now
            out = s.on_timer(self.now)
        elif kind == "found":
            out = s.on_lookup_result(args[0], self.now)
        elif kind == "missing":
            out = s.on_lookup_result(None, self.now)
        elif kind == "failed":
            out = s.on_lookup_result(LookupFailed(), self.now)
        else:
            assert kind == "hangup"
            out = s.on_hangup(self.now)
        self.log.extend(out)
        return out

    def run(self, steps: Iterable[Step]) -> Driver:
        for step in steps:
            self.step(*step)
        return self

    def terminals(self) -> list[Command]:
        return [c for c in self.log if isinstance(c, TERMINAL_COMMANDS)]

    def spoken(self) -> list[str]:
        return [
            p.text for c in self.log if isinstance(c, Play) for p in c.prompts if isinstance(p, Tts)
        ]
