"""Weekly and monthly views: a forecast's and a history's rows summed per period, honestly.

Pure functions over frames; services/api/period_reads.py loads what they need. A period is named by its first
day (common/grain.py; weeks start on Monday). A period the rows cover only in part says so: `days` is how many
of its `days_in_period` days the rows hold, and the period a forecast starts in (whose first days are stored
history) carries that history's sum as `actual` beside the forecast of the rest. A forecast's period interval
comes from its daily quantiles and the model's error structure (services/forecast/sums.py), never from adding
up the daily bounds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from common.grain import Grain, period_days, period_starts
from services.forecast import sums

#: A forecast frame's columns (as services/forecast/sums.py names them) and the API's names for them.
QUANTILE_FIELDS = {"value": "forecast_value", "lower": "lower_bound", "upper": "upper_bound", "p10": "p10",
                   "p50": "p50", "p90": "p90"}


class FinerThanSource(ValueError):
    """A view asked for a grain finer than the rows it would sum (daily figures cannot come from monthly ones)."""


def check_grain(grain: Grain, source: Grain) -> None:
    """FinerThanSource when `grain` is finer than `source`."""
    if grain.rank < source.rank:
        raise FinerThanSource(f"grain={grain.value} is finer than the data, which comes per {source.value}; "
                              f"ask for grain={source.value} or coarser")


def positions(dates: pd.DatetimeIndex, grain: Grain) -> np.ndarray:
    """Each date's position in periods of `grain` since the first date (the lags the error structure uses)."""
    dates = pd.DatetimeIndex(dates)
    if grain is Grain.DAY:
        return np.asarray((dates - dates[0]).days, dtype="float64")
    if grain is Grain.WEEK:
        return np.asarray((dates - dates[0]).days // 7, dtype="float64")
    months = np.asarray(dates.year * 12 + dates.month - (dates[0].year * 12 + dates[0].month), dtype="float64")
    return months if grain is Grain.MONTH else months // 3


def forecast_periods(rows: pd.DataFrame, grain: Grain, source: Grain,
                     structure: sums.ErrorCorrelation) -> list[dict[str, object]]:
    """One series' forecast rows (forecast_date and the QUANTILE_FIELDS' frame names) summed per period of `grain`.

    Rows already one per period of `grain` pass through unchanged; `source` is the grain the rows come in.
    """
    check_grain(grain, source)
    dates = pd.DatetimeIndex(rows["forecast_date"])
    frame = rows.reset_index(drop=True)
    lags = positions(dates, source)
    starts = dates if grain is source else period_starts(dates, grain)
    out = []
    for start in starts.unique():
        inside = np.flatnonzero(starts == start)
        held = dates[inside]
        quantiles = sums.sum_quantiles(frame.iloc[inside], lags[inside], structure)
        out.append({"start": start.date(), "days_in_period": period_days(start, grain),
                    "days": sum(period_days(day, source) for day in held),
                    "forecast_start": held[0].date(),
                    "forecast_end": (held[-1] + pd.Timedelta(days=period_days(held[-1], source) - 1)).date(),
                    **{QUANTILE_FIELDS[name]: value for name, value in quantiles.items()}})
    return out


def straddled(start: dt.date, grain: Grain, history_end: dt.date | None) -> tuple[dt.date, dt.date] | None:
    """The days [first, last] of the period starting on `start` that are stored history, or None when none are."""
    if history_end is None or history_end < start:
        return None
    end = start + dt.timedelta(days=period_days(pd.Timestamp(start), grain) - 1)
    return (start, history_end) if history_end < end else None


def with_actual(period: dict[str, object], actual: float | None, actual_days: int) -> dict[str, object]:
    """The period with its stored history before the forecast (`actual`, null when none), the total, and whether
    history and forecast together hold every day of it."""
    total = (actual or 0.0) + float(period["forecast_value"])
    return {**period, "actual": None if actual is None else round(actual, 2), "actual_days": actual_days,
            "total": round(total, 2), "complete": actual_days + int(period["days"]) == period["days_in_period"]}


def with_target(period: dict[str, object], target: float | None) -> dict[str, object]:
    """The period with its target, the gap (total minus target) and the gap as a share of the target."""
    if target is None:
        return {**period, "target": None, "gap": None, "gap_share": None}
    gap = float(period["total"]) - target
    return {**period, "target": target, "gap": round(gap, 2), "gap_share": round(gap / target, 4) if target else None}


def history_periods(days: Iterable[tuple[dt.date, float]], grain: Grain, source: Grain, first: dt.date,
                    last: dt.date) -> list[dict[str, object]]:
    """Stored totals per day (or per `source` period) summed per period of `grain`, each with the days it holds.

    `first`..`last` is the stored range the sums speak for (the history's own, narrowed by the asked dates):
    a day inside it without a row counts as 0, days outside it are not held.
    """
    check_grain(grain, source)
    series = pd.Series(dict(days), dtype="float64")
    if series.empty:
        return []
    index = pd.DatetimeIndex(series.index)
    starts = index if grain is source else period_starts(index, grain)
    totals = series.groupby(starts).sum()
    return [{"date": start.date().isoformat(), "sales": round(float(total), 2),
             "days": _held_days(start, grain, source, first, last), "days_in_period": period_days(start, grain)}
            for start, total in totals.items()]


def _held_days(start: pd.Timestamp, grain: Grain, source: Grain, first: dt.date, last: dt.date) -> int:
    if grain is source and source is not Grain.DAY:
        return period_days(start, grain)
    end = start + pd.Timedelta(days=period_days(start, grain) - 1)
    low, high = max(start.date(), first), min(end.date(), last)
    return max((high - low).days + 1, 0)

