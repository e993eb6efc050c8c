"""IVR flows at start-up: the versions stored by the editor (admin API) join the ones loaded
from files (the demo flows, ``ivr.flows_dir``), and the version activated in storage is the one
new calls use, so an activation survives a restart. Without a stored active version the file's
version stays current, and a flow only ever saved, never activated, is not live. A stored body
that no longer parses is skipped with a warning.
"""

from __future__ import annotations

from callcenter.ivr.flow import FlowError, parse_flow
from callcenter.ivr.nodes import Flow
from callcenter.ivr.registry import FlowRegistry
from callcenter.logs import get_logger
from callcenter.storage.store import Storage

log = get_logger("callcenter.flows")


def with_stored_flows(files: FlowRegistry, store: Storage) -> FlowRegistry:
    """A registry with every version of ``files`` and of storage (storage wins for a version
    number both have), current: the stored active version, else the file's current one.
    Runs on the storage thread (it reads the database)."""
    out = FlowRegistry()
    for name in sorted(set(files.names()) | set(store.flows.names())):
        versions: dict[int, Flow] = {v: files.get(name, v) for v in files.versions(name)}
        active: int | None = None
        for rec in store.flows.versions(name):
            try:
                flow = parse_flow(rec.body)
            except FlowError as exc:
                log.warning("flow.stored_invalid", flow=name, version=rec.version,
                            problems=list(exc.problems)[:5])  # fmt: skip
                continue
            if flow.name != name or flow.version != rec.version:
                log.warning("flow.stored_mismatch", flow=name, version=rec.version)
                continue
            versions[flow.version] = flow
            if rec.active:
                active = flow.version
        if active is None and name not in files.names():
            continue  # saved in the editor, never activated: not live
        for version in sorted(versions):
            out.publish(versions[version])
        if active is not None:
            out.rollback(name, active)
            log.info("flow.stored_active", flow=name, version=active)
        elif name in files.names():
            out.rollback(name, files.current(name).version)
    return out
