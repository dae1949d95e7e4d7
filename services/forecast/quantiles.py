"""Quantiles from an interval, for models that publish only their interval at the run's level.

A model's interval at `level` and its point forecast give each side's spread; the 10th and 90th
percentiles are that spread scaled by the ratio of the normal quantiles (z 0.90 over z of the level's
upper tail), side by side, so a skewed interval stays skewed.
"""

from __future__ import annotations

import pandas as pd
from scipy.stats import norm

from services.forecast.models import order_bounds

#: The percentiles every forecast publishes besides its interval.
QUANTILES = (0.1, 0.5, 0.9)


def with_quantiles(frame: pd.DataFrame, level: float) -> pd.DataFrame:
    """`frame` with p10 and p90 (derived from the interval when the model gave none) and p50 = value."""
    frame = frame.copy()
    if "p10" not in frame or frame["p10"].isna().any():
        ratio = norm.ppf(0.9) / norm.ppf((1.0 + level) / 2.0)
        frame["p10"] = frame["value"] - (frame["value"] - frame["lower"]) * ratio
        frame["p90"] = frame["value"] + (frame["upper"] - frame["value"]) * ratio
    frame = order_bounds(frame.clip(lower=0.0))
    frame["p50"] = frame["value"]
    return frame[["value", "lower", "upper", "p10", "p50", "p90"]]
