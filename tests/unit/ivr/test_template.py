"""Prompt templates: substitution, filters, the fen->yuan rule and parse errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from callcenter.ivr.template import TemplateError, format_fen_as_yuan, parse_template


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (12340, "123.40"),
        (5, "0.05"),
        (0, "0.00"),
        (-150, "-1.50"),
        ("12340", "123.40"),
        (" 100 ", "1.00"),
        (Decimal("100"), "1.00"),
        (100.0, "1.00"),
        (1.5, "1.5"),
        ("abc", "abc"),
        ("NaN", "NaN"),
        (True, "True"),
    ],
)
def test_fen_as_yuan(fen: object, text: str) -> None:
    assert format_fen_as_yuan(fen) == text


@pytest.mark.parametrize(
    ("source", "variables", "text"),
    [
        ("您的电费余额为{balance_yuan}元", {"balance_fen": 12340}, "您的电费余额为123.40元"),
        ("{balance_yuan}", {"balance_yuan": "explicit"}, "explicit"),
        ("{balance_yuan}", {}, ""),
        ("{x_yuan}", {"x_fen": None}, ""),
        ("{a|yuan}元", {"a": 99}, "0.99元"),
        ("{acc|digits}", {"acc": "1203"}, "1 2 0 3"),
        ("{ acc | digits }", {"acc": 7}, "7"),
        ("{missing}!", {}, "!"),
        ("{{literal}} {x}", {"x": 1}, "{literal} 1"),
        ("{cust.name}", {"cust.name": "赵六"}, "赵六"),
        ("plain", {}, "plain"),
        ("", {}, ""),
    ],
)
def test_render(source: str, variables: dict[str, object], text: str) -> None:
    assert parse_template(source).render(variables) == text


def test_names() -> None:
    assert parse_template("{a} {b|yuan} {{c}}").names == ("a", "b")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{", "unmatched '{'"),
        ("}", "unmatched '}'"),
        ("{1a}", "bad variable name"),
        ("{}", "bad variable name"),
        ("{a|nope}", "unknown filter 'nope'"),
    ],
)
def test_errors(source: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        parse_template(source)
