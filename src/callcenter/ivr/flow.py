"""IVR flows as data: parse a YAML/JSON document into a validated, immutable ``Flow`` version.

``load_flow_text(text, fmt)`` decodes text (the caller reads files; this module does no I/O)
and ``parse_flow(data)`` builds the nodes. Validation collects every problem and raises one
``FlowError`` whose lines read ``node '<id>': <message>`` (or ``flow: <message>`` for the
document itself): unknown fields, missing prompts, bad digit keys, bad numbers, references to
missing nodes, loops without caller input. Unreachable nodes become ``Flow.warnings``. Each flow
carries ``name`` and ``version``; a session keeps the ``Flow`` object it started with, so
publishing a new version never changes a call already in the flow. See docs/ivr.md.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

import yaml

from callcenter.ivr.conditions import parse_condition
from callcenter.ivr.graph import check_graph
from callcenter.ivr.nodes import (
    BranchCase,
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
    SetNode,
    TransferNode,
    VoicemailNode,
)
from callcenter.ivr.reader import NodeReader

__all__ = ["MAX_NODES", "NODE_TYPES", "FlowError", "load_flow_text", "parse_flow"]

MAX_NODES = 500
# libyaml's safe loader when built in: the same safe subset, about ten times faster.
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DTMF_KEYS = "0123456789*#"
_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z")
_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")


class FlowError(ValueError):
    """A flow that cannot be used; ``problems`` lists each one, naming its node."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid flow:\n  " + "\n  ".join(problems))
        self.problems = tuple(problems)


def _play(r: NodeReader, tz: str) -> Node:
    return PlayNode(
        r.node_id, r.prompts("prompt", True), r.text("next"), r.flag("interruptible", False)
    )


def _menu(r: NodeReader, tz: str) -> Node:
    choices = r.raw("choices")
    pairs: list[tuple[str, str]] = []
    if not isinstance(choices, Mapping) or not choices:
        r.error("'choices' must map digits to node ids")
    else:
        for key, target in choices.items():
            digit = str(key)
            if len(digit) != 1 or digit not in DTMF_KEYS:
                r.error(f"bad digit key {digit!r} in 'choices' (one of {DTMF_KEYS})")
            elif not isinstance(target, str) or not target:
                r.error(f"choice {digit!r} must name a node")
            else:
                pairs.append((digit, target))
    return MenuNode(
        r.node_id,
        r.prompts("prompt", True),
        tuple(pairs),
        r.number("timeout", 5.0, 0.5, 120.0),
        r.integer("tries", 3, 1, 10),
        r.prompts("invalid_prompt", False),
        r.prompts("timeout_prompt", False),
        r.optional_text("on_failure"),
    )


def _var_name(r: NodeReader, key: str) -> str:
    name = r.text(key)
    if name and not _VAR.match(name):
        r.error(f"'{key}': bad variable name {name!r}")
    return name


def _collect(r: NodeReader, tz: str) -> Node:
    min_length = r.integer("min_length", 1, 1, 32)
    max_length = r.integer("max_length", 20, 1, 32)
    if min_length > max_length:
        r.error(f"min_length {min_length} is above max_length {max_length}")
    terminator = r.text("terminator", "#")
    if terminator not in ("#", "*", "none"):
        r.error(f"'terminator' must be '#', '*' or 'none', not {terminator!r}")
    timeout = r.number("timeout", 8.0, 0.5, 120.0)
    return CollectNode(
        r.node_id,
        r.prompts("prompt", True),
        _var_name(r, "var"),
        min_length,
        max_length,
        None if terminator == "none" else terminator,
        timeout,
        r.number("inter_digit_timeout", timeout, 0.5, 120.0),
        r.integer("tries", 3, 1, 10),
        r.prompts("invalid_prompt", False),
        r.prompts("timeout_prompt", False),
        r.text("next"),
        r.optional_text("on_failure"),
    )


def _lookup(r: NodeReader, tz: str) -> Node:
    on_found = r.text("on_found")
    return LookupNode(
        r.node_id,
        r.text("kind"),
        r.template("key"),
        r.text("into", "") if r.has("into") else "",
        r.number("timeout", 3.0, 0.1, 60.0),
        on_found,
        r.text("on_not_found"),
        r.text("on_error"),
    )


def _branch(r: NodeReader, tz: str) -> Node:
    cases = r.raw("cases")
    parsed: list[BranchCase] = []
    if not isinstance(cases, list) or not cases:
        r.error("'cases' must be a non-empty list of {when, next}")
        cases = []
    for i, case in enumerate(cases):
        if not isinstance(case, Mapping) or set(case) != {"when", "next"}:
            r.error(f"cases[{i}] must have exactly 'when' and 'next'")
            continue
        parsed.append(BranchCase(parse_condition(r, case["when"], tz), str(case["next"])))
    return BranchNode(r.node_id, tuple(parsed), r.text("else"))


def _set(r: NodeReader, tz: str) -> Node:
    values = r.raw("vars") or {}
    pairs = []
    if not isinstance(values, Mapping):
        r.error("'vars' must map variable names to values")
        values = {}
    for name, value in values.items():
        if not _VAR.match(str(name)):
            r.error(f"'vars': bad variable name {name!r}")
        pairs.append((str(name), r.parse_template(str(value), f"vars.{name}")))
    category = r.optional_text("category")
    if not pairs and category is None:
        r.error("a set node needs 'vars' or 'category'")
    return SetNode(r.node_id, tuple(pairs), category, r.text("next"))


def _enqueue(r: NodeReader, tz: str) -> Node:
    return EnqueueNode(
        r.node_id, r.text("queue"), r.integer("priority", 0, 0, 100), r.optional_text("category")
    )


def _transfer(r: NodeReader, tz: str) -> Node:
    kind: Literal["extension", "external"] = "external"
    if r.choice("to", ("extension", "external")) == "extension":
        kind = "extension"
    trunk = r.optional_text("trunk")
    if kind == "extension" and trunk is not None:
        r.error("'trunk' only applies to external transfers")
    return TransferNode(r.node_id, kind, r.template("target"), trunk)


def _voicemail(r: NodeReader, tz: str) -> Node:
    return VoicemailNode(r.node_id, r.template("box", "general"))


def _fax(r: NodeReader, tz: str) -> Node:
    mode: Literal["receive", "send"] = "receive"
    if r.choice("mode", ("receive", "send"), "receive") == "send":
        mode = "send"
        return FaxNode(r.node_id, mode, r.template("document"))
    return FaxNode(r.node_id, mode, r.template("box", "fax"))


def _callback(r: NodeReader, tz: str) -> Node:
    return CallbackNode(r.node_id, r.text("queue"), r.template("number", "{caller}"))


def _hangup(r: NodeReader, tz: str) -> Node:
    return HangupNode(r.node_id, r.text("cause", "normal"))


_BUILDERS: Mapping[str, Callable[[NodeReader, str], Node]] = {
    "play": _play,
    "menu": _menu,
    "collect": _collect,
    "lookup": _lookup,
    "branch": _branch,
    "set": _set,
    "enqueue": _enqueue,
    "transfer": _transfer,
    "voicemail": _voicemail,
    "fax": _fax,
    "callback": _callback,
    "hangup": _hangup,
}
NODE_TYPES = tuple(_BUILDERS)


def _node(
    i: int, data: object, seen: set[str], errors: list[str], defaults: tuple[str, str]
) -> Node | None:
    if not isinstance(data, Mapping):
        errors.append(f"flow: nodes[{i}] must be a mapping")
        return None
    node_id = str(data.get("id", ""))
    if not _ID.match(node_id):
        errors.append(f"flow: nodes[{i}] has a bad or missing id {data.get('id')!r}")
        return None
    if node_id in seen:
        errors.append(f"node '{node_id}': duplicate id")
        return None
    seen.add(node_id)
    builder = _BUILDERS.get(str(data.get("type")))
    if builder is None:
        errors.append(
            f"node '{node_id}': unknown type {data.get('type')!r} (one of {', '.join(NODE_TYPES)})"
        )
        return None
    reader = NodeReader(node_id, data, errors, defaults[0])
    node = builder(reader, defaults[1])
    reader.done()
    return node


def _header(data: Mapping[str, Any], errors: list[str]) -> tuple[str, int, str, str]:
    unknown = sorted(
        str(k)
        for k in data
        if k not in ("name", "version", "start", "voice", "tz", "nodes", "description")
    )
    if unknown:
        errors.append(f"flow: unknown field(s): {', '.join(unknown)}")
    name = data.get("name")
    if not isinstance(name, str) or not _ID.match(name):
        errors.append(f"flow: 'name' must be an identifier, not {name!r}")
        name = ""
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        errors.append(f"flow: 'version' must be a positive integer, not {version!r}")
        version = 0
    return name, version, str(data.get("voice", "zh")), str(data.get("tz", "Asia/Shanghai"))


def _plain(value: object) -> object:
    """JSON-ready copy with string keys (YAML gives ``1:`` as an int key)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _digest(data: Mapping[str, Any]) -> str:
    canonical = json.dumps(_plain(data), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def parse_flow(data: object) -> Flow:
    """Build and validate a flow from decoded data; raise ``FlowError`` listing every problem."""
    if not isinstance(data, Mapping):
        raise FlowError(["flow: a flow document must be a mapping"])
    errors: list[str] = []
    name, version, voice, tz = _header(data, errors)
    raw_nodes = data.get("nodes")
    if not isinstance(raw_nodes, list) or not raw_nodes:
        raise FlowError([*errors, "flow: 'nodes' must be a non-empty list"])
    if len(raw_nodes) > MAX_NODES:
        raise FlowError([*errors, f"flow: more than {MAX_NODES} nodes"])
    seen: set[str] = set()
    nodes = [_node(i, item, seen, errors, (voice, tz)) for i, item in enumerate(raw_nodes)]
    built = tuple(n for n in nodes if n is not None)
    start = str(data.get("start") or (built[0].id if built else ""))
    flow = Flow(name, version, start, built, _digest(data))
    if errors:
        raise FlowError(errors)
    graph_errors, warnings = check_graph(flow)
    if graph_errors:
        raise FlowError(graph_errors)
    return Flow(name, version, start, built, flow.digest, tuple(warnings))


def load_flow_text(text: str, fmt: Literal["yaml", "json"] = "yaml") -> Flow:
    """Decode YAML (safe loader) or JSON text and ``parse_flow`` it."""
    try:
        data = yaml.load(text, Loader=_YAML_LOADER) if fmt == "yaml" else json.loads(text)  # noqa: S506
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise FlowError([f"flow: not valid {fmt.upper()}: {exc}"]) from exc
    return parse_flow(data)
