"""Dialplan routing tables: DIDs, caller prefixes, working hours, holidays, make-up days, zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from callcenter.dialplan import (
    Destination,
    Dialplan,
    DialplanError,
    Rule,
    parse_destination,
    parse_dialplan,
)

DEMO = Path(__file__).resolve().parents[3] / "src/callcenter/data/flows/demo_dialplan.yaml"
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def plan() -> Dialplan:
    return parse_dialplan(yaml.safe_load(DEMO.read_text(encoding="utf-8")))


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


MAIN = Destination("flow", "demo_main")
CLOSED = Destination("flow", "demo_after_hours")


@pytest.mark.parametrize(
    ("called", "caller", "when", "dest", "rule"),
    [
        ("95598", "13800000001", sh(2025, 3, 3, 10, 0), MAIN, "hotline-open"),  # Monday
        ("4008095598", "021555", sh(2025, 3, 3, 8, 0), MAIN, "hotline-open"),  # opening minute
        ("95598", "138", sh(2025, 3, 3, 7, 59), CLOSED, "hotline-closed"),
        ("95598", "138", sh(2025, 3, 3, 18, 0), CLOSED, "hotline-closed"),  # end is exclusive
        ("95598", "138", sh(2025, 3, 8, 11, 59), MAIN, "hotline-open"),  # Saturday morning
        ("95598", "138", sh(2025, 3, 8, 12, 0), CLOSED, "hotline-closed"),
        ("95598", "138", sh(2025, 3, 9, 10, 0), CLOSED, "hotline-closed"),  # Sunday
        ("95598", "138", sh(2025, 10, 1, 10, 0), CLOSED, "hotline-holiday"),  # National Day
        ("95598", "138", sh(2025, 10, 1, 0, 0), CLOSED, "hotline-holiday"),
        ("95598", "138", sh(2025, 9, 28, 10, 0), MAIN, "hotline-open"),  # Sunday worked (调休)
        ("95598", "138", sh(2025, 10, 11, 17, 0), MAIN, "hotline-open"),  # Saturday as Monday
        # The same instants given in other zones: the schedule's zone decides.
        ("95598", "138", datetime(2025, 3, 3, 2, 0, tzinfo=UTC), MAIN, "hotline-open"),
        (
            "95598",
            "138",
            datetime(2025, 3, 2, 20, 0, tzinfo=ZoneInfo("America/New_York")),
            MAIN,
            "hotline-open",
        ),
        ("95598", "138", datetime(2025, 3, 3, 11, 0, tzinfo=UTC), CLOSED, "hotline-closed"),
        (
            "95598",
            "138",
            datetime(2025, 9, 30, 16, 30, tzinfo=UTC),
            CLOSED,
            "hotline-holiday",
        ),  # 00:30 Oct 1 in Shanghai
        (
            "95598",
            "138",
            datetime(2025, 3, 3, 9, 0, tzinfo=timezone(timedelta(hours=8))),
            MAIN,
            "hotline-open",
        ),
        (
            "95598",
            "13900001234",
            sh(2025, 10, 1, 10, 0),
            Destination("queue", "vip"),
            "vip-callers",
        ),
        ("9196", "138", sh(2025, 3, 3, 3, 0), Destination("extension", "9196"), "echo-test"),
        ("8001", "138", sh(2025, 3, 3, 3, 0), Destination("extension", "direct"), "extensions"),
        ("95598-fax", "1", sh(2025, 3, 3, 3, 0), Destination("voicemail", "fax"), "fax"),
        (
            "80011",
            "138",
            sh(2025, 3, 3, 3, 0),
            Destination("hangup", "no_route"),
            None,
        ),  # regex is a full match
        ("12345", "138", sh(2025, 3, 3, 3, 0), Destination("hangup", "no_route"), None),
    ],
)
def test_demo_routes(
    plan: Dialplan, called: str, caller: str, when: datetime, dest: Destination, rule: str | None
) -> None:
    route = plan.route(called, caller, when)
    assert (route.destination, route.rule) == (dest, rule), route.explanation
    assert route.explanation[-1].startswith(f"rule '{rule}': matched" if rule else "no rule")


def test_explanation_names_each_rule_tried(plan: Dialplan) -> None:
    route = plan.route("95598", "138", sh(2025, 10, 1, 10, 0))
    assert route.explanation == (
        "rule 'echo-test': called number '95598' does not match",
        "rule 'demo-anytime': called number '95598' does not match",
        "rule 'extensions': called number '95598' does not match",
        "rule 'vip-callers': caller '138' has none of the prefixes 1390000",
        "rule 'hotline-holiday': matched (2025-10-01 Wed 10:00 Asia/Shanghai is holiday)"
        " -> flow:demo_after_hours",
    )
    assert (route.is_open, route.is_holiday) == (False, True)
    closed = plan.route("95598", "138", sh(2025, 3, 3, 20, 0))
    assert (
        "rule 'hotline-open': wants open, but 2025-03-03 Mon 20:00 Asia/Shanghai is closed"
        in closed.explanation
    )
    assert (closed.is_open, closed.is_holiday) == (False, False)
    assert plan.route("9196", "1", sh(2025, 3, 3, 3, 0)).is_open is None


def test_naive_datetime_is_refused(plan: Dialplan) -> None:
    with pytest.raises(ValueError, match="naive"):
        plan.route("95598", "1", datetime(2025, 3, 3, 10, 0))


def test_overnight_window_and_zone_per_schedule() -> None:
    plan = parse_dialplan(
        {
            "hours": {
                "night": {
                    "tz": "Europe/Berlin",
                    "windows": [{"days": "fri", "from": "22:00", "to": "06:00"}],
                }
            },
            "rules": [{"name": "n", "hours": "night", "when": "open", "queue": "night"}],
        }
    )
    berlin = ZoneInfo("Europe/Berlin")
    cases = [
        (datetime(2025, 3, 7, 21, 59, tzinfo=berlin), False),
        (datetime(2025, 3, 7, 22, 0, tzinfo=berlin), True),
        (datetime(2025, 3, 8, 5, 59, tzinfo=berlin), True),  # Saturday morning tail
        (datetime(2025, 3, 8, 6, 0, tzinfo=berlin), False),
        (datetime(2025, 3, 6, 23, 0, tzinfo=berlin), False),  # Thursday night
        (datetime(2025, 3, 7, 4, 0, tzinfo=berlin), False),  # Friday morning: Thursday's tail
        # DST: on 2025-03-30 Berlin moves to UTC+2; Friday 2025-03-28 22:30 is UTC+1.
        (datetime(2025, 3, 28, 21, 30, tzinfo=UTC), True),
        (datetime(2025, 3, 28, 20, 30, tzinfo=UTC), False),
    ]
    for when, is_open in cases:
        route = plan.route("x", "y", when)
        assert (route.rule == "n") is is_open, (when, route.explanation)


def test_rules_are_tried_in_order_and_empty_matchers_match_everything() -> None:
    plan = Dialplan(
        [
            Rule("first", Destination("queue", "a"), caller_prefix=("1",)),
            Rule("all", Destination("queue", "b")),
        ],
        {},
    )
    assert plan.route("x", "123", datetime(2025, 1, 1, tzinfo=UTC)).rule == "first"
    assert plan.route("x", "923", datetime(2025, 1, 1, tzinfo=UTC)).rule == "all"


def test_constructor_checks_hours_names() -> None:
    with pytest.raises(ValueError, match="unknown hours: office"):
        Dialplan([Rule("r", Destination("queue", "a"), hours="office")], {})
    with pytest.raises(ValueError, match="need 'hours': r"):
        Dialplan([Rule("r", Destination("queue", "a"), when="open")], {})


BASE: dict[str, Any] = {"hours": {"office": {"windows": [{"days": "mon-fri"}]}}}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], "dialplan: the document must be a mapping"),
        ({"rules": []}, "dialplan: 'rules' must be a non-empty list"),
        ({"rules": [1]}, "dialplan: rules[0] must be a mapping"),
        ({"rules": [{"name": "a"}]}, "rule 'a': needs exactly one destination"),
        (
            {"rules": [{"name": "a", "queue": "q", "flow": "f"}]},
            "rule 'a': needs exactly one destination",
        ),
        ({"rules": [{"name": "a", "queue": " "}]}, "rule 'a': destination 'queue' needs a target"),
        ({"rules": [{"queue": "q", "colour": 1}]}, "rule '#1': unknown field(s): colour"),
        (
            {"rules": [{"name": "a", "queue": "q", "when": "sometimes"}]},
            "rule 'a': 'when' must be one of",
        ),
        (
            {"rules": [{"name": "a", "queue": "q", "when": "open"}]},
            "rule 'a': 'when: open' needs 'hours'",
        ),
        (
            {"rules": [{"name": "a", "queue": "q", "hours": "gone"}]},
            "rule 'a': unknown hours 'gone'",
        ),
        ({"rules": [{"name": "a", "queue": "q", "did_regex": "("}]}, "rule 'a': bad did_regex"),
        (
            {"rules": [{"name": "a", "queue": "q"}, {"name": "a", "queue": "r"}]},
            "rule 'a': duplicate name",
        ),
        ({"rules": [{"queue": "q"}], "colour": 1}, "dialplan: unknown field(s): colour"),
        (
            {"rules": [{"queue": "q"}], "default": {"mars": 1}},
            "dialplan: default: needs exactly one",
        ),
        ({"rules": [{"queue": "q"}], "hours": []}, "dialplan: 'hours' must map names"),
        (
            {"rules": [{"queue": "q"}], "hours": {"o": {"tz": "Nowhere/City", "windows": [{}]}}},
            "hours 'o': unknown time zone 'Nowhere/City'",
        ),
        (
            {"rules": [{"queue": "q"}], "hours": {"o": {"windows": []}}},
            "hours 'o': hours need a non-empty list",
        ),
        ({"rules": [{"queue": "q"}], "hours": {"o": []}}, "hours 'o': hours must be a mapping"),
        (
            {"rules": [{"queue": "q"}], "hours": {"o": {"windows": [{}], "x": 1}}},
            "hours 'o': unknown key(s) in hours: x",
        ),
        (
            {"rules": [{"queue": "q"}], "hours": {"o": {"windows": [{"days": "mon", "at": 1}]}}},
            "hours 'o': unknown key(s) in time window: at",
        ),
        (
            {"rules": [{"queue": "q"}], "hours": {"o": {"windows": ["9-5"]}}},
            "hours 'o': a time window must be a mapping",
        ),
        (
            {
                "rules": [{"queue": "q"}],
                "hours": {"o": {"windows": [{"from": "10:00", "to": "10:00"}]}},
            },
            "hours 'o': time window is empty",
        ),
        (
            {"rules": [{"queue": "q"}], "hours": {"o": {"windows": [{"days": 5}]}}},
            "hours 'o': bad days 5",
        ),
        (
            {"rules": [{"queue": "q"}], "hours": {"o": {"windows": [{"days": []}]}}},
            "hours 'o': no days given",
        ),
        (
            {"rules": [{"queue": "q"}], "hours": {"o": {"windows": [{"to": "24:30"}]}}},
            "hours 'o': bad time '24:30'",
        ),
        (
            {"rules": [{"queue": "q"}], "hours": {"o": {"windows": [{"to": "12:60"}]}}},
            "hours 'o': bad time '12:60'",
        ),
        (
            {"rules": [{"queue": "q"}], "holidays": {"dates": ["2025-13-01"]}},
            "dialplan: holidays: bad date",
        ),
        ({"rules": [{"queue": "q"}], "holidays": "xmas"}, "dialplan: holidays: holidays must be"),
        (
            {"rules": [{"queue": "q"}], "holidays": {"days": []}},
            "dialplan: holidays: unknown key(s) in holidays: days",
        ),
        (
            {
                "rules": [{"queue": "q"}],
                "holidays": {"dates": ["2025-01-01"], "workdays": ["2025-01-01"]},
            },
            "dialplan: holidays: date both holiday and workday: 2025-01-01",
        ),
    ],
)
def test_errors_name_the_rule(data: object, expected: str) -> None:
    with pytest.raises(DialplanError) as info:
        parse_dialplan(data)
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems


def test_plain_list_of_holidays_and_day_spellings() -> None:
    plan = parse_dialplan(
        {
            "hours": {
                "o": {
                    "tz": "UTC",
                    "windows": [
                        {"days": ["Monday", "wed-thu"], "from": "9:00", "to": "24:00"},
                        {"days": "sun-mon", "from": "00:00", "to": "01:00"},
                    ],
                }
            },
            "holidays": ["2025-03-05"],
            "rules": [{"name": "open", "hours": "o", "when": "open", "queue": "a"}],
            "default": {"voicemail": "general"},
        }
    )
    opened = {
        datetime(2025, 3, 3, 23, 59, tzinfo=UTC): True,  # Monday
        datetime(2025, 3, 4, 12, 0, tzinfo=UTC): False,  # Tuesday
        datetime(2025, 3, 5, 12, 0, tzinfo=UTC): False,  # Wednesday, a holiday
        datetime(2025, 3, 6, 12, 0, tzinfo=UTC): True,  # Thursday
        datetime(2025, 3, 9, 0, 30, tzinfo=UTC): True,  # Sunday, 00:00-01:00 window
        datetime(2025, 3, 8, 0, 30, tzinfo=UTC): False,  # Saturday
    }
    for when, is_open in opened.items():
        dest = plan.route("x", "y", when).destination
        assert (dest == Destination("queue", "a")) is is_open, when
    assert plan.default == Destination("voicemail", "general")


def test_all_days_spelling() -> None:
    plan = parse_dialplan(
        {
            "hours": {"o": {"tz": "UTC", "windows": [{"days": "*", "from": "12:00"}]}},
            "rules": [{"hours": "o", "when": "open", "queue": "a"}],
        }
    )
    assert all(
        plan.route("x", "y", datetime(2025, 3, d, 13, tzinfo=UTC)).rule == "#1" for d in range(1, 8)
    )


def test_parse_destination() -> None:
    assert parse_destination({"flow": "demo_main"}) == Destination("flow", "demo_main")
    assert str(Destination("queue", "a")) == "queue:a"
