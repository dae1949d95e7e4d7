"""A category's inputs: its daily sales series, its holiday calendar and its own events.

Gap policy: the series runs from the category's first to its last stored day, and a day without
rows counts as 0 (no sales recorded: a closed store, a weekend without calls).

The holidays frame the engine receives has one row per special day, columns:
- `ds` (datetime64[ns]): the day;
- `holiday` (str): its name (a public holiday's, or the category event's own name);
- `kind` (str): "holiday" for a public holiday, else the event's EventKind: "event" (a day that moves
  the numbers, e.g. a promotion) or "closure" (the business is closed: sales are 0).
A day appears once: a category's event on a public holiday replaces the holiday's row.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Connection, func, select

from common.models import CategoryEvent, CategorySetting, InvoiceData

#: The `kind` of a public holiday's row (events carry their EventKind value).
HOLIDAY_KIND = "holiday"
#: The columns of a holidays frame, in order.
HOLIDAY_COLUMNS = ("ds", "holiday", "kind")


def load_series(conn: Connection, category: str) -> pd.Series:
    """Daily total sales of `category` over all its products, gap days 0; empty when nothing is stored."""
    rows = conn.execute(
        select(InvoiceData.date, func.sum(InvoiceData.sales))
        .where(InvoiceData.category == category)
        .group_by(InvoiceData.date)
        .order_by(InvoiceData.date)
    ).all()
    return daily_series(rows)


def daily_series(rows: list[tuple[dt.date, object]]) -> pd.Series:
    """(day, total) pairs as a float Series on a gap-free daily index (missing days 0)."""
    if not rows:
        return pd.Series(dtype="float64", index=pd.DatetimeIndex([], freq="D"))
    series = pd.Series([float(total) for _, total in rows], index=pd.DatetimeIndex([day for day, _ in rows]))
    full = pd.date_range(series.index[0], series.index[-1], freq="D")
    return series.reindex(full, fill_value=0.0).astype("float64")


def holiday_country(conn: Connection, category: str, default: str) -> str | None:
    """The category's calendar: its override when one is stored (null: none), else the default."""
    row = conn.execute(select(CategorySetting.holiday_country).where(CategorySetting.category == category)).first()
    if row is not None:
        return row.holiday_country
    return default or None


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
