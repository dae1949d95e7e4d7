"""The recommended forecast: the one castflow stands behind, built from the backtested models.

It is the mean of the TOP models by backtest MASE (measured on the recent window and the same calendar
window a year earlier): a combination of the few best is steadier on unseen data than the single best,
whose lead over the others in a few windows is often noise, and sharper than the mean of every model.
Measured on 162 real series and origins (bench/accuracy.py, mean MASE): the best two 0.749, the best three
0.772, the single best 0.786, every model 0.917.
Its intervals are then calibrated on its own backtest errors (split-conformal: each side's width scaled
so that the share of held-out days inside matches the nominal 80% and `level`; the `level` interval only
widens), since model intervals are often too narrow or too wide for a given series.

Without a backtest (a short history) it is the mean of the models that forecast; without any model (a
history of a few days, or every model failed) it is the naive fallback: the recent mean, marked as such.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from common.status import ModelType
from services.forecast.metrics import mean_metrics, rank_key, score_cut
from services.forecast.models import finish, future_index, order_bounds
from services.forecast.periods import spec_of
from services.forecast.quantiles import with_quantiles

#: How many of the best-backtested models the recommended forecast averages.
TOP = 2
#: Fewest held-out days behind an interval calibration; with fewer the models' own intervals stand.
MIN_CALIBRATION_DAYS = 20
#: Bounds of the calibration's width factor for the `level` interval: it only widens. Its edge rests on the
#: few largest of ~60 held-out errors, and a few calm backtest windows are no proof that the future is calmer
#: than the models say (measured: free shrinking left 56% of November inside the 80% interval).
SCALE_RANGE = (1.0, 10.0)
#: The 80% interval may also narrow, by at most a fifth: its edge is the 80th percentile of the held-out
#: errors, which ~60 days estimate well, and a mean of models (or a model's own 80% band derived from its 95%
#: one under a normal shape) is often too wide by construction (measured: 85.7% of held-out days inside the
#: widen-only 80% interval of the recommended forecast on bench/accuracy.py).
SCALE_RANGE_80 = (0.8, 10.0)
#: Periods of history the naive fallback averages.
NAIVE_DAYS = 7

_COMBINED = (ModelType.ENSEMBLE, ModelType.RECOMMENDED, ModelType.NAIVE)


def add_recommended(result, backtests: dict[ModelType, dict[int, pd.DataFrame]],  # noqa: ANN001 - CategoryForecast
                    history: pd.Series, horizon: int, level: float) -> None:
    """Add the recommended forecast, its backtest metrics and the words for how it was built to `result`."""
    singles = [m for m in result.forecasts if m not in _COMBINED]
    if not singles:
        _add_naive(result, history, horizon, level)
        return
    tested = sorted((m for m in singles if backtests.get(m) and m in result.metrics),
                    key=lambda m: rank_key(result.metrics[m]))
    if not tested:
        result.forecasts[ModelType.RECOMMENDED] = mean_forecast([result.forecasts[m] for m in singles])
        result.method = f"{_mean_of(singles)} (history too short to backtest)"
        return
    members = tested[:TOP]
    final = mean_forecast([result.forecasts[m] for m in members])
    folds = {cut: mean_forecast([backtests[m][cut] for m in members]) for cut in backtests[members[0]]}
    final, folds, scales = calibrate(final, folds, history, horizon, level, narrow=True)
    result.forecasts[ModelType.RECOMMENDED] = final
    result.metrics[ModelType.RECOMMENDED] = mean_metrics([score_cut(history, c, horizon, f) for c, f in folds.items()])
    result.backtests[ModelType.RECOMMENDED] = folds
    result.method = _describe(members, tested, scales, len(folds), level)


def mean_forecast(forecasts: list[pd.DataFrame]) -> pd.DataFrame:
    """The day-by-day mean of several forecasts' values, bounds and quantiles (columns all of them share)."""
    stacked = pd.concat(forecasts, keys=range(len(forecasts)), join="inner")
    mean = stacked.groupby(level=1).mean()
    quantiles = (mean["p10"], mean["p90"]) if "p10" in mean else (None, None)
    frame = finish(mean.index, mean["value"], mean["lower"], mean["upper"], *quantiles)
    if "p50" in mean:
        frame["p50"] = frame["value"]
    return frame


def calibrate(final: pd.DataFrame, folds: dict[int, pd.DataFrame], history: pd.Series, horizon: int,
              level: float, narrow: bool = False) -> tuple[pd.DataFrame, dict[int, pd.DataFrame], dict[float, float]]:
    """Scale a forecast's `level` and 80% intervals (and its backtests') so that its backtests cover as promised.

    The `level` interval only widens; with `narrow` (the recommended forecast, once: its members are only
    widened, so the narrowing does not compound) the 80% one may also narrow a little (SCALE_RANGE_80).
    Returns the forecast, its backtest forecasts and the factor applied to each interval that was rescaled.
    """
    scales = {}
    for low, high, coverage, bounds in (("lower", "upper", level, SCALE_RANGE),
                                        ("p10", "p90", 0.8, SCALE_RANGE_80 if narrow else SCALE_RANGE)):
        scale = calibration_scale(history, horizon, folds, low, high, coverage, bounds)
        if scale is not None and scale != 1.0:
            scales[coverage] = scale
            final = widen(final, low, high, scale)
            folds = {cut: widen(f, low, high, scale) for cut, f in folds.items()}
    return final, folds, scales


def calibration_scale(history: pd.Series, horizon: int, folds: dict[int, pd.DataFrame], low: str, high: str,
                      coverage: float, bounds: tuple[float, float] = SCALE_RANGE) -> float | None:
    """The factor on each side's width that makes `coverage` of the backtests' held-out days fall inside."""
    ratios = []
    for cut, forecast in folds.items():
        actual = history.iloc[cut:cut + horizon].to_numpy(dtype="float64")
        value = forecast["value"].to_numpy()
        width = np.where(actual >= value, forecast[high].to_numpy() - value, value - forecast[low].to_numpy())
        error = np.abs(actual - value)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(error == 0, 0.0, error / width)
        ratios.append(ratio[~np.isnan(actual)])  # a gap (a missing week or month) is never scored
    ratios = np.concatenate(ratios) if ratios else np.array([])
    if len(ratios) < MIN_CALIBRATION_DAYS:
        return None
    scale = float(np.quantile(ratios, coverage, method="higher"))
    return float(np.clip(scale if np.isfinite(scale) else bounds[1], *bounds))


def widen(forecast: pd.DataFrame, low: str, high: str, scale: float) -> pd.DataFrame:
    """`forecast` with the `low`..`high` interval's sides scaled by `scale` around the value (never below 0)."""
    frame = forecast.copy()
    value = frame["value"].to_numpy()  # on arrays: pandas' aligned Series arithmetic cost more than the sums
    frame[low] = np.maximum(value - scale * (value - frame[low].to_numpy()), 0.0)
    frame[high] = value + scale * (frame[high].to_numpy() - value)
    return order_bounds(frame)


def _describe(members: list[ModelType], tested: list[ModelType], scales: dict[float, float], folds: int,
              level: float) -> str:
    what = (f"{members[0].value} alone (the only backtested model)" if len(members) == 1 else
            f"{_mean_of(members)}: the {len(members)} lowest backtest MASE of {len(tested)} models")
    if scales:
        factors = ", ".join(f"{round(100 * c)}% x{s:.2f}" for c, s in sorted(scales.items()))
        what += f"; intervals scaled to cover as promised on its {folds} backtest windows ({factors})"
    return what


def _mean_of(models: list[ModelType]) -> str:
    names = [m.value for m in models]
    return names[0] if len(names) == 1 else "mean of " + ", ".join(names[:-1]) + " and " + names[-1]


def _add_naive(result, history: pd.Series, horizon: int, level: float) -> None:  # noqa: ANN001
    """The fallback when no model could forecast: the recent mean, with the recent spread as its interval."""
    recent = history.dropna().to_numpy(dtype="float64")[-NAIVE_DAYS:]
    unit = spec_of(history.index).grain.value
    index = future_index(history, horizon)
    value = float(recent.mean())
    if len(recent) >= 3 and np.ptp(recent) > 0:
        bounds = np.quantile(recent, [(1 - level) / 2, (1 + level) / 2, 0.1, 0.9])
        how = f"the mean of the last {len(recent)} {unit}s, their spread as the interval"
    else:
        bounds = np.array([0.0, 2 * value, 0.5 * value, 1.5 * value])  # too few days to measure a spread
        how = f"the mean of the last {len(recent)} {unit}(s), an interval of 0 to twice it"
    frame = finish(index, np.full(horizon, value), *(np.full(horizon, b) for b in bounds))
    result.forecasts[ModelType.NAIVE] = with_quantiles(frame, level)
    result.forecasts[ModelType.RECOMMENDED] = result.forecasts[ModelType.NAIVE].copy()
    why = "no model could forecast this history" + (f" ({len(history)} {unit}s)" if len(history) < 14 else "")
    result.method = f"naive fallback, {how}: {why}"
