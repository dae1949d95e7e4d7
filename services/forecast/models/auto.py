"""statsforecast's automatic models as candidates: AutoETS, AutoTheta and MSTL.

Each picks its own form by information criterion on the recent history (ETS: error, trend and season types;
Theta: the variant), so they adapt to a series without tuning; their compiled cores fit two years of days in
a tenth to a third of a second. ETS and Theta carry the grain's own season (the week for days, 12 for months,
4 for quarters); for days from two years of history, and for weeks, a yearly curve is taken out before and put
back after their fit (as for Holt-Winters). MSTL carries the week and the year of days, and the year of weeks
(52), months (12) and quarters (4) as STL seasons. None of them takes regressors:
the engine hands them a history with the calendar's effects taken out and puts the effects back on their
forecast (services/forecast/calendar.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from services.forecast.models import ModelError, finish, future_index
from services.forecast.models.seasonality import YEARLY_MIN_DAYS, takes_curve, without_yearly
from services.forecast.periods import GrainSpec, fit_window, spec_of

SEASON_DAYS = 7
"""The weekly season of daily totals."""

YEAR_DAYS = 365
"""MSTL's second season, used from two full years of history (each calendar day seen twice)."""

WINDOW_DAYS = 365
"""ETS and Theta fit on at most the last year: they follow level, trend and the weekly pattern, which
older years do not inform, and fit time grows with length."""

MSTL_WINDOW_DAYS = 3 * 365
"""MSTL estimates the yearly season from up to the last three years: each calendar day seen three times
steadies the yearly curve (measured on the ten Store Item stores' November 2017: sMAPE 2.69 with three years,
3.30 with two), and with the smoothers evaluated every tenth day (STL_JUMPS) the third year costs little."""

STL_JUMPS = {"trend_jump": 10, "low_pass_jump": 10}
"""MSTL's decompositions evaluate their trend and low-pass smoothers every tenth day and interpolate between,
as R's stl() does by default (statsmodels evaluates every day): the yearly decomposition's trend window is
~600 days wide, and its smooth curve loses nothing to the interpolation. Measured on two years of a Store
Item store: 0.31 -> 0.07 CPU s a fit, the 30-day MAE 115.9 -> 116.3."""

ETS_FORMS = "ZZA"
"""AutoETS chooses error and trend types but keeps the weekly season additive: the yearly curve taken out
before leaves a series that can touch 0, where a multiplicative season is undefined, and the search over
seasonal types cost 40% of the fit (0.22 -> 0.12 s a fit on a year of days)."""

COARSE_ETS_FORMS = "ZZZ"
"""At the coarser grains AutoETS chooses every type, its season's too (months and quarters rarely touch 0)."""

MIN_DAYS = 2 * SEASON_DAYS
"""Two full weeks: a weekly season cannot be told apart from noise with less (two seasons at other grains)."""


def auto_ets(history: pd.Series, horizon: int, holidays: pd.DataFrame, level: float) -> pd.DataFrame:
    """Forecast with AutoETS (the grain's own season; the calendar is handled by the engine)."""
    from statsforecast.models import AutoETS

    grain = spec_of(history.index)
    forms = ETS_FORMS if grain.season == SEASON_DAYS else COARSE_ETS_FORMS
    return _forecast(AutoETS(season_length=grain.season, model=forms), "AutoETS", history, horizon, level,
                     fit_window(grain, WINDOW_DAYS))


def auto_theta(history: pd.Series, horizon: int, holidays: pd.DataFrame, level: float) -> pd.DataFrame:
    """Forecast with AutoTheta (the grain's own season; the calendar is handled by the engine)."""
    from statsforecast.models import AutoTheta

    grain = spec_of(history.index)
    return _forecast(AutoTheta(season_length=grain.season), "AutoTheta", history, horizon, level,
                     fit_window(grain, WINDOW_DAYS))


def mstl(history: pd.Series, horizon: int, holidays: pd.DataFrame, level: float) -> pd.DataFrame:
    """Forecast with MSTL: weekly and, from two years of history, yearly seasons of days (the yearly season of
    weeks, months and quarters), the trend by AutoETS."""
    from statsforecast.models import MSTL

    grain = spec_of(history.index)
    window = fit_window(grain, MSTL_WINDOW_DAYS)
    y = history.iloc[-window:]
    seasons = mstl_seasons(grain, len(y))
    return _forecast(MSTL(season_length=seasons, stl_kwargs=STL_JUMPS), "MSTL", history, horizon, level,
                     window, yearly=False)


def mstl_seasons(grain: GrainSpec, length: int) -> int | list[int]:
    """MSTL's seasons for `length` periods of a grain; ModelError when too short for the yearly one of weeks,
    months or quarters (two full years: STL cannot tell a season seen once from the trend)."""
    if grain.season == SEASON_DAYS:
        return [SEASON_DAYS, YEAR_DAYS] if length >= YEARLY_MIN_DAYS else SEASON_DAYS
    year = round(grain.year)
    if length < 2 * year:
        raise ModelError(f"MSTL needs two years ({2 * year} {grain.grain.value}s) of history for the yearly "
                         f"season; this category has {length}.")
    return year


def _forecast(model, name: str, history: pd.Series, horizon: int, level: float,  # noqa: ANN001 - a model
              window: int, yearly: bool = True) -> pd.DataFrame:
    """Fit `model` on the last `window` days and return value, the `level` interval and p10/p90.

    With `yearly`, the least-squares yearly curve (from two years of history) is taken out first and added
    back to the forecast, as for Holt-Winters: a weekly model alone misses a seasonal ramp such as November's.
    """
    index = future_index(history, horizon)
    grain = spec_of(history.index)
    yearly_future = np.zeros(horizon)
    if yearly and takes_curve(grain):
        history, yearly_future = without_yearly(history, index)
    y = history.to_numpy(dtype="float64")[-window:]
    least = MIN_DAYS if grain.season == SEASON_DAYS else 2 * max(grain.season, 2)
    unit = f"{grain.grain.value}s"
    if np.isnan(y).any():
        raise ModelError(f"{name} needs a value for every {unit[:-1]}, but the history has missing {unit}.")
    if len(y) < least:
        raise ModelError(f"{name} needs at least {least} {unit} of history; this category has {len(y)}.")
    if np.ptp(y) == 0.0:
        flat = np.full(horizon, y[-1]) + yearly_future  # no variance to model: the honest forecast is that value
        return finish(index, flat, flat, flat, flat, flat)
    pct = round(100 * level)
    out = model.forecast(y=y, h=horizon, level=sorted({80, pct}))
    value = np.asarray(out["mean"], dtype="float64")
    if not np.isfinite(value).all():
        raise ModelError(f"{name} could not fit this history: the fitted model gives no finite forecast.")
    bounds = (np.asarray(out[key], dtype="float64") + yearly_future for key in
              (f"lo-{pct}", f"hi-{pct}", "lo-80", "hi-80"))
    return finish(index, value + yearly_future, *bounds)


def warm_up() -> None:
    """Run each model once on a small series, so the first job in a worker does not pay the first-call cost."""
    days = pd.date_range("2020-01-06", periods=8 * SEASON_DAYS, freq="D")
    series = pd.Series(10.0 + np.arange(len(days)) % SEASON_DAYS, index=days)
    for fit in (auto_ets, auto_theta, mstl):
        fit(series, SEASON_DAYS, pd.DataFrame(), 0.95)
