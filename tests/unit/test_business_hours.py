"""Business hours (chatd.domain.hours): open/closed, the next opening, holidays, midnight
ranges, daylight-saving days, and the config's refusals."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatd.config import ConfigError, load_config
from chatd.domain.hours import DAYS, parse_range, schedule

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
WEEKDAYS = {d: ("09:00-18:00",) for d in DAYS[:5]}


def at(*args: int, zone: dt.tzinfo = BERLIN) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zone)


def test_office_hours_open_and_closed() -> None:
    office = schedule("Europe/Berlin", WEEKDAYS)
    assert office.is_open(at(2026, 12, 2, 9, 0))  # a Wednesday, at opening
    assert not office.is_open(at(2026, 12, 2, 18, 0))  # closing time is closed
    assert office.next_open(at(2026, 12, 2, 18, 0)) == at(2026, 12, 3, 9, 0)
    # Friday evening → Monday morning.
    assert office.next_open(at(2026, 12, 4, 19, 30)) == at(2026, 12, 7, 9, 0)
    # Asked in UTC: the same instant.
    assert office.is_open(at(2026, 12, 2, 8, 30, zone=dt.UTC))  # 09:30 in Berlin


def test_holidays_close_the_day() -> None:
    office = schedule("Europe/Berlin", WEEKDAYS, ("2026-12-25",))
    assert not office.is_open(at(2026, 12, 25, 10, 0))
    assert office.next_open(at(2026, 12, 24, 19, 0)) == at(2026, 12, 28, 9, 0)


def test_a_night_shift_runs_past_midnight() -> None:
    nights = schedule("UTC", {"monday": ("22:00-06:00",)})
    monday = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    assert parse_range("22:00-06:00") == (1320, 1800)
    assert nights.is_open(monday + dt.timedelta(hours=23))
    assert nights.is_open(monday + dt.timedelta(hours=29))  # Tuesday 05:00
    assert not nights.is_open(monday + dt.timedelta(hours=30))


def test_opening_follows_the_wall_clock_across_daylight_saving() -> None:
    office = schedule("Europe/Berlin", WEEKDAYS)
    # 2026-03-30 is the Monday after the spring change: 09:00 is 07:00 UTC, not 08:00.
    assert office.next_open(at(2026, 3, 28, 12, 0)) == at(2026, 3, 30, 9, 0)
    assert office.next_open(at(2026, 3, 28, 12, 0)).astimezone(dt.UTC).hour == 7  # type: ignore[union-attr]


def test_no_ranges_is_always_open() -> None:
    always = schedule("", {})
    assert always.always_open and always.is_open(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def test_a_schedule_that_never_opens_has_no_next_opening() -> None:
    never = schedule("UTC", {"monday": ("09:00-10:00",)}, ())
    assert never.next_open(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) is not None
    closed_days = tuple(
        (dt.date(2026, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(0, 420)
    )
    sealed = schedule("UTC", {"monday": ("09:00-10:00",)}, closed_days)
    assert sealed.next_open(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)) is None


ranges = st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 24), st.integers(0, 59))


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(st.sampled_from(DAYS), st.lists(ranges, min_size=1, max_size=2), max_size=7),
    st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 1, 1)),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Shanghai"]),
)
def test_next_open_is_open_and_nothing_opens_before_it(
    days: dict[str, list[tuple[int, int, int, int]]], naive: dt.datetime, zone: str
) -> None:
    texts = {
        d: tuple(f"{h1:02d}:{m1:02d}-{h2:02d}:{0 if h2 == 24 else m2:02d}" for h1, m1, h2, m2 in rs)
        for d, rs in days.items()
    }
    plan = schedule(zone, texts)
    when = naive.replace(tzinfo=dt.UTC)
    nxt = plan.next_open(when)
    assert nxt is not None  # every non-empty weekly plan opens within a week
    assert nxt >= when
    assert plan.is_open(nxt)
    # No minute between now and then is open (checked every 37 minutes, up to 8 days).
    probe = when
    while probe < nxt and probe < when + dt.timedelta(days=8):
        assert not plan.is_open(probe)
        probe += dt.timedelta(minutes=37)


@pytest.mark.parametrize(
    ("hours", "says"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"monday": ["9-17"]}, "HH:MM-HH:MM"),
        ({"monday": ["09:00-25:00"]}, "not a time of day"),
        ({"holidays": ["25.12.2026"]}, "YYYY-MM-DD"),
    ],
)
def test_bad_hours_stop_the_config_naming_them(hours: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError, match=f"hours: .*{says}"):
        load_config(overrides={"hours": hours})


def test_the_edges_of_a_time_range() -> None:
    """A range may end at 24:00 but not start there, nor end at 24:30; minutes count from the
    hour at both ends."""
    assert parse_range("00:00-24:00") == (0, 1440)
    assert parse_range("08:15-17:45") == (495, 1065)
    for bad in ("24:00-06:00", "09:00-24:30"):
        with pytest.raises(ValueError, match="not a time of day"):
            parse_range(bad)


def test_an_unknown_day_name_is_refused_naming_each() -> None:
    """A misspelt day ("mondya") would silently leave that day closed: it stops the config,
    and the message names every unknown day, sorted."""
    with pytest.raises(ValueError, match=r"^unknown day\(s\) funday, mondya$"):
        schedule("UTC", {"mondya": ("09:00-17:00",), "funday": (), "friday": ("09:00-17:00",)})


def test_the_day_is_read_on_the_schedule_clock_not_the_servers() -> None:
    """On Kiritimati (UTC+14) Tuesday 08:30 is Monday 18:30 in UTC: open, though the server's
    clock (UTC here, or anywhere else: no server runs 14 hours ahead) still says Monday."""
    kiritimati = zoneinfo.ZoneInfo("Pacific/Kiritimati")
    plan = schedule("Pacific/Kiritimati", {"tuesday": ("08:00-09:00",)})
    when = at(2026, 12, 8, 8, 30, zone=kiritimati)  # a Tuesday
    assert plan.is_open(when.astimezone(dt.UTC))
    assert plan.next_open(at(2026, 12, 7, 18, 0, zone=dt.UTC)) == at(
        2026, 12, 8, 8, 0, zone=kiritimati
    )


def test_next_open_looks_exactly_400_days_ahead() -> None:
    """An opening 400 days away is found; one 401 days away is "not soon" (None)."""
    start = dt.date(2027, 1, 4)
    closed = tuple((start + dt.timedelta(days=n)).isoformat() for n in range(401))
    when = at(2027, 1, 4, 12, 0, zone=dt.UTC)
    every_day = {d: ("09:00-10:00",) for d in DAYS}
    plan = schedule("UTC", every_day, holidays=closed[:400])
    assert plan.next_open(when) == at(2027, 2, 8, 9, 0, zone=dt.UTC) + dt.timedelta(days=365)
    assert schedule("UTC", every_day, holidays=closed).next_open(when) is None


def test_the_next_opening_is_searched_from_the_schedules_own_date() -> None:
    """In Honolulu (UTC-10) Monday 20:00 is already Tuesday in UTC: Monday's 21:00 opening is
    the next one, not a later day's."""
    honolulu = zoneinfo.ZoneInfo("Pacific/Honolulu")
    plan = schedule("Pacific/Honolulu", {"monday": ("21:00-22:00",), "tuesday": ("09:00-10:00",)})
    when = at(2026, 12, 7, 20, 0, zone=honolulu)  # a Monday
    assert plan.next_open(when.astimezone(dt.UTC)) == at(2026, 12, 7, 21, 0, zone=honolulu)
