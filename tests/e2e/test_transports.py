"""SIP over TLS and over IPv6 against the real server: OPTIONS answered on each listener,
stream framing with Content-Length, and a CRLF keep-alive ping answered with a pong."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .server import Server, free_port, start_server

pytestmark = pytest.mark.e2e


def options(transport: str, host: str, port: int, local: tuple[str, int]) -> bytes:
    via_host = f"[{local[0]}]" if ":" in local[0] else local[0]
    return (
        f"OPTIONS sip:ping@{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} {via_host}:{local[1]};branch=z9hG4bK{transport}{port}\r\n"
        "From: <sip:probe@example.invalid>;tag=1\r\nTo: <sip:ping@example.invalid>\r\n"
        f"Call-ID: transports-{transport}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[Server]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip
    tls_port = free_port(socket.SOCK_STREAM)
    server = start_server(tmp_path, {
        "CALLCENTER__SIP__TLS__ENABLED": "true",
        "CALLCENTER__SIP__TLS__PORT": str(tls_port),
        "CALLCENTER__SIP__TLS__CERTFILE": str(cert),
        "CALLCENTER__SIP__TLS__KEYFILE": str(key),
        "CALLCENTER__SIP__BIND6": "::1",
    })  # fmt: skip
    server.tls_port = tls_port  # type: ignore[attr-defined]
    yield server
    assert server.stop() == 0
    assert "Traceback" not in server.log_text()


def read_response(stream: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = stream.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_options_over_tls(tls_server: Server) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    port = tls_server.tls_port  # type: ignore[attr-defined]
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"\r\n\r\n")  # RFC 5626 keep-alive ping
        assert tls.recv(2) == b"\r\n"
        tls.sendall(options("TLS", "127.0.0.1", port, tls.getsockname()[:2]))
        reply = read_response(tls)
    assert reply.startswith(b"SIP/2.0 200 OK")
    assert b"Allow: INVITE" in reply


def test_options_over_ipv6_udp_and_tcp(tls_server: Server) -> None:
    port = tls_server.sip_port
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as udp:
        udp.settimeout(10)
        udp.bind(("::1", 0))
        udp.sendto(options("UDP", "[::1]", port, udp.getsockname()[:2]), ("::1", port))
        reply, _ = udp.recvfrom(65535)
    assert reply.startswith(b"SIP/2.0 200 OK")
    assert b"received=::1" in reply or b"rport" not in reply
    with socket.create_connection(("::1", port), timeout=10) as tcp:
        tcp.sendall(options("TCP", "[::1]", port, tcp.getsockname()[:2]))
        assert read_response(tcp).startswith(b"SIP/2.0 200 OK")


def test_tcp_message_without_content_length_closes_connection(tls_server: Server) -> None:
    port = tls_server.sip_port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as tcp:
        msg = options("TCP", "127.0.0.1", port, tcp.getsockname()[:2]).replace(
            b"Content-Length: 0\r\n", b""
        )
        tcp.sendall(msg)
        assert tcp.recv(100) == b""  # framing is impossible: the server closes (RFC 3261 §18.3)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as tcp:
        tcp.sendall(options("TCP", "127.0.0.1", port, tcp.getsockname()[:2]))
        assert read_response(tcp).startswith(b"SIP/2.0 200 OK")  # and still serves others
