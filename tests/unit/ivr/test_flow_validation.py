"""Flow validation: every problem is reported, each naming its node; good flows load."""

from __future__ import annotations

import json
from typing import Any

import pytest

from callcenter.ivr import FlowError, load_flow_text, parse_flow
from callcenter.ivr.flow import MAX_NODES
from callcenter.ivr.nodes import CollectNode, MenuNode

from .helpers import BYE, QUEUE, collect, demo, flow, menu


def problems(*nodes: dict[str, Any], **header: Any) -> tuple[str, ...]:
    with pytest.raises(FlowError) as info:
        flow(*nodes, **header)
    return info.value.problems


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"id": "p", "type": "play", "next": "q"}, "node 'p': missing prompt 'prompt'"),
        ({"id": "p", "type": "play", "prompt": [], "next": "q"}, "node 'p': missing prompt"),
        ({"id": "p", "type": "play", "prompt": "hi"}, "node 'p': missing 'next'"),
        (
            {"id": "p", "type": "play", "prompt": "hi", "next": "nowhere"},
            "node 'p': next -> 'nowhere' is not a node",
        ),
        (
            {"id": "p", "type": "play", "prompt": {"mp3": "x"}, "next": "q"},
            "node 'p': 'prompt': a prompt is",
        ),
        (
            {"id": "p", "type": "play", "prompt": "{bad name}", "next": "q"},
            "node 'p': 'prompt': bad variable name",
        ),
        (
            {"id": "p", "type": "play", "prompt": "{x|shout}", "next": "q"},
            "node 'p': 'prompt': unknown filter",
        ),
        (
            {"id": "p", "type": "play", "prompt": "a } b", "next": "q"},
            "node 'p': 'prompt': unmatched",
        ),
        (
            {"id": "p", "type": "play", "prompt": "hi", "next": "q", "colour": 1},
            "node 'p': unknown field(s): colour",
        ),
        (
            {"id": "p", "type": "play", "prompt": "hi", "next": "q", "interruptible": "yes"},
            "node 'p': 'interruptible' must be true or false",
        ),
        ({"id": "p", "type": "dance"}, "node 'p': unknown type 'dance'"),
        (
            {"id": "p", "type": "play", "prompt": {"file": " "}, "next": "q"},
            "node 'p': 'prompt': a prompt is",
        ),
        (
            {"id": "p", "type": "play", "prompt": {"tts": "x", "file": "y"}, "next": "q"},
            "node 'p': 'prompt': a prompt is",
        ),
        ({"id": "t", "type": "transfer", "target": "8001"}, "node 't': missing 'to'"),
        (
            {
                "id": "b",
                "type": "branch",
                "cases": [{"when": {"time": {"days": "mon", "to": "6pm"}}, "next": "q"}],
                "else": "q",
            },
            "node 'b': time condition: bad time '6pm', expected HH:MM",
        ),
        (menu(choices={"12": "q"}), "node 'm': bad digit key '12'"),
        (menu(choices={"a": "q"}), "node 'm': bad digit key 'a'"),
        (menu(choices={"1": ""}), "node 'm': choice '1' must name a node"),
        (menu(choices=[]), "node 'm': 'choices' must map digits to node ids"),
        (menu(choices={"1": "gone"}), "node 'm': choices.1 -> 'gone' is not a node"),
        (menu(timeout=0), "node 'm': 'timeout' must be a number from 0.5 to 120"),
        (menu(tries=0), "node 'm': 'tries' must be an integer from 1 to 10"),
        (menu(tries=True), "node 'm': 'tries' must be an integer"),
        (menu(on_failure="gone"), "node 'm': on_failure -> 'gone' is not a node"),
        (collect(min_length=7), "node 'c': min_length 7 is above max_length 6"),
        (collect(terminator="5"), "node 'c': 'terminator' must be '#', '*' or 'none'"),
        (collect(var="1abc"), "node 'c': 'var': bad variable name '1abc'"),
        (collect(var=None), "node 'c': missing 'var'"),
        (collect(var=""), "node 'c': 'var' must be a non-empty string"),
        (
            {
                "id": "l",
                "type": "lookup",
                "kind": "account",
                "key": "{account}",
                "on_found": "q",
                "on_not_found": "q",
            },
            "node 'l': missing 'on_error'",
        ),
        (
            {"id": "b", "type": "branch", "cases": [], "else": "q"},
            "node 'b': 'cases' must be a non-empty list",
        ),
        (
            {"id": "b", "type": "branch", "cases": [{"when": {}, "next": "q"}], "else": "q"},
            "node 'b': a condition must be a mapping",
        ),
        (
            {
                "id": "b",
                "type": "branch",
                "cases": [{"when": {"var": "x", "op": "like", "value": 1}, "next": "q"}],
                "else": "q",
            },
            "node 'b': unknown condition op 'like'",
        ),
        (
            {
                "id": "b",
                "type": "branch",
                "cases": [{"when": {"var": "x", "op": "in", "value": 1}, "next": "q"}],
                "else": "q",
            },
            "node 'b': condition op 'in' needs a list",
        ),
        (
            {
                "id": "b",
                "type": "branch",
                "cases": [{"when": {"var": "x", "op": "lt"}, "next": "q"}],
                "else": "q",
            },
            "node 'b': condition op 'lt' needs a 'value'",
        ),
        (
            {
                "id": "b",
                "type": "branch",
                "cases": [{"when": {"var": "x", "colour": 1}, "next": "q"}],
                "else": "q",
            },
            "node 'b': unknown key(s) in condition: colour",
        ),
        (
            {
                "id": "b",
                "type": "branch",
                "cases": [{"when": {"moon": "full"}, "next": "q"}],
                "else": "q",
            },
            "node 'b': a condition is one of var",
        ),
        (
            {
                "id": "b",
                "type": "branch",
                "cases": [{"when": {"all": []}, "next": "q"}],
                "else": "q",
            },
            "node 'b': 'all' / 'any' need a non-empty list",
        ),
        (
            {
                "id": "b",
                "type": "branch",
                "cases": [{"when": {"time": {"days": "mon-fri", "from": "25:00"}}, "next": "q"}],
                "else": "q",
            },
            "node 'b': time condition: bad time '25:00'",
        ),
        (
            {
                "id": "b",
                "type": "branch",
                "cases": [{"when": {"time": {"days": "xyz"}}, "next": "q"}],
                "else": "q",
            },
            "node 'b': time condition: bad day 'xyz'",
        ),
        (
            {
                "id": "b",
                "type": "branch",
                "cases": [{"when": {"time": {"tz": "Mars/Base", "days": "mon"}}, "next": "q"}],
                "else": "q",
            },
            "node 'b': time condition: unknown time zone 'Mars/Base'",
        ),
        (
            {
                "id": "b",
                "type": "branch",
                "cases": [{"when": {"time": "9-5"}, "next": "q"}],
                "else": "q",
            },
            "node 'b': time condition must be a mapping",
        ),
        (
            {
                "id": "b",
                "type": "branch",
                "cases": [{"when": {"time": {"windows": [], "tz": "UTC"}}, "next": "q"}],
                "else": "q",
            },
            "node 'b': time condition: use either",
        ),
        (
            {"id": "b", "type": "branch", "cases": [{"next": "q"}], "else": "q"},
            "node 'b': cases[0] must have exactly 'when' and 'next'",
        ),
        (
            {"id": "s", "type": "set", "next": "q"},
            "node 's': a set node needs 'vars' or 'category'",
        ),
        (
            {"id": "s", "type": "set", "vars": ["a"], "next": "q"},
            "node 's': 'vars' must map variable names",
        ),
        (
            {"id": "s", "type": "set", "vars": {"9x": "1"}, "next": "q"},
            "node 's': 'vars': bad variable name '9x'",
        ),
        (
            {"id": "e", "type": "enqueue", "queue": "q1", "priority": 101},
            "node 'e': 'priority' must be an integer from 0 to 100",
        ),
        (
            {"id": "e", "type": "enqueue", "queue": 5.5},
            "node 'e': 'queue' must be a non-empty string",
        ),
        (
            {"id": "t", "type": "transfer", "to": "mars", "target": "1"},
            "node 't': 'to' must be one of extension, external",
        ),
        (
            {"id": "t", "type": "transfer", "to": "extension", "target": "8001", "trunk": "ct"},
            "node 't': 'trunk' only applies to external",
        ),
        ({"id": "t", "type": "transfer", "to": "external"}, "node 't': missing 'target'"),
        ({"id": "f", "type": "fax", "mode": "send"}, "node 'f': missing 'document'"),
        (
            {"id": "f", "type": "fax", "mode": "print"},
            "node 'f': 'mode' must be one of receive, send",
        ),
        ({"id": "cb", "type": "callback"}, "node 'cb': missing 'queue'"),
        (
            {"id": "n", "type": "play", "prompt": "hi", "next": "n"},
            "node 'n': cycle without caller input: n -> n",
        ),
    ],
)
def test_each_problem_names_its_node(node: dict[str, Any], expected: str) -> None:
    found = problems(
        {"id": "start", "type": "play", "prompt": "hi", "next": node["id"]}, node, QUEUE
    )
    assert any(p.startswith(expected) for p in found), found


def test_all_problems_are_reported_together() -> None:
    found = problems(menu(choices={"x": "q"}, tries=0), collect(min_length=9), QUEUE)
    assert len(found) == 3
    assert {p.split(":")[0] for p in found} == {"node 'm'", "node 'c'"}
    assert str(FlowError(list(found))).count("\n") == 3


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ({"name": ""}, "flow: 'name' must be an identifier"),
        ({"version": 0}, "flow: 'version' must be a positive integer"),
        ({"version": "2"}, "flow: 'version' must be a positive integer"),
        ({"colour": "red"}, "flow: unknown field(s): colour"),
        ({"start": "nope"}, "flow: start node 'nope' does not exist"),
    ],
)
def test_header_problems(header: dict[str, Any], expected: str) -> None:
    assert any(p.startswith(expected) for p in problems(QUEUE, **header))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], "flow: a flow document must be a mapping"),
        ({"name": "t", "version": 1, "nodes": []}, "flow: 'nodes' must be a non-empty list"),
        ({"name": "t", "version": 1, "nodes": [1]}, "flow: nodes[0] must be a mapping"),
        (
            {"name": "t", "version": 1, "nodes": [{"type": "hangup"}]},
            "flow: nodes[0] has a bad or missing id",
        ),
        ({"name": "t", "version": 1, "nodes": [BYE, BYE]}, "node 'bye': duplicate id"),
        (
            {"name": "t", "version": 1, "nodes": [BYE] * (MAX_NODES + 1)},
            f"flow: more than {MAX_NODES} nodes",
        ),
    ],
)
def test_document_problems(data: object, expected: str) -> None:
    with pytest.raises(FlowError) as info:
        parse_flow(data)
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems


def test_busy_loop_through_several_nodes_is_an_error_but_loop_via_menu_is_not() -> None:
    found = problems(
        {"id": "a", "type": "set", "vars": {"x": "1"}, "next": "b"},
        {
            "id": "b",
            "type": "branch",
            "cases": [{"when": {"var": "x", "value": 2}, "next": "q"}],
            "else": "a",
        },
        QUEUE,
    )
    assert found == ("node 'a': cycle without caller input: a -> b -> a",)
    ok = flow(
        {"id": "a", "type": "play", "prompt": "hi", "next": "m"},
        menu(choices={"1": "a", "2": "q"}),
        QUEUE,
    )
    assert ok.warnings == ()


def test_unreachable_nodes_are_warnings() -> None:
    loaded = flow(QUEUE, BYE)
    assert loaded.warnings == ("node 'bye': unreachable from start 'q'",)


def test_yaml_and_json_give_the_same_flow() -> None:
    data = {"name": "t", "version": 3, "nodes": [menu(), QUEUE]}
    from_json = load_flow_text(json.dumps(data), "json")
    import yaml

    from_yaml = load_flow_text(yaml.safe_dump(data, allow_unicode=True), "yaml")
    assert from_json == from_yaml
    assert from_json.digest == from_yaml.digest
    assert from_json.label == "t@v3"


@pytest.mark.parametrize(("text", "fmt"), [("{", "json"), ("a: [b", "yaml")])
def test_bad_syntax_is_a_flow_error(text: str, fmt: str) -> None:
    with pytest.raises(FlowError, match="not valid"):
        load_flow_text(text, fmt)  # type: ignore[arg-type]


def test_defaults_and_yaml_integer_keys() -> None:
    loaded = load_flow_text(
        "name: t\nversion: 1\nnodes:\n"
        "  - {id: m, type: menu, prompt: x, choices: {1: q, '#': q}}\n"
        "  - {id: c, type: collect, prompt: y, var: v, next: q, terminator: none}\n"
        "  - {id: q, type: enqueue, queue: b}\n"
    )
    m = loaded.node("m")
    assert isinstance(m, MenuNode)
    assert (m.timeout, m.tries, m.on_failure) == (5.0, 3, None)
    assert m.target("1") == "q" and m.target("#") == "q" and m.target("2") is None
    c = loaded.node("c")
    assert isinstance(c, CollectNode)
    assert (c.terminator, c.min_length, c.max_length, c.inter_digit_timeout) == (None, 1, 20, 8.0)
    assert loaded.start == "m"
    with pytest.raises(KeyError):
        loaded.node("zz")


def test_demo_flows_are_valid_and_fully_reachable() -> None:
    for name in ("demo_main", "demo_after_hours"):
        loaded = demo(name)
        assert loaded.warnings == ()
        assert loaded.version >= 1


def test_flow_is_deeply_immutable() -> None:
    loaded = demo()
    with pytest.raises(AttributeError):
        loaded.version = 9  # type: ignore[misc]
    assert isinstance(loaded.nodes, tuple)
    for node in loaded.nodes:
        for value in vars(node).values() if hasattr(node, "__dict__") else ():
            assert not isinstance(value, list | dict)
