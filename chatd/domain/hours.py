"""Business hours: when people answer chats, and when they are back (no I/O).

A :class:`Schedule` is a time zone, opening ranges per weekday in local time, and closed days
(holidays, local dates). A schedule with no ranges on any day is open all the time (24/7, the
default). Ranges are ``"HH:MM-HH:MM"``; ``"00:00-24:00"`` is the whole day, and a range that
ends at or before it starts runs past midnight (``"22:00-06:00"``: until 06:00 the next day,
which belongs to the day it started on, also when that next day is a holiday).

Daylight-saving changes follow the zone (zoneinfo): "09:00" is 09:00 on the wall clock.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

__all__ = ["DAYS", "Schedule", "parse_range", "schedule"]

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RANGE = re.compile(r"([0-2][0-9]):([0-5][0-9])-([0-2][0-9]):([0-5][0-9])")
#: How far ahead :meth:`Schedule.next_open` looks (a schedule closed longer is "not soon").
HORIZON_DAYS = 400


def parse_range(text: str) -> tuple[int, int]:
    """``"09:00-18:00"`` → minutes from midnight (540, 1080); an end at or before the start
    runs into the next day (``"22:00-06:00"`` → (1320, 1800)). ValueError when malformed."""
    m = _RANGE.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"expected HH:MM-HH:MM, got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ValueError(f"not a time of day in {text!r}")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end <= start:
        end += 24 * 60
    return start, end


@dataclass(frozen=True, slots=True)
class Schedule:
    """Opening hours; build with :func:`schedule`."""

    zone: dt.tzinfo
    #: Per weekday (Monday first): (start, end) minutes from that day's local midnight.
    week: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[dt.date]

    @property
    def always_open(self) -> bool:
        return not any(self.week)

    def _intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The opening intervals that start on local ``day`` (empty on holidays)."""
        if day in self.holidays:
            return []
        midnight = dt.datetime(day.year, day.month, day.day)
        out = []
        for start, end in self.week[day.weekday()]:
            begin = (midnight + dt.timedelta(minutes=start)).replace(tzinfo=self.zone)
            finish = (midnight + dt.timedelta(minutes=end)).replace(tzinfo=self.zone)
            out.append((begin, finish))
        return out

    def is_open(self, when: dt.datetime) -> bool:
        """Whether people answer at ``when`` (an aware datetime)."""
        if self.always_open:
            return True
        local = when.astimezone(self.zone)
        for day in (local.date() - dt.timedelta(days=1), local.date()):
            for begin, finish in self._intervals(day):
                if begin <= when < finish:
                    return True
        return False

    def next_open(self, when: dt.datetime) -> dt.datetime | None:
        """When people answer next: ``when`` itself when open, else the next opening, or None
        when nothing opens within :data:`HORIZON_DAYS`."""
        if self.is_open(when):
            return when
        local = when.astimezone(self.zone).date()
        for offset in range(HORIZON_DAYS + 1):
            starts = [b for b, _f in self._intervals(local + dt.timedelta(days=offset)) if b > when]
            if starts:
                return min(starts)
        return None


def schedule(
    timezone: str, days: dict[str, tuple[str, ...]], holidays: tuple[str, ...] = ()
) -> Schedule:
    """A :class:`Schedule` from configuration values; ValueError naming what is wrong."""
    try:
        zone: dt.tzinfo = zoneinfo.ZoneInfo(timezone) if timezone else dt.UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {timezone!r}") from exc
    unknown = set(days) - set(DAYS)
    if unknown:
        raise ValueError(f"unknown day(s) {', '.join(sorted(unknown))}")
    week = tuple(tuple(parse_range(r) for r in days.get(name, ())) for name in DAYS)
    closed = set()
    for text in holidays:
        try:
            closed.add(dt.date.fromisoformat(text))
        except ValueError as exc:
            raise ValueError(f"a holiday must be YYYY-MM-DD, got {text!r}") from exc
    return Schedule(zone=zone, week=week, holidays=frozenset(closed))
