"""Intervals of a forecast's sum over several days (a week, a month), from its daily quantiles.

A day's forecast error is not independent of the next day's: a model that misjudged the level is wrong the
same way all month, and a busy day tends to follow a busy day. So the interval of a month's total is neither
the sum of the daily bounds (as if every day missed by its full bound in the same direction: far too wide)
nor the root of their summed squares (as if the days were independent: far too narrow).

castflow models the correlation of the standardised daily errors (error over the interval's half-width on
the side it fell) at a lag of h days as a *level + AR(1)* mix:

    corr(h) = level + (1 - level) * ar**h      (h >= 1; corr(0) = 1)

`level` is the share of the error common to every day of a window (a misjudged level), `ar` the day-to-day
persistence of the rest. Both are fitted per model on its backtest's held-out days (`estimate`) and stored
with its metrics; the read side then gives each side of each quantile of a sum the distance
sqrt(d' C d), where d holds the days' distances from their value to that quantile on that side and C the
correlation matrix of their lags (each side separately: the quantiles are asymmetric and clipped at 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Lags (days) of the standardised errors' autocorrelation that the structure is fitted to.
LAGS = 10
#: Fewest held-out days with a usable interval behind an estimate.
MIN_DAYS = 14
#: A standardised error is capped at this many half-widths: one wild day must not set the structure alone.
Z_CAP = 4.0
#: The values of `level` and `ar` the fit chooses from (a grid: two parameters, a few hundred candidates).
GRID = np.round(np.linspace(0.0, 0.95, 20), 2)
#: Each side's quantile columns of a forecast frame, with the name of its centre.
SIDES = (("lower", "upper"), ("p10", "p90"))


@dataclass(frozen=True)
class ErrorCorrelation:
    """How a model's daily errors are correlated: a shared `level` share and the AR(1) `ar` of the rest."""

    level: float
    ar: float

    def matrix(self, offsets: np.ndarray) -> np.ndarray:
        """The correlation matrix of days at these offsets (days since any fixed day)."""
        lags = np.abs(np.subtract.outer(offsets, offsets))
        return np.where(lags == 0, 1.0, self.level + (1.0 - self.level) * np.power(self.ar, lags))


#: Runs stored before the structure was measured get this one: above what backtests of real series show
#: (bench/sums.py: a mean level of ~0.1 and AR of ~0.2), so that their sums' intervals err wide (measured: 91%
#: of 30-day totals inside the 80% interval, 95% inside the 95% one).
DEFAULT = ErrorCorrelation(level=0.3, ar=0.5)
#: The least `level` a sum is built with. One series' two or three backtest windows are a few draws of its
#: shared level, so its estimate is often near 0 when the truth is not, and a month's interval is too narrow
#: (measured on 120 real forecasts: 73% of 30-day totals inside the 80% interval as measured, 83% with this).
MIN_LEVEL = 0.1
#: The two extremes the structure is judged against: every day's error the same, and independent days.
SUM_OF_BOUNDS = ErrorCorrelation(level=1.0, ar=0.0)
INDEPENDENT = ErrorCorrelation(level=0.0, ar=0.0)


def for_sums(level: float | None, ar: float | None) -> ErrorCorrelation:
    """The structure a sum is built with from a model's stored one: DEFAULT when none, its level at least MIN_LEVEL."""
    if level is None or ar is None:
        return DEFAULT
    return ErrorCorrelation(level=max(level, MIN_LEVEL), ar=ar)


def standardised_errors(actual: np.ndarray, forecast: pd.DataFrame) -> np.ndarray:
    """Each day's error over its 80% half-width on the side it fell (the 95% one without p10/p90); nan if 0 wide."""
    low, high = ("p10", "p90") if "p10" in forecast and forecast["p10"].notna().all() else ("lower", "upper")
    value = forecast["value"].to_numpy(dtype="float64")
    error = np.asarray(actual, dtype="float64") - value
    width = np.where(error >= 0, forecast[high].to_numpy(dtype="float64") - value,
                     value - forecast[low].to_numpy(dtype="float64"))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(width > 0, error / width, np.nan)
    return np.clip(z, -Z_CAP, Z_CAP)


def autocorrelations(z: np.ndarray, lags: int = LAGS) -> np.ndarray:
    """The autocorrelation of `z` at lags 1..`lags` about 0, not its mean (a shared offset is correlation)."""
    valid = ~np.isnan(z)
    z = np.where(valid, z, 0.0)
    scale = float(np.sum(z * z)) / max(int(valid.sum()), 1)
    out = np.full(lags, np.nan)
    for h in range(1, min(lags, len(z) - 1) + 1):
        pairs = valid[h:] & valid[:-h]
        if pairs.sum() >= 2 and scale > 0:
            out[h - 1] = float(np.sum(z[h:] * z[:-h])) / pairs.sum() / scale
    return out


def fit_structure(r: np.ndarray) -> ErrorCorrelation:
    """The level + AR(1) structure closest (least squares over the known lags) to autocorrelations `r`."""
    h = np.arange(1, len(r) + 1)
    known = ~np.isnan(r)
    level, ar = np.meshgrid(GRID, GRID, indexing="ij")
    model = level[..., None] + (1 - level[..., None]) * np.power(ar[..., None], h)
    loss = np.sum(np.where(known, model - np.nan_to_num(r), 0.0) ** 2, axis=-1)
    i, j = np.unravel_index(int(np.argmin(loss)), loss.shape)
    return ErrorCorrelation(level=float(GRID[i]), ar=float(GRID[j]))


def estimate(actual: np.ndarray, forecast: pd.DataFrame) -> ErrorCorrelation | None:
    """The error structure of one backtest window; None with fewer than MIN_DAYS usable days."""
    z = standardised_errors(actual, forecast)
    if int((~np.isnan(z)).sum()) < MIN_DAYS:
        return None
    return fit_structure(autocorrelations(z))


def sum_quantiles(days: pd.DataFrame, offsets: np.ndarray, structure: ErrorCorrelation) -> dict[str, float | None]:
    """The sum's value and quantiles (lower, upper, p10, p50, p90) from days' value/lower/upper/p10/p90 columns.

    `offsets` are the days' positions in days (their lags); a side whose columns are missing or null is None.
    """
    corr = structure.matrix(np.asarray(offsets, dtype="float64"))
    value = days["value"].to_numpy(dtype="float64")
    total = float(value.sum())
    out: dict[str, float | None] = {"value": total, "p50": total}
    for low, high in SIDES:
        if low not in days or days[low].isna().any() or days[high].isna().any():
            out[low] = out[high] = None
            continue
        below = value - days[low].to_numpy(dtype="float64")
        above = days[high].to_numpy(dtype="float64") - value
        out[low] = max(0.0, total - float(np.sqrt(max(below @ corr @ below, 0.0))))
        out[high] = total + float(np.sqrt(max(above @ corr @ above, 0.0)))
    return out
