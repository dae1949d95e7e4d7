"""Holt-Winters: exponential smoothing with an additive season and, where the data support it, a damped trend.

The season is the grain's own (periods.GrainSpec.season): the week for days, 12 for months, 4 for quarters;
weekly data have none of their own and take the yearly Fourier curve out first, as days do from two years.

The model is fitted on the recent window only: the weekly pattern and the level move, so older years add fit time
without adding accuracy. The interval comes from paths simulated from the fitted state-space form, so it widens
with the horizon the way the model's own uncertainty does.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.holtwinters import ExponentialSmoothing, HoltWintersResults

from services.forecast.models import ModelError, finish, future_index
from services.forecast.models.seasonality import without_yearly
from services.forecast.periods import fit_window, spec_of, units

SEASON_DAYS = 7
"""The season length of daily totals: one week (other grains take theirs from periods.GrainSpec.season)."""

WINDOW_DAYS = 365
"""Fit on at most the last year: level and season adapt within weeks, and on the benchmark a two- or four-year
window gave the same accuracy at up to twice the fit time."""

MIN_DAYS = 3
"""Below this many days even simple exponential smoothing has nothing to estimate."""

SIMULATIONS = 1000
"""Simulated future paths behind the interval; 1000 keeps a 95% quantile stable to about a percent."""

SEED = 7
"""Fixed seed of the simulation, so the same history always gives the same interval."""


def fit(history: pd.Series, horizon: int, holidays: pd.DataFrame, level: float) -> pd.DataFrame:
    """Forecast `horizon` periods with Holt-Winters (holidays are not used by this model)."""
    index = future_index(history, horizon)
    # The yearly curve (from two years of history) is taken out first: exponential smoothing only follows
    # the weekly season and the level, and would miss a seasonal ramp such as November's.
    deseasoned, yearly_future = without_yearly(history, index)
    season = spec_of(history.index).season
    y = _recent(deseasoned, fit_window(spec_of(history.index), WINDOW_DAYS))
    if np.ptp(y) == 0.0:
        # A flat history has zero residual variance: the fit is exact, and the honest forecast is that value.
        flat = np.full(horizon, y[-1]) + yearly_future
        return finish(index, flat, flat, flat)
    results = _best_fit(y, season)
    value = results.forecast(horizon)
    if not np.isfinite(value).all():
        raise ModelError("Holt-Winters could not fit this history: the fitted model gives no finite forecast.")
    paths = results.simulate(
        horizon, anchor="end", repetitions=SIMULATIONS, error="add", rng=np.random.default_rng(SEED)
    )
    lower, upper = np.quantile(paths, [(1.0 - level) / 2.0, (1.0 + level) / 2.0], axis=1)
    return finish(index, value + yearly_future, lower + yearly_future, upper + yearly_future)


def _recent(history: pd.Series, window: int) -> np.ndarray:
    """The last `window` values as floats, refused when too short or not gap-free."""
    unit = units(history)
    y = history.to_numpy(dtype="float64")[-window:]
    if np.isnan(y).any():
        raise ModelError(f"Holt-Winters needs a value for every {unit[:-1]}, but the history has missing {unit}.")
    if len(y) < MIN_DAYS:
        raise ModelError(f"Holt-Winters needs at least {MIN_DAYS} {unit} of history; this category has {len(y)}.")
    return y


def _best_fit(y: np.ndarray, season: int = SEASON_DAYS) -> HoltWintersResults:
    """Fit without trend and with a damped trend; keep the one with the lower AICc."""
    # A season needs two full cycles to be told apart from noise; shorter histories (and weeks) get none.
    seasonal = season > 1 and len(y) >= 2 * season
    candidates = [_fit_one(y, damped=False, seasonal=seasonal, season=season)]
    # A damped trend needs a few seasons to be estimated at all; on a short history it only adds variance.
    if len(y) >= 4 * season:
        candidates.append(_fit_one(y, damped=True, seasonal=seasonal, season=season))
    return min(candidates, key=lambda r: r.aicc if np.isfinite(r.aicc) else np.inf)


def _fit_one(y: np.ndarray, *, damped: bool, seasonal: bool, season: int = SEASON_DAYS) -> HoltWintersResults:
    """One exponential smoothing fit; convergence chatter is silenced, real errors still raise."""
    model = ExponentialSmoothing(
        y,
        trend="add" if damped else None,
        damped_trend=damped,
        seasonal="add" if seasonal else None,
        seasonal_periods=season if seasonal else None,
        initialization_method="estimated",
    )
    with warnings.catch_warnings():
        # Optimiser notes about iterations or a flat likelihood are expected on short or smooth series.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(optimized=True)
