"""The native fan-out (``callcenter/native/fanout.c`` through ``Fanout``) on real sockets, and the
event hub's direct sends through it: every socket gets the whole frame or a count of what the
kernel took (the hub hands the rest to the transport), errors come back as -errno, the slices
of several threads cover every socket once."""

from __future__ import annotations

import errno
import os
import shutil
import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from callcenter.api.stream import EventHub, Visibility
from callcenter.native import library
from callcenter.native.fanout import Fanout


@pytest.fixture
def fanout() -> Fanout:
    lib = Fanout.load(threads=4)
    if lib is None:  # `make` builds it wherever gcc is; without gcc the Python path is used
        assert shutil.which("gcc") is None, "gcc is here but libfanout.so is not built"
        pytest.skip("no gcc: the native fan-out is not built")
    return lib


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    made = [socket.socketpair() for _ in range(300)]
    yield made
    for a, b in made:
        a.close()
        b.close()


def test_every_socket_gets_the_frame_once_across_threads(
    fanout: Fanout, pairs: list[tuple[socket.socket, socket.socket]]
) -> None:
    frame = b"\x81\x05hello"
    sent = fanout.send([a.fileno() for a, _ in pairs], frame)
    assert sent == [len(frame)] * len(pairs)
    for _, b in pairs:
        b.setblocking(False)
        assert b.recv(100) == frame  # once: nothing else waiting
        with pytest.raises(BlockingIOError):
            b.recv(100)


def test_a_full_socket_takes_part_and_errors_are_negative_errno(fanout: Fanout) -> None:
    full_a, full_b = socket.socketpair()
    full_a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    gone_a, gone_b = socket.socketpair()
    gone_b.close()
    ok_a, ok_b = socket.socketpair()
    closed = os.dup(ok_a.fileno())
    os.close(closed)  # a descriptor number that is not open
    big = b"x" * 1_000_000
    try:
        sent = fanout.send([full_a.fileno(), gone_a.fileno(), closed, ok_a.fileno()], big)
        assert 0 < sent[0] < len(big)  # what the buffer took
        assert sent[1] == -errno.EPIPE
        assert sent[2] == -errno.EBADF
        assert 0 < sent[3] < len(big)
        assert fanout.send([], b"x") == []
    finally:
        for s in (full_a, full_b, gone_a, ok_a, ok_b):
            s.close()


class _Sink:
    """A FrameSink on one end of a socket pair, recording what the hub asks of it."""

    def __init__(self, sock: socket.socket, direct: bool = True) -> None:
        self.sock = sock
        self.direct = direct
        self.finished: list[tuple[bytes, int]] = []
        self.written: list[bytes] = []

    def ready(self) -> bool:
        return True

    def write(self, frame: bytes) -> bool:
        self.written.append(frame)
        return True

    def direct_fd(self) -> int:
        return self.sock.fileno() if self.direct else -1

    def finish(self, frame: bytes, sent: int) -> None:
        self.finished.append((frame, sent))


def test_the_hub_sends_directly_and_hands_the_rest_to_the_transport(fanout: Fanout) -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    hub = EventHub(lambda: at, fanout=fanout)
    everyone = Visibility(everything=True)
    socks = [socket.socketpair() for _ in range(3)]
    full = socks[2][0]
    full.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    sinks = [_Sink(socks[0][0]), _Sink(socks[1][0], direct=False), _Sink(full)]
    subs = []
    for sink in sinks:
        sub = hub.subscribe(everyone)
        sub.sink = sink
        subs.append(sub)
    try:
        hub.publish(5, "Note", {"text": "x" * 200_000}, None, None)
        frame = sinks[1].written[0]  # the one that is not direct got it through write()
        socks[0][1].setblocking(False)
        got = b""
        while len(got) < len(frame):
            got += socks[0][1].recv(1 << 20)
        assert got == frame and sinks[0].finished == []
        assert len(sinks[2].finished) == 1 and 0 < sinks[2].finished[0][1] < len(frame)
        assert [sub.last for sub in subs] == [5, 5, 5]
        hub.publish(5, "Note", {}, None, None)  # the same seq again: nothing goes out
        assert len(sinks[1].written) == 1
    finally:
        for a, b in socks:
            a.close()
            b.close()


def test_turned_off_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    library.cache_clear()
    monkeypatch.setenv("CALLCENTER_NATIVE", "0")
    try:
        assert Fanout.load() is None
    finally:
        library.cache_clear()
