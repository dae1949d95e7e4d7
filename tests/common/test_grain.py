"""The grain told from a category's stored dates, and the periods dates fall in."""

from __future__ import annotations

import csv
import datetime as dt

import pandas as pd
import pytest

from common.grain import Grain, detect, next_periods, period_days, period_starts, week_start_of
from tests.conftest import SHARED_DATA

GRAINS = SHARED_DATA / "grains"


def _dates(start: str, periods: int, freq: str) -> list[dt.date]:
    return [d.date() for d in pd.date_range(start, periods=periods, freq=freq)]


def _file_dates(name: str) -> list[dt.date]:
    with open(GRAINS / name, newline="") as f:
        return [dt.date.fromisoformat(row["Date"]) for row in csv.DictReader(f)]


def test_daily_dates_are_daily_even_with_closed_weekends():
    """Weekdays only, or every day, are a daily series."""
    every_day = _dates("2024-01-01", 90, "D")
    weekdays = [d for d in every_day if d.weekday() < 5]
    assert detect(every_day).grain is Grain.DAY
    assert detect(weekdays).grain is Grain.DAY


def test_weekly_dates_give_their_weekday():
    """One date a week on the same weekday is weekly, anchored on that weekday; a missing week is a gap."""
    sundays = _dates("2024-01-07", 40, "W-SUN")
    report = detect(sundays[:10] + sundays[11:])
    assert (report.grain, report.anchor, report.problem) == (Grain.WEEK, "Sunday", None)


@pytest.mark.parametrize(("freq", "anchor"), [("MS", "start"), ("ME", "end")])
def test_monthly_dates_on_the_first_or_last_day(freq, anchor):
    """Dates on each month's first (or last) day are monthly, with that anchor."""
    report = detect(_dates("2019-01-01", 30, freq))
    assert (report.grain, report.anchor) == (Grain.MONTH, anchor)


def test_quarterly_dates():
    """One date a quarter is quarterly."""
    assert detect(_dates("2015-01-01", 20, "QS")).grain is Grain.QUARTER


def test_monthly_dates_on_another_fixed_day():
    """The 15th of every month is monthly too, named by its day."""
    days = [d + dt.timedelta(days=14) for d in _dates("2020-01-01", 24, "MS")]
    assert detect(days) == detect(days).__class__(Grain.MONTH, "day 15")


def test_mixed_daily_and_monthly_dates_name_the_problem():
    """Daily rows beside monthly rows fit no grain: the report says so and suggests a choice."""
    report = detect(_dates("2020-01-01", 60, "D") + _dates("2020-04-01", 24, "MS"))
    assert report.grain is None
    assert "mix grains" in report.problem and "grain" in report.problem


def test_weekly_dates_whose_weekday_changes_name_the_change():
    """A weekly file that moves from Mondays to Sundays half-way names the day it changed."""
    days = _dates("2022-01-03", 30, "W-MON") + _dates("2022-08-07", 30, "W-SUN")
    report = detect(days)
    assert report.grain is None
    assert "Mondays until 2022-07-25" in report.problem and "Sunday 2022-08-07" in report.problem


def test_sporadic_dates_are_daily_with_quiet_days_between():
    """Dates with no week or month rhythm (orders now and then) are days; the days between sold nothing."""
    days = [dt.date(2020, 1, 1) + dt.timedelta(days=int(k * 17.3 + (k % 3) * 5)) for k in range(30)]
    report = detect(days)
    assert (report.grain, report.problem) == (Grain.DAY, None)


def test_few_dates_are_daily():
    """One or two dates cannot tell a grain: they are read as days."""
    assert detect([dt.date(2020, 1, 1)]).grain is Grain.DAY
    assert detect([dt.date(2020, 1, 1), dt.date(2020, 2, 1)]).grain is Grain.DAY


@pytest.mark.parametrize(("name", "grain", "anchor"), [
    ("weekly_favorita-stores-7-12.csv", Grain.WEEK, "Monday"),
    ("weekly_store-item-stores-1-3.csv", Grain.WEEK, "Monday"),
    ("monthly_au-corticosteroid-scripts.csv", Grain.MONTH, "start"),
    ("monthly_us-electricity.csv", Grain.MONTH, "start"),
])
def test_real_weekly_and_monthly_files(name, grain, anchor):
    """The real weekly and monthly files are told by their dates."""
    report = detect(_file_dates(name))
    assert (report.grain, report.anchor, report.problem) == (grain, anchor, None)


def test_period_starts_for_each_grain():
    """Each day maps to its period's first day; weeks start on the given weekday."""
    days = pd.DatetimeIndex(["2024-02-29", "2024-03-03", "2024-12-31"])
    assert list(period_starts(days, Grain.WEEK).strftime("%F")) == ["2024-02-26", "2024-02-26", "2024-12-30"]
    assert list(period_starts(days, Grain.WEEK, week_start=6).strftime("%F")) == [
        "2024-02-25", "2024-03-03", "2024-12-29"]
    assert list(period_starts(days, Grain.MONTH).strftime("%F")) == ["2024-02-01", "2024-03-01", "2024-12-01"]
    assert list(period_starts(days, Grain.QUARTER).strftime("%F")) == ["2024-01-01", "2024-01-01", "2024-10-01"]


def test_next_periods_and_their_length():
    """Periods after a start follow the calendar (months of 28 to 31 days)."""
    months = next_periods(pd.Timestamp("2024-01-01"), Grain.MONTH, 3)
    assert list(months.strftime("%F")) == ["2024-02-01", "2024-03-01", "2024-04-01"]
    assert [period_days(m, Grain.MONTH) for m in months] == [29, 31, 30]
    assert period_days(pd.Timestamp("2024-01-01"), Grain.QUARTER) == 91
    assert week_start_of("Sunday") == 6 and week_start_of(None) == 0


def test_grains_rank_from_fine_to_coarse():
    """Day < week < month < quarter."""
    assert [g.rank for g in Grain] == [0, 1, 2, 3]
