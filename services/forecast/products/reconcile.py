"""Make a category's products add up to its forecast (hierarchicalforecast), choosing the method by backtest.

The hierarchy has two levels: the category (its own recommended forecast, the top) and its products (their
recommended forecasts, the bottom). Each candidate method reconciles the backtest window's forecasts and is
scored against what was sold (each product's MAE over its naive scale, and the category's); the best one then
reconciles the forecast. MinTrace's mint_shrink estimates its error covariance from that same window's errors.

After reconciling, products are clipped at 0 and scaled on each day to the category's own forecast
(keep_total), so the products add up to the category exactly, every day, and the category's recommended
forecast stays what its own models said. Quantiles move with their product's value and stay ordered.
"""

from __future__ import annotations

import numpy as np
from hierarchicalforecast.methods import BottomUp, MinTrace, TopDown

#: Candidate reconciliations, in order of preference on a tie.
METHODS = ("bottom_up", "top_down", "mint_ols", "mint_wls_struct", "mint_shrink")
#: Every method's products are then scaled, day by day, to the category's own forecast: the category's models
#: see its whole history and yearly season, the products' methods two years and no yearly season, and a method
#: that moved the category's total to the products' sum was measured worse. On Store Item Demand
#: (bench/products.py), choosing bottom-up or MinT where they won the October backtest window made the stores'
#: November MASE 1.17-1.26 against their own forecasts' 0.742. The methods differ in how they split the day.


def _reconciler(name: str) -> object:
    return {
        "bottom_up": BottomUp,
        "top_down": lambda: TopDown(method="forecast_proportions"),
        "mint_ols": lambda: MinTrace(method="ols"),
        "mint_wls_struct": lambda: MinTrace(method="wls_struct"),
        "mint_shrink": lambda: MinTrace(method="mint_shrink"),
    }[name]()


def summing_matrix(n: int) -> np.ndarray:
    """S of a category over `n` products: the category's row of ones, then the identity."""
    return np.vstack([np.ones((1, n)), np.eye(n)])


def reconcile(name: str, top: np.ndarray, bottom: np.ndarray, actual: np.ndarray | None = None,
              fitted: np.ndarray | None = None) -> np.ndarray:
    """Products' reconciled forecasts (n, h) by method `name`, clipped at 0.

    `top` (h,) is the category's forecast, `bottom` (n, h) the products'; `actual` and `fitted` (n + 1, T), the
    category first, are a window's sales and forecasts that mint_shrink estimates its covariance from.
    """
    n = bottom.shape[0]
    S = summing_matrix(n)
    y_hat = np.vstack([top[None, :], bottom])
    tags = {"category": np.array([0]), "category/product": np.arange(1, n + 1)}
    extra = {"y_insample": actual, "y_hat_insample": fitted} if name == "mint_shrink" else {}
    out = _reconciler(name).fit_predict(S=S, y_hat=y_hat, tags=tags, **extra)["mean"]
    return keep_total(np.clip(out[1:], 0.0, None), top)


def keep_total(products: np.ndarray, top: np.ndarray) -> np.ndarray:
    """Products (n, h) scaled on each day to add up to the category's forecast `top` (h,); a day whose products
    sum to 0 is split evenly."""
    total = products.sum(axis=0)
    even = np.full_like(products, 1.0 / products.shape[0])
    shares = np.where(total > 0, products / np.where(total > 0, total, 1.0), even)
    return shares * np.clip(top, 0.0, None)


def choose(top: np.ndarray, bottom: np.ndarray, actual: np.ndarray, scales: np.ndarray) -> tuple[str, dict]:
    """The method with the lowest backtest error, and every method's error (None when it could not run).

    `top`/`bottom` are the window's base forecasts, `actual` (n + 1, h) what sold (category first), `scales`
    (n + 1,) the naive scale of each series; the error is the mean over series of MAE / scale. Every method
    keeps the category's own forecast (keep_total), so the choice is of how the products split it.
    """
    fitted = np.vstack([top[None, :], bottom])
    errors: dict[str, float | None] = {}
    for name in METHODS:
        try:
            products = reconcile(name, top, bottom, actual, fitted)
        except Exception:  # noqa: BLE001 - a method that cannot run (singular covariance) is just not chosen
            errors[name] = None
            continue
        both = np.vstack([products.sum(axis=0)[None, :], products])
        errors[name] = float(np.mean(np.abs(both - actual).mean(axis=1) / np.maximum(scales, 1e-9)))
    scored = {k: v for k, v in errors.items() if v is not None and np.isfinite(v)}
    return min(scored, key=lambda k: (scored[k], METHODS.index(k))), errors


def shift_quantiles(frame_values: np.ndarray, base: np.ndarray, reconciled: np.ndarray) -> np.ndarray:
    """Quantile columns (rows, k) moved by each row's reconciliation change, clipped at 0 and sorted."""
    moved = frame_values + (reconciled - base)[:, None]
    return np.sort(np.clip(moved, 0.0, None), axis=1)
