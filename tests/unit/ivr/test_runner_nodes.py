"""Each node type and each timer/digit rule of the runner, on small flows written as data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from callcenter.ivr import (
    CollectDigits,
    Enqueue,
    File,
    Hangup,
    LookupFailed,
    OfferCallback,
    Phase,
    Play,
    ReceiveFax,
    SendFax,
    SetCategory,
    StopPlay,
    Transfer,
    Tts,
    Voicemail,
)
from callcenter.ivr.runner import MAX_ENTRIES

from .driver import Driver
from .helpers import QUEUE, collect, flow, menu


def terminal_of(node: dict[str, Any], **call_vars: object) -> object:
    d = Driver(flow(node), **call_vars)
    return d.terminals()[0]


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (
            {"id": "t", "type": "transfer", "to": "extension", "target": "8001"},
            Transfer("extension", "8001"),
        ),
        (
            {"id": "t", "type": "transfer", "to": "external", "target": "0{called}", "trunk": "ct"},
            Transfer("external", "095598", "ct"),
        ),
        ({"id": "v", "type": "voicemail"}, Voicemail("general")),
        ({"id": "v", "type": "voicemail", "box": "q-{called}"}, Voicemail("q-95598")),
        ({"id": "f", "type": "fax"}, ReceiveFax("fax")),
        (
            {"id": "f", "type": "fax", "mode": "send", "document": "docs/{called}.tif"},
            SendFax("docs/95598.tif"),
        ),
        (
            {"id": "cb", "type": "callback", "queue": "billing"},
            OfferCallback("billing", "13800000001"),
        ),
        ({"id": "h", "type": "hangup"}, Hangup("normal")),
        ({"id": "h", "type": "hangup", "cause": "busy"}, Hangup("busy")),
    ],
)
def test_terminal_nodes(node: dict[str, Any], expected: object) -> None:
    assert terminal_of(node) == expected


def test_play_prompts_files_and_voices_in_order() -> None:
    f = flow(
        {
            "id": "p",
            "type": "play",
            "prompt": [{"file": "prompts/{called}.wav"}, {"tts": "hello", "voice": "en"}, "你好"],
            "next": "q",
        },
        QUEUE,
        voice="zh-yue",
    )
    d = Driver(f)
    assert d.log == [
        Play((File("prompts/95598.wav"), Tts("hello", "en"), Tts("你好", "zh-yue")), False, 1)
    ]
    assert d.step("digit", "1") == []  # not interruptible: the digit is dropped
    assert d.session.phase is Phase.PLAYING
    assert isinstance(d.step("done")[0], Enqueue)


def test_stale_play_done_is_ignored() -> None:
    d = Driver(flow(menu(), QUEUE)).run([("digit", "5")])  # invalid -> replay (seq 2)
    assert d.session.phase is Phase.PROMPTING
    assert d.step("done", 1) == []
    assert d.session.phase is Phase.PROMPTING
    d.step("done", 2)
    assert d.session.phase is Phase.WAITING


def test_menu_timer_only_fires_at_its_deadline() -> None:
    d = Driver(flow(menu(timeout=5), QUEUE))
    assert d.session.next_deadline() is None
    d.step("done")
    deadline = d.session.next_deadline()
    assert deadline == d.now + 5
    assert d.session.on_timer(deadline - 0.01) == []
    out = d.session.on_timer(deadline)
    assert out == [Play((Tts("超时"), Tts("按1")), True, 2)]


def test_menu_without_on_failure_hangs_up() -> None:
    d = Driver(flow(menu(tries=2), QUEUE)).run([("digit", "9"), ("digit", "8")])
    assert d.terminals() == [Hangup("no_valid_input")]


def test_menu_digit_during_prompt_stops_the_prompt() -> None:
    d = Driver(flow(menu(), QUEUE))
    assert d.log[0] == CollectDigits(1, 1, None, 5.0)
    out = d.step("digit", "1")
    assert out[0] == StopPlay()
    assert isinstance(out[1], Enqueue)


def test_non_dtmf_input_is_ignored() -> None:
    d = Driver(flow(menu(), QUEUE))
    assert d.step("digit", "A") == []
    assert d.step("digit", "12") == []
    assert d.session.phase is Phase.PROMPTING


@pytest.mark.parametrize(
    ("digits", "timers", "account", "invalid"),
    [
        ("123#", 0, "123", 0),
        ("123456", 0, "123456", 0),  # max_length ends the entry without '#'
        ("1234", 1, "1234", 0),  # inter-digit timeout with enough digits completes
        ("12#123#", 0, "123", 1),  # too short: invalid, then ok
        ("12*", 0, None, 0),  # '*' is invalid, then...
        ("#123#", 0, "123", 1),
    ],
)
def test_collect_rules(digits: str, timers: int, account: str | None, invalid: int) -> None:
    d = Driver(flow(collect(), QUEUE))
    d.step("done")
    for digit in digits:
        d.step("digit", digit)
    for _ in range(timers):
        d.step("timer")
    assert d.session.vars.get("account") == account
    assert d.spoken().count("有误") == invalid + (1 if digits == "12*" else 0)


def test_collect_timers_first_digit_then_inter_digit() -> None:
    d = Driver(flow(collect(), QUEUE))
    d.step("done")
    assert d.session.next_deadline() == d.now + 10
    d.step("digit", "1")
    assert d.session.next_deadline() == d.now + 4
    d.step("timer")  # 1 digit < min_length 3: invalid
    assert d.spoken()[-2] == "有误"
    d.step("done")
    d.step("timer")  # no digit at all: the timeout prompt (none set) and the prompt again
    assert d.terminals() == [Hangup("no_valid_input")]


def test_collect_timeout_prompt_is_used_when_nothing_was_typed() -> None:
    d = Driver(flow(collect(timeout_prompt="请输入", tries=3), QUEUE)).run([("done",), ("timer",)])
    assert d.spoken()[-2:] == ["请输入", "请输入户号"]


def test_type_ahead_into_next_input_node() -> None:
    f = flow(
        {"id": "w", "type": "play", "prompt": "welcome", "interruptible": True, "next": "c"},
        collect(next="q", min_length=1, max_length=1),
        QUEUE,
    )
    d = Driver(f)
    out = d.step("digit", "7")
    assert out[0] == StopPlay()
    assert not any(isinstance(c, Play) for c in out)
    assert d.session.vars["account"] == "7"


def test_lookup_result_fields_go_into_variables_with_prefix() -> None:
    f = flow(
        {
            "id": "l",
            "type": "lookup",
            "kind": "phone",
            "key": "{caller}",
            "into": "cust_",
            "on_found": "p",
            "on_not_found": "q",
            "on_error": "q",
        },
        {
            "id": "p",
            "type": "play",
            "prompt": "{cust_name} {cust_debt_yuan} {cust_tags}",
            "next": "q",
        },
        QUEUE,
    )
    d = Driver(f)
    d.step("found", {"name": "李四", "debt_fen": "-150", "tags": ["a", "b"], "gone": None})
    assert d.spoken() == ["李四 -1.50 ['a', 'b']"]
    assert d.session.vars["cust_gone"] is None


def test_late_lookup_result_after_timeout_is_ignored() -> None:
    f = flow(
        {
            "id": "l",
            "type": "lookup",
            "kind": "k",
            "key": "x",
            "timeout": 2,
            "on_found": "q",
            "on_not_found": "q",
            "on_error": "bye",
        },
        QUEUE,
        {"id": "bye", "type": "hangup", "cause": "lookup_failed"},
    )
    d = Driver(f)
    assert d.session.next_deadline() == d.now + 2
    d.step("timer")
    assert d.session.vars["lookup_error"] == "timeout"
    assert d.session.on_lookup_result({"a": 1}, d.now + 1) == []
    assert d.terminals() == [Hangup("lookup_failed")]


def test_lookup_failure_reason_is_kept() -> None:
    f = flow(
        {
            "id": "l",
            "type": "lookup",
            "kind": "k",
            "key": "x",
            "on_found": "q",
            "on_not_found": "q",
            "on_error": "q",
        },
        QUEUE,
    )
    d = Driver(f)
    d.session.on_lookup_result(LookupFailed("http 500"), d.now)
    assert d.session.vars["lookup_error"] == "http 500"


def test_set_node_assigns_templates_and_category() -> None:
    f = flow(
        {
            "id": "s",
            "type": "set",
            "vars": {"greeting": "hi {caller}", "n": 5},
            "category": "vip",
            "next": "q",
        },
        {"id": "q", "type": "enqueue", "queue": "billing", "priority": 7},
    )
    d = Driver(f)
    assert d.log[0] == SetCategory("vip")
    terminal = d.terminals()[0]
    assert isinstance(terminal, Enqueue)
    assert (terminal.priority, terminal.category) == (7, "vip")
    assert terminal.vars["greeting"] == "hi 13800000001"
    assert terminal.vars["n"] == "5"


def test_enqueue_node_category_wins_and_missing_category_is_none() -> None:
    f = flow({"id": "q", "type": "enqueue", "queue": "b", "category": "repair"})
    assert Driver(f, category="x").terminals()[0].category == "repair"  # type: ignore[union-attr]
    g = flow({"id": "q", "type": "enqueue", "queue": "b"})
    assert Driver(g).terminals()[0].category is None  # type: ignore[union-attr]


BRANCH_CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"var": "x", "value": 5}, {"x": "5"}, True),
    ({"var": "x", "value": 5}, {"x": "5.0"}, True),
    ({"var": "x", "op": "ne", "value": "a"}, {"x": "b"}, True),
    ({"var": "x", "op": "lt", "value": 0}, {"x": -1}, True),
    ({"var": "x", "op": "lt", "value": 0}, {"x": 10}, False),
    ({"var": "x", "op": "le", "value": 10}, {"x": 10}, True),
    ({"var": "x", "op": "gt", "value": 9}, {"x": 10}, True),
    ({"var": "x", "op": "ge", "value": 11}, {"x": 10}, False),
    ({"var": "x", "op": "lt", "value": "b"}, {"x": "a"}, True),
    ({"var": "x", "op": "lt", "value": 1}, {"x": "abc"}, False),
    ({"var": "x", "op": "in", "value": [1, 2]}, {"x": 2}, True),
    ({"var": "x", "op": "in", "value": [1, 2]}, {"x": 3}, False),
    ({"var": "x", "op": "prefix", "value": "13"}, {"x": "13900"}, True),
    ({"var": "x", "op": "exists"}, {"x": ""}, False),
    ({"var": "x", "op": "exists"}, {"x": 0}, True),
    ({"var": "x", "op": "empty"}, {}, True),
    ({"var": "x", "value": 1}, {}, False),
    ({"var": "x", "value": True}, {"x": True}, True),
    ({"caller_prefix": ["139", "138"]}, {}, True),
    ({"caller_prefix": "021"}, {}, False),
    ({"not": {"caller_prefix": "021"}}, {}, True),
    ({"all": [{"caller_prefix": "138"}, {"var": "x", "value": 1}]}, {"x": 1}, True),
    ({"all": [{"caller_prefix": "138"}, {"var": "x", "value": 1}]}, {"x": 2}, False),
    ({"any": [{"caller_prefix": "021"}, {"var": "x", "value": 1}]}, {"x": 1}, True),
    ({"any": [{"caller_prefix": "021"}, {"var": "x", "value": 1}]}, {}, False),
]


@pytest.mark.parametrize(("when", "call_vars", "taken"), BRANCH_CASES)
def test_branch_conditions(when: dict[str, Any], call_vars: dict[str, Any], taken: bool) -> None:
    f = flow(
        {"id": "b", "type": "branch", "cases": [{"when": when, "next": "yes"}], "else": "no"},
        {"id": "yes", "type": "hangup", "cause": "yes"},
        {"id": "no", "type": "hangup", "cause": "no"},
    )
    d = Driver(f, caller="13800000001", **call_vars)
    assert d.terminals() == [Hangup("yes" if taken else "no")]
    assert d.session.path == ("b", "yes" if taken else "no")


@pytest.mark.parametrize(
    ("wall", "elapsed", "taken"),
    [
        (datetime(2025, 3, 3, 1, 30, tzinfo=UTC), 0, True),  # Monday 09:30 in Shanghai
        (datetime(2025, 3, 3, 0, 30, tzinfo=UTC), 0, False),  # 08:30 Shanghai, window opens 09:00
        (datetime(2025, 3, 3, 0, 59, tzinfo=UTC), 120, True),  # the call has been in the IVR 2 min
        (datetime(2025, 3, 8, 1, 30, tzinfo=UTC), 0, False),  # Saturday
        (None, 0, False),  # no wall-clock time: time conditions are false
    ],
)
def test_branch_on_time_of_day(wall: datetime | None, elapsed: float, taken: bool) -> None:
    f = flow(
        menu("m", choices={"1": "b"}),
        {
            "id": "b",
            "type": "branch",
            "cases": [
                {
                    "when": {"time": {"days": "mon-fri", "from": "09:00", "to": "17:00"}},
                    "next": "yes",
                }
            ],
            "else": "no",
        },
        {"id": "yes", "type": "hangup", "cause": "yes"},
        {"id": "no", "type": "hangup", "cause": "no"},
        tz="Asia/Shanghai",
    )
    d = Driver(f, wall_time=wall)
    d.session.on_digit("1", d.now + elapsed)
    assert d.session.result == Hangup("yes" if taken else "no")


def test_time_condition_with_window_list_and_own_zone() -> None:
    f = flow(
        {
            "id": "b",
            "type": "branch",
            "cases": [
                {
                    "when": {"time": {"tz": "Europe/London", "windows": [{"days": "sat,sun"}]}},
                    "next": "yes",
                }
            ],
            "else": "no",
        },
        {"id": "yes", "type": "hangup", "cause": "yes"},
        {"id": "no", "type": "hangup", "cause": "no"},
    )
    sunday_night_london = datetime(2025, 3, 9, 23, 30, tzinfo=UTC)  # Monday in Shanghai
    assert Driver(f, wall_time=sunday_night_london).terminals() == [Hangup("yes")]


def test_loop_guard_ends_a_session_that_loops_on_silence() -> None:
    f = flow(menu(tries=1, on_failure="m"), QUEUE)
    d = Driver(f)
    for _ in range(MAX_ENTRIES + 5):
        d.step("done")
        d.step("timer")
        if d.session.done:
            break
    assert d.terminals() == [Hangup("ivr_loop")]
    assert len(d.session.path) == MAX_ENTRIES
