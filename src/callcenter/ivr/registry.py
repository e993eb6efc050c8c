"""Flow versions in memory: publish a new version, start calls on the current one, keep history.

``FlowRegistry`` is the pure bookkeeping behind "a flow being edited never affects calls already
in it": versions are immutable ``Flow`` objects, ``publish`` only adds a higher version and makes
it current, and a session holds a reference to the version it started with. Persisting versions
is the storage layer's job; this class is what the admin service and the calls controller share.
"""

from __future__ import annotations

from callcenter.ivr.nodes import Flow

__all__ = ["FlowRegistry", "FlowVersionError"]


class FlowVersionError(ValueError):
    """A publish that would not move the version forward, or an unknown flow/version."""


class FlowRegistry:
    """Every published version of every flow; one current version per name."""

    def __init__(self) -> None:
        self._versions: dict[str, dict[int, Flow]] = {}
        self._current: dict[str, int] = {}

    def publish(self, flow: Flow) -> Flow:
        """Add ``flow`` as the new current version; its version must be above every earlier one."""
        versions = self._versions.setdefault(flow.name, {})
        latest = max(versions, default=0)
        if flow.version <= latest:
            raise FlowVersionError(
                f"flow '{flow.name}': version {flow.version} is not above the latest {latest}"
            )
        versions[flow.version] = flow
        self._current[flow.name] = flow.version
        return flow

    def rollback(self, name: str, version: int) -> Flow:
        """Make an earlier published version current again (new calls only)."""
        flow = self.get(name, version)
        self._current[name] = version
        return flow

    def current(self, name: str) -> Flow:
        if name not in self._current:
            raise FlowVersionError(f"no flow named '{name}'")
        return self._versions[name][self._current[name]]

    def get(self, name: str, version: int) -> Flow:
        try:
            return self._versions[name][version]
        except KeyError:
            raise FlowVersionError(f"flow '{name}' has no version {version}") from None

    def versions(self, name: str) -> tuple[int, ...]:
        return tuple(sorted(self._versions.get(name, {})))

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._current))
