"""What a series' grain means to the engine: its seasons, windows and horizons, in periods.

A history reaches the engine as a float Series indexed by each period's first day (common/grain.py):
days, weeks (on the data's weekday), months (the 1st) or quarters. The engine and every model read the
grain off the index (`spec_of`), so the model interface stays `fit(history, horizon, holidays, level)`.

Seasons per grain: days carry the week (7) and, from two years, the year; weeks carry the year (52.18
weeks, not a whole number: the Fourier yearly curve of models/seasonality.py, which works on any dates);
months carry 12; quarters 4. Backtests and MASE use the same periods: the year-ago window is 52 weeks,
12 months or 4 quarters back, and MASE is scaled by the seasonal naive at the grain's season.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from common.grain import WEEKDAYS, Grain


@dataclass(frozen=True)
class GrainSpec:
    """The engine's constants for one grain (all lengths in periods of that grain)."""

    grain: Grain
    #: The season a model carries itself (7 for days, 12 for months, 4 for quarters; 1: none, weeks).
    season: int
    #: The seasonal naive's lag behind MASE and the bench (the week for days, the year for the others).
    naive_season: int
    #: Periods in a year (for Fourier terms and Prophet's yearly curve).
    year: float
    #: The year-ago backtest window starts this many periods before the forecast (whole weeks for days).
    year_ago: int
    #: Fewest periods of training before a year-ago window.
    year_ago_min_train: int
    #: Fewest training periods any backtest needs.
    min_train: int
    #: From this many periods the yearly curve is taken (days: two years less two default horizons).
    yearly_min: int
    #: Default and largest horizon.
    default_horizon: int
    max_horizon: int
    #: Sine/cosine pairs of the yearly Fourier curve (half the periods in a year at most).
    fourier_order: int
    #: Backtest windows of the last horizons: at the coarser grains enough that some 50 periods are held out
    #: (a 13-week window is a noisy judge of which models to combine), and fits there are cheap.
    backtest_folds: int = 2


SPECS = {
    Grain.DAY: GrainSpec(Grain.DAY, season=7, naive_season=7, year=365.25, year_ago=364, year_ago_min_train=180,
                         min_train=14, yearly_min=2 * 365 - 60, default_horizon=30, max_horizon=366,
                         fourier_order=10),
    # Weeks: two years less two default horizons for the yearly curve, as for days.
    Grain.WEEK: GrainSpec(Grain.WEEK, season=1, naive_season=52, year=365.25 / 7, year_ago=52, year_ago_min_train=78,
                          min_train=26, yearly_min=2 * 52 - 26, default_horizon=13, max_horizon=104,
                          fourier_order=10, backtest_folds=4),
    # Months and quarters carry the year as their own season, which needs two full years to be told from noise.
    Grain.MONTH: GrainSpec(Grain.MONTH, season=12, naive_season=12, year=12.0, year_ago=12, year_ago_min_train=24,
                           min_train=24, yearly_min=24, default_horizon=12, max_horizon=36, fourier_order=5,
                           backtest_folds=4),
    Grain.QUARTER: GrainSpec(Grain.QUARTER, season=4, naive_season=4, year=4.0, year_ago=4, year_ago_min_train=8,
                             min_train=8, yearly_min=8, default_horizon=8, max_horizon=12, fourier_order=2,
                             backtest_folds=4),
}


def spec(grain: Grain) -> GrainSpec:
    """The engine's constants for `grain`."""
    return SPECS[grain]


def grain_of(index: pd.DatetimeIndex) -> Grain:
    """The grain of a period-indexed history: from its frequency, else from its steps (days when it has one date)."""
    freq = getattr(index, "freqstr", None) or ""
    for prefix, grain in (("W", Grain.WEEK), ("MS", Grain.MONTH), ("ME", Grain.MONTH), ("M", Grain.MONTH),
                          ("QS", Grain.QUARTER), ("Q", Grain.QUARTER), ("D", Grain.DAY)):
        if freq.startswith(prefix):
            return grain
    if len(index) < 2:
        return Grain.DAY
    step = float(np.median(np.diff(index.asi8)) / 86_400e9)
    return Grain.QUARTER if step >= 80 else Grain.MONTH if step >= 28 else Grain.WEEK if step >= 7 else Grain.DAY


def spec_of(index: pd.DatetimeIndex) -> GrainSpec:
    """The engine's constants for the grain of a period-indexed history."""
    return SPECS[grain_of(index)]


def frequency(grain: Grain, first: pd.Timestamp) -> str:
    """The pandas frequency of periods that start on `first` (weeks keep its weekday)."""
    if grain is Grain.WEEK:
        return f"W-{WEEKDAYS[first.weekday()][:3].upper()}"
    return {Grain.DAY: "D", Grain.MONTH: "MS", Grain.QUARTER: "QS-JAN"}[grain]


def period_index(first: pd.Timestamp, last: pd.Timestamp, grain: Grain) -> pd.DatetimeIndex:
    """Every period start from `first` to `last`, with its frequency set."""
    return pd.date_range(first, last, freq=frequency(grain, first))


def future_periods(history: pd.Series, horizon: int) -> pd.DatetimeIndex:
    """The first days of the `horizon` periods after the history's last one."""
    last = history.index[-1]
    grain = grain_of(history.index)
    if grain is Grain.DAY:
        return pd.date_range(last + pd.Timedelta(days=1), periods=horizon, freq="D")
    return pd.date_range(last, periods=horizon + 1, freq=frequency(grain, last))[1:]


def filled(history: pd.Series) -> pd.Series:
    """The history with its gaps (NaN periods) interpolated for fitting; a leading or trailing gap takes its
    neighbour. Gaps are never scored: metrics read the unfilled history."""
    if not history.isna().any():
        return history
    return history.interpolate(method="linear", limit_direction="both")


#: Years of history a model fits on at most at each coarser grain: a weekly level moves within a few years;
#: a monthly or quarterly season needs many years to be estimated (one value per year and period).
WINDOW_YEARS = {Grain.WEEK: 3, Grain.MONTH: 10, Grain.QUARTER: 10}


def fit_window(grain: GrainSpec, days: int) -> int:
    """A model's fitting window in periods: its own `days` for daily data, WINDOW_YEARS at the coarser grains."""
    return days if grain.grain is Grain.DAY else int(WINDOW_YEARS[grain.grain] * grain.year)


def units(history: pd.Series) -> str:
    """The plural word for a history's periods ("days", "weeks", "months", "quarters"), for messages."""
    return f"{grain_of(history.index).value}s"
