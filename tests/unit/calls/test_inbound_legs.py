"""An agent leg whose caller left while its RTP ports were being opened is dropped: the phone
is not rung and the ports are released (they used to stay allocated for the life of the server).

The caller's call is a real incoming call through the SIP user agent (the protocol harness, in
memory); the media engine is a fake whose port allocation lets the caller hang up meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from callcenter.calls.inbound import AgentLeg, InboundCall
from callcenter.calls.service import CallService
from callcenter.media.control import Leg
from callcenter.sip.endpoint import Address
from callcenter.sip.ua import Call, IncomingCall
from tests.protocol.sip.harness import Net

SDP = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.3\r\ns=-\r\nc=IN IP4 127.0.0.3\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 0\r\n"
)


class FakeMedia:
    def __init__(self) -> None:
        self.created: list[Leg] = []
        self.released: list[Leg] = []
        self.while_opening: Callable[[], None] = lambda: None

    async def create_endpoint(self, call_id: str, local_ip: str = "127.0.0.1",
                              group: str | None = None) -> Leg:  # fmt: skip
        leg = Leg(len(self.created) + 1, call_id, local_ip, 20000 + 2 * len(self.created))
        self.created.append(leg)
        await asyncio.sleep(0)
        self.while_opening()  # e.g. the caller's BYE arrives while the ports are bound
        return leg

    async def release(self, leg: Leg) -> None:
        self.released.append(leg)


class FakeStore:
    def __init__(self) -> None:
        self.sync = SimpleNamespace(cdrs=SimpleNamespace(add_leg=lambda *a, **k: None))
        self.writes: list[tuple[Any, ...]] = []

    async def run(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        self.writes.append((fn, *args))

    def write(self, fn: Any, *args: Any, **kwargs: Any) -> asyncio.Future[None]:
        self.writes.append((fn, *args))
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.set_result(None)
        return fut


def lab() -> tuple[Net, CallService, FakeMedia, InboundCall]:
    net = Net()
    server = net.add("server", "127.0.0.1", 5060)
    caller = net.add("caller", "127.0.0.3", 5064)
    net.add("phone", "127.0.0.2", 5062)
    media = FakeMedia()
    svc = CallService(server.ua, media, None, lambda: None, lambda: net.now)  # type: ignore[arg-type]
    caller.ua.invite(server.address, "sip:7001@127.0.0.1", "<sip:13800@127.0.0.3>",
                     "<sip:7001@127.0.0.1>", SDP, net.now)  # fmt: skip
    net.pump()
    (call,) = [e.call for e in server.inbox if isinstance(e, IncomingCall)]
    center = SimpleNamespace(service=svc, store=FakeStore(), now=lambda: net.now)
    return net, svc, media, InboundCall(center, call, "queue", "billing")  # type: ignore[arg-type]


def outgoing(svc: CallService) -> list[Call]:
    return [c for c in svc.ua.calls.values() if not c.incoming]


async def ring(net: Net, inbound: InboundCall) -> AgentLeg:
    agent = AgentLeg("2001", "billing", offered_at=net.now, acd_key=inbound.acd_id)
    phone = Address("udp", "127.0.0.2", 5062)
    await inbound._ring_contact(agent, "6001", phone, "sip:6001@127.0.0.2:5062", [])
    return agent


async def test_caller_gone_while_ports_open_drops_the_leg() -> None:
    net, svc, media, inbound = lab()
    media.while_opening = lambda: setattr(inbound, "caller_gone", True)
    agent = await ring(net, inbound)
    assert agent.call is None and inbound.agent is None
    assert outgoing(svc) == []  # the phone was not rung
    assert media.released == media.created  # and the ports are free again
    assert svc.watchers == {} and svc.dialog_handlers == {}


async def test_call_finishing_while_ports_open_drops_the_leg() -> None:
    net, svc, media, inbound = lab()
    media.while_opening = lambda: setattr(inbound, "finished", True)
    await ring(net, inbound)
    assert outgoing(svc) == []
    assert media.released == media.created


async def test_caller_still_there_rings_the_phone() -> None:
    net, svc, media, inbound = lab()
    agent = await ring(net, inbound)
    assert agent.call is not None and outgoing(svc) == [agent.call]
    assert inbound.agent is agent and agent.session is not None
    assert media.released == []
    assert set(svc.watchers) == {agent.call.id}


async def test_dropped_transfer_leg_frees_the_agents_reservation() -> None:
    """A transfer to an agent reserved it in the ACD (mode "direct"): when the leg is dropped
    because the caller left, the reservation ends (reserved_failed), or the agent would stay
    reserved for good."""
    net, svc, media, inbound = lab()
    commands: list[tuple[Any, tuple[Any, ...]]] = []
    acd = SimpleNamespace(reserved_failed=lambda *a: [])
    center: Any = inbound.center
    center.acd = acd

    def command(fn: Any, *a: Any, **k: Any) -> bool:
        commands.append((fn, a))
        return True

    center.command = command
    media.while_opening = lambda: setattr(inbound, "caller_gone", True)
    agent = AgentLeg("2002", "billing", offered_at=net.now, mode="direct", acd_key="k#t")
    phone = Address("udp", "127.0.0.2", 5062)
    await inbound._ring_contact(agent, "6002", phone, "sip:6002@127.0.0.2:5062", [])
    assert outgoing(svc) == [] and media.released == media.created
    assert commands == [(acd.reserved_failed, ("k#t", "2002", net.now))]
