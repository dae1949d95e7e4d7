"""Make a category's products add up to its forecast (hierarchicalforecast), choosing the method by backtest.

The hierarchy has two levels: the category (its own recommended forecast, the top) and its products (their
recommended forecasts, the bottom). Each candidate method reconciles the backtest window's forecasts and is
scored against what was sold (each product's MAE over its naive scale, and the category's); of the methods
whose category total did clearly better than the category's own forecast there (CLEARLY_BETTER), and
top-down, which keeps it, the best one then reconciles the forecast. MinTrace's mint_shrink estimates its
error covariance from that same window's errors.

After reconciling, products are clipped at 0 and the category's forecast becomes their sum, so the products
add up to the category exactly, every day; the category's recommended rows are rewritten to that reconciled
total (bottom-up keeps the products, top-down keeps the category). Quantiles move with their product's (or
the category's) value and stay ordered.
"""

from __future__ import annotations

import numpy as np
from hierarchicalforecast.methods import BottomUp, MinTrace, TopDown

#: Candidate reconciliations, in order of preference on a tie.
METHODS = ("bottom_up", "top_down", "mint_ols", "mint_wls_struct", "mint_shrink")
#: A method that moves the category's total must beat the category's own forecast on the backtest window by this
#: much (its category MAE at most this share of the category's own). One window is a noisy judge, and the two
#: levels are not equally informed: the category's models see its whole history and yearly season, the
#: products' methods two years and no yearly season. Measured on Store Item Demand (bench/products.py): with
#: a tie allowed, bottom-up tied the stores' own forecasts on October and was chosen for 6 of 10 stores, whose
#: November MASE then rose from 0.742 to 1.261.
CLEARLY_BETTER = 0.9


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
    return np.clip(out[1:], 0.0, None)


def choose(top: np.ndarray, bottom: np.ndarray, actual: np.ndarray, scales: np.ndarray) -> tuple[str, dict]:
    """The method with the lowest backtest error among top-down and those whose category total beats the
    category's own forecast clearly (CLEARLY_BETTER), and every method's error (None when it could not run).

    `top`/`bottom` are the window's base forecasts, `actual` (n + 1, h) what sold (category first), `scales`
    (n + 1,) the naive scale of each series; the error is the mean over series of MAE / scale. A method whose
    category total does not backtest clearly better than the category's own forecast is not chosen: the
    category's models see its whole history and its yearly season, the products' two years only, and the
    planner reads both levels (top-down always qualifies: it keeps the category's forecast).
    """
    fitted = np.vstack([top[None, :], bottom])
    own_error = float(np.abs(top - actual[0]).mean())
    errors: dict[str, float | None] = {}
    keeps_category: set[str] = set()
    for name in METHODS:
        try:
            products = reconcile(name, top, bottom, actual, fitted)
        except Exception:  # noqa: BLE001 - a method that cannot run (singular covariance) is just not chosen
            errors[name] = None
            continue
        both = np.vstack([products.sum(axis=0)[None, :], products])
        errors[name] = float(np.mean(np.abs(both - actual).mean(axis=1) / np.maximum(scales, 1e-9)))
        if name == "top_down" or np.abs(both[0] - actual[0]).mean() <= CLEARLY_BETTER * own_error:
            keeps_category.add(name)
    scored = {k: v for k, v in errors.items() if v is not None and np.isfinite(v) and k in keeps_category}
    return min(scored, key=lambda k: (scored[k], METHODS.index(k))), errors


def shift_quantiles(frame_values: np.ndarray, base: np.ndarray, reconciled: np.ndarray) -> np.ndarray:
    """Quantile columns (rows, k) moved by each row's reconciliation change, clipped at 0 and sorted."""
    moved = frame_values + (reconciled - base)[:, None]
    return np.sort(np.clip(moved, 0.0, None), axis=1)
