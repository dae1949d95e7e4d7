"""Calendar effects: measured per holiday on the history, ignored when they do not stand out, closures at 0."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.forecast import calendar


def weekly_history(start: str = "2021-01-04", end: str = "2023-11-30", seed: int = 3) -> pd.Series:
    """100 a day plus a weekday pattern and 3% noise (fixed seed)."""
    index = pd.date_range(start, end, freq="D")
    rng = np.random.default_rng(seed)
    pattern = np.array([1.0, 1.0, 1.05, 1.1, 1.3, 1.4, 0.6])[index.day_of_week]
    return pd.Series(100 * pattern * rng.normal(1.0, 0.03, len(index)), index=index)


def calendar_of(days: list[str], name: str, kind: str = "holiday") -> pd.DataFrame:
    return pd.DataFrame({"ds": pd.to_datetime(days), "holiday": name, "kind": kind})


def test_a_holiday_that_doubles_sales_is_measured_and_put_back_on_the_forecast():
    """Sales twice the baseline on each past 'Sale Day' give an effect of about 2, applied to the future one."""
    history = weekly_history()
    sale_days = ["2021-06-15", "2022-06-15", "2023-06-15"]
    history[pd.to_datetime(sale_days)] *= 2
    effects = calendar.measure(history, calendar_of([*sale_days, "2023-12-15"], "Sale Day"),
                               pd.Timestamp("2023-12-31"))
    assert effects.effects["Sale Day"] == pytest.approx(2.0, rel=0.1)
    future = pd.DataFrame({"value": 100.0, "lower": 80.0, "upper": 120.0},
                          index=pd.date_range("2023-12-14", periods=3, freq="D"))
    assert calendar.apply_effects(future, effects)["value"].tolist() == pytest.approx([100, 200, 100], rel=0.1)
    adjusted = calendar.adjusted_history(history, effects)
    assert adjusted["2022-06-15"] == pytest.approx(history["2022-06-15"] / effects.effects["Sale Day"])


def test_a_holiday_that_changes_nothing_is_left_out():
    """A calendar that does not apply to this business (ordinary sales on its days) adds no effect."""
    history = weekly_history()
    effects = calendar.measure(history, calendar_of(["2021-03-03", "2022-03-03", "2023-03-03"], "Foreign Day"),
                               pd.Timestamp("2023-12-31"))
    assert "Foreign Day" not in effects.effects


def test_a_day_always_closed_measures_zero_and_a_user_closure_is_zero_without_history():
    """Christmas with no sales every year is a closure; a user's closure is 0 even with no past occurrence."""
    history = weekly_history()
    christmases = ["2021-12-25", "2022-12-25"]
    history[pd.to_datetime(christmases)] = 0.0
    holidays = pd.concat([calendar_of([*christmases, "2023-12-25"], "Christmas Day"),
                          calendar_of(["2023-12-05"], "Stocktaking", kind="closure")])
    effects = calendar.measure(history, holidays, pd.Timestamp("2023-12-31"))
    assert effects.effects["Christmas Day"] == 0.0 and effects.effects["Stocktaking"] == 0.0
    assert set(effects.closures().effects) >= {"Christmas Day", "Stocktaking"}
    adjusted = calendar.adjusted_history(history, effects)
    assert adjusted["2022-12-25"] > 50  # the closed day takes its baseline, so models do not learn a dip


def test_the_year_end_window_names_each_day_the_calendar_does_not():
    """Days from 20 December to 7 January get their own names; a holiday keeps its own name."""
    days = calendar.named_days(calendar_of(["2022-12-25"], "Christmas Day"), pd.Timestamp("2022-12-01"),
                               pd.Timestamp("2023-01-10"))
    names = dict(zip(days["ds"].dt.strftime("%m-%d"), days["holiday"], strict=True))
    assert names["12-25"] == "Christmas Day" and names["12-24"] == "year-end 12-24" and names["01-07"]
    assert "12-19" not in names and "01-08" not in names


def test_the_last_day_before_a_level_shift_is_not_taken_for_a_holiday_effect():
    """Sales step down a third the day after 'Autumn Day' each year: the day sits between its two sides,
    so it gets no effect, while a real spike on a step still measures against its nearer side."""
    history = weekly_history()
    spike_history = history.copy()
    days = ["2021-11-25", "2022-11-24"]
    for day in days:
        after = (history.index > pd.Timestamp(day)) & (history.index <= pd.Timestamp(day) + pd.Timedelta(days=60))
        history[after] *= 0.65
        spike_history[after] *= 0.65
        spike_history[pd.Timestamp(day)] *= 1.5
    holidays = calendar_of([*days, "2023-11-23"], "Autumn Day")
    assert "Autumn Day" not in calendar.measure(history, holidays, pd.Timestamp("2023-12-31")).effects
    measured = calendar.measure(spike_history, holidays, pd.Timestamp("2023-12-31")).effects["Autumn Day"]
    assert measured == pytest.approx(1.5, rel=0.1)
