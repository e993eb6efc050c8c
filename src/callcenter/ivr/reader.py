"""Typed field access for one node of flow data, collecting every problem instead of stopping.

``NodeReader`` wraps the mapping of one node; each accessor returns a usable default when the
field is bad and records ``node '<id>': <message>`` in the shared error list, so one pass over a
flow reports all of its mistakes at once. Prompts, templates and conditions are parsed here too
because their errors must carry the node id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callcenter.ivr.nodes import PromptSpec
from callcenter.ivr.template import Template, TemplateError, parse_template

__all__ = ["NodeReader"]

_EMPTY = parse_template("")


class NodeReader:
    """Reads fields of one node; ``done()`` reports keys nobody asked for."""

    def __init__(self, node_id: str, data: Mapping[str, Any], errors: list[str], voice: str):
        self.node_id = node_id
        self.data = data
        self.errors = errors
        self.voice = voice
        self._seen = {"id", "type"}

    def error(self, message: str) -> None:
        self.errors.append(f"node '{self.node_id}': {message}")

    def has(self, key: str) -> bool:
        self._seen.add(key)
        return self.data.get(key) is not None

    def raw(self, key: str) -> Any:
        self._seen.add(key)
        return self.data.get(key)

    def text(self, key: str, default: str | None = None) -> str:
        value = self.raw(key)
        if value is None:
            if default is None:
                self.error(f"missing '{key}'")
                return ""
            return default
        if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
            self.error(f"'{key}' must be a non-empty string")
            return default or ""
        return str(value)

    def optional_text(self, key: str) -> str | None:
        return self.text(key) if self.has(key) else None

    def number(self, key: str, default: float, lo: float, hi: float) -> float:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            self.error(f"'{key}' must be a number from {lo:g} to {hi:g}, not {value!r}")
            return default
        return float(value)

    def integer(self, key: str, default: int, lo: int, hi: int) -> int:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            self.error(f"'{key}' must be an integer from {lo} to {hi}, not {value!r}")
            return default
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.error(f"'{key}' must be true or false")
            return default
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> str:
        value = self.text(key, default)
        if value not in options:
            if value:
                self.error(f"'{key}' must be one of {', '.join(options)}, not {value!r}")
            return options[0]
        return value

    def template(self, key: str, default: str | None = None) -> Template:
        source = self.text(key, default)
        return self.parse_template(source, key)

    def parse_template(self, source: str, key: str) -> Template:
        try:
            return parse_template(source)
        except TemplateError as exc:
            self.error(f"'{key}': {exc}")
            return _EMPTY

    def prompts(self, key: str, required: bool) -> tuple[PromptSpec, ...]:
        value = self.raw(key)
        if value is None or value == []:
            if required:
                self.error(f"missing prompt '{key}'")
            return ()
        items = value if isinstance(value, list) else [value]
        return tuple(p for p in (self._prompt(key, item) for item in items) if p is not None)

    def _prompt(self, key: str, item: object) -> PromptSpec | None:
        if isinstance(item, str) and item.strip():
            return PromptSpec("tts", self.parse_template(item, key), self.voice)
        if isinstance(item, Mapping) and len(item.keys() - {"voice"}) == 1:
            voice = str(item.get("voice", self.voice))
            if isinstance(item.get("tts"), str) and item["tts"].strip():
                return PromptSpec("tts", self.parse_template(item["tts"], key), voice)
            if isinstance(item.get("file"), str) and item["file"].strip():
                return PromptSpec("file", self.parse_template(item["file"], key), voice)
        self.error(f"'{key}': a prompt is text, {{tts: text}} or {{file: path}}, not {item!r}")
        return None

    def done(self) -> None:
        unknown = sorted(str(k) for k in self.data if str(k) not in self._seen)
        if unknown:
            self.error(f"unknown field(s): {', '.join(unknown)}")
