"""make_coherent: staged chunk results and the category's forecast become products that add up to it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from services.forecast.products.backtest import forecast_products
from services.forecast.products.finish import FALLBACK, make_coherent
from services.forecast.products.series import product_series
from services.forecast.products.staging import merged, pack
from tests.forecast.products.synthetic import product_frame


def staged_products() -> dict:
    """Four synthetic products forecast 14 days ahead, staged and read back as the reconciliation job does."""
    frame = product_frame(products=4, days=120)
    series = product_series(frame, ["p0", "p1", "p2", "p3"], frame["ds"].max().date(), 14)
    return merged([pack(forecast_products(series.frame, 14, 0.95), series)])


def category_top(days: pd.DatetimeIndex, value: float, quantiles: bool = True) -> pd.DataFrame:
    band = value if quantiles else np.nan
    return pd.DataFrame({"ds": days, "value": value, "lower": value * 0.8, "p10": band * 0.9, "p50": band,
                         "p90": band * 1.1, "upper": value * 1.2})


def test_without_the_category_backtest_top_down_keeps_the_category():
    """No stored category backtest: top-down, said in the note; products add up to the unchanged category."""
    staged = staged_products()
    days = pd.DatetimeIndex(sorted(staged["forecasts"]["ds"].unique()))
    coherent = make_coherent(staged, category_top(days, 40.0, quantiles=False), pd.DataFrame(columns=["ds"]))
    assert coherent.method == FALLBACK and "missing" in coherent.note
    sums = coherent.products.groupby("ds")["value"].sum()
    assert np.allclose(sums.to_numpy(), 40.0) and np.allclose(coherent.category["value"], 40.0)
    bands = coherent.category[["lower", "p10", "p50", "p90", "upper"]].to_numpy()
    assert not np.isnan(bands).any() and (np.diff(bands, axis=1) >= 0).all()


def test_with_the_category_backtest_the_choice_is_made_on_it():
    """A category backtest on the products' window: a method is chosen on it, no note, products add up."""
    staged = staged_products()
    tested = staged["backtests"]
    window = tested.groupby("ds", as_index=False)[["value", "actual"]].sum()
    days = pd.DatetimeIndex(sorted(staged["forecasts"]["ds"].unique()))
    coherent = make_coherent(staged, category_top(days, 25.0), window)
    assert coherent.note is None and coherent.method is not None
    sums = coherent.products.groupby("ds")["value"].sum().to_numpy()
    assert np.allclose(sums, coherent.category["value"].to_numpy())
    bands = coherent.products[["lower", "p10", "p50", "p90", "upper"]].to_numpy()
    assert (np.diff(bands, axis=1) >= 0).all() and (bands >= 0).all()
