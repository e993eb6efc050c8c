"""Run inside a fresh network namespace (`unshare -n`): start the server on its loopback,
send every RFC 4475 torture message, collect the answers, check OPTIONS still works.

Prints one JSON object: {name: [status, ...]} plus "_options" and "_rc".
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from callcenter.sip.endpoint import server_key
from callcenter.sip.errors import SipError
from callcenter.sip.message import Request, parse_message
from tests.e2e.server import Server, start_server


def txn_key(data: bytes) -> str | None:
    """The server transaction key the message would match (RFC 3261 §17.2.3), if any.

    Several corpus messages reuse one branch and sent-by; sent to one server within 32 s,
    the later ones are (rightly) treated as retransmissions of the first. Such a message is
    sent to a fresh server instead."""
    try:
        msg = parse_message(data)
        return server_key(msg) if isinstance(msg, Request) else None
    except (SipError, IndexError):
        return None


def call_id_of(data: bytes) -> str:
    for line in data.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() in (b"call-id", b"i"):
            return value.strip().decode("utf-8", "replace")
    return ""


def collect(sock: socket.socket, wait: float, call_id: str | None = None) -> list[str]:
    """First lines of the responses that arrive within ``wait`` (for ``call_id`` only:
    retransmitted final responses to earlier INVITEs, which we never ACK, are skipped)."""
    out: list[str] = []
    end = time.monotonic() + wait
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return out
        sock.settimeout(left)
        try:
            data, _ = sock.recvfrom(65535)
        except TimeoutError:
            return out
        if call_id is None or call_id_of(data) == call_id:
            line = data.split(b"\r\n", 1)[0].decode("utf-8", "replace")
            out.append(line)
            if not line.startswith("SIP/2.0 1"):  # a final response: wait a little for extras
                end = min(end, time.monotonic() + 0.1)


def send_all(server: Server, paths: list[Path], results: dict[str, object]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        for path in paths:
            data = path.read_bytes()
            sock.sendto(data, ("127.0.0.1", server.sip_port))
            wait = 0.5 if data.startswith(b"SIP/") else 5.0
            lines = collect(sock, wait, call_id_of(data))
            results[path.stem] = [
                int(line.split()[1])
                for line in lines
                if line.startswith("SIP/2.0 ") and line.split()[1].isdigit()
            ]
        port = sock.getsockname()[1]
        options = (
            f"OPTIONS sip:ping@127.0.0.1:{server.sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKafter{len(paths)}\r\n"
            "From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:ping@127.0.0.1>\r\n"
            "Call-ID: after-torture\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        sock.sendto(options.encode(), ("127.0.0.1", server.sip_port))
        results.setdefault("_options", []).append(collect(sock, 2.0, "after-torture"))  # type: ignore[union-attr]


def groups(corpus: Path) -> list[list[Path]]:
    out: list[list[Path]] = []
    seen: list[set[str]] = []
    for path in sorted(corpus.glob("*.dat")):
        key = txn_key(path.read_bytes())
        for group, keys in zip(out, seen, strict=True):
            if key is None or key not in keys:
                group.append(path)
                if key is not None:
                    keys.add(key)
                break
        else:
            out.append([path])
            seen.append({key} if key is not None else set())
    return out


def main(corpus: Path, tmp: Path) -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    results: dict[str, object] = {"_rc": [], "_traceback": False, "_log_tail": ""}
    for i, paths in enumerate(groups(corpus)):
        server = start_server(tmp / f"run{i}")
        try:
            send_all(server, paths, results)
        finally:
            results["_rc"].append(server.stop())  # type: ignore[attr-defined]
            results["_traceback"] = results["_traceback"] or "Traceback" in server.log_text()
            results["_log_tail"] = server.log_text()[-2000:]
    print(json.dumps(results))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
