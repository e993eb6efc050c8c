"""The demo electricity flow, driven end to end through the pure runner (table-driven)."""

from __future__ import annotations

import pytest

from callcenter.ivr import (
    CALLER_HANGUP,
    CollectDigits,
    Command,
    Enqueue,
    Hangup,
    Lookup,
    Phase,
    Play,
    SetCategory,
    StopPlay,
    Voicemail,
)

from .driver import Driver, Step
from .helpers import demo

FOUND = {"name": "张三", "account_no": "100200300", "balance_fen": 12340}
BILLING = Enqueue("billing", 0, "billing", {})
REPAIR = Enqueue("repair", 5, "repair", {})


def _same_terminal(got: Command, want: Command) -> bool:
    if isinstance(want, Enqueue):
        return isinstance(got, Enqueue) and (got.queue, got.priority, got.category) == (
            want.queue,
            want.priority,
            want.category,
        )
    return got == want


@pytest.mark.parametrize(
    ("steps", "terminal", "path_end"),
    [
        ([("done",), ("digit", "2")], REPAIR, ["repair_category", "repair_queue"]),
        ([("digit", "2")], REPAIR, ["main_menu", "repair_category", "repair_queue"]),
        ([("done",), ("digit", "0")], BILLING, ["agent_category", "agent_queue"]),
        (
            [("done",), ("digit", "9"), ("done",)],
            Voicemail("general"),
            ["leave_message", "voicemail"],
        ),
        (
            [("done",), ("done",), ("timer",), ("done",), ("timer",), ("done",), ("timer",)],
            BILLING,
            ["main_menu", "agent_category", "agent_queue"],
        ),
        ([("done",), ("digit", "7"), ("digit", "8"), ("digit", "#")], BILLING, ["agent_queue"]),
        (
            [("done",), ("digit", "1"), ("digit", "*"), ("digit", "0")],
            BILLING,
            ["billing_menu", "main_menu", "agent_category", "agent_queue"],
        ),
        (
            [
                ("done",),
                ("digit", "1"),
                ("digit", "2"),
                ("found", FOUND),
                ("done",),
                ("digit", "0"),
            ],
            BILLING,
            ["lookup_by_phone", "say_balance", "after_balance", "agent_category", "agent_queue"],
        ),
        (
            [
                ("digit", "1"),
                ("digit", "2"),
                ("found", FOUND),
                ("done",),
                ("done",),
                ("timer",),
                ("done",),
                ("timer",),
                ("done",),
            ],
            Hangup("normal"),
            ["after_balance", "goodbye", "bye"],
        ),
        (
            [("digit", "1"), ("digit", "2"), ("failed",), ("done",)],
            BILLING,
            ["lookup_by_phone", "system_busy", "agent_category", "agent_queue"],
        ),
        (
            [("digit", "1"), ("digit", "2"), ("timer",), ("done",)],
            BILLING,
            ["lookup_by_phone", "system_busy", "agent_category", "agent_queue"],
        ),
        ([("done",), ("hangup",)], Hangup(CALLER_HANGUP), ["welcome", "main_menu"]),
        ([("hangup",)], Hangup(CALLER_HANGUP), ["welcome"]),
    ],
)
def test_demo_paths(steps: list[Step], terminal: Command, path_end: list[str]) -> None:
    d = Driver(demo()).run(steps)
    assert len(d.terminals()) == 1
    assert _same_terminal(d.terminals()[0], terminal), d.terminals()
    assert list(d.session.path[-len(path_end) :]) == path_end
    assert d.session.done and d.session.next_deadline() is None


def test_balance_by_account_number_is_spoken_in_yuan() -> None:
    d = Driver(demo()).run([("done",), ("digit", "1"), ("done",), ("digit", "1"), ("done",)])
    out = d.step("digits", "100200300#")
    assert out[-1] == Lookup("account", "100200300")
    assert d.session.phase is Phase.LOOKUP
    out = d.step("found", FOUND)
    assert isinstance(out[0], Play)
    assert d.spoken()[-1] == "张三您好，您的电费余额为123.40元。"
    assert d.session.vars["account"] == "100200300"
    assert d.session.vars["lookup_status"] == "found"


def test_unknown_account_is_read_back_digit_by_digit_and_asked_again() -> None:
    d = Driver(demo()).run([("digit", "1"), ("digit", "1"), ("done",), ("digits", "123456#")])
    d.step("missing")
    assert d.spoken()[-1] == "对不起，没有查询到户号1 2 3 4 5 6。"
    d.step("done")
    assert d.session.current == "ask_account"
    assert isinstance(d.log[-2], CollectDigits) and d.log[-2].terminator == "#"


def test_short_account_replays_invalid_prompt_then_fails_over_to_agent() -> None:
    d = Driver(demo()).run([("digit", "1"), ("digit", "1"), ("done",), ("digits", "12#")])
    assert d.spoken()[-2:] == ["对不起，户号输入有误。", "请输入您的户号，以井号键结束。"]
    d.run([("done",), ("digits", "1#"), ("done",), ("digits", "#")])
    terminal = d.terminals()[0]
    assert isinstance(terminal, Enqueue) and terminal.queue == "billing"


def test_enqueue_carries_variables_as_strings() -> None:
    d = Driver(demo(), vip=None, level=3).run(
        [("digit", "1"), ("digit", "2"), ("found", FOUND), ("digit", "0")]
    )
    terminal = d.terminals()[0]
    assert isinstance(terminal, Enqueue)
    assert terminal.vars["balance_fen"] == "12340"
    assert terminal.vars["level"] == "3"
    assert terminal.vars["caller"] == "13800000001"
    assert "vip" not in terminal.vars
    assert SetCategory("billing") in d.log


def test_digit_barges_into_welcome_and_counts_as_menu_choice() -> None:
    d = Driver(demo())
    out = d.step("digit", "2")
    assert out[0] == StopPlay()
    assert isinstance(out[-1], Enqueue)


def test_everything_after_the_end_is_ignored() -> None:
    d = Driver(demo()).run([("digit", "0")])
    s = d.session
    assert s.on_digit("1", 200) == []
    assert s.on_play_done(200) == []
    assert s.on_timer(10_000) == []
    assert s.on_lookup_result(FOUND, 200) == []
    assert s.on_hangup(200) == []
    assert s.start(200) == []
    assert len(d.terminals()) == 1


def test_after_hours_flow_leaves_a_message() -> None:
    d = Driver(demo("demo_after_hours")).run(
        [("done",), ("digit", "2"), ("found", FOUND), ("done",)]
    )
    assert "张三您好，您的电费余额为123.40元。" in d.spoken()
    assert d.spoken()[0].startswith("欢迎致电电力客服热线。现在是非工作时间")
    d.step("done")
    assert d.terminals() == [Voicemail("general")]


def test_balance_text_reads_as_mandarin_amount() -> None:
    textnorm = pytest.importorskip("callcenter.ivr.textnorm")
    d = Driver(demo()).run([("digit", "1"), ("digit", "2"), ("found", FOUND)])
    assert textnorm.normalize(d.spoken()[-1]) == "张三您好，您的电费余额为一百二十三元四角。"
