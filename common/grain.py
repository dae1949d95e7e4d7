"""A category's grain (day, week, month, quarter): told from its stored dates, and the periods it sums to.

castflow stores one row per (date, product, category) whatever the data's grain: a weekly file has one date a
week, a monthly one a date a month. The grain is told from the distinct dates, never guessed: dates that fit
no single grain (daily rows beside monthly ones, a weekly file whose weekday changes) give a `problem` in
words and no grain, and the user chooses one (the category's `grain` setting), to which finer data is summed.

A period is named by its first day: a week by its first day (the data's own weekday, Monday by default), a
month by its 1st, a quarter by the 1st of January, April, July or October. Month-end data (31 Jan, 28 Feb..)
belongs to the month it ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd


class Grain(StrEnum):
    """How often a category's figures come: its values are what the API shows and settings store."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"

    @property
    def rank(self) -> int:
        """Finer grains rank lower: data can be summed from a lower rank to a higher one."""
        return list(Grain).index(self)


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

#: Share of a grain's steps the dates must follow to be that grain (the rest may be gaps: a missing week).
REGULAR_SHARE = 0.9
#: A step of up to this many days is a daily series' step (a weekend or a short closure in between).
DAILY_STEP_MAX = 7
#: Fewest dates the weekly, monthly or quarterly tests need: one or two dates are read as daily.
MIN_DATES = 3


@dataclass(frozen=True)
class GrainReport:
    """What a category's dates say: its grain (None when they fit none), the anchor, and the problem if any.

    `anchor`: for weeks the weekday the data falls on ("Monday"); for months and quarters "start" (the 1st),
    "end" (the last day) or "day N"; None for days.
    """

    grain: Grain | None
    anchor: str | None = None
    problem: str | None = None


def detect(dates: Iterable[dt.date]) -> GrainReport:
    """The grain of a set of stored dates (duplicates allowed), or the problem that stops telling one."""
    days = pd.DatetimeIndex(sorted(set(dates)))
    if len(days) < MIN_DATES:
        return GrainReport(Grain.DAY)
    steps = (days[1:] - days[:-1]).days.to_numpy()
    for test in (_monthly, _weekly):
        report = test(days, steps)
        if report is not None:
            return report
    if (steps <= DAILY_STEP_MAX).mean() >= REGULAR_SHARE:
        return GrainReport(Grain.DAY)
    return _irregular(days, steps)


def _monthly(days: pd.DatetimeIndex, steps) -> GrainReport | None:  # noqa: ANN001 - numpy array
    months = days.year * 12 + days.month
    if len(set(months)) < len(days) or not ((steps >= 28).mean() >= REGULAR_SHARE):
        return None  # two dates in one month, or mostly shorter steps: not monthly
    if (days.day == 1).all():
        anchor = "start"
    elif days.is_month_end.all():
        anchor = "end"
    elif len(set(days.day)) == 1:
        anchor = f"day {days[0].day}"
    else:
        return None
    quarterly = len(set(days.month % 3)) == 1 and (steps >= 89).mean() >= REGULAR_SHARE
    return GrainReport(Grain.QUARTER if quarterly else Grain.MONTH, anchor)


def _weekly(days: pd.DatetimeIndex, steps) -> GrainReport | None:  # noqa: ANN001 - numpy array
    weekly_steps = (steps % 7 == 0) & (steps > 0)
    if len(set(days.weekday)) == 1:
        return GrainReport(Grain.WEEK, WEEKDAYS[days[0].weekday()]) if (steps >= 7).all() else None
    near_week = (steps >= 6) & (steps <= 8)
    if near_week.mean() >= REGULAR_SHARE and not weekly_steps.all():
        changes = [i + 1 for i in range(len(days) - 1) if days[i + 1].weekday() != days[i].weekday()]
        first = days[changes[0]]
        return GrainReport(None, problem=(
            f"the dates look weekly but their weekday changes: {WEEKDAYS[days[0].weekday()]}s until "
            f"{days[changes[0] - 1].date()}, then {WEEKDAYS[first.weekday()]} {first.date()}"
            + (f" and {len(changes) - 1} more change(s)" if len(changes) > 1 else "")
            + "; set the category's grain to week to sum them into weeks, or fix the dates"))
    return None


def _irregular(days: pd.DatetimeIndex, steps) -> GrainReport:  # noqa: ANN001 - numpy array
    """Dates that are not mostly a day apart: daily rows beside monthly ones are a problem; sporadic days with no
    week or month rhythm (a country that orders now and then) are daily data whose other days sold nothing."""
    long_steps = steps > DAILY_STEP_MAX
    on_first = days[1:][long_steps].day == 1
    if not (on_first.mean() >= REGULAR_SHARE and long_steps.sum() >= MIN_DATES):
        return GrainReport(Grain.DAY)
    first_long = int(long_steps.argmax())
    last_short = len(steps) - 1 - int((~long_steps)[::-1].argmax())
    return GrainReport(None, problem=(
        f"the dates mix grains: {int((~long_steps).sum())} steps of a week or less (e.g. from "
        f"{days[last_short].date()}) beside {int(long_steps.sum())} monthly steps (e.g. to "
        f"{days[first_long + 1].date()}); set the category's grain (week or month) to sum them, "
        "or upload one grain per category"))


def period_starts(days: pd.DatetimeIndex, grain: Grain, week_start: int = 0) -> pd.DatetimeIndex:
    """The first day of the period each day falls in (weeks start on weekday `week_start`, 0 = Monday)."""
    days = pd.DatetimeIndex(days).normalize()
    if grain is Grain.DAY:
        return days
    if grain is Grain.WEEK:
        return days - pd.to_timedelta((days.weekday - week_start) % 7, unit="D")
    if grain is Grain.MONTH:
        return days.to_period("M").to_timestamp()
    return days.to_period("Q").to_timestamp()


def next_periods(last: pd.Timestamp, grain: Grain, count: int) -> pd.DatetimeIndex:
    """The first days of the `count` periods after the period that starts on `last`."""
    offset = {Grain.DAY: pd.DateOffset(days=1), Grain.WEEK: pd.DateOffset(weeks=1),
              Grain.MONTH: pd.DateOffset(months=1), Grain.QUARTER: pd.DateOffset(months=3)}[grain]
    return pd.DatetimeIndex([last + offset * k for k in range(1, count + 1)])


def period_days(start: pd.Timestamp, grain: Grain) -> int:
    """How many days the period that starts on `start` has."""
    return int((next_periods(start, grain, 1)[0] - start).days)


def week_start_of(anchor: str | None) -> int:
    """The weekday (0 = Monday) a weekly anchor names; Monday when there is none."""
    return WEEKDAYS.index(anchor) if anchor in WEEKDAYS else 0
