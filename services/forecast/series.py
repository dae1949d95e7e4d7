"""A category's inputs: its daily sales series and its holiday calendar.

Gap policy: the series runs from the category's first to its last stored day, and a day without
rows counts as 0 (no sales recorded: a closed store, a weekend without calls).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Connection, func, select

from common.models import CategorySetting, InvoiceData


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
    """Public holidays of `country` between two days (inclusive) as columns ds, holiday."""
    if not country or start > end:
        return pd.DataFrame({"ds": pd.Series(dtype="datetime64[ns]"), "holiday": pd.Series(dtype="str")})
    import holidays  # imported here: only the forecast worker needs the calendars

    calendar = holidays.country_holidays(country, years=range(start.year, end.year + 1))
    days = sorted((day, name) for day, name in calendar.items() if start.date() <= day <= end.date())
    return pd.DataFrame({"ds": pd.to_datetime([d for d, _ in days]).astype("datetime64[ns]"),
                         "holiday": pd.Series([n for _, n in days], dtype="str")})
