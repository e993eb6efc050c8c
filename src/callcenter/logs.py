"""Structured logging: one line per event, with fields (``call_id`` on every SIP line).

Use ``log = get_logger(__name__)`` then ``log.info("sip.request", call_id=..., method=...)``.
Lines are ``key=value`` text by default or JSON (``server.log_format = "json"``). Fields whose
names look secret (password, secret, token, pin, authorization) are masked, so a caller cannot
leak a credential into the log by passing it as a field.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_SECRET_WORDS = ("password", "passwd", "secret", "token", "pin", "authorization", "ha1")


def _is_secret(name: str) -> bool:
    low = name.lower()
    return any(w in low for w in _SECRET_WORDS)


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: ("***" if _is_secret(k) else v) for k, v in fields.items()}


class StructLogger:
    """A thin wrapper that turns ``event`` + fields into one log record."""

    __slots__ = ("_logger",)

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def _log(self, level: int, event: str, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event, extra={"fields": _clean(fields)})

    def debug(self, event: str, /, **fields: Any) -> None:
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, /, **fields: Any) -> None:
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, /, **fields: Any) -> None:
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, /, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields)

    def exception(self, event: str, /, **fields: Any) -> None:
        self._logger.exception(event, extra={"fields": _clean(fields)})

    def is_debug(self) -> bool:
        return self._logger.isEnabledFor(logging.DEBUG)


def get_logger(name: str) -> StructLogger:
    return StructLogger(logging.getLogger(name))


def _quote(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "=\n\t'):
        return json.dumps(text, ensure_ascii=False)
    return text


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", {})
        parts = [
            self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            record.levelname.lower(),
            record.name,
            record.getMessage(),
        ]
        parts.extend(f"{k}={_quote(v)}" for k, v in fields.items())
        line = " ".join(parts)
        if record.exc_info:
            line += " exc=" + json.dumps(self.formatException(record.exc_info))
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": record.created,
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        out.update(getattr(record, "fields", {}))
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def setup_logging(level: str = "info", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
