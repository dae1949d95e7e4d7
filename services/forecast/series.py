"""A category's inputs: its sales series at its grain, its holiday calendar and its own events.

The series has one value per period of the category's grain (services/forecast/plan.py), the sum of the
rows of that period (common.grain.period_starts), indexed by each period's first day.

Gap policy: the series runs from the category's first to its last stored period. A day without rows
counts as 0 (no sales recorded: a closed store, a weekend without calls); a week, month or quarter
without rows is a gap (NaN), which the engine interpolates for its fits and never scores. When finer data
are summed into a coarser grain, a first or last period the stored days do not cover whole (a month of
which only the first fortnight is stored) is dropped, and the run's log says so.

The holidays frame the engine receives has one row per special day, columns:
- `ds` (datetime64[ns]): the day;
- `holiday` (str): its name (a public holiday's, or the category event's own name);
- `kind` (str): "holiday" for a public holiday, else the event's EventKind: "event" (a day that moves
  the numbers, e.g. a promotion) or "closure" (the business is closed: sales are 0).
A day appears once: a category's event on a public holiday replaces the holiday's row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Connection, func, select

from common.grain import Grain, next_periods, period_starts
from common.models import CategoryEvent, CategorySetting, InvoiceData
from services.forecast.periods import period_index

#: The `kind` of a public holiday's row (events carry their EventKind value).
HOLIDAY_KIND = "holiday"
#: The columns of a holidays frame, in order.
HOLIDAY_COLUMNS = ("ds", "holiday", "kind")


def load_series(conn: Connection, category: str) -> pd.Series:
    """Daily total sales of `category` over all its products, gap days 0; empty when nothing is stored."""
    return daily_series(load_totals(conn, category))


def load_totals(conn: Connection, category: str) -> list[tuple[dt.date, object]]:
    """(date, total over the category's products) for each stored date of `category`, oldest first."""
    return [tuple(row) for row in conn.execute(
        select(InvoiceData.date, func.sum(InvoiceData.sales))
        .where(InvoiceData.category == category)
        .group_by(InvoiceData.date)
        .order_by(InvoiceData.date)
    ).all()]


@dataclass(frozen=True)
class GrainSeries:
    """A category's series at its grain, and what was done to make it (in words, for the run's log)."""

    series: pd.Series
    notes: list[str] = field(default_factory=list)


def grain_series(rows: list[tuple[dt.date, object]], grain: Grain, week_start: int = 0,
                 data_grain: Grain | None = Grain.DAY) -> GrainSeries:
    """(date, total) pairs summed per period of `grain`, gaps NaN (days: 0); incomplete ends of finer data
    (`data_grain` finer than `grain`, or None for irregular dates) dropped with a note."""
    if grain is Grain.DAY or not rows:
        return GrainSeries(daily_series(rows))
    days = pd.DatetimeIndex([day for day, _ in rows])
    totals = pd.Series([float(total) for _, total in rows], index=days)
    sums = totals.groupby(period_starts(days, grain, week_start)).sum()
    series = sums.reindex(period_index(sums.index[0], sums.index[-1], grain)).astype("float64")
    if data_grain is grain:
        return GrainSeries(series)
    return _complete_periods(series, days, grain, data_grain or Grain.DAY)


def _complete_periods(series: pd.Series, days: pd.DatetimeIndex, grain: Grain, source: Grain) -> GrainSeries:
    """`series` without a first or last period that the stored `days` (of grain `source`) do not cover whole."""
    first = period_starts(days[:1], source, days[0].weekday())[0]
    covered_end = next_periods(period_starts(days[-1:], source, days[-1].weekday())[0], source, 1)[0]
    notes = []
    if len(series) and first > series.index[0]:
        notes.append(f"the first {grain.value} ({series.index[0].date()}) was left out: the stored data start "
                     f"on {first.date()}, after its first day")
        series = series.iloc[1:]
    if len(series) and covered_end < next_periods(series.index[-1], grain, 1)[0]:
        notes.append(f"the last {grain.value} ({series.index[-1].date()}) was left out: the stored data end on "
                     f"{(covered_end - pd.Timedelta(days=1)).date()}, before its last day")
        series = series.iloc[:-1]
    return GrainSeries(series, notes)


def daily_series(rows: list[tuple[dt.date, object]]) -> pd.Series:
    """(day, total) pairs as a float Series on a gap-free daily index (missing days 0)."""
    if not rows:
        return pd.Series(dtype="float64", index=pd.DatetimeIndex([], freq="D"))
    series = pd.Series([float(total) for _, total in rows], index=pd.DatetimeIndex([day for day, _ in rows]))
    full = pd.date_range(series.index[0], series.index[-1], freq="D")
    return series.reindex(full, fill_value=0.0).astype("float64")


def holiday_country(conn: Connection, category: str, default: str) -> str | None:
    """The category's calendar: its override when one is stored (null: none), else the default."""
    row = conn.execute(select(CategorySetting.holiday_country, CategorySetting.holiday_country_default)
                       .where(CategorySetting.category == category)).first()
    if row is not None and not row.holiday_country_default:
        return row.holiday_country
    return default or None


def grain_settings(conn: Connection, category: str) -> tuple[Grain | None, int | None]:
    """The category's grain and horizon settings (None: detected grain, the grain's default horizon)."""
    row = conn.execute(select(CategorySetting.grain, CategorySetting.horizon)
                       .where(CategorySetting.category == category)).first()
    if row is None:
        return None, None
    return (Grain(row.grain) if row.grain else None), row.horizon


def holiday_frame(country: str | None, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Public holidays of `country` between two days (inclusive) as columns ds, holiday, kind ("holiday")."""
    if not country or start > end:
        return special_days([])
    import holidays  # imported here: only the forecast worker needs the calendars

    calendar = holidays.country_holidays(country, years=range(start.year, end.year + 1))
    return special_days(sorted((day, name, HOLIDAY_KIND) for day, name in calendar.items()
                               if start.date() <= day <= end.date()))


def special_days(rows: list[tuple[dt.date, str, str]]) -> pd.DataFrame:
    """(day, name, kind) triples as a holidays frame (columns ds, holiday, kind)."""
    return pd.DataFrame({
        "ds": pd.to_datetime(pd.Series([d for d, _, _ in rows], dtype="object")).astype("datetime64[ns]"),
        "holiday": pd.Series([n for _, n, _ in rows], dtype="str"),
        "kind": pd.Series([k for _, _, k in rows], dtype="str"),
    })


def load_events(conn: Connection, category: str) -> pd.DataFrame:
    """The category's events, one row per day each covers, as a holidays frame (ds, holiday, kind) by day."""
    rows = conn.execute(
        select(CategoryEvent.name, CategoryEvent.start_date, CategoryEvent.end_date, CategoryEvent.kind)
        .where(CategoryEvent.category == category).order_by(CategoryEvent.start_date)
    ).all()
    return special_days(event_days(rows))


def event_days(events: list[tuple[str, dt.date, dt.date, str]]) -> list[tuple[dt.date, str, str]]:
    """(name, start, end, kind) events expanded to one (day, name, kind) per day, start to end inclusive."""
    days = []
    for name, start, end, kind in events:
        days += [(start + dt.timedelta(days=i), name, str(kind)) for i in range((end - start).days + 1)]
    return sorted(days)


def with_events(holidays: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Public holidays and the category's events in one frame by day; an event replaces a holiday on its day."""
    kept = holidays[~holidays["ds"].isin(events["ds"])]
    frames = [frame for frame in (kept, events) if not frame.empty]
    if not frames:
        return special_days([])
    merged = pd.concat(frames, ignore_index=True)
    return merged.sort_values("ds", kind="stable").reset_index(drop=True)[list(HOLIDAY_COLUMNS)]
