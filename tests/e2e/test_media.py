"""The media engine end to end through the real server: SIPp's own ``uac_pcap`` against the echo
test, the echo's audio checked against what was sent, the IVR's Mandarin greeting checked
against the same text synthesised here, an RFC 4733 digit moving the IVR on, and a bridged call
with the media in two worker processes (``rtp.workers = 2``).
"""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from callcenter.media.codec import PCMA, codec_for
from callcenter.media.pcap import read_rtp, send_pcap
from callcenter.media.player import Player, Say
from callcenter.media.tts import Tts
from callcenter.rtp.g711 import ulaw_to_pcm16

from . import sipp
from .rtp_peer import RtpPeer, dominant_hz, rms
from .server import Server, free_port, start_server

pytestmark = pytest.mark.e2e

PCAPS = Path("/usr/share/sip-tester")
GREETING = "欢迎致电电力客服热线。"
MENU = "电费查询请按1，故障报修请按2，人工服务请按0，留言请按9。"
LEAVE_MESSAGE = "请在提示音后留言，留言完毕请挂机。"


def wait_for(pred: Callable[[], object], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture(params=[0, 2], ids=["in-process", "2-workers"])
def media_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path, {"CALLCENTER__RTP__WORKERS": str(request.param)})
    yield srv
    assert srv.stop() == 0, srv.log_text()[-4000:]
    assert "Traceback" not in srv.log_text(), srv.log_text()[-4000:]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path)
    yield srv
    assert srv.stop() == 0, srv.log_text()[-4000:]
    assert "Traceback" not in srv.log_text(), srv.log_text()[-4000:]


def test_sipp_uac_pcap_against_the_echo_test(media_server: Server, tmp_path: Path) -> None:
    (tmp_path / "pcap").symlink_to(PCAPS)  # the scenario plays ./pcap/g711a.pcap and a digit
    result = sipp.run(["-sn", "uac_pcap", f"127.0.0.1:{media_server.sip_port}", "-s", "9196",
                       "-m", "3", "-r", "3", "-i", "127.0.0.1", "-p", "0", "-timeout", "60",
                       "-timeout_error"], tmp_path)  # fmt: skip
    assert (result.rc, result.ok, result.failed) == (0, 3, 0), result.text


# -- the echo returns the audio --------------------------------------------------------------


def pcma_caller(media_port: int, hold_ms: int) -> str:
    """The shared caller scenario, offering PCMA (the codec of g711a.pcap) instead of PCMU."""
    xml = sipp.caller_scenario(rtp_port=media_port, before_ms=0, hold_ms=hold_ms)
    return xml.replace("RTP/AVP 0 101", "RTP/AVP 8 101").replace("0 PCMU/8000", "8 PCMA/8000")


def answered_media_port(messages: Path) -> int | None:
    """The server's RTP port from the 200 OK SDP in SIPp's message trace."""
    text = messages.read_text(errors="replace") if messages.exists() else ""
    found = re.search(r"SIP/2\.0 200 OK.*?m=audio (\d+)", text, re.S)
    return int(found.group(1)) if found else None


class Collector:
    """Receives on a socket in a thread (the echo comes back to the socket that sent)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.packets: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.sock.settimeout(0.05)
        while not self._stop.is_set():
            try:
                self.packets.append(self.sock.recv(2048))
            except (TimeoutError, OSError):
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def pcma_audio(packets: list[bytes]) -> np.ndarray:
    """Decoded PCMA payloads in sequence-number order (packets of other types dropped)."""
    audio = sorted((p for p in packets if p[1] & 0x7F == PCMA), key=lambda p: p[2:4])
    codec = codec_for(PCMA)
    pcm = [codec.decode(p[12:]) for p in audio]
    return np.concatenate(pcm).astype(np.float64) if pcm else np.zeros(0)


def best_match(template: np.ndarray, heard: np.ndarray) -> tuple[float, int]:
    """Peak normalised cross-correlation of ``template`` within ``heard``, and its lag."""
    n = len(template)
    if len(heard) < n:
        return 0.0, 0
    size = 1 << int(np.ceil(np.log2(len(heard) + n)))
    corr = np.fft.irfft(np.fft.rfft(heard, size) * np.conj(np.fft.rfft(template, size)), size)
    corr = corr[: len(heard) - n + 1]
    windows = np.sqrt(np.convolve(heard**2, np.ones(n), "valid"))
    norm = corr / (np.linalg.norm(template) * np.maximum(windows, 1e-9))
    lag = int(np.argmax(norm))
    return float(norm[lag]), lag


def test_echo_returns_the_pcap_audio(server: Server, tmp_path: Path) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    xml = tmp_path / "echo-caller.xml"
    xml.write_text(pcma_caller(port, hold_ms=10_000))
    (tmp_path / "echo.csv").write_text("SEQUENTIAL\n13800000010\n")
    messages = tmp_path / "messages.log"
    proc = sipp.start(["-sf", str(xml), "-inf", str(tmp_path / "echo.csv"), "-s", "9196",
                       f"127.0.0.1:{server.sip_port}", "-m", "1", "-i", "127.0.0.1",
                       "-p", "0", "-trace_msg", "-message_file", str(messages)],
                      tmp_path, "echo-caller")  # fmt: skip
    collector = Collector(sock)
    try:
        wait_for(lambda: answered_media_port(messages) is not None)
        dest = ("127.0.0.1", answered_media_port(messages) or 0)
        sent = asyncio.run(send_pcap(PCAPS / "g711a.pcap", dest, sock=sock))
        wait_for(lambda: len(collector.packets) >= sent, timeout=5)
    finally:
        collector.stop()
        proc.wait(timeout=30)
        sock.close()
    assert proc.returncode == 0
    original = pcma_audio([c.data for c in read_rtp(PCAPS / "g711a.pcap")])
    heard = pcma_audio(collector.packets)
    assert rms(heard) > 300
    score, lag = best_match(original[8000:24000], heard)  # two seconds from the middle
    assert score > 0.95 and lag == 8000  # the same samples, at the same place


# -- the IVR speaks and listens ------------------------------------------------------------


def spoken(texts: list[str], tmp: Path) -> list[np.ndarray]:
    """What the server's player makes of each text, synthesised here with the same Tts."""
    player = Player(Tts(tmp / "local-tts"))

    async def run() -> list[np.ndarray]:
        return [(await player.resolve([Say(t, "zh")])).astype(np.float64) for t in texts]

    return asyncio.run(run())


def heard_all(peer: RtpPeer) -> np.ndarray:
    pcm = b"".join(ulaw_to_pcm16(p) for _, p in list(peer.received))
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def test_ivr_greets_in_mandarin_and_an_rfc4733_digit_moves_it_on(
    server: Server, tmp_path: Path
) -> None:
    greeting, menu, leave = spoken([GREETING, MENU, LEAVE_MESSAGE], tmp_path)
    peer = RtpPeer(440.0, level=0.0)  # silent caller: only its digits make noise
    xml = tmp_path / "ivr-caller.xml"
    xml.write_text(sipp.caller_scenario(rtp_port=peer.port, before_ms=0, hold_ms=60_000))
    (tmp_path / "ivr.csv").write_text("SEQUENTIAL\n13800000011\n")
    proc = sipp.start(["-sf", str(xml), "-inf", str(tmp_path / "ivr.csv"), "-s", "8888",
                       f"127.0.0.1:{server.sip_port}", "-m", "1", "-i", "127.0.0.1", "-p", "0"],
                      tmp_path, "ivr-caller")  # fmt: skip
    try:
        # Greeting and menu are heard in full; the menu then waits 6 s for a digit.
        frames = -(-len(greeting) // 160) + -(-len(menu) // 160)  # each prompt ends padded
        wait_for(lambda: len(peer.received) >= frames, timeout=30)
        heard = heard_all(peer)
        assert rms(heard[: len(greeting)]) > 300
        g_score, g_at = best_match(greeting, heard)
        m_score, m_at = best_match(menu, heard)
        assert g_score > 0.9 and m_score > 0.9, (g_score, m_score)
        # The greeting lasts as long here as there, then the menu follows (0.3 s allowed for
        # the IVR's step from one node to the next).
        assert 0 <= (m_at - g_at) - len(greeting) < 0.3 * 8000
        before = len(peer.received)
        peer.press("9")  # 留言
        wait_for(lambda: (len(peer.received) - before) * 160 > len(leave) + 8000, timeout=30)
        l_score, l_at = best_match(leave, heard_all(peer)[before * 160 :])
        assert l_score > 0.9 and l_at < 8000, (l_score, l_at)  # it starts within a second
    finally:
        proc.kill()
        proc.wait()
        peer.close()


# -- a bridged call with the media in worker processes --------------------------------------


def test_bridged_call_through_two_media_workers(tmp_path: Path) -> None:
    srv = start_server(tmp_path, {"CALLCENTER__RTP__WORKERS": "2"})
    agent_media, caller_media = RtpPeer(1000.0), RtpPeer(440.0)
    procs: list[subprocess.Popen[str]] = []
    try:
        assert "media.workers_started" in srv.log_text()
        port = free_port()
        xml = tmp_path / "agent.xml"
        xml.write_text(sipp.agent_scenario("8001", agent_media.port))
        procs.append(sipp.start(["-sf", str(xml), "-i", "127.0.0.1", "-p", str(port), "-m",
                                 "1"], tmp_path, "agent-8001"))  # fmt: skip
        reg = sipp.register(srv.sip_port, "8001", "sip-8001", port, tmp_path)
        assert reg.rc == 0, reg.text
        wait_for(lambda: "extension=8001" in srv.log_text())
        caller = tmp_path / "caller.xml"
        caller.write_text(sipp.caller_scenario(digits="0", before_ms=1500, hold_ms=6000,
                                               rtp_port=caller_media.port))  # fmt: skip
        (tmp_path / "caller.csv").write_text("SEQUENTIAL\n13800000012\n")
        result = sipp.run(["-sf", str(caller), "-inf", str(tmp_path / "caller.csv"), "-s",
                           "8888", f"127.0.0.1:{srv.sip_port}", "-m", "1", "-i", "127.0.0.1",
                           "-p", "0", "-timeout", "60", "-timeout_error"], tmp_path)  # fmt: skip
        assert result.rc == 0, result.text
        assert "call.bridged" in srv.log_text()
        assert dominant_hz(agent_media.heard(last_seconds=3)) == pytest.approx(440, abs=15)
        assert dominant_hz(caller_media.heard(last_seconds=3)) == pytest.approx(1000, abs=15)
    finally:
        for p in procs:
            p.kill()
            p.wait()
        agent_media.close()
        caller_media.close()
        assert srv.stop() == 0, srv.log_text()[-4000:]
    assert "Traceback" not in srv.log_text(), srv.log_text()[-4000:]
