"""Network namespaces for end-to-end tests: a private star network the test owns.

Real phones (baresip, linphonec) put the address of their first non-loopback interface in
their SDP (RFC 4566 §5.7 ``c=``) and cannot be limited to 127.0.0.1, so every test that runs
one builds its own network out of Linux network namespaces (``ip netns``) and veth pairs and
never sends a packet anywhere else. The shape is a star: a *hub* namespace (where the server
runs) carries ``HUB_ADDRESS`` on its loopback, and each *leaf* namespace (one per phone) is
joined to the hub by a veth pair on its own /24 out of 198.18.0.0/15 (RFC 2544 benchmarking
space, never routed on the Internet), with a default route through the hub. Everything is
removed again by ``Network.close()``: the processes still running inside (which the test
started), the namespaces and with them their links.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

HUB_ADDRESS = "198.18.0.1"
CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
_names = itertools.count(1)


class NamespaceError(RuntimeError):
    """An `ip` command failed: the test cannot build its private network."""


def ip(*args: str) -> str:
    """Run ``ip ARGS`` and return its output; raise NamespaceError when it fails."""
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=20)
    if proc.returncode != 0:
        raise NamespaceError(f"ip {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout


def unique_name(kind: str) -> str:
    """A namespace or interface name unique to this process (at most 15 characters)."""
    return f"cc{kind}{os.getpid() % 100000}x{next(_names)}"[:15]


OUR_NAMES = re.compile(r"^cc(?:hub|leaf|n)(\d+)x\d+$")


def remove_stale_namespaces() -> list[str]:
    """Delete empty namespaces that an earlier, killed test run of ours left behind.

    Only names made by ``unique_name`` count, only when no process with the creator's pid
    is alive and nothing runs inside (so another run's namespaces are never touched)."""
    removed = []
    for line in ip("netns", "list").splitlines():
        name = line.split()[0] if line.strip() else ""
        found = OUR_NAMES.match(name)
        if found is None or _pid_alive(int(found.group(1))) or Namespace(name).pids():
            continue
        try:
            ip("netns", "del", name)
            removed.append(name)
        except NamespaceError:
            pass
    return removed


def _pid_alive(short_pid: int) -> bool:
    """Whether a live process has this pid modulo 100000 (as ``unique_name`` wrote it)."""
    return any(int(entry) % 100000 == short_pid for entry in os.listdir("/proc") if entry.isdigit())


@dataclass
class Namespace:
    """One network namespace created by the test (``ip netns add``)."""

    name: str

    @classmethod
    def create(cls, name: str | None = None) -> Namespace:
        ns = cls(name or unique_name("n"))
        ip("netns", "add", ns.name)
        ip("-n", ns.name, "link", "set", "lo", "up")
        return ns

    def prefix(self) -> list[str]:
        """The command prefix that runs a program inside this namespace."""
        return ["ip", "netns", "exec", self.name]

    def popen(self, cmd: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``cmd`` inside the namespace (``ip netns exec`` execs it: same pid)."""
        return subprocess.Popen([*self.prefix(), *cmd], **kwargs)

    def run(self, cmd: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix(), *cmd], capture_output=True, text=True, check=False, timeout=timeout
        )

    def add_address(self, address: str, dev: str = "lo") -> None:
        ip("-n", self.name, "addr", "add", address, "dev", dev)

    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM) -> socket.socket:
        """A socket that lives in this namespace, usable from any thread of the test.

        A socket belongs to the namespace of the thread that created it (setns(2) moves
        only the calling thread), so a short-lived thread enters the namespace and makes it.
        """
        made: list[socket.socket] = []
        errors: list[str] = []

        def enter_and_create() -> None:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(NETNS_DIR / self.name, os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    errors.append(os.strerror(ctypes.get_errno()))
                    return
            finally:
                os.close(fd)
            made.append(socket.socket(family, kind))

        thread = threading.Thread(target=enter_and_create, name=f"setns-{self.name}")
        thread.start()
        thread.join()
        if not made:
            raise NamespaceError(f"setns({self.name}): {errors}")
        return made[0]

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in ip("netns", "pids", self.name).split()]
        except NamespaceError:
            return []

    def destroy(self) -> None:
        """End the processes left inside (the test started them), then delete the namespace."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            left = self.pids()
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 3
            while left and self.pids() and time.monotonic() < deadline:
                time.sleep(0.05)
        with contextlib.suppress(NamespaceError):
            ip("netns", "del", self.name)


@dataclass
class Leaf:
    """A namespace joined to the hub; ``address`` is its own, ``gateway`` the hub's side."""

    ns: Namespace
    address: str
    gateway: str


@dataclass
class Network:
    """A star of namespaces: the hub (server) and one leaf per phone."""

    hub: Namespace
    hub_address: str = HUB_ADDRESS
    leaves: list[Leaf] = field(default_factory=list)
    made: int = 0  # leaves made so far: the next one gets subnet 198.18.(made + 1).0/24

    @classmethod
    def create(cls, hub_address: str = HUB_ADDRESS) -> Network:
        remove_stale_namespaces()
        hub = Namespace.create(unique_name("hub"))
        net = cls(hub, hub_address)
        try:
            hub.add_address(f"{hub_address}/32")
        except NamespaceError:
            net.close()
            raise
        return net

    def add_leaf(self) -> Leaf:
        """A new namespace with its own /24 (198.18.N.2), linked to the hub (198.18.N.1)."""
        self.made += 1
        index = self.made
        if index > 250:
            raise NamespaceError("at most 250 leaves")
        ns = Namespace.create(unique_name("leaf"))
        leaf = Leaf(ns, f"198.18.{index}.2", f"198.18.{index}.1")
        self.leaves.append(leaf)
        hub_dev, leaf_dev = unique_name("h"), unique_name("l")
        ip("link", "add", hub_dev, "netns", self.hub.name, "type", "veth",
           "peer", "name", leaf_dev, "netns", ns.name)  # fmt: skip
        ip("-n", self.hub.name, "addr", "add", f"{leaf.gateway}/24", "dev", hub_dev)
        ip("-n", ns.name, "addr", "add", f"{leaf.address}/24", "dev", leaf_dev)
        ip("-n", self.hub.name, "link", "set", hub_dev, "up")
        ip("-n", ns.name, "link", "set", leaf_dev, "up")
        ip("-n", ns.name, "route", "add", "default", "via", leaf.gateway)
        return leaf

    def route_between_leaves(self, enabled: bool = True) -> None:
        """Let leaves reach each other through the hub (IP forwarding in the hub only).

        Off by default, so that every packet of a test goes to or comes from the server."""
        write = f"echo {int(enabled)} > /proc/sys/net/ipv4/ip_forward"  # no procps needed
        self.hub.run(["sh", "-c", write]).check_returncode()

    def remove_leaf(self, leaf: Leaf) -> None:
        """Delete a leaf namespace (and its veth pair) once its processes are done."""
        self.leaves.remove(leaf)
        leaf.ns.destroy()

    def close(self) -> None:
        for leaf in self.leaves:
            leaf.ns.destroy()
        self.leaves.clear()
        self.hub.destroy()

    def __enter__(self) -> Network:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def require_namespaces() -> str | None:
    """Why namespaces cannot be made here (not root, no `ip`), or None when they can."""
    if os.geteuid() != 0:
        return "creating network namespaces needs root (CAP_SYS_ADMIN + CAP_NET_ADMIN)"
    try:
        ip("-V")
    except (NamespaceError, FileNotFoundError) as exc:
        return f"iproute2 `ip` is not usable: {exc}"
    return None
