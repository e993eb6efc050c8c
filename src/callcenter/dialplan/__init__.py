"""Dialplan: called number, caller and time of day to a destination. Pure.

``parse_dialplan(data)`` builds a ``Dialplan``; ``Dialplan.route(called, caller, wall_time)``
returns a ``Route`` (destination + explanation). ``hours`` holds the working-hours and holiday
calendar that the IVR's time conditions share.
"""

from callcenter.dialplan.hours import (
    Holidays,
    HoursError,
    Schedule,
    TimeWindow,
    parse_holidays,
    parse_schedule,
    weekly_schedule,
)
from callcenter.dialplan.parse import DialplanError, parse_destination, parse_dialplan
from callcenter.dialplan.plan import Destination, Dialplan, Route, Rule

__all__ = [
    "Destination",
    "Dialplan",
    "DialplanError",
    "Holidays",
    "HoursError",
    "Route",
    "Rule",
    "Schedule",
    "TimeWindow",
    "parse_destination",
    "parse_dialplan",
    "parse_holidays",
    "parse_schedule",
    "weekly_schedule",
]
