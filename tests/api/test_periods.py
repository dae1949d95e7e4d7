"""The pure sums behind the weekly and monthly views: periods, pass-through of per-period rows, held days."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from common.grain import Grain
from services.api import periods
from services.forecast import sums


def rows(dates: list[str], value: float = 10.0) -> pd.DataFrame:
    """Forecast rows on `dates`, each value with a +-2 interval and quantiles."""
    return pd.DataFrame({"forecast_date": pd.to_datetime(dates), "value": value, "lower": value - 2,
                         "upper": value + 2, "p10": value - 1, "p50": value, "p90": value + 1})


def test_rows_one_per_period_pass_through_unchanged():
    """Monthly rows asked for per month keep their values and bounds; each holds its whole month."""
    out = periods.forecast_periods(rows(["2024-01-01", "2024-02-01"]), Grain.MONTH, Grain.MONTH, sums.DEFAULT)
    assert [(p["start"], p["days"], p["days_in_period"]) for p in out] == [
        (dt.date(2024, 1, 1), 31, 31), (dt.date(2024, 2, 1), 29, 29)]
    assert [(p["forecast_value"], p["lower_bound"], p["upper_bound"], p["p10"], p["p90"]) for p in out] == [
        (10.0, 8.0, 12.0, 9.0, 11.0)] * 2
    assert out[1]["forecast_end"] == dt.date(2024, 2, 29)


def test_weekly_rows_sum_into_months_with_lags_in_weeks():
    """Weekly rows summed per month use week lags: two adjacent weeks are one lag apart."""
    out = periods.forecast_periods(rows(["2024-01-01", "2024-01-08"]), Grain.MONTH, Grain.WEEK,
                                   sums.INDEPENDENT)
    assert out[0]["days"] == 14 and out[0]["forecast_value"] == 20.0
    assert out[0]["upper_bound"] == pytest.approx(20 + 2 * 2**0.5)


@pytest.mark.parametrize(("grain", "source"), [(Grain.WEEK, Grain.MONTH), (Grain.DAY, Grain.WEEK),
                                               (Grain.MONTH, Grain.QUARTER)])
def test_a_grain_finer_than_the_rows_is_refused(grain, source):
    """Summing to a finer grain than the rows come in raises FinerThanSource naming both grains."""
    with pytest.raises(periods.FinerThanSource, match=f"grain={grain.value}.*per {source.value}"):
        periods.check_grain(grain, source)


def test_positions_count_periods_of_the_source_grain():
    """Lags are counted in days, weeks, months or quarters since the first row."""
    dates = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-07-01"])
    assert periods.positions(dates, Grain.MONTH).tolist() == [0, 1, 6]
    assert periods.positions(dates, Grain.QUARTER).tolist() == [0, 0, 2]
    assert periods.positions(dates, Grain.DAY).tolist() == [0, 31, 182]


def test_straddled_is_the_stored_part_of_the_period_the_forecast_starts_in():
    """A month whose first days are history gives those days; a month wholly after or before it gives None."""
    assert periods.straddled(dt.date(2023, 3, 1), Grain.MONTH, dt.date(2023, 3, 15)) == (
        dt.date(2023, 3, 1), dt.date(2023, 3, 15))
    assert periods.straddled(dt.date(2023, 4, 1), Grain.MONTH, dt.date(2023, 3, 15)) is None
    assert periods.straddled(dt.date(2023, 3, 1), Grain.MONTH, dt.date(2023, 3, 31)) is None
    assert periods.straddled(dt.date(2023, 3, 1), Grain.MONTH, None) is None


def test_gap_share_is_undefined_for_a_zero_target():
    """A target of 0 has a gap but no share of it."""
    period = {"total": 50.0}
    assert periods.with_target(period, 0.0) == {"total": 50.0, "target": 0.0, "gap": 50.0, "gap_share": None}
    assert periods.with_target(period, 100.0)["gap_share"] == -0.5


def test_history_days_are_counted_inside_the_stored_range_only():
    """A month the stored range cuts holds only its days inside that range; missing days inside count as held."""
    days = [(dt.date(2024, 1, 30), 1.0), (dt.date(2024, 2, 2), 2.0)]
    out = periods.history_periods(days, Grain.MONTH, Grain.DAY, dt.date(2024, 1, 30), dt.date(2024, 2, 2))
    assert out == [{"date": "2024-01-01", "sales": 1.0, "days": 2, "days_in_period": 31},
                   {"date": "2024-02-01", "sales": 2.0, "days": 2, "days_in_period": 29}]
