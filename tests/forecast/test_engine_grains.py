"""The engine at weeks and months: periods, seasons, backtest windows, MASE and gaps, on real files from grains/."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from common.grain import Grain
from common.status import ModelType
from services.forecast import models
from services.forecast.backtest import backtest_cuts, forecast_category
from services.forecast.metrics import naive_lag, score, seasonal_naive
from services.forecast.models import ModelError, ModelTags, auto, holt_winters, prophet, sarimax
from services.forecast.periods import SPECS, period_index
from tests.conftest import SHARED_DATA
from tests.forecast.test_backtest import constant

GRAINS = SHARED_DATA / "grains"


def real(name: str, grain: Grain, category: str | None = None) -> pd.Series:
    """One category of a grains/ file as a period-indexed series (its first category by default)."""
    frame = pd.read_csv(GRAINS / name, parse_dates=["Date"])
    frame = frame[frame["category"] == (category or frame["category"].iloc[0])]
    sums = frame.groupby("Date")["sales"].sum().astype("float64")
    return sums.reindex(period_index(sums.index[0], sums.index[-1], grain))


@pytest.fixture(scope="module")
def monthly() -> pd.Series:
    """Australian corticosteroid scripts: 204 months, a strong yearly season."""
    return real("monthly_au-corticosteroid-scripts.csv", Grain.MONTH)


@pytest.fixture(scope="module")
def weekly() -> pd.Series:
    """Favorita store 7's weekly tickets: 239 weeks, a yearly (Christmas) season."""
    return real("weekly_favorita-stores-7-12.csv", Grain.WEEK)


def test_backtest_windows_count_in_weeks():
    """240 weeks, 13 ahead: the year-ago window (52 weeks back) and the last horizon."""
    assert backtest_cuts(240, 13, 2, SPECS[Grain.WEEK]) == [188, 227]


def test_weekly_backtests_hold_out_the_last_year_by_default():
    """The weekly default is four windows: the last 52 weeks, which include the year-ago window."""
    grain = SPECS[Grain.WEEK]
    assert backtest_cuts(240, 13, grain.backtest_folds, grain) == [188, 201, 214, 227]


def test_monthly_backtests_are_the_last_two_years():
    """12 months ahead: the year-ago window is the last horizon itself, so the last two horizons are used."""
    assert backtest_cuts(204, 12, 2, SPECS[Grain.MONTH]) == [180, 192]


def test_mase_is_scaled_by_the_yearly_seasonal_naive_of_weeks(weekly):
    """A weekly history's MASE scale is the 52-week naive; a short one falls back to lag 1."""
    assert naive_lag(weekly) == 52 and naive_lag(weekly.iloc[:100]) == 1
    naive = seasonal_naive(weekly.iloc[:-13], 13)
    assert naive.index[0] == weekly.index[-13] and naive.tolist() == weekly.iloc[-65:-52].tolist()


def test_a_gap_is_never_scored():
    """A NaN actual is left out: the metrics are those of the observed periods alone."""
    index = pd.date_range("2020-01-01", periods=4, freq="MS")
    forecast = pd.DataFrame({"value": [10.0, 10.0, 10.0, 10.0], "lower": 5.0, "upper": 15.0}, index=index)
    actual = pd.Series([12.0, np.nan, 8.0, np.nan], index=index)
    train = pd.Series(np.arange(30.0), index=pd.date_range("2017-07-01", periods=30, freq="MS"))
    assert score(actual, forecast, train).mae == 2.0


@pytest.mark.parametrize("fit", [holt_winters.fit, sarimax.fit, auto.auto_ets, auto.auto_theta, auto.mstl],
                         ids=["holt_winters", "sarimax", "auto_ets", "auto_theta", "mstl"])
def test_every_fast_model_forecasts_months_at_month_starts(fit, monthly):
    """Each model forecasts 12 months dated at each month's 1st, and beats the 12-month seasonal naive."""
    history, actual = monthly.iloc[:-12], monthly.iloc[-12:]
    forecast = fit(history, 12, pd.DataFrame(), 0.95)
    assert list(forecast.index) == list(actual.index)
    naive = pd.DataFrame({"value": seasonal_naive(history, 12), "lower": 0.0, "upper": 0.0})
    assert score(actual, forecast, history).mae < score(actual, naive, history).mae


@pytest.mark.slow
def test_prophet_forecasts_weeks_with_a_yearly_curve(weekly):
    """Prophet on weeks: 13 Mondays ahead, no weekly season, close to the held-out weeks (MASE < 1)."""
    history, actual = weekly.iloc[:-13], weekly.iloc[-13:]
    forecast = prophet.fit(history, 13, pd.DataFrame(), 0.95)
    assert (forecast.index.weekday == 0).all() and score(actual, forecast, history).mase < 1.0


def test_mstl_refuses_months_shorter_than_two_years(monthly):
    """MSTL's yearly season of months needs 24 of them: a ModelError in words, not a crash."""
    with pytest.raises(ModelError, match="two years"):
        auto.mstl(monthly.iloc[:20], 12, pd.DataFrame(), 0.95)


def test_weekly_gaps_are_filled_for_fitting(weekly):
    """A missing week (NaN) is interpolated for the fits: every model still forecasts."""
    history = weekly.iloc[:-13].copy()
    history.iloc[[50, 120, 200]] = np.nan
    fast = {ModelType.HOLT_WINTERS: holt_winters.fit, ModelType.AUTO_ETS: auto.auto_ets}
    result = forecast_category(history, 13, pd.DataFrame(), 0.95, fast)
    assert not result.errors and len(result.forecasts[ModelType.RECOMMENDED]) == 13


def test_a_model_whose_tags_lack_the_grain_is_refused(monkeypatch, monthly):
    """The engine asks the tags: a model not declaring months gets a ModelError, the others still publish."""
    monkeypatch.setitem(models.TAGS, ModelType.SARIMAX, ModelTags(grains=frozenset({Grain.DAY})))
    fits = {ModelType.HOLT_WINTERS: constant(100), ModelType.SARIMAX: constant(120)}
    result = forecast_category(monthly, 12, pd.DataFrame(), 0.95, fits)
    assert result.errors[ModelType.SARIMAX] == "sarimax does not forecast monthly data."
    assert ModelType.HOLT_WINTERS in result.forecasts


@pytest.mark.slow
def test_every_model_and_the_recommended_forecast_publish_at_weeks(weekly):
    """All six models at weeks: none fails, every forecast has 13 Mondays, the recommended one is backtested."""
    result = forecast_category(weekly.iloc[:-13], 13, pd.DataFrame(), 0.95, models.fitters())
    assert not result.errors and not result.backtest_errors
    assert all(len(f) == 13 and (f.index.weekday == 0).all() for f in result.forecasts.values())
    assert result.metrics[ModelType.RECOMMENDED].mase is not None


def test_holidays_name_the_week_they_fall_in_without_an_effect(weekly):
    """Christmas 2016 (a Sunday) names the week of Monday 19 December; no model's history is scaled by it."""
    from services.forecast import calendar
    from services.forecast.series import holiday_frame

    holidays = holiday_frame("US", weekly.index[0], weekly.index[-1])
    effects = calendar.in_periods(holidays, weekly, weekly.index[-1])
    frame = effects.calendar_frame()
    assert pd.Timestamp("2016-12-19") in set(frame.loc[frame["holiday"] == "Christmas Day", "ds"])
    assert (effects.factors(weekly.index) == 1.0).all() and effects.closures().effects == {}


def test_a_weekly_category_with_a_calendar_forecasts(weekly):
    """Weeks holding two holidays (Christmas and New Year's Eve windows) do not trip the engine."""
    from services.forecast.series import holiday_frame

    holidays = holiday_frame("US", weekly.index[0], weekly.index[-1] + pd.Timedelta(days=120))
    fits = {ModelType.HOLT_WINTERS: holt_winters.fit, ModelType.SARIMAX: constant(100)}
    result = forecast_category(weekly, 13, holidays, 0.95, fits)
    assert not result.errors and len(result.forecasts[ModelType.RECOMMENDED]) == 13


def test_months_summed_into_quarters_are_forecast_8_quarters_ahead(monthly):
    """The monthly file (July 1991 to June 2008) with grain quarter: 68 whole quarters, nothing left out, and the
    fast models forecast 8 quarter starts from July 2008."""
    from services.forecast.series import grain_series

    rows = [(day.date(), value) for day, value in monthly.items()]
    made = grain_series(rows, Grain.QUARTER, 0, Grain.MONTH)
    assert (made.series.index[0], made.series.index[-1], len(made.series), made.notes) == (
        pd.Timestamp("1991-07-01"), pd.Timestamp("2008-04-01"), 68, [])
    fits = {ModelType.HOLT_WINTERS: holt_winters.fit, ModelType.AUTO_ETS: auto.auto_ets, ModelType.MSTL: auto.mstl}
    result = forecast_category(made.series, 8, pd.DataFrame(), 0.95, fits)
    recommended = result.forecasts[ModelType.RECOMMENDED]
    assert not result.errors and list(recommended.index.month) == [7, 10, 1, 4] * 2
