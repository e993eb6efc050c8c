"""One RTP leg: a bound RTP/RTCP socket pair, where its audio goes, and the packet fast paths.

Inbound packets take one of three handlers chosen by ``reconfigure`` whenever the leg's wiring
changes: a plain relay (forward the datagram to the peer leg untouched: no parse beyond the
payload-type octet), an echo (send it back where it came from), or the general path (transcode
relay, decode for taps such as recorders, mixers and DTMF). Symmetric RTP (RFC 4961): the leg
sends to the address the remote's packets actually come from; the first packet after
``set_remote`` latches it, whatever the SDP said. With RTCP on, each handler also hands the
packet to the leg's ``rtcp.LegRtcp`` (statistics), and the RTCP socket feeds it the remote's
reports; RTCP goes where the remote's RTCP comes from, else to the RTP address's port + 1.

The RTP socket is read with ``loop.add_reader`` (not a datagram transport) so that reading can
stop while the engine's native relay (``callcenter.media.native``) owns a bridged pair: the
``native_*`` methods hand the leg's state over and take it back.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from callcenter.media.codec import FRAME, Codec, Pcm, codec_for, payload_of
from callcenter.media.ports import PortPair
from callcenter.media.rtcp import LegRtcp

if TYPE_CHECKING:
    from callcenter.media.native import CLeg, NativeRelay

Address = tuple[str, int]
Tap = Callable[["Endpoint", Pcm], None]
_HEADER = struct.Struct("!BBHII")


class FrameSource(Protocol):
    """Something that produces this leg's outbound audio on each 20 ms tick (player, mixer)."""

    def next_frame(self, ep: Endpoint) -> Pcm | None: ...


TelephoneEventSink = Callable[["Endpoint", bytes], None]


class RtpSender:
    """Our own stream toward a leg (RFC 3550 §5.1): SSRC, sequence and timestamp state."""

    def __init__(self, rng: random.Random) -> None:
        self.ssrc = rng.getrandbits(32)
        self.seq = rng.getrandbits(16)
        self.ts = rng.getrandbits(32)
        self.marker = True  # §5.1: set on the first packet of a talkspurt

    def packet(self, payload_type: int, payload: bytes, samples: int) -> bytes:
        second = payload_type | (0x80 if self.marker else 0)
        self.marker = False
        head = _HEADER.pack(0x80, second, self.seq, self.ts, self.ssrc)
        self.seq = (self.seq + 1) & 0xFFFF
        self.ts = (self.ts + samples) & 0xFFFFFFFF
        return head + payload

    def skip(self, samples: int) -> None:
        """Advance time without sending (silence); the next packet starts a talkspurt."""
        self.ts = (self.ts + samples) & 0xFFFFFFFF
        self.marker = True


class RtpSocket:
    """The leg's RTP socket, read with ``add_reader`` (so reading can pause) and written with
    non-blocking ``sendto``: a full buffer or an ICMP error drops the datagram and counts it."""

    __slots__ = ("ep", "fd", "loop", "reading", "sock")

    def __init__(self, ep: Endpoint, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        self.ep = ep
        self.sock = sock
        self.fd = sock.fileno()
        self.loop = loop
        self.reading = False

    def sendto(self, data: bytes, addr: Address) -> None:
        try:
            self.sock.sendto(data, addr)
        except OSError:  # ICMP port unreachable from a phone that went away, a full buffer
            self.ep.errors += 1

    def resume_reading(self) -> None:
        if not self.reading:
            self.reading = True
            self.loop.add_reader(self.fd, self._readable)

    def pause_reading(self) -> None:
        if self.reading:
            self.reading = False
            self.loop.remove_reader(self.fd)

    def _readable(self) -> None:
        # One datagram per wake-up: the loop's poll is level-triggered, so a socket with more
        # queued is simply ready again on the next iteration; reading until EAGAIN would cost
        # an extra recvfrom and an exception per wake-up (at 50 packets/s per leg, nearly
        # every wake-up finds a single datagram).
        try:
            data, addr = self.sock.recvfrom(2048)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.ep.errors += 1  # ICMP port unreachable reported on the socket: keep the leg
            return
        self.ep.handle(data, addr)

    def close(self) -> None:
        self.pause_reading()
        self.sock.close()


class _RtcpProtocol(asyncio.DatagramProtocol):
    def __init__(self, ep: Endpoint) -> None:
        self.ep = ep

    def datagram_received(self, data: bytes, addr: Address) -> None:
        ep = self.ep
        if ep.native is not None:  # its SR time goes to sources the native side may have made
            ep.native.with_stats(ep, lambda: None)
        ep.rtcp_in += 1
        if ep.rtcp_remote is None or not ep.rtcp_latched:
            ep.rtcp_remote = addr
            ep.rtcp_latched = True
        if ep.rtcp is not None:
            ep.rtcp.on_rtcp(data)

    def error_received(self, exc: Exception) -> None:
        self.ep.errors += 1


class Endpoint:
    """A leg of a call on the engine. Built by ``MediaEngine.create_endpoint``."""

    def __init__(
        self, eid: int, call_id: str, local_ip: str, pair: PortPair, rng: random.Random
    ) -> None:
        self.id = eid
        self.call_id = call_id
        self.local_ip = local_ip
        self.pair = pair
        self.remote: Address | None = None
        self.latched = False
        self.rtcp_remote: Address | None = None
        self.rtcp_latched = False
        self.codec: Codec = codec_for(0)
        self.payload_type = 0
        self.te_pt = -1  # -1: no telephone-event negotiated
        self.ptime = 20  # what we send: the remote's a=ptime, in whole 20 ms frames
        self._pending: list[bytes] = []  # encoded frames waiting for a ptime-long packet
        self._pending_samples = 0
        self.peer: Endpoint | None = None
        self.relay_map: bytes | None = None
        self.echo = False
        self.taps: list[Tap] = []
        self.out_taps: list[Tap] = []
        self.source: FrameSource | None = None
        self.on_event: TelephoneEventSink | None = None
        self.sender = RtpSender(rng)
        self.rtcp: LegRtcp | None = None  # statistics and reports, when the engine sends RTCP
        self.transport: RtpSocket | None = None
        self.rtcp_transport: asyncio.DatagramTransport | None = None
        self.packets_in = 0
        self.packets_out = 0
        self.rtcp_in = 0
        self.errors = 0
        self.closed = False
        self.handle: Callable[[bytes, Address], None] = self._handle_general
        self.native_relay: NativeRelay | None = None  # the engine's, when it has one
        self.native: NativeRelay | None = None  # set while the native relay owns this leg
        self.native_slot = -1
        self.native_side = 0

    @property
    def local_port(self) -> int:
        return self.pair.rtp

    async def open(self, rtp: socket.socket, rtcp: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        self.transport = RtpSocket(self, rtp, loop)
        self.transport.resume_reading()
        rtcp_transport, _ = await loop.create_datagram_endpoint(
            lambda: _RtcpProtocol(self), sock=rtcp
        )
        self.rtcp_transport = rtcp_transport

    def close(self) -> None:
        if self.native is not None:
            self.native.detach(self)
        self.closed = True
        self.handle = self._handle_drop
        if self.transport is not None:
            self.transport.close()
        if self.rtcp_transport is not None:
            self.rtcp_transport.abort()

    def set_remote(self, remote: Address, payload_type: int, te_pt: int | None, ptime: int) -> None:
        if self.native is not None:
            self.native.detach(self)  # before the change: its latch belongs to the old remote
        self.codec = codec_for(payload_type)
        self.payload_type = payload_type
        self.te_pt = -1 if te_pt is None else te_pt
        self.ptime = max(20, ptime - ptime % 20)
        if remote != self.remote:
            self.remote = remote
            self.rtcp_remote = (remote[0], remote[1] + 1)
            # A new offer (re-INVITE) may move the phone: latch again on its next packet.
            self.latched = False
            self.rtcp_latched = False

    def reconfigure(self) -> None:
        """Pick the cheapest inbound handler that does everything the wiring asks for."""
        if self.closed:
            self.handle = self._handle_drop
        elif self.echo and not self.taps:
            self.handle = self._handle_echo
        elif self._plain_relay():
            self.handle = self._handle_relay
        else:
            self.handle = self._handle_general
        if self.native_relay is not None:
            self._native_wiring()

    # -- the native relay (callcenter.media.native) -------------------------------------------

    def _native_wiring(self) -> None:
        """Hand the pair to the native relay when both legs take the plain relay toward each
        other; take it back as soon as that stops being so."""
        peer = self.peer
        both = (
            peer is not None
            and peer.peer is self
            and self.handle == self._handle_relay
            and peer.handle == peer._handle_relay
        )
        if self.native is not None:
            if both and peer is not None and peer.native_slot == self.native_slot:
                return
            self.native.detach(self)
        if both and peer is not None and peer.native is None and self.native_relay is not None:
            self.native_relay.attach(self, peer)

    def native_export(self) -> CLeg | None:
        """This leg's state for the native side, or None when it cannot take it."""
        from callcenter.media.native import new_leg, stats_to_c

        leg = new_leg()
        leg.id, leg.te_pt, leg.latched = self.id, self.te_pt, self.latched
        if self.remote is not None:
            leg.has_remote, leg.port = True, self.remote[1]
            leg.host = self.remote[0].encode()
        if self.rtcp is not None:
            leg.has_stats = True
            if not stats_to_c(self.rtcp.rx.sources, self.rtcp.rx.active_ssrc, leg):
                return None
        return leg

    def native_attached(self, native: NativeRelay, slot: int, side: int) -> None:
        self.native, self.native_slot, self.native_side = native, slot, side
        if self.transport is not None:
            self.transport.pause_reading()

    def native_absorb(self, leg: CLeg) -> None:
        """Take the native side's counters (deltas), latched address and statistics."""
        from callcenter.media.native import stats_from_c

        self.packets_in += leg.packets_in
        self.packets_out += leg.packets_out
        self.errors += leg.errors
        if leg.latched and not self.latched:
            self.remote = (leg.host.decode(), int(leg.port))
            self.latched = True
            if not self.rtcp_latched:
                self.rtcp_remote = (self.remote[0], self.remote[1] + 1)
        rtcp = self.rtcp
        if rtcp is not None and leg.has_stats:
            active = stats_from_c(leg, rtcp.rx.sources, rtcp.rx.clock_rate)
            rtcp.rx.active_ssrc = active
            if active is None:
                rtcp._fast, rtcp._fast_ssrc = None, -1
            else:
                rtcp._fast, rtcp._fast_ssrc = rtcp.rx.sources[active], active

    def native_detached(self, leg: CLeg) -> None:
        self.native_absorb(leg)
        self.native, self.native_slot = None, -1
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def native_sync(self) -> None:
        """Bring the native counters and statistics into this object (stats, figures)."""
        if self.native is not None:
            self.native.with_stats(self, lambda: None)

    def _plain_relay(self) -> bool:
        peer = self.peer
        return (
            peer is not None
            and peer.source is None
            and self.relay_map is None
            and not self.taps
            and self.te_pt == peer.te_pt
        )

    def _latch(self, addr: Address, data: bytes) -> bool:
        """Latch on the first RTP packet; False for what must not latch (nor be handled):
        not RTP version 2, or RTCP (RFC 5761 §4: second octet 192-223) - e.g. another leg's
        reports sent to SDP port + 1 landing here before the phone's first packet."""
        if data[0] >> 6 != 2 or 192 <= data[1] <= 223:
            return False
        self.remote = addr
        self.latched = True
        if not self.rtcp_latched:
            self.rtcp_remote = (addr[0], addr[1] + 1)
        return True

    def _handle_drop(self, data: bytes, addr: Address) -> None:
        return

    def _handle_relay(self, data: bytes, addr: Address) -> None:
        if len(data) < 12 or (not self.latched and not self._latch(addr, data)):
            return
        self.packets_in += 1
        rtcp = self.rtcp
        if rtcp is not None:
            rtcp.receive_rtp(data)
        if data[1] & 0x7F == self.te_pt and self.on_event is not None:
            self.on_event(self, data)
        peer = self.peer
        if peer is not None and peer.remote is not None and peer.transport is not None:
            peer.transport.sendto(data, peer.remote)
            peer.packets_out += 1

    def _handle_echo(self, data: bytes, addr: Address) -> None:
        if len(data) < 12 or (not self.latched and not self._latch(addr, data)):
            return
        self.packets_in += 1
        rtcp = self.rtcp
        if rtcp is not None:
            rtcp.receive_rtp(data)
        if self.transport is not None:
            self.transport.sendto(data, addr)
            self.packets_out += 1

    def _handle_general(self, data: bytes, addr: Address) -> None:
        if len(data) < 12 or data[0] >> 6 != 2 or 192 <= data[1] <= 223:
            return  # not RTP, or RTCP on the RTP port (RFC 5761 §4)
        if not self.latched:
            self._latch(addr, data)
        self.packets_in += 1
        if self.rtcp is not None:
            self.rtcp.receive_rtp(data)
        pt = data[1] & 0x7F
        if pt == self.te_pt:
            if self.on_event is not None:
                self.on_event(self, data)
            self._forward_event(data)
            return
        if pt != self.payload_type:
            return  # comfort noise or an unexpected codec: nothing to decode
        if self.echo and self.transport is not None:
            self.transport.sendto(data, addr)
            self.packets_out += 1
        self._forward_audio(data)
        if self.taps:
            pcm = self.codec.decode(payload_of(data))
            for tap in self.taps:
                tap(self, pcm)

    def _forward_audio(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or peer.source is not None or peer.remote is None:
            return
        if self.relay_map is not None:
            off = 12 + 4 * (data[0] & 0x0F)
            head = bytes((data[0], (data[1] & 0x80) | peer.payload_type)) + data[2:off]
            data = head + payload_of(data).translate(self.relay_map)
        peer.send_raw(data)

    def _forward_event(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or peer.source is not None or peer.remote is None or peer.te_pt < 0:
            return
        if peer.te_pt != self.te_pt:
            data = bytes((data[0], (data[1] & 0x80) | peer.te_pt)) + data[2:]
        peer.send_raw(data)

    def send_raw(self, data: bytes) -> None:
        if self.transport is not None and self.remote is not None:
            self.transport.sendto(data, self.remote)
            self.packets_out += 1

    def send_frame(self, pcm: Pcm) -> None:
        """Encode one 20 ms frame of our own audio (player, mixer) and send it to the remote:
        at once with the default ptime 20, else gathered into one packet per ``ptime`` (RFC
        4566 §6: 40 or 60 ms when the remote asked for that)."""
        for tap in self.out_taps:
            tap(self, pcm)
        if self.remote is None or self.transport is None:
            self.sender.skip(len(pcm))
            return
        payload = self.codec.encode(pcm)
        if self.ptime > 20 or self._pending:
            self._pending.append(payload)
            self._pending_samples += len(pcm)
            if self._pending_samples * 1000 < self.ptime * 8000:
                return
            payload, samples = b"".join(self._pending), self._pending_samples
            self._pending, self._pending_samples = [], 0
            self._send_payload(payload, samples)
            return
        self._send_payload(payload, len(pcm))

    def _send_payload(self, payload: bytes, samples: int) -> None:
        assert self.transport is not None and self.remote is not None
        ts = self.sender.ts
        self.transport.sendto(self.sender.packet(self.payload_type, payload, samples), self.remote)
        self.packets_out += 1
        if self.rtcp is not None:
            self.rtcp.on_sent(ts, len(payload))

    def flush_frames(self) -> None:
        """Send the frames gathered for a longer ptime now (the source paused or stopped)."""
        if self._pending and self.transport is not None and self.remote is not None:
            payload, samples = b"".join(self._pending), self._pending_samples
            self._pending, self._pending_samples = [], 0
            self._send_payload(payload, samples)

    def send_rtcp(self, bye: bool = False) -> None:
        """Send our compound RTCP report (RFC 3550 §6.1) to the remote's RTCP address."""
        if self.rtcp is None or self.rtcp_transport is None or self.rtcp_remote is None:
            return
        if self.rtcp_transport.is_closing():
            return
        rtcp = self.rtcp
        if self.native is not None:
            report = self.native.with_stats(self, lambda: rtcp.report(bye))
            assert self.rtcp_remote is not None  # the native latch may have moved it
        else:
            report = rtcp.report(bye)
        self.rtcp_transport.sendto(report, self.rtcp_remote)

    def send_silence(self) -> None:
        """Nothing to send this tick: out taps (recorders) still get a silent frame."""
        self.flush_frames()
        self.sender.skip(FRAME)
