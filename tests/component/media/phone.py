"""A fake phone for media tests: a loopback UDP socket that sends RTP and keeps what it gets."""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass, field

import numpy as np

from callcenter.media.codec import FRAME, codec_for, payload_of
from callcenter.rtp.packet import RtpPacket, parse_rtp

Address = tuple[str, int]


@dataclass
class Phone(asyncio.DatagramProtocol):
    received: list[bytes] = field(default_factory=list)
    sources: list[Address] = field(default_factory=list)
    transport: asyncio.DatagramTransport | None = None
    seq: int = 1000
    ts: int = 5000
    ssrc: int = 0x1234

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.received.append(data)
        self.sources.append(addr)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def packet(self, pt: int, payload: bytes, marker: bool = False) -> bytes:
        data = RtpPacket(pt, self.seq, self.ts, self.ssrc, payload, marker).serialize()
        self.seq = (self.seq + 1) & 0xFFFF
        return data

    def send(self, data: bytes, dest: Address) -> None:
        assert self.transport is not None
        self.transport.sendto(data, dest)

    async def send_audio(self, pcm: np.ndarray, dest: Address, pt: int = 0) -> None:
        """Send ``pcm`` as 20 ms packets paced on the loop clock."""
        codec = codec_for(pt)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for k in range(len(pcm) // FRAME):
            self.send(self.packet(pt, codec.encode(pcm[k * FRAME : (k + 1) * FRAME])), dest)
            self.ts += FRAME
            delay = start + (k + 1) * 0.02 - loop.time()
            await asyncio.sleep(max(0.0, delay))

    def send_dtmf(self, digit: str, dest: Address, pt: int = 101, packets: int = 5) -> None:
        """An RFC 4733 key press: ``packets`` updates then three end packets, one timestamp."""
        event = "0123456789*#ABCD".index(digit)
        for k in range(packets + 3):
            end = k >= packets
            duration = 160 * min(k + 1, packets)
            payload = struct.pack("!BBH", event, (0x80 if end else 0) | 10, duration)
            self.send(self.packet(pt, payload, marker=k == 0), dest)
        self.ts += 160 * packets

    def audio(self, pt: int | None = None) -> np.ndarray:
        """Decoded audio of every received packet in the given (or first seen) payload type."""
        pkts = [parse_rtp(d) for d in self.received]
        if not pkts:
            return np.zeros(0, np.int16)
        want = pkts[0].payload_type if pt is None else pt
        pkts = sorted((p for p in pkts if p.payload_type == want), key=lambda p: p.sequence)
        codec = codec_for(want)
        return np.concatenate([codec.decode(p.payload) for p in pkts]) if pkts else np.zeros(0)

    def payloads(self) -> list[bytes]:
        return [payload_of(d) for d in self.received]


async def open_phone(host: str = "127.0.0.1") -> Phone:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_datagram_endpoint(Phone, local_addr=(host, 0))
    return proto


async def wait_for(cond: object, timeout: float = 3.0) -> None:
    """Poll ``cond()`` until true (tests never assert timings; this only bounds a hang)."""
    assert callable(cond)
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def tone(freq: float, seconds: float, amp: float = 8000.0) -> np.ndarray:
    t = np.arange(int(8000 * seconds)) / 8000
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def peak_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(len(x))))
    return float(np.argmax(spectrum) * 8000 / len(x))


def band_energy(x: np.ndarray, freq: float, width: float = 30.0) -> float:
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(len(x)))) ** 2
    hz = np.fft.rfftfreq(len(x), 1 / 8000)
    return float(spectrum[(hz > freq - width) & (hz < freq + width)].sum() / spectrum.sum())
