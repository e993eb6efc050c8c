"""A test-owned RTP endpoint: the media side of a SIPp caller or agent.

SIPp does the signalling; its SDP points at this socket. The peer learns the server's RTP
address from the first packet it receives (the server sends prompts or the bridged audio
first), then sends its own tone there; everything it receives is kept, so a test can check
what that party heard.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

import numpy as np

from callcenter.rtp.dtmf import dtmf_packets
from callcenter.rtp.g711 import pcm16_to_ulaw, ulaw_to_pcm16


class RtpPeer:
    def __init__(self, tone_hz: float, level: float = 8000.0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = int(self.sock.getsockname()[1])
        self.tone_hz = tone_hz
        self.level = level
        self.remote: tuple[str, int] | None = None
        self.received: list[tuple[float, bytes]] = []  # (arrival, PCMU payload)
        self._digits: list[str] = []  # RFC 4733 digits to send instead of the tone
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _frame(self, n: int) -> bytes:
        t = (np.arange(160) + n * 160) / 8000.0
        pcm = (self.level * np.sin(2 * np.pi * self.tone_hz * t)).astype("<i2").tobytes()
        return pcm16_to_ulaw(pcm)

    def _run(self) -> None:
        seq, ts, n = 1, 0, 0
        next_send = time.monotonic()
        while not self._stop.is_set():
            try:
                data, addr = self.sock.recvfrom(2048)
            except (TimeoutError, OSError):
                data = b""
            if len(data) > 12 and data[0] >> 6 == 2 and (data[1] & 0x7F) == 0:
                self.remote = self.remote or (addr[0], addr[1])
                self.received.append((time.monotonic(), data[12:]))
            now = time.monotonic()
            while self.remote is not None and now >= next_send:
                if self._digits:
                    seq, ts = self._send_digit(self._digits.pop(0), seq, ts)
                    next_send = time.monotonic()
                    continue
                header = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, ts & 0xFFFFFFFF, 0x1234)
                self.sock.sendto(header + self._frame(n), self.remote)
                seq, ts, n = seq + 1, ts + 160, n + 1
                next_send += 0.02
            if self.remote is None:
                next_send = now

    def press(self, digits: str) -> None:
        """Send ``digits`` as RFC 4733 telephone-events (PT 101) in the media stream."""
        self._digits.extend(digits)

    def _send_digit(self, digit: str, seq: int, ts: int) -> tuple[int, int]:
        assert self.remote is not None
        packets = dtmf_packets(digit, ssrc=0x1234, sequence=seq & 0xFFFF, timestamp=ts,
                               duration_ms=120)  # fmt: skip
        for packet in packets:
            self.sock.sendto(packet.serialize(), self.remote)
            time.sleep(0.02)
        return seq + len(packets), ts + 960 + 320

    def heard(self, last_seconds: float | None = None) -> np.ndarray:
        """What this party heard as float samples (optionally only the last seconds)."""
        chunks = self.received
        if last_seconds is not None and chunks:
            cut = chunks[-1][0] - last_seconds
            chunks = [c for c in chunks if c[0] >= cut]
        if not chunks:
            return np.zeros(0)
        pcm = b"".join(ulaw_to_pcm16(p) for _, p in chunks)
        return np.frombuffer(pcm, dtype="<i2").astype(float)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def dominant_hz(samples: np.ndarray) -> float:
    if len(samples) < 800:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum[5:]) + 5) * 8000.0 / len(samples)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0
