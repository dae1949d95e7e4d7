"""The three forecast models on synthetic series: weekly pattern, intervals, holidays, and edge histories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.forecast.models import ModelError, auto, holt_winters, prophet, sarimax
from services.forecast.models.seasonality import YEARLY_MIN_DAYS

START = "2024-01-01"  # a Monday, so day n of a series has weekday n % 7
WEEKDAY_EFFECT = np.array([-20.0, -10.0, 0.0, 5.0, 25.0, 40.0, -40.0])  # Monday .. Sunday
HORIZON = 28
LEVEL = 0.95

HOLT_WINTERS = pytest.param(holt_winters.fit, id="holt_winters")
SARIMAX = pytest.param(sarimax.fit, id="sarimax")
PROPHET = pytest.param(prophet.fit, id="prophet", marks=pytest.mark.slow)
ALL_MODELS = [HOLT_WINTERS, SARIMAX, PROPHET]


def daily(values: np.ndarray | list[float]) -> pd.Series:
    """A float series on a gap-free daily index starting at START."""
    return pd.Series(values, index=pd.date_range(START, periods=len(values), freq="D"), dtype="float64")


def weekly_series(days: int = 200, noise: float = 2.0) -> pd.Series:
    """Base 100 plus a fixed weekday effect plus small Gaussian noise (fixed seed)."""
    rng = np.random.default_rng(42)
    return daily(100.0 + WEEKDAY_EFFECT[np.arange(days) % 7] + rng.normal(0.0, noise, days))


def no_holidays() -> pd.DataFrame:
    """An empty holiday calendar."""
    return pd.DataFrame({"ds": pd.Series(dtype="datetime64[ns]"), "holiday": pd.Series(dtype="str")})


def holiday_calendar(days: pd.DatetimeIndex) -> pd.DataFrame:
    """A hand-made calendar: one 'Founders Day' on each given day."""
    return pd.DataFrame({"ds": days.astype("datetime64[ns]"), "holiday": "Founders Day"})


def true_pattern(index: pd.DatetimeIndex) -> np.ndarray:
    """The noise-free values of `weekly_series` on the given days."""
    return 100.0 + WEEKDAY_EFFECT[index.day_of_week]


@pytest.fixture(scope="module")
def weekly_forecast(request: pytest.FixtureRequest) -> pd.DataFrame:
    """The model's (request.param) forecast of `weekly_series`, fitted once per model for the module."""
    return request.param(weekly_series(), HORIZON, no_holidays(), LEVEL)


@pytest.mark.parametrize("weekly_forecast", ALL_MODELS, indirect=True)
def test_forecast_recovers_the_weekly_pattern(weekly_forecast: pd.DataFrame):
    """The forecast follows the true weekday pattern closely (correlation > 0.9, MAPE < 5%)."""
    truth = true_pattern(weekly_forecast.index)
    value = weekly_forecast["value"].to_numpy()
    assert np.corrcoef(value, truth)[0, 1] > 0.9
    assert np.mean(np.abs(value - truth) / truth) < 0.05


@pytest.mark.parametrize("weekly_forecast", ALL_MODELS, indirect=True)
def test_forecast_is_indexed_by_the_horizon_days(weekly_forecast: pd.DataFrame):
    """The index is exactly the HORIZON days after the history's last day, with float value/lower/upper."""
    last = weekly_series().index[-1]
    expected = pd.date_range(last + pd.Timedelta(days=1), periods=HORIZON, freq="D")
    assert weekly_forecast.index.equals(expected)
    assert list(weekly_forecast.columns) == ["value", "lower", "upper"]
    assert (weekly_forecast.dtypes == "float64").all()


@pytest.mark.parametrize("weekly_forecast", ALL_MODELS, indirect=True)
def test_bounds_are_ordered_non_negative_and_cover_the_truth(weekly_forecast: pd.DataFrame):
    """0 <= lower <= value <= upper, the interval is not degenerate, and it holds most true values."""
    lower, value, upper = (weekly_forecast[c].to_numpy() for c in ("lower", "value", "upper"))
    assert (lower >= 0).all() and (lower <= value).all() and (value <= upper).all()
    assert (upper - lower > 1.0).all()
    truth = true_pattern(weekly_forecast.index)
    assert np.mean((truth >= lower) & (truth <= upper)) >= 0.9


@pytest.mark.parametrize("weekly_forecast", [HOLT_WINTERS, SARIMAX], indirect=True)
def test_interval_is_not_narrower_further_out(weekly_forecast: pd.DataFrame):
    """The last week's mean interval width is at least the first week's."""
    width = (weekly_forecast["upper"] - weekly_forecast["lower"]).to_numpy()
    assert width[-7:].mean() >= width[:7].mean()


@pytest.mark.parametrize("fit", [HOLT_WINTERS, PROPHET])
def test_same_history_gives_the_same_forecast(fit):
    """Simulation-based intervals are seeded: two fits of one history agree exactly."""
    history = weekly_series(days=60)
    first = fit(history, 14, no_holidays(), LEVEL)
    pd.testing.assert_frame_equal(first, fit(history, 14, no_holidays(), LEVEL))


def test_holt_winters_narrower_level_gives_a_narrower_interval():
    """An 80% interval lies inside the 95% one."""
    history = weekly_series(days=60)
    wide = holt_winters.fit(history, 14, no_holidays(), 0.95)
    narrow = holt_winters.fit(history, 14, no_holidays(), 0.80)
    assert (narrow["lower"] >= wide["lower"]).all() and (narrow["upper"] <= wide["upper"]).all()


@pytest.mark.parametrize("fit", ALL_MODELS)
def test_all_zero_history_forecasts_zero(fit):
    """A category that never sold anything is forecast at 0 with a (numerically) 0-wide interval, without crashing."""
    forecast = fit(daily(np.zeros(60)), 7, no_holidays(), LEVEL)
    assert np.allclose(forecast.to_numpy(), 0.0, atol=1e-6)


@pytest.mark.parametrize("fit", ALL_MODELS)
def test_constant_history_forecasts_the_constant(fit):
    """A history of one repeated value is forecast at that value."""
    forecast = fit(daily(np.full(60, 12.5)), 7, no_holidays(), LEVEL)
    assert np.allclose(forecast["value"], 12.5)
    assert (forecast["lower"] <= 12.5 + 1e-9).all() and (forecast["upper"] >= 12.5 - 1e-9).all()


@pytest.mark.parametrize("fit", [HOLT_WINTERS, PROPHET])
def test_ten_days_are_forecast_without_a_season(fit):
    """Ten days are too few for a weekly season, but enough for a level forecast near the mean."""
    history = weekly_series(days=10)
    forecast = fit(history, 7, no_holidays(), LEVEL)
    assert len(forecast) == 7
    assert np.allclose(forecast["value"], history.mean(), rtol=0.3)


def test_prophet_refuses_less_than_a_week():
    """Prophet on a few days would give a zero-width interval; it says it needs a week instead."""
    with pytest.raises(ModelError, match="at least 7 days"):
        prophet.fit(weekly_series(days=3), 7, no_holidays(), LEVEL)


def test_sarimax_refuses_ten_days():
    """SARIMAX needs three weeks; ten days give a readable ModelError."""
    with pytest.raises(ModelError, match="at least 21 days"):
        sarimax.fit(weekly_series(days=10), 7, no_holidays(), LEVEL)


@pytest.mark.parametrize("fit", ALL_MODELS)
def test_one_day_is_refused_with_a_reason(fit):
    """A single day of history raises ModelError naming how many days the model needs."""
    with pytest.raises(ModelError, match="at least"):
        fit(weekly_series(days=1), 7, no_holidays(), LEVEL)


def test_holt_winters_refuses_missing_days():
    """A history with NaN days raises ModelError instead of a statsmodels error."""
    history = weekly_series(days=30)
    history.iloc[5] = np.nan
    with pytest.raises(ModelError, match="missing days"):
        holt_winters.fit(history, 7, no_holidays(), LEVEL)


@pytest.mark.parametrize("fit", [SARIMAX, PROPHET])
def test_holiday_in_the_horizon_gets_a_higher_forecast(fit):
    """Holidays sell +300 in the history, so a holiday in the horizon is forecast well above its plain weekday."""
    history = weekly_series(days=200)
    days = history.index[5::23].append(pd.DatetimeIndex([history.index[-1] + pd.Timedelta(days=10)]))
    history[history.index.isin(days)] += 300.0
    forecast = fit(history, 21, holiday_calendar(days), LEVEL)
    holiday = days[-1]
    plain_same_weekday = holiday + pd.Timedelta(days=7)
    assert forecast.loc[holiday, "value"] > forecast.loc[plain_same_weekday, "value"] + 150.0


def test_sarimax_ignores_a_holiday_column_that_is_constant_in_the_history():
    """A calendar whose only holiday lies in the horizon does not break the fit (the column is dropped)."""
    history = weekly_series(days=60)
    only_future = pd.DatetimeIndex([history.index[-1] + pd.Timedelta(days=3)])
    forecast = sarimax.fit(history, 7, holiday_calendar(only_future), LEVEL)
    assert np.corrcoef(forecast["value"], true_pattern(forecast.index))[0, 1] > 0.9


def test_sarimax_follows_a_yearly_season_from_two_years_of_history():
    """With two years of a yearly wave, the forecast turns down after the wave's peak instead of extending the rise."""
    days = 830  # just past the third peak: the weekly model alone extends the rise and misses by ~2.5%
    wave = 100.0 * np.sin(2 * np.pi * np.arange(days + HORIZON) / 365.25)
    rng = np.random.default_rng(3)
    full = 300.0 + wave + WEEKDAY_EFFECT[np.arange(days + HORIZON) % 7] + rng.normal(0.0, 2.0, days + HORIZON)
    value = sarimax.fit(daily(full[:days]), HORIZON, no_holidays(), LEVEL)["value"].to_numpy()
    assert value[-7:].mean() < value[:7].mean()
    assert np.mean(np.abs(value - full[days:]) / full[days:]) < 0.01


@pytest.mark.slow
def test_prophet_leaves_numpys_global_random_state_alone():
    """Seeding Prophet's sampling does not reseed or advance the caller's np.random stream."""
    np.random.seed(123)
    expected = np.random.random(3)
    np.random.seed(123)
    prophet.fit(weekly_series(days=30), 7, no_holidays(), LEVEL)
    assert np.array_equal(np.random.random(3), expected)


@pytest.mark.parametrize("fit", [auto.auto_ets, auto.auto_theta, auto.mstl], ids=["auto_ets", "auto_theta", "mstl"])
def test_statsforecast_candidates_follow_the_week_with_nested_quantiles(fit):
    """AutoETS, AutoTheta and MSTL recover the weekday pattern and give lower <= p10 <= value <= p90 <= upper."""
    forecast = fit(weekly_series(), HORIZON, no_holidays(), LEVEL)
    truth = true_pattern(forecast.index)
    assert np.mean(np.abs(forecast["value"].to_numpy() - truth) / truth) < 0.05
    lower, p10, value, p90, upper = (forecast[c].to_numpy() for c in ("lower", "p10", "value", "p90", "upper"))
    assert (lower <= p10).all() and (p10 <= value).all() and (value <= p90).all() and (p90 <= upper).all()
    assert (p90 - p10 < upper - lower).all()


def test_statsforecast_candidates_refuse_a_history_under_two_weeks():
    """Ten days are too few for a weekly season: a ModelError that says so."""
    with pytest.raises(ModelError, match="at least 14 days"):
        auto.auto_ets(weekly_series(10), HORIZON, no_holidays(), LEVEL)


@pytest.mark.slow
@pytest.mark.parametrize("fit", [HOLT_WINTERS, SARIMAX, PROPHET, auto.auto_ets, auto.mstl])
def test_a_yearly_season_is_followed_from_yearly_min_days(fit, caplog: pytest.LogCaptureFixture):
    """With YEARLY_MIN_DAYS of a yearly wave that peaked ten days ago, every model turns down with it (a weekly
    model alone extends the rise); Prophet's own warning about fewer than 730 days is not logged."""
    days = YEARLY_MIN_DAYS
    peak = days - 10
    t = np.arange(days + HORIZON)
    wave = 100.0 * np.cos(2 * np.pi * (t - peak) / 365.25)
    rng = np.random.default_rng(5)
    full = 300.0 + wave + WEEKDAY_EFFECT[t % 7] + rng.normal(0.0, 2.0, days + HORIZON)
    value = fit(daily(full[:days]), HORIZON, no_holidays(), LEVEL)["value"].to_numpy()
    assert value[-7:].mean() < value[:7].mean() - 10
    assert np.mean(np.abs(value - full[days:]) / full[days:]) < 0.03
    assert "Yearly seasonality is enabled with less than" not in caplog.text
