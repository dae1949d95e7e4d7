"""The recommended forecast: the mean of the best backtested models, calibrated intervals, the naive fallback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from common.status import ModelType
from services.forecast.backtest import YEAR_AGO_DAYS, backtest_cuts, forecast_category
from services.forecast.metrics import weighted_quantile_loss
from services.forecast.models import finish, future_index
from services.forecast.models.seasonality import YEARLY_MIN_DAYS
from services.forecast.quantiles import with_quantiles
from services.forecast.recommend import calibration_scale
from tests.forecast.test_backtest import broken, constant, days


def banded(level: float, half_width: float):
    """A fake model forecasting `level` with a +-half_width interval."""
    def fit(history, horizon, holidays, interval):  # noqa: ANN001, ANN202
        index = future_index(history, horizon)
        return finish(index, np.full(horizon, level), np.full(horizon, level - half_width),
                      np.full(horizon, level + half_width))
    return fit


def test_recommended_is_the_mean_of_the_two_best_backtested_models():
    """Of four models, the two closest to the truth (100) are averaged; the method names them."""
    models = {ModelType.HOLT_WINTERS: constant(100), ModelType.SARIMAX: constant(104),
              ModelType.PROPHET: constant(97), ModelType.AUTO_ETS: constant(150)}
    result = forecast_category(days([100.0] * 120), 10, pd.DataFrame(), 0.95, models)
    assert result.forecasts[ModelType.RECOMMENDED]["value"].tolist() == pytest.approx([(100 + 97) / 2] * 10)
    assert result.method.startswith("mean of holt_winters and prophet: the 2 lowest backtest MASE of 4")
    assert ModelType.RECOMMENDED in result.metrics


def test_intervals_too_narrow_in_the_backtest_are_widened_to_cover():
    """A noisy series with a too-narrow band: the recommended band is widened until 95% of held-out days fit."""
    rng = np.random.default_rng(1)
    history = days(list(100 + rng.normal(0, 10, 200)))
    result = forecast_category(history, 30, pd.DataFrame(), 0.95,
                               {ModelType.HOLT_WINTERS: banded(100, 2), ModelType.SARIMAX: banded(100, 3)})
    recommended = result.forecasts[ModelType.RECOMMENDED]
    assert (recommended["upper"] - recommended["value"]).iloc[0] > 10
    assert result.metrics[ModelType.RECOMMENDED].coverage >= 0.9
    assert "intervals scaled" in result.method


def test_calibration_needs_enough_held_out_days():
    """With fewer than 20 held-out days the models' own intervals stand."""
    history = days([100.0] * 40)
    fold = with_quantiles(finish(history.index[30:40], [100.0] * 10, [99.0] * 10, [101.0] * 10), 0.95)
    assert calibration_scale(history, 10, {30: fold}, "lower", "upper", 0.95) is None


@pytest.mark.parametrize("length", [1, 5])
def test_a_history_too_short_for_every_model_gets_the_naive_fallback(length):
    """One or five days: no model forecasts; the recommended forecast is the recent mean, marked naive."""
    models = {ModelType.HOLT_WINTERS: broken}
    result = forecast_category(days([4.0, 6.0, 5.0, 5.0, 5.0][:length]), 30, pd.DataFrame(), 0.95, models)
    recommended = result.forecasts[ModelType.RECOMMENDED]
    assert len(recommended) == 30 and result.method.startswith("naive fallback")
    assert recommended["value"].iloc[0] == pytest.approx(np.mean([4.0, 6.0, 5.0, 5.0, 5.0][:length]))
    assert (recommended["lower"] <= recommended["p10"]).all() and (recommended["p90"] <= recommended["upper"]).all()


def test_an_all_zero_history_forecasts_zero():
    """A history of zeros: every forecast is 0 with a 0 band, and the run still has a recommended forecast."""
    result = forecast_category(days([0.0] * 60), 7, pd.DataFrame(), 0.95, {ModelType.HOLT_WINTERS: constant(0)})
    assert result.forecasts[ModelType.RECOMMENDED][["value", "lower", "upper"]].to_numpy().max() == 0.0


def test_backtests_include_the_same_window_a_year_earlier():
    """With three years of days: a cut 364 days before the end and the last horizon; else the last two horizons."""
    assert backtest_cuts(1095, 30, 2) == [731, 1065]
    assert backtest_cuts(300, 30, 2) == [240, 270]
    assert backtest_cuts(600, 30, 2) == [236, 570]  # no yearly season anywhere: the year-ago window still judges


def test_a_year_ago_fit_without_the_yearly_season_of_the_forecast_is_no_backtest():
    """Two years of days have a yearly season; a year-ago fit (366 days) would have none, so it judges other models
    than the forecast uses: the last two horizons instead, each long enough for the yearly season."""
    assert backtest_cuts(730, 30, 2) == [670, 700]
    assert all(cut >= YEARLY_MIN_DAYS for cut in backtest_cuts(730, 30, 2))
    assert backtest_cuts(YEARLY_MIN_DAYS + YEAR_AGO_DAYS, 30, 2)[0] == YEARLY_MIN_DAYS


def test_quantiles_from_an_interval_nest_inside_it():
    """p10 and p90 derived from a 95% interval lie inside it, at z(0.9)/z(0.975) of each side."""
    frame = with_quantiles(finish(pd.date_range("2024-01-01", periods=1), [100.0], [60.0], [160.0]), 0.95)
    ratio = 1.2815515655446004 / 1.959963984540054
    assert frame[["p10", "p50", "p90"]].iloc[0].tolist() == pytest.approx([100 - 40 * ratio, 100, 100 + 60 * ratio])


def test_weighted_quantile_loss_by_hand():
    """Two days, actuals 10 and 20: pinball losses of p10/p50/p90 worked out by hand."""
    forecast = pd.DataFrame({"value": [12.0, 18.0], "p10": [8.0, 15.0], "p90": [14.0, 25.0]})
    y = np.array([10.0, 20.0])
    expected = np.mean([2 * (0.1 * 2 + 0.1 * 5) / 30, 2 * (0.5 * 2 + 0.5 * 2) / 30, 2 * (0.1 * 4 + 0.1 * 5) / 30])
    assert weighted_quantile_loss(y, forecast) == pytest.approx(expected)


@pytest.mark.parametrize("values", [[0.0] * 90, [0.0] * 60 + [500.0] + [0.0] * 29],
                         ids=["all zeros", "a single spike"])
def test_real_models_on_degenerate_histories_give_a_finite_recommended_forecast(values):
    """All zeros or one spike in zeros: the fast real models finish, and the recommended forecast is finite."""
    from services.forecast.models import auto, holt_winters, sarimax

    models = {ModelType.HOLT_WINTERS: holt_winters.fit, ModelType.SARIMAX: sarimax.fit,
              ModelType.AUTO_ETS: auto.auto_ets, ModelType.AUTO_THETA: auto.auto_theta, ModelType.MSTL: auto.mstl}
    result = forecast_category(days(values), 30, pd.DataFrame(), 0.95, models)
    recommended = result.forecasts[ModelType.RECOMMENDED]
    assert np.isfinite(recommended.to_numpy()).all() and (recommended.to_numpy() >= 0).all()
    assert recommended["value"].max() <= 500.0 and result.method


def test_an_80_percent_band_too_wide_in_the_backtest_narrows_by_at_most_a_fifth():
    """Every held-out error is tiny against the bands: the 80% band narrows to 0.8x, the 95% band never narrows."""
    history = days([100.0 + (i % 2) for i in range(120)])
    fold = with_quantiles(finish(history.index[90:120], [100.5] * 30, [40.0] * 30, [160.0] * 30), 0.95)
    assert calibration_scale(history, 30, {90: fold}, "p10", "p90", 0.8, (0.8, 10.0)) == 0.8
    assert calibration_scale(history, 30, {90: fold}, "lower", "upper", 0.95) == 1.0
    result = forecast_category(history, 30, pd.DataFrame(), 0.95,
                               {ModelType.HOLT_WINTERS: banded(100.5, 60), ModelType.SARIMAX: banded(100.5, 50)})
    recommended = result.forecasts[ModelType.RECOMMENDED].iloc[0]
    assert recommended["upper"] - recommended["value"] == pytest.approx(55)
    own_p90 = 100.5 + 55 * 1.2815515655446004 / 1.959963984540054
    assert recommended["p90"] - recommended["value"] == pytest.approx(0.8 * (own_p90 - 100.5))
