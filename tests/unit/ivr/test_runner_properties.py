"""Hypothesis over input sequences: the runner never raises, never emits a second terminal
command, ignores everything after it, and a final hang-up always leaves exactly one terminal."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.ivr import (
    TERMINAL_COMMANDS,
    Flow,
    IvrSession,
    LookupFailed,
    Phase,
    Play,
    StopPlay,
)

from .helpers import QUEUE, collect, demo, flow, menu

FLOWS: list[Flow] = [
    demo("demo_main"),
    demo("demo_after_hours"),
    flow(
        {"id": "w", "type": "play", "prompt": "hi", "interruptible": True, "next": "c"},
        collect(next="l", on_failure="m", tries=3),
        {
            "id": "l",
            "type": "lookup",
            "kind": "account",
            "key": "{account}",
            "timeout": 2,
            "on_found": "m",
            "on_not_found": "c",
            "on_error": "bye",
        },
        menu(choices={"1": "q", "2": "c", "3": "w", "#": "bye"}, tries=1, on_failure="m"),
        QUEUE,
        {"id": "bye", "type": "hangup"},
    ),
]

event = st.one_of(
    st.tuples(st.just("digit"), st.sampled_from("0123456789*#")),
    st.tuples(st.just("done"), st.none()),
    st.tuples(st.just("stale_done"), st.integers(0, 5)),
    st.tuples(st.just("timer"), st.floats(0, 30)),
    st.tuples(st.just("lookup"), st.sampled_from(["found", "none", "failed"])),
    st.tuples(st.just("junk"), st.text(max_size=3)),
)

RESULTS: dict[str, Any] = {
    "found": {"name": "王五", "balance_fen": 1},
    "none": None,
    "failed": LookupFailed(),
}


def feed(s: IvrSession, kind: str, arg: Any, now: float) -> list[Any]:
    if kind == "digit":
        return s.on_digit(arg, now)
    if kind == "done":
        return s.on_play_done(now)
    if kind == "stale_done":
        return s.on_play_done(now, arg)
    if kind == "timer":
        return s.on_timer(now)
    if kind == "lookup":
        return s.on_lookup_result(RESULTS[arg], now)
    return s.on_digit(arg, now)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(len(FLOWS))), st.lists(event, max_size=60), st.booleans())
def test_any_input_sequence_ends_in_exactly_one_terminal(
    index: int, events: list[tuple[str, Any]], hang_up: bool
) -> None:
    now = 0.0
    session = IvrSession(FLOWS[index], {"caller": "13800000001"}, now)
    outputs = [session.start(now)]
    for kind, arg in events:
        now += 1.0
        if kind == "timer":  # jump to the armed deadline (or just past it), as a shell would
            deadline = session.next_deadline()
            now = now + arg if deadline is None else max(now, deadline + arg / 100)
        before, armed = session.done, session.next_deadline()
        out = feed(session, kind, arg, now)
        if before:
            assert out == []
        deadline = session.next_deadline()
        if deadline is not None and deadline != armed:  # a timer armed now lies in the future
            assert deadline > now
        assert session.done == (session.phase is Phase.DONE)
        outputs.append(out)
    if hang_up:
        outputs.append(session.on_hangup(now + 1))
    commands = [c for out in outputs for c in out]
    terminals = [c for c in commands if isinstance(c, TERMINAL_COMMANDS)]
    assert len(terminals) == (1 if session.done else 0)
    if hang_up:
        assert len(terminals) == 1
        assert commands[-1] is terminals[0] is session.result
    assert all(node in {n.id for n in session.flow.nodes} for node in session.path)
    plays = [c for c in commands if isinstance(c, Play)]
    assert [p.seq for p in plays] == list(range(1, len(plays) + 1))
    assert sum(isinstance(c, StopPlay) for c in commands) <= len(plays)
