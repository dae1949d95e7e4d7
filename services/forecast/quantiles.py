"""Quantiles from an interval, for models that publish only their interval at the run's level.

A model's interval at `level` and its point forecast give each side's spread; the 10th and 90th
percentiles are that spread scaled by the ratio of the normal quantiles (z 0.90 over z of the level's
upper tail), side by side, so a skewed interval stays skewed.
"""

from __future__ import annotations

import functools

import pandas as pd
from scipy.stats import norm

from services.forecast.models import order_bounds

#: The percentiles every forecast publishes besides its interval.
QUANTILES = (0.1, 0.5, 0.9)


def with_quantiles(frame: pd.DataFrame, level: float) -> pd.DataFrame:
    """`frame` with p10 and p90 (derived from the interval when the model gave none) and p50 = value."""
    # On NumPy arrays and one new frame: a run calls this for every model and fold, and pandas' column-by-column
    # copies and assignments on 30-row frames cost more than the arithmetic (measured 8.7 -> 2.3 ms a call).
    value, lower, upper = (frame[name].to_numpy(dtype="float64") for name in ("value", "lower", "upper"))
    if "p10" not in frame or frame["p10"].isna().any():
        ratio = _quantile_ratio(level)
        p10, p90 = value - (value - lower) * ratio, value + (upper - value) * ratio
    else:
        p10, p90 = frame["p10"].to_numpy(dtype="float64"), frame["p90"].to_numpy(dtype="float64")
    out = pd.DataFrame({"value": value, "lower": lower, "upper": upper, "p10": p10, "p90": p90},
                       index=frame.index).clip(lower=0.0)
    out = order_bounds(out)
    out.insert(4, "p50", out["value"])
    return out


@functools.cache
def _quantile_ratio(level: float) -> float:
    """The 10th/90th percentiles' distance from the value as a share of the `level` interval's side (normal)."""
    return float(norm.ppf(0.9) / norm.ppf((1.0 + level) / 2.0))
