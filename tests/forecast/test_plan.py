"""A category's plan (grain, anchor, horizon or problem) and its series summed to that grain."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from common.grain import Grain
from services.forecast.periods import grain_of, spec_of
from services.forecast.plan import GrainSource, make_plan
from services.forecast.series import grain_series

MONDAYS = [dt.date(2023, 1, 2) + dt.timedelta(weeks=k) for k in range(20)]
FIRSTS = [dt.date(2020 + (m // 12), m % 12 + 1, 1) for m in range(30)]
DAYS = [dt.date(2023, 1, 1) + dt.timedelta(days=k) for k in range(120)]


def test_a_weekly_category_is_planned_at_weeks_with_13_by_default():
    """Mondays only: week, anchored on Monday, detected, 13 weeks ahead."""
    plan = make_plan(MONDAYS, None, None, 30)
    assert (plan.grain, plan.anchor, plan.source, plan.horizon, plan.problem) == (
        Grain.WEEK, "Monday", GrainSource.DETECTED, 13, None)


def test_a_monthly_category_takes_its_horizon_setting():
    """A horizon setting (in months) wins over the grain's default of 12."""
    plan = make_plan(FIRSTS, None, 6, 30)
    assert (plan.grain, plan.anchor, plan.horizon) == (Grain.MONTH, "start", 6)


def test_a_daily_category_keeps_the_run_horizon_in_days():
    """Days: the run's own horizon (FORECAST_HORIZON_DAYS) is the default."""
    assert make_plan(DAYS, None, None, 45).horizon == 45


def test_a_coarser_grain_setting_is_used_for_daily_data():
    """Daily data with grain week: weeks starting on Monday, from the setting."""
    plan = make_plan(DAYS, Grain.WEEK, None, 30)
    assert (plan.grain, plan.anchor, plan.source, plan.data_grain) == (Grain.WEEK, "Monday", GrainSource.SETTING,
                                                                       Grain.DAY)


def test_a_finer_grain_setting_is_a_problem():
    """Monthly data with grain day cannot be split: the plan has no grain and says why."""
    plan = make_plan(FIRSTS, Grain.DAY, None, 30)
    assert plan.grain is None and "set to day but its data are monthly" in plan.problem


def test_mixed_dates_without_a_setting_are_the_detection_problem():
    """Daily rows beside monthly ones: no guess, the detection's words."""
    plan = make_plan(FIRSTS + DAYS[:20], None, None, 30)
    assert plan.grain is None and plan.problem.startswith("the dates mix grains")


def test_weekly_sums_leave_a_missing_week_as_a_gap():
    """A week without rows is NaN (not 0), on a weekly index dated at Mondays."""
    rows = [(day, 10.0) for day in MONDAYS if day != MONDAYS[5]]
    series = grain_series(rows, Grain.WEEK, 0, Grain.WEEK).series
    assert len(series) == 20 and np.isnan(series.iloc[5]) and series.drop(series.index[5]).eq(10.0).all()
    assert grain_of(series.index) is Grain.WEEK and series.index[0] == pd.Timestamp("2023-01-02")


def test_days_summed_into_months_drop_incomplete_ends_with_a_note():
    """Days from 15 Jan to 14 Jul summed to months: January and July are partial, left out and said so."""
    rows = [(dt.date(2023, 1, 15) + dt.timedelta(days=k), 1.0) for k in range(181)]
    made = grain_series(rows, Grain.MONTH, 0, Grain.DAY)
    assert [d.month for d in made.series.index] == [2, 3, 4, 5, 6]
    assert made.series.tolist() == [28.0, 31.0, 30.0, 31.0, 30.0]
    assert "first month (2023-01-01)" in made.notes[0] and "last month (2023-07-01)" in made.notes[1]


def test_days_summed_into_whole_weeks_keep_every_week():
    """Days from a Monday to a Sunday summed into weeks: all complete, no note."""
    rows = [(dt.date(2023, 1, 2) + dt.timedelta(days=k), 2.0) for k in range(28)]
    made = grain_series(rows, Grain.WEEK, 0, Grain.DAY)
    assert made.series.tolist() == [14.0] * 4 and made.notes == []


def test_month_end_data_are_dated_at_the_month_start():
    """Month-end dates (31 Jan, 28 Feb..) become each month's first day."""
    ends = [pd.Timestamp(2023, m, 1) + pd.offsets.MonthEnd(0) for m in range(1, 7)]
    series = grain_series([(d.date(), 5.0) for d in ends], Grain.MONTH, 0, Grain.MONTH).series
    assert [d.day for d in series.index] == [1] * 6 and spec_of(series.index).season == 12


def test_daily_rows_keep_missing_days_at_zero():
    """Days: today's rule (a day without rows is 0), whatever else changed."""
    series = grain_series([(DAYS[0], 3.0), (DAYS[3], 1.0)], Grain.DAY).series
    assert series.tolist() == [3.0, 0.0, 0.0, 1.0]
