"""Hypothesis over input sequences: the runner never raises, never emits a second terminal
command, ignores everything after it, and a final hang-up always leaves exactly one terminal."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.ivr import (
    TERMINAL_COMMANDS,
    Flow,
    FlowError,
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


def _node(draw: st.DrawFn, i: int, ids: list[str]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["play", "menu", "collect", "lookup", "branch", "set", "end"]))
    # Input nodes may point anywhere; others mostly forward, so most flows are loop-free.
    anywhere = kind in ("menu", "collect") or draw(st.integers(0, 4)) == 0
    target = st.sampled_from(ids if anywhere else ids[i + 1 :] or ids)
    node: dict[str, Any] = {"id": ids[i]}
    if kind == "play":
        node |= {"type": "play", "prompt": "p{x}", "interruptible": draw(st.booleans())}
        node["next"] = draw(target)
    elif kind == "menu":
        keys = draw(st.lists(st.sampled_from("0123456789*#"), min_size=1, max_size=4, unique=True))
        node |= {"type": "menu", "prompt": "m", "choices": {k: draw(target) for k in keys}}
        node |= {"tries": draw(st.integers(1, 3)), "timeout": 2}
        if draw(st.booleans()):
            node["on_failure"] = draw(target)
    elif kind == "collect":
        lo = draw(st.integers(1, 3))
        node |= {"type": "collect", "prompt": "c", "var": "x", "min_length": lo}
        node |= {"max_length": lo + draw(st.integers(0, 3)), "next": draw(target)}
        node["terminator"] = draw(st.sampled_from(["#", "*", "none"]))
    elif kind == "lookup":
        node |= {"type": "lookup", "kind": "k", "key": "{x}", "on_found": draw(target)}
        node |= {"on_not_found": draw(target), "on_error": draw(target)}
    elif kind == "branch":
        when = draw(st.sampled_from([{"var": "x", "op": "exists"}, {"caller_prefix": "138"}]))
        node |= {"type": "branch", "cases": [{"when": when, "next": draw(target)}]}
        node["else"] = draw(target)
    elif kind == "set":
        node |= {"type": "set", "vars": {"y": "{x}"}, "next": draw(target)}
    else:
        node |= draw(
            st.sampled_from(
                [
                    {"type": "hangup"},
                    {"type": "enqueue", "queue": "q"},
                    {"type": "voicemail"},
                    {"type": "transfer", "to": "extension", "target": "8001"},
                ]
            )
        )
    return node


@st.composite
def random_flow(draw: st.DrawFn) -> Flow | None:
    size = draw(st.integers(1, 8))
    ids = [f"n{i}" for i in range(size)]
    nodes = [_node(draw, i, ids) for i in range(size)]
    try:
        return flow(*nodes)
    except FlowError as exc:  # busy loops are refused by validation, by design
        assert all("cycle without caller input" in p for p in exc.problems), exc.problems
        return None


@settings(max_examples=300, deadline=None)
@given(random_flow(), st.lists(event, max_size=40))
def test_random_valid_flows_never_raise_and_end_once(
    generated: Flow | None, events: list[tuple[str, Any]]
) -> None:
    if generated is None:
        return
    now = 0.0
    session = IvrSession(generated, {"caller": "13800000001"}, now)
    commands = list(session.start(now))
    for kind, arg in events:
        now += 1.0
        if kind == "timer":
            deadline = session.next_deadline()
            now = now if deadline is None else max(now, deadline)
        commands += feed(session, kind, arg, now)
    commands += session.on_hangup(now + 1)
    terminals = [c for c in commands if isinstance(c, TERMINAL_COMMANDS)]
    assert len(terminals) == 1
    assert terminals[0] is commands[-1] is session.result
