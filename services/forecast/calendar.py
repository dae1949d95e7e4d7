"""Calendar effects: one effect per holiday or event, measured on the category's own history.

Each named day (a public holiday, a user's event, each day from 20 December to 7 January, the window
where retail and contact volumes move most, and Good Friday to Easter Monday, which many calendars lack)
gets a multiplicative effect: its value over the median of the same weekday one, two and three weeks
before, and over that of the three weeks after, whichever is nearer 1 (a day between a high and a low side
is a level shift, not an effect), the median over its occurrences in the history. An effect is kept only
when it stands out of the series' ordinary day-to-day noise, so a calendar that does not apply (a US
calendar on a Serbian pharmacy) changes nothing. A user's closure is an effect of 0 whatever the history
says; a holiday on which the business was always closed measures 0.

Models that take the calendar themselves (models.USES_CALENDAR) get the days with a kept effect;
the others fit a history with the effects divided out (closures replaced by their baseline) and have the
effects multiplied back onto their forecast, so no model ignores a holiday.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from dateutil.easter import easter

from common.grain import period_starts
from services.forecast.periods import grain_of

#: Weeks either side of a day whose same weekday makes its baseline.
BASELINE_WEEKS = 3
_BEFORE, _AFTER = tuple(range(-BASELINE_WEEKS, 0)), tuple(range(1, BASELINE_WEEKS + 1))
#: An effect is kept when its distance from 1 exceeds this many standard errors of the ordinary noise.
SIGNIFICANCE = 2.5
#: ... and is at least this large (a 10% move), so tiny but regular wobbles do not add parameters.
MIN_EFFECT = 0.10
#: Below this effect a day is treated as closed: its history value says nothing about the baseline.
CLOSED = 0.2
#: The year-end window: each of these (month, day) is its own named day, whatever the country.
YEAR_END = [(12, d) for d in range(20, 32)] + [(1, d) for d in range(1, 8)]
#: Days around Easter Sunday (Good Friday to Easter Monday), named whatever the country: many calendars lack
#: them (the US one has none) while shops and call centres close or slow down on them.
EASTER = {-2: "Good Friday", -1: "Holy Saturday", 0: "Easter Sunday", 1: "Easter Monday"}


@dataclass(frozen=True)
class CalendarEffects:
    """The kept effects by name, and the named days of history and horizon that carry them."""

    effects: dict[str, float]
    days: pd.Series  # name by day (DatetimeIndex), history and horizon, kept names only

    def factors(self, index: pd.DatetimeIndex) -> np.ndarray:
        """The multiplicative effect on each day of `index` (1 where no kept effect falls)."""
        # A period of weeks or months may hold several named days (in_periods); none of them has an effect.
        names = self.days[~self.days.index.duplicated()].reindex(index)
        return names.map(self.effects).fillna(1.0).to_numpy(dtype="float64")

    def closures(self) -> CalendarEffects:
        """Only the effects of days that are (all but) closed."""
        closed = {name: effect for name, effect in self.effects.items() if effect < CLOSED}
        return CalendarEffects(closed, self.days[self.days.isin(list(closed))])

    def calendar_frame(self) -> pd.DataFrame:
        """The kept named days as a (ds, holiday) frame, for the models that take the calendar."""
        return pd.DataFrame({"ds": self.days.index.astype("datetime64[ns]"), "holiday": self.days.to_numpy()})


#: No effects at all.
NO_EFFECTS = CalendarEffects({}, pd.Series(dtype="str"))


def in_periods(holidays: pd.DataFrame, history: pd.Series, end: pd.Timestamp) -> CalendarEffects:
    """The calendar's days moved to the week, month or quarter each falls in, as named periods without an effect:
    the models that take the calendar (Prophet) fit one per name; the others are left to the yearly season.

    Measured (bench/accuracy.py --grains, Prophet alone, each file's own country): mean MASE 1.046 without the
    calendar, 0.997 with it (weeks 1.003 -> 0.965, months 1.141 -> 1.069): a moving holiday (Easter in March or
    April) shifts a period's total, which a yearly season cannot place.
    """
    if holidays is None or holidays.empty:
        return NO_EFFECTS
    grain = grain_of(history.index)
    days = pd.DatetimeIndex(pd.to_datetime(holidays["ds"])).normalize()
    periods = period_starts(days, grain, history.index[0].weekday())
    inside = (periods >= history.index[0]) & (periods <= end)
    named = pd.Series(holidays["holiday"].to_numpy()[inside], index=periods[inside])
    return CalendarEffects({}, named.sort_index(kind="stable"))


def named_days(holidays: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Every named day from `start` to `end`: the calendar's days (ds, holiday, kind) plus the year-end window."""
    frame = holidays if holidays is not None else pd.DataFrame()
    if frame.empty:
        frame = pd.DataFrame({"ds": pd.Series(dtype="datetime64[ns]"), "holiday": pd.Series(dtype="str")})
    frame = frame.assign(ds=pd.to_datetime(frame["ds"]).dt.normalize(),
                         kind=frame.get("kind", "holiday"))
    window: dict[pd.Timestamp, str] = {}
    for year in range(start.year, end.year + 1):
        window.update({pd.Timestamp(year, m, d): f"year-end {m:02d}-{d:02d}" for m, d in YEAR_END})
        sunday = pd.Timestamp(easter(year))
        window.update({sunday + pd.Timedelta(days=k): f"{name} (window)" for k, name in EASTER.items()})
    extra = pd.DataFrame({"ds": pd.DatetimeIndex(list(window)), "holiday": list(window.values()), "kind": "window"})
    # A day that is a holiday keeps the holiday's name; the windows only name days no calendar names.
    extra = extra[~extra["ds"].isin(frame["ds"])]
    days = pd.concat([frame[["ds", "holiday", "kind"]], extra], ignore_index=True)
    days = days[(days["ds"] >= start) & (days["ds"] <= end)]
    # Two names on one day (an event on a holiday) act as the one listed first: the user's events come first.
    return days.drop_duplicates("ds").sort_values("ds").reset_index(drop=True)


def measure(history: pd.Series, holidays: pd.DataFrame, horizon_end: pd.Timestamp) -> CalendarEffects:
    """The effects of the named days that stand out of `history`'s noise, and closures."""
    days = named_days(holidays, history.index[0], horizon_end)
    if days.empty:
        return NO_EFFECTS
    named = pd.Series(days["holiday"].to_numpy(), index=pd.DatetimeIndex(days["ds"]))
    y = history.to_numpy(dtype="float64")
    position = history.index.get_indexer(named.index)
    noise = _noise(y, _baselines(y, position[position >= 0]), position)
    ratio = _one_sided_ratios(y, position[position >= 0])
    effects = {}
    for name, group in days.groupby("holiday", sort=False):
        if (group["kind"] == "closure").any():
            effects[name] = 0.0
            continue
        effect = _effect(ratio, history.index.get_indexer(pd.DatetimeIndex(group["ds"])), noise)
        if effect is not None:
            effects[name] = effect
    kept = named[named.isin(list(effects))]
    return CalendarEffects(effects, kept)


def _baselines(y: np.ndarray, named: np.ndarray, weeks: tuple[int, ...] = _BEFORE + _AFTER) -> np.ndarray:
    """Each day's median of the same weekday `weeks` weeks away (default: BASELINE_WEEKS either side), `named`
    positions left out."""
    usable = np.where(np.isin(np.arange(len(y)), named), np.nan, y)
    shifted = []
    for k in weeks:
        column = np.full(len(y), np.nan)
        source = np.arange(len(y)) + 7 * k
        ok = (source >= 0) & (source < len(y))
        column[ok] = usable[source[ok]]
        shifted.append(column)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: no baseline for that day
        return np.nanmedian(np.vstack(shifted), axis=0)


def _noise(y: np.ndarray, baseline: np.ndarray, named_positions: np.ndarray) -> float:
    """A robust standard deviation of ordinary days' value-over-baseline ratios."""
    ordinary = np.ones(len(y), dtype=bool)
    ordinary[named_positions[named_positions >= 0]] = False
    ok = ordinary & (baseline > 0) & np.isfinite(baseline)
    if ok.sum() < 14:
        return np.inf
    ratios = y[ok] / baseline[ok]
    return float(1.4826 * np.median(np.abs(ratios - np.median(ratios))))


def _one_sided_ratios(y: np.ndarray, named: np.ndarray) -> np.ndarray:
    """Each day's value over the weeks before it and over the weeks after it, whichever is nearer 1.

    A day that stands out of both sides is moved by its own effect; one that sits between them (the last
    Thursday before a level shift, measured: US Thanksgiving in Store Item Demand, where sales step down a
    quarter the week after) is not, and gets 1. NaN where neither side has a baseline.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        sides = [y / _baselines(y, named, weeks) for weeks in (_BEFORE, _AFTER)]
    before, after = (np.where(np.isfinite(side), side, np.nan) for side in sides)
    nearer = np.where(np.abs(before - 1.0) <= np.abs(after - 1.0), before, after)
    opposite = (before - 1.0) * (after - 1.0) < 0
    ratio = np.where(np.isnan(before), after, np.where(np.isnan(after), before, nearer))
    return np.where(opposite, 1.0, ratio)


def _effect(ratio: np.ndarray, positions: np.ndarray, noise: float) -> float | None:
    """The median ratio of a name's occurrences in the history, when it stands out of the noise."""
    positions = positions[positions >= 0]
    ok = positions[np.isfinite(ratio[positions])]
    if len(ok) == 0:
        return None
    effect = float(np.median(ratio[ok]))
    if abs(effect - 1.0) < max(MIN_EFFECT, SIGNIFICANCE * noise / np.sqrt(len(ok))):
        return None
    return effect


def adjusted_history(history: pd.Series, effects: CalendarEffects) -> pd.Series:
    """The history with the kept effects divided out; days near closed take their baseline instead."""
    factors = effects.factors(history.index)
    if (factors == 1.0).all():
        return history
    y = history.to_numpy(dtype="float64").copy()
    touched = factors != 1.0
    closed = touched & (factors < CLOSED)
    y[touched & ~closed] /= factors[touched & ~closed]
    if closed.any():
        baseline = _baselines(history.to_numpy(dtype="float64"), np.nonzero(touched)[0])
        y[closed] = np.nan_to_num(baseline[closed], nan=float(np.nanmedian(y)))
    return pd.Series(y, index=history.index)


def apply_effects(forecast: pd.DataFrame, effects: CalendarEffects) -> pd.DataFrame:
    """The forecast (value, bounds, quantiles) multiplied by the effects of its days."""
    factors = effects.factors(forecast.index)
    if (factors == 1.0).all():
        return forecast
    return forecast.mul(factors, axis=0)
