"""拦截 (intercept) at the ACD: a supervisor takes a caller that is ringing at agents.

The offers are withdrawn without counting a no-answer against the agents (they did nothing
wrong), and the caller leaves the queue as answered, by nobody the ACD routes to: the
supervisor's phone has it now. A call already up at an agent is taken with ``transfer`` (the
agent's wrap-up starts at the takeover).
"""

from __future__ import annotations

from callcenter.acd.direct import DirectCommands
from callcenter.acd.errors import UnknownCallError
from callcenter.acd.events import Output
from callcenter.acd.model import Outcome


class TakeoverCommands(DirectCommands):
    def intercept(self, call_id: str, now: float) -> list[Output]:
        """The caller leaves its queue (answered); ringing offers are withdrawn, not missed."""
        self._begin(now)
        entry = self._entries.get(call_id)
        if entry is None:
            raise UnknownCallError(f"call {call_id!r} is not in a queue")
        out = self._withdraw_all(entry, now, "intercepted", missed=False)
        out.append(self._end(entry, now, Outcome.ANSWERED, None))
        return self._finish(now, out)
