"""Prompt and key templates: ``{name}`` and ``{name|filter}`` substituted from session variables.

Templates are parsed once, when the flow is loaded, so a typo in a variable name or an unknown
filter is a validation error naming the node rather than a silent gap in a prompt. Filters:
``yuan`` formats an amount in fen (分) as yuan with two decimals (``12340`` -> ``123.40``), the
form the Mandarin text normaliser reads as 一百二十三元四角; ``digits`` separates the characters
with spaces so an account number is read digit by digit. A variable ``x_yuan`` that is not set
is derived from ``x_fen``, so a flow can say ``您的电费余额为{balance_yuan}元``. ``{{`` and ``}}``
are literal braces. A variable missing at run time is substituted as an empty string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = ["FILTERS", "Template", "TemplateError", "format_fen_as_yuan", "parse_template"]

_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")


class TemplateError(ValueError):
    """A template with bad braces, a bad variable name or an unknown filter."""


def _to_fen(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount != amount.to_integral_value():
        return None
    return int(amount)


def format_fen_as_yuan(value: object) -> str:
    """``12340`` -> ``"123.40"``; ``-5`` -> ``"-0.05"``; not an integer amount -> ``str(value)``."""
    fen = _to_fen(value)
    if fen is None:
        return str(value)
    sign = "-" if fen < 0 else ""
    yuan, rest = divmod(abs(fen), 100)
    return f"{sign}{yuan}.{rest:02d}"


def _digits(value: object) -> str:
    return " ".join(str(value))


FILTERS: Mapping[str, Callable[[object], str]] = {"yuan": format_fen_as_yuan, "digits": _digits}


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    filter: str | None


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template: literal strings and fields, in order."""

    source: str
    parts: tuple[str | _Field, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The variable names the template reads."""
        return tuple(p.name for p in self.parts if isinstance(p, _Field))

    def render(self, variables: Mapping[str, object]) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(_render_field(part, variables))
        return "".join(out)


def _lookup(name: str, variables: Mapping[str, object]) -> object:
    if name in variables:
        return variables[name]
    if name.endswith("_yuan"):
        fen = variables.get(name[: -len("_yuan")] + "_fen")
        if fen is not None:
            return format_fen_as_yuan(fen)
    return None


def _render_field(field: _Field, variables: Mapping[str, object]) -> str:
    value = _lookup(field.name, variables)
    if value is None:
        return ""
    if field.filter is None:
        return str(value)
    return FILTERS[field.filter](value)


def _parse_field(body: str) -> _Field:
    name, _, filt = body.partition("|")
    name = name.strip()
    if not _NAME.match(name):
        raise TemplateError(f"bad variable name {name!r}")
    if not filt:
        return _Field(name, None)
    filt = filt.strip()
    if filt not in FILTERS:
        raise TemplateError(f"unknown filter {filt!r} (known: {', '.join(sorted(FILTERS))})")
    return _Field(name, filt)


def parse_template(source: str) -> Template:
    """Parse ``source``; raise ``TemplateError`` on a lone brace or a bad field."""
    parts: list[str | _Field] = []
    pos = 0
    for match in _FIELD.finditer(source):
        if match.start() > pos:
            parts.append(source[pos : match.start()])
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif match.group(1) is None:
            raise TemplateError(f"unmatched {token!r} at offset {match.start()}")
        else:
            parts.append(_parse_field(match.group(1)))
        pos = match.end()
    if pos < len(source):
        parts.append(source[pos:])
    return Template(source, tuple(parts))
