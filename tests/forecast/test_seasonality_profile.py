"""Seasonality profiles: known weekday and month factors recovered from synthetic series, and real files' shapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from common.grain import Grain
from services.forecast.seasonality_profile import MONTH_METHOD, MONTH_SHORT_METHOD, robust_mean, seasonality
from tests.conftest import SHARED_DATA

WEEKDAY = np.array([0.7, 0.9, 1.0, 1.0, 1.1, 1.5, 0.8])
MONTH = np.array([0.8, 0.85, 0.9, 1.0, 1.05, 1.1, 1.2, 1.2, 1.0, 0.95, 1.0, 0.95])


def synthetic(days: int = 4 * 365, *, weekday: np.ndarray = WEEKDAY, month: np.ndarray = MONTH, growth: float = 0.5,
              noise: float = 0.05, start: str = "2019-01-01", seed: int = 1) -> pd.Series:
    """A daily series: a rising trend times the weekday and month factors times log-normal noise."""
    index = pd.date_range(start, periods=days, freq="D")
    trend = 100 * (1 + growth * np.arange(days) / days)
    shock = np.random.default_rng(seed).lognormal(0, noise, days) if noise else 1.0
    return pd.Series(trend * weekday[index.weekday] * month[index.month - 1] * shock, index=index)


def factors(profile) -> np.ndarray:  # noqa: ANN001 - a Profile
    return np.array([f.factor for f in profile.factors])


def scaled(values: np.ndarray) -> np.ndarray:
    return values / values.mean()


def test_daily_series_gives_back_its_weekday_factors():
    """Seven weekday factors, Monday first, equal to the known ones (scaled to mean 1) within 0.02."""
    found = seasonality(synthetic())
    assert found.grain is Grain.DAY and found.weekday_reason is None
    assert [f.name for f in found.weekday.factors][:2] == ["Monday", "Tuesday"]
    assert factors(found.weekday) == pytest.approx(scaled(WEEKDAY), abs=0.02)
    assert factors(found.weekday).mean() == pytest.approx(1.0)


def test_weekday_counts_are_the_weeks_behind_each_factor():
    """Each weekday's count is how many weeks gave it a ratio (all of them but the edges of the centred mean)."""
    counts = [f.count for f in seasonality(synthetic(days=70)).weekday.factors]
    assert sum(counts) == 70 - 6 and set(counts) <= {9, 10}


def test_daily_series_gives_back_its_month_factors_despite_the_trend():
    """Twelve month factors within 0.03 of the known ones though the level grows by half; four years each."""
    found = seasonality(synthetic())
    assert found.month.method == MONTH_METHOD
    assert factors(found.month) == pytest.approx(scaled(MONTH), abs=0.03)
    assert min(f.count for f in found.month.factors) >= 3


def test_month_factors_are_not_biased_by_month_length():
    """A level series has every month at 1 (February's 28 days do not make it low), and its variance explained is 0."""
    found = seasonality(synthetic(weekday=np.ones(7), month=np.ones(12), growth=0.0, noise=0.0))
    assert factors(found.month) == pytest.approx(np.ones(12), abs=1e-9)
    assert found.month.variance_explained == 0.0


def test_a_flat_profile_explains_little_and_a_strong_one_most():
    """Noise alone explains about nothing by weekday; a strong weekday pattern explains most of the variation."""
    flat = seasonality(synthetic(weekday=np.ones(7), month=np.ones(12), noise=0.1))
    assert flat.weekday.variance_explained < 0.02 and flat.month.variance_explained < 0.1
    assert seasonality(synthetic(noise=0.05)).weekday.variance_explained > 0.9


def test_one_odd_year_does_not_move_a_month_factor():
    """Five years with one December tripled: December's factor stays within 0.03 of the known one."""
    series = synthetic(days=5 * 365, noise=0.02)
    odd = (series.index.year == 2021) & (series.index.month == 12)
    series[odd] *= 3
    december = seasonality(series).month.factors[11]
    assert december.name == "December" and december.count >= 4
    assert december.factor == pytest.approx(scaled(MONTH)[11], abs=0.03)


def test_robust_mean_is_the_median_of_few_and_the_interquartile_mean_of_more():
    """Four values: their median; eight: the mean of the middle four."""
    assert robust_mean(np.array([1.0, 2.0, 10.0, 3.0])) == 2.5
    assert robust_mean(np.array([100.0, 1, 2, 3, 4, 5, 6, -50])) == 3.5


def test_weekly_data_has_no_weekday_profile_and_month_factors_from_its_sums():
    """Weekly sums of the synthetic series: weekday null ("weekly data"), month factors within 0.05."""
    weeks = synthetic(days=5 * 364, start="2019-01-07").resample("W-SUN", label="left", closed="left").sum()
    weeks.index = weeks.index + pd.Timedelta(days=1)  # named by their Monday
    found = seasonality(weeks)
    assert found.grain is Grain.WEEK and found.weekday is None and found.weekday_reason == "weekly data"
    assert factors(found.month) == pytest.approx(scaled(MONTH), abs=0.05)


def test_weeks_named_by_their_sunday_are_spread_from_that_sunday():
    """Sunday-dated weeks give the same month factors as the same weeks dated by their Monday a day later."""
    weeks = synthetic(days=4 * 364, start="2019-01-06", noise=0.0).resample("W-SAT", label="left", closed="left").sum()
    monday = weeks.copy()
    monday.index = monday.index + pd.Timedelta(days=1)
    assert factors(seasonality(weeks).month) == pytest.approx(factors(seasonality(monday).month), abs=0.01)


def test_a_missing_week_is_a_gap_not_a_zero():
    """Dropping one week of weekly data leaves its month's factor where it was (it is not read as a low month)."""
    weeks = synthetic(days=4 * 364, start="2019-01-07", noise=0.0).resample("W-MON", label="left", closed="left").sum()
    whole = seasonality(weeks).month.factors[4].factor
    gapped = seasonality(weeks.drop(pd.Timestamp("2020-05-11"))).month.factors[4].factor
    assert gapped == pytest.approx(whole, abs=0.02)


def test_monthly_data_gives_month_factors_per_day():
    """Monthly totals (month-end dates too) give back the factors; weekday is null with "monthly data"."""
    months = synthetic(noise=0.0).resample("ME").sum()
    found = seasonality(months)
    assert found.grain is Grain.MONTH and found.weekday_reason == "monthly data"
    assert factors(found.month) == pytest.approx(scaled(MONTH), abs=0.03)
    assert [f.count for f in found.month.factors] == [3] * 12  # four years less the moving average's two ends


def test_under_two_years_of_months_carry_the_trend_to_the_ends_and_say_they_are_indicative():
    """Eighteen rising months: factors within 0.05, the short method named; one level year: exact, no variance share."""
    rising = seasonality(synthetic(days=548, noise=0.0, growth=0.1))
    assert rising.month.method == MONTH_SHORT_METHOD
    assert factors(rising.month) == pytest.approx(scaled(MONTH), abs=0.05)
    year = seasonality(synthetic(days=365, noise=0.0, growth=0.0, weekday=np.ones(7)))
    assert factors(year.month) == pytest.approx(scaled(MONTH), abs=1e-9)
    assert year.month.variance_explained is None and [f.count for f in year.month.factors] == [1] * 12


def test_too_short_histories_give_reasons():
    """Under three weeks: no weekday profile; under a year of months: no month factors; each with a reason."""
    short = seasonality(synthetic(days=20))
    assert short.weekday is None and "three weeks" in short.weekday_reason
    assert short.month is None and "at least one full year" in short.month_reason
    assert seasonality(synthetic(days=300)).month_reason.endswith("has 10")


def test_a_series_of_zeros_says_so():
    """Two years of 0: neither profile, each with the reason that there is nothing to measure."""
    found = seasonality(pd.Series(0.0, index=pd.date_range("2020-01-01", periods=800, freq="D")))
    assert found.weekday is None and found.month is None
    assert "0 throughout" in found.weekday_reason and "0 throughout" in found.month_reason


def test_dates_of_no_grain_give_the_grain_problem_as_the_reason():
    """Daily rows beside monthly ones: both null, each reason the grain detector's words."""
    dates = [*pd.date_range("2020-01-01", periods=20, freq="D"), *pd.date_range("2020-03-01", periods=6, freq="MS")]
    found = seasonality(pd.Series(1.0, index=pd.DatetimeIndex(dates)))
    assert found.grain is None and found.weekday is None and found.month is None
    assert "mix grains" in found.weekday_reason and found.month_reason == found.weekday_reason


def real(path: str, category: str | None = None, date: str = "Date", value: str = "sales") -> pd.Series:
    """A shared real file's totals per date (one category, else all)."""
    file = SHARED_DATA / path
    if not file.exists():
        pytest.skip(f"shared dataset missing: {file.name}")
    frame = pd.read_csv(file, parse_dates=[date])
    if category is not None:
        frame = frame[frame["category"] == category]
    return frame.groupby(date)[value].sum()


def test_real_call_centre_has_its_short_friday_and_closed_saturday():
    """Anonymous Bank 1999 (an Israeli week): Saturday and Friday far below 1, the rest above; weekday explains most."""
    found = seasonality(real("contact-centre/anonymous_bank_1999_daily.csv", date="date", value="calls"))
    by_day = {f.name: f.factor for f in found.weekday.factors}
    assert by_day["Saturday"] < 0.3 and by_day["Friday"] < 0.6 and min(by_day["Sunday"], by_day["Monday"]) > 1.1
    assert found.weekday.variance_explained > 0.6
    assert found.month.method == MONTH_SHORT_METHOD  # one year only


def test_real_store_sales_peak_in_july_and_on_sundays():
    """Store Item Demand, store 1: Sunday highest and Monday lowest; July highest and January lowest."""
    frame = real("store-item-demand/train.csv", date="date")
    found = seasonality(frame)
    weekdays = [f.name for f in sorted(found.weekday.factors, key=lambda f: f.factor)]
    months = [f.name for f in sorted(found.month.factors, key=lambda f: f.factor)]
    assert (weekdays[0], weekdays[-1]) == ("Monday", "Sunday") and (months[0], months[-1]) == ("January", "July")


def test_real_monthly_electricity_peaks_in_summer_with_decades_behind_each_month():
    """US electricity generation (monthly, 1973-2013): July and August the peak, April the trough, ~39 years each."""
    found = seasonality(real("grains/monthly_us-electricity.csv"))
    assert found.grain is Grain.MONTH and found.weekday_reason == "monthly data"
    months = [f.name for f in sorted(found.month.factors, key=lambda f: f.factor)]
    assert months[0] == "April" and set(months[-2:]) == {"July", "August"}
    assert min(f.count for f in found.month.factors) >= 38 and found.month.variance_explained > 0.8


def test_real_weekly_tickets_have_month_factors_and_no_weekday():
    """Favorita store 7's weekly tickets: weekday null, December the highest month."""
    found = seasonality(real("grains/weekly_favorita-stores-7-12.csv", "favorita-store-7"))
    assert found.grain is Grain.WEEK and found.weekday is None
    assert max(found.month.factors, key=lambda f: f.factor).name == "December"
