"""A category's seasonality as a planner reads it: the day-of-week profile and the month-of-year factors.

Both are ratio-to-moving-average factors (the seasonal indices of a classical multiplicative decomposition):
- weekday (daily data only): each day over the centred 7-day mean around it, which holds the trend and the
  yearly season but no weekday; a weekday's factor is the robust mean of its ratios over the weeks.
- month: each month's mean per day (its total over the days it covers, so that February's 28 days do not make
  it look low) over the centred 2x12 moving average of those means (the trend, with no month in it); a month's
  factor is the robust mean of its ratios over the years. With one to two years of months the moving average
  leaves some months without a ratio, so it is carried flat to the ends (indicative factors: one year each).
  Daily data give the months' means directly; weekly data spread each week's total evenly over its 7 days
  first; monthly data divide each month's total by its days. A month counts when 3/4 of its days have data.
The robust mean is the interquartile mean (the median for 4 or fewer values): one odd year or a holiday week
does not move a factor. Factors are scaled to mean 1. `variance_explained` is the share of the detrended
series' variation (the ratios) that the season accounts for (their adjusted R² on it): about 0 for a flat
profile, near 1 when the season says it all; None with one year of months (each month would fit itself).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass

import numpy as np
import pandas as pd

from common.grain import WEEKDAYS, Grain, detect, period_days, period_starts, week_start_of

#: Fewest days of daily data a weekday profile needs: three weeks, so each weekday has a few ratios.
MIN_WEEKDAY_DAYS = 21
#: Fewest months with data the month factors need: one full year.
MIN_MONTHS = 12
#: Share of a month's days that must have data for the month to count (a missing week leaves more than this).
MIN_MONTH_COVERAGE = 0.75
#: Weights of the centred 2x12 moving average: 13 months, the two ends at half weight.
MONTH_TREND_WEIGHTS = np.array([0.5, *([1.0] * 11), 0.5]) / 12
#: How each profile was measured, in words.
WEEKDAY_METHOD = "each day over the centred 7-day mean (interquartile mean over the weeks)"
MONTH_METHOD = "each month's mean per day over the centred 12-month moving average (interquartile mean over the years)"
MONTH_SHORT_METHOD = ("each month's mean per day over the centred 12-month moving average, carried flat to the "
                      "ends (the mean, for one year): under two years of months, so each factor rests on one year "
                      "and is indicative only")
MONTH_NAMES = tuple(calendar.month_name[1:])
#: The reason of a profile of a series that is 0 throughout.
ALL_ZERO = "the series is 0 throughout: there is no pattern to measure"


@dataclass(frozen=True)
class Factor:
    """One weekday's or month's factor (1 = an average period) and how many weeks or years are behind it."""

    key: int
    name: str
    factor: float
    count: int


@dataclass(frozen=True)
class Profile:
    """The factors of one season (7 weekdays or 12 months), the variance they explain, and how they were measured."""

    factors: tuple[Factor, ...]
    variance_explained: float | None
    method: str


@dataclass(frozen=True)
class Seasonality:
    """A series' weekday profile and month factors; each None with the reason in words when it cannot be told."""

    grain: Grain | None
    weekday: Profile | None
    weekday_reason: str | None
    month: Profile | None
    month_reason: str | None


def seasonality(totals: pd.Series) -> Seasonality:
    """The seasonality of a category's stored totals (indexed by their stored dates), at the grain they have."""
    totals = totals.sort_index().astype("float64")
    report = detect(totals.index.date)
    if report.grain is None:
        return Seasonality(None, None, report.problem, None, report.problem)
    if report.grain is Grain.QUARTER:
        return Seasonality(Grain.QUARTER, None, "quarterly data", None,
                           "quarterly data: the months inside a quarter cannot be told apart")
    if report.grain is Grain.DAY:
        days = totals.asfreq("D", fill_value=0.0)  # a day without rows is 0, as the forecast counts it
        weekday, weekday_reason = weekday_profile(days)
    else:
        days = spread_over_days(totals, report.grain, week_start_of(report.anchor))
        weekday, weekday_reason = None, f"{report.grain.value}ly data"
    month, month_reason = month_profile(monthly_means(days))
    return Seasonality(report.grain, weekday, weekday_reason, month, month_reason)


def weekday_profile(days: pd.Series) -> tuple[Profile | None, str | None]:
    """The day-of-week factors of a gap-free daily series, or None and the reason."""
    if len(days) < MIN_WEEKDAY_DAYS:
        return None, f"needs at least three weeks of daily data ({MIN_WEEKDAY_DAYS} days), has {len(days)}"
    trend = days.rolling(7, center=True).mean()
    ratios = (days / trend)[trend > 0]
    groups = [ratios[ratios.index.weekday == weekday].to_numpy() for weekday in range(7)]
    if min(len(g) for g in groups) == 0:
        return None, ALL_ZERO
    return seasonal_profile(groups, list(WEEKDAYS), WEEKDAY_METHOD, first_key=0), None


def month_profile(means: pd.Series) -> tuple[Profile | None, str | None]:
    """The month-of-year factors of monthly means per day (indexed by month start, NaN for a month without data)."""
    known = int(means.notna().sum())
    if known < MIN_MONTHS:
        return None, (f"needs at least one full year of months ({MIN_MONTHS}; two or more are better), "
                      f"has {known}")
    if not (means > 0).any():
        return None, ALL_ZERO
    ratios, method = means / centred_year_trend(means), MONTH_METHOD
    if _months_missing(ratios):
        ratios, method = means / flat_ended(centred_year_trend(means), means), MONTH_SHORT_METHOD
    ratios = ratios[np.isfinite(ratios)]
    missing = _months_missing(ratios)
    if missing:
        return None, f"no usable data for {', '.join(missing)}: months need at least one full year, better two"
    groups = [ratios[ratios.index.month == month].to_numpy() for month in range(1, 13)]
    return seasonal_profile(groups, list(MONTH_NAMES), method, first_key=1), None


def _months_missing(ratios: pd.Series) -> list[str]:
    present = set(ratios.index[np.isfinite(ratios.to_numpy())].month)
    return [MONTH_NAMES[m - 1] for m in range(1, 13) if m not in present]


def seasonal_profile(groups: list[np.ndarray], names: list[str], method: str, first_key: int) -> Profile:
    """Factors (the robust mean of each group's ratios, scaled to mean 1) and the share of variance they explain."""
    centres = np.array([robust_mean(g) for g in groups])
    scale = centres.mean()
    factors = tuple(Factor(first_key + i, name, float(centres[i] / scale), len(groups[i]))
                    for i, name in enumerate(names))
    return Profile(factors, variance_explained(groups), method)


def robust_mean(values: np.ndarray) -> float:
    """The interquartile mean (a quarter trimmed off each end), or the median of 4 or fewer values."""
    ordered = np.sort(np.asarray(values, dtype="float64"))
    if len(ordered) <= 4:
        return float(np.median(ordered))
    cut = len(ordered) // 4
    return float(ordered[cut:len(ordered) - cut].mean())


def variance_explained(groups: list[np.ndarray]) -> float | None:
    """The adjusted R² of the ratios on their group: the share of their variance the season accounts for.

    Adjusted for the chance fit of one mean per group (a flat profile gives about 0, clipped there); None with no
    more ratios than groups (one year of months: every month fits itself and the share would say nothing).
    """
    everything = np.concatenate(groups)
    count, kinds = len(everything), len(groups)
    total = float(np.sum((everything - everything.mean()) ** 2))
    if count <= kinds:
        return None
    if total == 0:
        return 0.0
    within = sum(float(np.sum((g - g.mean()) ** 2)) for g in groups if len(g))
    return float(np.clip(1.0 - (within / (count - kinds)) / (total / (count - 1)), 0.0, 1.0))


def centred_year_trend(means: pd.Series) -> pd.Series:
    """The centred 2x12 moving average of monthly means (NaN within six months of an end or of a gap)."""
    values = means.to_numpy(dtype="float64")
    if len(values) < len(MONTH_TREND_WEIGHTS):
        return pd.Series(np.nan, index=means.index)
    inner = np.convolve(values, MONTH_TREND_WEIGHTS, mode="valid")  # a NaN in a window makes its average NaN
    edge = np.full(len(MONTH_TREND_WEIGHTS) // 2, np.nan)
    return pd.Series(np.concatenate([edge, inner, edge]), index=means.index)


def flat_ended(trend: pd.Series, means: pd.Series) -> pd.Series:
    """The trend carried flat over its NaN ends (and gaps); the mean of the known means where it has no value at all."""
    filled = trend.ffill().bfill()
    return filled if filled.notna().any() else pd.Series(means.mean(), index=means.index)


def spread_over_days(totals: pd.Series, grain: Grain, week_start: int = 0) -> pd.Series:
    """Each period's total spread evenly over its days (a period without data: NaN days, a gap not a zero).

    Weeks start on weekday `week_start` (0 = Monday): a weekly series is named by its own weekday.
    """
    sums = pd.Series(totals.to_numpy(), index=period_starts(totals.index, grain, week_start)).groupby(level=0).sum()
    lengths = np.array([period_days(start, grain) for start in sums.index])
    days = pd.DatetimeIndex(np.concatenate([pd.date_range(start, periods=n, freq="D").to_numpy()
                                            for start, n in zip(sums.index, lengths, strict=True)]))
    return pd.Series(np.repeat(sums.to_numpy() / lengths, lengths), index=days).asfreq("D")


def monthly_means(days: pd.Series) -> pd.Series:
    """The mean per day of each calendar month from daily values (NaN: no data); a month under 3/4 covered is NaN."""
    months = period_starts(days.index, Grain.MONTH)
    grouped = days.groupby(months)
    means, counts = grouped.mean(), grouped.count()
    lengths = np.array([period_days(start, Grain.MONTH) for start in means.index])
    means = means.where(counts.to_numpy() >= MIN_MONTH_COVERAGE * lengths)
    return means.reindex(pd.date_range(means.index[0], means.index[-1], freq="MS"))
