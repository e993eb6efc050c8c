"""Routing configuration applied live: the stored working hours and holidays in the dialplan.

The dialplan comes from its file (or the demo's); the schedules an administrator edits are
stored (``schedules`` table, SPEC §13). ``with_stored_schedules`` gives the dialplan that routes
with them: a stored schedule replaces the file's schedule of the same name (or is added under
its name for rules to use), and its holidays count on top of the file's shared holidays. The
contact center swaps its dialplan for this one whenever a schedule changes, so the next call is
routed with the new hours: no restart.
"""

from __future__ import annotations

from datetime import date

from callcenter.dialplan import Dialplan, HoursError, Schedule, weekly_schedule
from callcenter.logs import get_logger
from callcenter.storage.repos.settings import ScheduleRecord

log = get_logger("callcenter.routing")


def with_stored_schedules(base: Dialplan, records: list[ScheduleRecord]) -> Dialplan:
    """``base`` with every usable stored schedule; an unusable one is logged and left out."""
    schedules: dict[str, tuple[Schedule, frozenset[date]]] = {}
    for rec in records:
        spans = [(span.weekday, span.opens, span.closes) for span in rec.hours]
        try:
            schedule = weekly_schedule(rec.timezone, spans)
        except HoursError as exc:
            log.warning("routing.schedule_unusable", schedule=rec.name, error=str(exc))
            continue
        schedules[rec.name] = (schedule, frozenset(h.day for h in rec.holidays))
    return base.with_schedules(schedules)
