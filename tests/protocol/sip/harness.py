"""Two SIP user agents talking in memory over a fake network with a fake clock."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from callcenter.sip.endpoint import Address, SipEndpoint
from callcenter.sip.message import Request, Response, parse_message
from callcenter.sip.ua import UaEvent, UserAgent

Filter = Callable[[bytes, Address, Address], bool]  # True: deliver


@dataclass
class Node:
    name: str
    address: Address
    ua: UserAgent
    inbox: list[UaEvent] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)


class Net:
    """Delivers what each node sends to the node at the destination address."""

    def __init__(self, seed: int = 1, transport: str = "udp") -> None:
        self.now = 1000.0
        self.nodes: dict[tuple[str, int], Node] = {}
        self.rng = random.Random(seed)
        self.transport = transport
        self.filter: Filter | None = None
        self.log: list[tuple[str, str, bytes]] = []

    def add(self, name: str, host: str, port: int) -> Node:
        ep = SipEndpoint(random.Random(self.rng.random()), server_name=name)
        ep.set_local(self.transport, host, port)
        ua = UserAgent(ep, random.Random(self.rng.random()), contact_user=name)
        node = Node(name, Address(self.transport, host, port), ua)
        self.nodes[(host, port)] = node
        return node

    def pump(self, rounds: int = 50) -> None:
        """Deliver until nothing is in flight."""
        for _ in range(rounds):
            moved = False
            for node in list(self.nodes.values()):
                node.ua.process(self.now)
                node.inbox.extend(node.ua.events)
                node.ua.events.clear()
                out, node.ua.endpoint.outgoing = node.ua.endpoint.outgoing, []
                for data, dest in out:
                    moved = True
                    node.sent.append(data)
                    self.log.append((node.name, f"{dest.host}:{dest.port}", data))
                    target = self.nodes.get((dest.host, dest.port))
                    if target is None:
                        continue
                    if self.filter is not None and not self.filter(data, node.address, dest):
                        continue
                    src = Address(self.transport, node.address.host, node.address.port)
                    target.ua.endpoint.receive(data, src, self.now)
            if not moved:
                return

    def advance(self, seconds: float, step: float = 0.1) -> None:
        end = self.now + seconds
        while self.now < end:
            self.now = min(end, self.now + step)
            for node in self.nodes.values():
                deadline = node.ua.next_deadline()
                if deadline is not None and deadline <= self.now:
                    node.ua.handle_timer(self.now)
            self.pump()


def first_line(data: bytes) -> str:
    return data.split(b"\r\n", 1)[0].decode()


def parsed(data: bytes) -> Request | Response:
    return parse_message(data)
