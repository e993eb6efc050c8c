"""Framing SIP messages on a byte stream (RFC 3261 §18.3): TCP and TLS.

A stream carries messages back to back; each ends after its header block and exactly
Content-Length bytes of body, which is mandatory on streams. ``StreamFramer.feed`` takes the
bytes that arrived and returns the complete messages; CRLF keep-alives between messages (RFC
5626 §3.5.1) are reported so the shell can answer a double-CRLF ping with a single CRLF pong.
A message without Content-Length, with a bad one, or larger than ``max_size`` makes the framer
fail closed: the shell answers what it can and closes the connection.
"""

from __future__ import annotations

from callcenter.sip.errors import SipError

_LENGTH_NAMES = (b"content-length", b"l")


class FramingError(SipError):
    """The stream cannot be framed any more; the connection must be closed."""


class StreamFramer:
    def __init__(self, max_size: int = 65536) -> None:
        self.max_size = max_size
        self._buf = bytearray()
        self.pings = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while True:
            self._skip_keepalives()
            msg = self._next()
            if msg is None:
                break
            out.append(msg)
        if len(self._buf) > self.max_size:
            raise FramingError("message too large")
        return out

    def _skip_keepalives(self) -> None:
        buf = self._buf
        i = 0
        while buf[i : i + 4] == b"\r\n\r\n":
            self.pings += 1
            i += 4
        while buf[i : i + 2] == b"\r\n":
            i += 2
        if i:
            del buf[:i]

    def _next(self) -> bytes | None:
        buf = self._buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        length = self._content_length(bytes(buf[:end]))
        total = end + 4 + length
        if total > self.max_size:
            raise FramingError("message too large")
        if len(buf) < total:
            return None
        msg = bytes(buf[:total])
        del buf[:total]
        return msg

    @staticmethod
    def _content_length(head: bytes) -> int:
        for line in head.split(b"\r\n")[1:]:
            name, colon, value = line.partition(b":")
            if colon and name.strip().lower() in _LENGTH_NAMES:
                text = value.strip()
                if not text.isdigit() or len(text) > 9:
                    raise FramingError("bad Content-Length")
                return int(text)
        raise FramingError("Content-Length required on a stream")
