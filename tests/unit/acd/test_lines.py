"""Waiting lines (state.Line) against a brute-force model: the first live caller, always.

A line is a sorted list read from a moving start; callers leave lazily (their token changes)
and come back to their old place. Random pushes, departures and returns are checked against
the minimum of the live items, through compactions of the gone items at the front.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.acd.model import QueueConfig
from callcenter.acd.state import Entry, Line, QueueState
from callcenter.acd.strategies import RANKINGS

# an operation on caller n: ("push", n) arrives or comes back, ("leave", n) leaves, ("first",)
ops_st = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.integers(0, 79)),
        st.tuples(st.just("leave"), st.integers(0, 79)),
        st.tuples(st.just("first"), st.just(0)),
        st.tuples(st.just("compact"), st.just(0)),
    ),
    max_size=300,
)


@settings(max_examples=300)
@given(ops=ops_st)
def test_line_first_is_the_earliest_live_caller(ops: list[tuple[str, int]]) -> None:
    line = Line()
    # caller n arrives at time n // 2 (two per instant: the sequence number breaks the tie)
    entries = [Entry(f"c{n}", "q", 0, "", float(n // 2), n) for n in range(80)]
    for entry in entries:
        entry.heap_token = -1
    token = 0
    for op, n in ops:
        entry = entries[n]
        if op == "push" and entry.heap_token == -1:
            token += 1
            entry.heap_token = token
            line.push((entry.enqueued_at, entry.seq, token, entry))
        elif op == "leave":
            entry.heap_token = -1
        elif op == "compact":
            line.compact()
            assert [item[3] for item in line.items] == sorted(
                (e for e in entries if e.heap_token != -1), key=lambda e: (e.enqueued_at, e.seq)
            )
        live = [e for e in entries if e.heap_token != -1]
        expected = min(live, key=lambda e: (e.enqueued_at, e.seq), default=None)
        assert line.first() is expected
        assert line.start <= len(line.items)


def test_line_compacts_the_gone_callers_at_its_front() -> None:
    line = Line()
    entries = [Entry(f"c{n}", "q", 0, "", float(n), n) for n in range(100)]
    for n, entry in enumerate(entries):
        entry.heap_token = n
        line.push((entry.enqueued_at, n, n, entry))
    for entry in entries[:90]:
        entry.heap_token = -1  # served: gone from the line
        line.first()
    assert line.first() is entries[90]
    assert len(line.items) < 50  # the gone items were dropped, not kept behind the start
    for entry in entries[90:]:
        entry.heap_token = -1
    assert line.first() is None
    assert line.items == []


def test_a_queue_line_nobody_reads_stays_short() -> None:
    """Callers offered as they arrive leave gone items that no first() drops: the queue compacts
    the line when they outnumber the callers still in it."""
    config = QueueConfig("q")
    queue = QueueState(config, RANKINGS[config.strategy])
    staying = Entry("stay", "q", 0, "", 0.0, 0)
    queue.add(staying, 1)
    for n in range(1, 500):
        entry = Entry(f"c{n}", "q", 0, "", float(n), n)
        queue.add(entry, n + 1)
        queue.leave(entry)  # offered at once: out of the line, still counted until it ends
        queue.discard(entry)
    line = queue.buckets[0]
    assert len(line.items) - line.start <= 2 * 1 + 32 + 1
    assert line.first() is staying
