"""Backtest every product method on the last horizon window, recommend per product, forecast with quantiles.

Each method is fitted on the product's history but its last `horizon` days and scored on them (MASE: the
mean absolute error over the seasonal naive's in-sample error). A product's recommended forecast is its best
method, or the mean of its two best when that mean backtests better. The recommended forecast's errors on the
window give its quantiles: p10/p90 and the run's interval are the forecast plus the errors' empirical
quantiles, never negative and always ordered.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from services.forecast.products.methods import all_forecasts, method_columns
from services.forecast.products.series import naive_scales

#: The name of a recommendation that averages two methods: "mean:<a>+<b>".
MEAN_PREFIX = "mean:"


@dataclass
class ProductForecasts:
    """A chunk's results: forecasts with quantiles, the recommended backtest, and one summary per product."""

    #: unique_id, ds, value, lower, upper, p10, p50, p90, method
    forecasts: pd.DataFrame
    #: unique_id, ds, value (the recommended method's backtest forecast), actual
    backtests: pd.DataFrame
    #: unique_id, method, mase, mae, naive_scale
    summaries: pd.DataFrame
    #: Wall seconds of the backtest (fits on the history without its last window) and of the final fits.
    seconds: dict[str, float] = field(default_factory=dict)


def forecast_products(frame: pd.DataFrame, horizon: int, level: float,
                      holidays: set[dt.date] | None = None) -> ProductForecasts:
    """Backtest, recommend and forecast every series of `frame` (`unique_id, ds, y`) `horizon` days ahead."""
    ends = frame.groupby("unique_id")["ds"].transform("max")
    train = frame[frame["ds"] <= ends - pd.Timedelta(days=horizon)]
    held = frame[frame["ds"] > ends - pd.Timedelta(days=horizon)]
    started = time.perf_counter()
    tested = all_forecasts(train, horizon, holidays).merge(held, on=["unique_id", "ds"], how="left")
    backtest_s = time.perf_counter() - started
    scales = naive_scales(train)
    choice = recommend(tested, scales)
    backtests = pick(tested, choice).merge(held.rename(columns={"y": "actual"}), on=["unique_id", "ds"])
    started = time.perf_counter()
    final = pick(all_forecasts(frame, horizon, holidays), choice)
    fit_s = time.perf_counter() - started
    forecasts = with_quantiles(final, backtests, level).assign(method=lambda f: f["unique_id"].map(choice.method))
    full_scales = naive_scales(frame)
    summaries = choice.assign(naive_scale=choice.index.map(full_scales)).reset_index()
    return ProductForecasts(forecasts, backtests[["unique_id", "ds", "value", "actual"]], summaries,
                            {"backtest": backtest_s, "fit": fit_s})


def recommend(tested: pd.DataFrame, scales: dict[str, float]) -> pd.DataFrame:
    """Per product (index), the method (or mean of two) with the lowest backtest MASE, its MASE and MAE."""
    methods = [c for c in method_columns(tested) if c != "y"]
    errors = tested[methods].sub(tested["y"], axis=0).abs().groupby(tested["unique_id"]).mean()
    rows = []
    for product, mae in errors.iterrows():
        ranked = mae.sort_values()
        first, second = ranked.index[0], ranked.index[1]
        own = tested[tested["unique_id"] == product]
        pair_mae = float(((own[first] + own[second]) / 2 - own["y"]).abs().mean())
        method, best = (f"{MEAN_PREFIX}{first}+{second}", pair_mae) if pair_mae < ranked.iloc[0] \
            else (first, float(ranked.iloc[0]))
        scale = scales.get(product, float("nan"))
        rows.append({"unique_id": product, "method": method, "mae": best, "mase": _ratio(best, scale)})
    return pd.DataFrame(rows).set_index("unique_id")


def pick(wide: pd.DataFrame, choice: pd.DataFrame) -> pd.DataFrame:
    """`unique_id, ds, value`: each product's recommended column of `wide` (or the mean of its two)."""
    parts = []
    for product, own in wide.groupby("unique_id", sort=False):
        method = choice.at[product, "method"]
        names = method[len(MEAN_PREFIX):].split("+") if method.startswith(MEAN_PREFIX) else [method]
        parts.append(pd.DataFrame({"unique_id": product, "ds": own["ds"].to_numpy(),
                                   "value": own[names].mean(axis=1).to_numpy()}))
    return pd.concat(parts, ignore_index=True)


def with_quantiles(final: pd.DataFrame, backtests: pd.DataFrame, level: float) -> pd.DataFrame:
    """`final` with lower/upper (at `level`) and p10/p50/p90 from each product's backtest errors."""
    errors = (backtests["actual"] - backtests["value"]).groupby(backtests["unique_id"])
    tails = (1.0 - level) / 2.0
    spreads = {name: errors.quantile(q) for name, q in
               (("lower", tails), ("p10", 0.1), ("p90", 0.9), ("upper", 1.0 - tails))}
    out = final.copy()
    for name, spread in spreads.items():
        out[name] = out["value"] + out["unique_id"].map(spread).fillna(0.0).to_numpy()
    out["p50"] = out["value"]
    return order_quantiles(out)


def order_quantiles(frame: pd.DataFrame) -> pd.DataFrame:
    """Quantile columns clipped at 0 and sorted so that lower <= p10 <= p50 <= p90 <= upper."""
    columns = ["lower", "p10", "p50", "p90", "upper"]
    values = np.sort(np.clip(frame[columns].to_numpy(dtype="float64"), 0.0, None), axis=1)
    out = frame.copy()
    out[columns] = values
    out["value"] = out["value"].clip(lower=0.0)
    return out


def _ratio(error: float, scale: float) -> float | None:
    return error / scale if scale and np.isfinite(scale) and scale > 0 else None
