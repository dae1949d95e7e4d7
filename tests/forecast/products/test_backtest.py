"""Product methods and backtest: every method on many series at once, a recommendation and ordered quantiles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from services.forecast.products.backtest import MEAN_PREFIX, forecast_products, order_quantiles, recommend
from services.forecast.products.methods import GLOBAL_METHOD, all_forecasts, method_columns
from tests.forecast.products.synthetic import product_frame


def test_all_methods_forecast_every_series_without_negatives():
    """Local and global methods each give `horizon` non-negative days for every product."""
    out = all_forecasts(product_frame(), 14)
    assert len(out) == 6 * 14
    assert {"seasonal_naive", "croston", "tsb", "adida", "imapa", "theta", GLOBAL_METHOD} <= set(method_columns(out))
    assert (out[method_columns(out)] >= 0).all().all()


def test_every_product_gets_a_recommendation_with_its_errors_and_ordered_quantiles():
    """Each product gets one of the methods (or a mean of two), its backtest MASE and MAE, and ordered bands."""
    result = forecast_products(product_frame(), 14, 0.95)
    summaries = result.summaries.set_index("unique_id")
    assert len(summaries) == 6 and summaries["mase"].notna().all() and (summaries["naive_scale"] > 0).all()
    methods = summaries["method"].str.replace(MEAN_PREFIX, "").str.split("+").explode()
    assert set(methods) <= set(method_columns(all_forecasts(product_frame(products=2), 7)))
    bands = result.forecasts[["lower", "p10", "p50", "p90", "upper"]].to_numpy()
    assert (np.diff(bands, axis=1) >= 0).all() and (bands >= 0).all()
    assert len(result.forecasts) == 6 * 14 and len(result.backtests) == 6 * 14


def test_the_mean_of_the_two_best_is_recommended_when_it_backtests_better():
    """One method too high and one too low: their mean is exact, so it is recommended with MAE 0."""
    tested = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=4), "y": [4.0] * 4,
                           "high": [6.0] * 4, "low": [2.0] * 4, "far": [9.0] * 4})
    choice = recommend(tested, {"a": 2.0})
    assert choice.loc["a"].tolist() == ["mean:high+low", 0.0, 0.0]


def test_a_single_method_is_recommended_when_the_mean_is_worse():
    """The best method alone wins when averaging with the runner-up would add error."""
    tested = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=4), "y": [4.0] * 4,
                           "good": [4.5] * 4, "bad": [8.0] * 4})
    assert recommend(tested, {"a": 1.0}).loc["a"].tolist() == ["good", 0.5, 0.5]


def test_quantiles_are_sorted_and_clipped():
    """Crossed or negative bands come out ordered and non-negative."""
    frame = pd.DataFrame({"value": [1.0], "lower": [2.0], "p10": [-1.0], "p50": [1.0], "p90": [0.5], "upper": [3.0]})
    out = order_quantiles(frame)
    assert out[["lower", "p10", "p50", "p90", "upper"]].to_numpy().tolist() == [[0.0, 0.5, 1.0, 2.0, 3.0]]
