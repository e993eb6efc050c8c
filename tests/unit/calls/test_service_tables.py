"""CallService forgets the watchers and dialog handlers of ended legs (no per-call leftovers).

The server's user agent talks in memory to a phone (the SIP protocol harness, fake clock);
the service gets the server's events the way the SIP stack hands them over.
"""

from __future__ import annotations

from typing import Any

from callcenter.calls.service import CallService
from callcenter.sip.ua import Call, CallConfirmed, CallEnded, IncomingCall, UaEvent
from tests.protocol.sip.harness import Net, Node

SDP = (
    b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 0\r\n"
)


def lab() -> tuple[Net, Node, Node, CallService]:
    net = Net()
    server = net.add("server", "127.0.0.1", 5060)
    phone = net.add("phone", "127.0.0.2", 5062)
    media: Any = None  # no media: these legs carry no session
    svc = CallService(server.ua, media, None, lambda: None, lambda: net.now)
    return net, server, phone, svc


def deliver(net: Net, server: Node, svc: CallService) -> None:
    """Pump the network; the server's events go to the service, as the SIP stack does."""
    net.pump()
    events, server.inbox[:] = list(server.inbox), []
    svc.handle(events)


def agent_leg(net: Net, server: Node, phone: Node, svc: CallService) -> tuple[Call, list[UaEvent]]:
    """The server calls the phone (an agent leg), watches it, and the phone answers."""
    seen: list[UaEvent] = []
    out = server.ua.invite(phone.address, "sip:6001@127.0.0.2:5062", "<sip:13800@127.0.0.1>",
                           "<sip:6001@127.0.0.2>", SDP, net.now)  # fmt: skip
    svc.watch(out, seen.append)
    svc.dialog_handlers[out.id] = lambda ev: False
    net.pump()
    (inc,) = [e.call for e in phone.inbox if isinstance(e, IncomingCall)]
    phone.inbox.clear()
    phone.ua.answer(inc, SDP, net.now)
    deliver(net, server, svc)
    assert any(isinstance(e, CallConfirmed) for e in seen)
    return out, seen


def test_leg_hung_up_by_us_is_forgotten() -> None:
    net, server, phone, svc = lab()
    legs = [agent_leg(net, server, phone, svc)[0] for _ in range(3)]
    for out in legs:
        server.ua.bye(out, net.now)  # what InboundCall does when the caller leaves
    net.now += svc.prune_every
    deliver(net, server, svc)
    svc.handle([])  # the next batch of events from the stack
    assert svc.watchers == {}
    assert svc.dialog_handlers == {}


def test_live_legs_keep_their_watchers() -> None:
    net, server, phone, svc = lab()
    out, _ = agent_leg(net, server, phone, svc)
    net.now += 10 * svc.prune_every
    svc.handle([])
    assert set(svc.watchers) == {out.id}
    assert set(svc.dialog_handlers) == {out.id}


def test_queued_end_event_still_reaches_the_watcher() -> None:
    net, server, phone, svc = lab()
    out, seen = agent_leg(net, server, phone, svc)
    (inc,) = [c for c in phone.ua.calls.values()]
    phone.ua.bye(inc, net.now)
    net.pump()
    # The user agent ended the leg; its CallEnded is still queued for the next batch.
    server.ua.events, server.inbox[:] = list(server.inbox), []
    assert out.id not in server.ua.calls
    net.now += svc.prune_every
    svc.handle([])  # a batch that does not carry it yet: the sweep must keep the watcher
    assert out.id in svc.watchers
    events, server.ua.events = server.ua.events, []
    svc.handle(events)
    assert any(isinstance(e, CallEnded) for e in seen)
    assert svc.watchers == {}


def test_one_stall_does_not_shed_but_a_loop_behind_does() -> None:
    _, _, _, svc = lab()
    svc.max_lag = 0.5
    for late in (0.0, 0.01, 1.7, 0.02):  # one stall of the whole process
        svc.note_lag(late)
        assert not svc.overloaded()
    for _ in range(3):  # late at every sample: behind its own work
        svc.note_lag(0.8)
    assert svc.overloaded()
    svc.note_lag(0.05)  # caught up
    assert not svc.overloaded()
