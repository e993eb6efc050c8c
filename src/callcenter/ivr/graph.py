"""Whole-flow checks on the node graph: dangling references, unreachable nodes, busy loops.

``successors`` names every node a node can lead to. ``check_graph`` returns (errors, warnings):
an edge to a missing node is an error; a node the start cannot reach is a warning (kept so an
administrator can park nodes while editing); a cycle through which the runner could loop without
ever waiting for the caller (no menu or collect on it) is an error, because the session would
spin or replay prompts forever.
"""

from __future__ import annotations

from callcenter.ivr.nodes import (
    BranchNode,
    CollectNode,
    Flow,
    LookupNode,
    MenuNode,
    Node,
    PlayNode,
    SetNode,
)

__all__ = ["check_graph", "is_input", "successors"]


def is_input(node: Node) -> bool:
    """Nodes that wait for the caller's digits."""
    return isinstance(node, MenuNode | CollectNode)


def successors(node: Node) -> tuple[tuple[str, str], ...]:
    """``(field, target)`` for every edge out of ``node``."""
    if isinstance(node, PlayNode | SetNode):
        return (("next", node.next),)
    if isinstance(node, MenuNode):
        out = tuple((f"choices.{digit}", target) for digit, target in node.choices)
        return out + ((("on_failure", node.on_failure),) if node.on_failure else ())
    if isinstance(node, CollectNode):
        tail = (("on_failure", node.on_failure),) if node.on_failure else ()
        return (("next", node.next), *tail)
    if isinstance(node, LookupNode):
        return (
            ("on_found", node.on_found),
            ("on_not_found", node.on_not_found),
            ("on_error", node.on_error),
        )
    if isinstance(node, BranchNode):
        cases = tuple((f"cases[{i}].next", c.next) for i, c in enumerate(node.cases))
        return (*cases, ("else", node.otherwise))
    return ()


def _dangling(flow: Flow, ids: set[str]) -> list[str]:
    errors = []
    if flow.start not in ids:
        errors.append(f"flow: start node '{flow.start}' does not exist")
    for node in flow.nodes:
        for field, target in successors(node):
            if target not in ids:
                errors.append(f"node '{node.id}': {field} -> '{target}' is not a node")
    return errors


def _reachable(flow: Flow, ids: set[str]) -> set[str]:
    seen: set[str] = set()
    stack = [flow.start] if flow.start in ids else []
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        stack.extend(t for _, t in successors(flow.node(current)) if t in ids)
    return seen


def _busy_cycles(flow: Flow, ids: set[str]) -> list[str]:
    """Cycles among non-input nodes, found by depth-first search (one report per cycle entry)."""
    errors: list[str] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: finished

    def visit(node_id: str, path: list[str]) -> None:
        state[node_id] = 1
        path.append(node_id)
        for _, target in successors(flow.node(node_id)):
            if target not in ids or is_input(flow.node(target)):
                continue
            if state.get(target) == 1:
                loop = [*path[path.index(target) :], target]
                errors.append(f"node '{target}': cycle without caller input: {' -> '.join(loop)}")
            elif target not in state:
                visit(target, path)
        path.pop()
        state[node_id] = 2

    for node in flow.nodes:
        if node.id not in state and not is_input(node):
            visit(node.id, [])
    return errors


def check_graph(flow: Flow) -> tuple[list[str], list[str]]:
    """Errors and warnings about the graph of ``flow`` (node ids are unique by now)."""
    ids = {node.id for node in flow.nodes}
    errors = _dangling(flow, ids) + _busy_cycles(flow, ids)
    reachable = _reachable(flow, ids)
    warnings = [
        f"node '{node.id}': unreachable from start '{flow.start}'"
        for node in flow.nodes
        if node.id not in reachable
    ]
    return errors, warnings
