"""A category's products as one long frame (`unique_id, ds, y`), daily and zero-filled, and which are too short.

A product's series starts at its first sale in the run's history window (a product launched last month has
no zeros before its launch) and ends with the window; a day without a row is 0 sold. A product with fewer
than MIN_SELLING_DAYS selling days, or a series too short for one backtest window and a season of training
before it, is skipped with a note, never forecast from nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Connection, func, select

from common.models import CategoryProduct, InvoiceData

#: Days of history a product's models see at most: two years hold its weekly and yearly rhythm.
HISTORY_DAYS = 730
#: Fewest days with sales a product needs to be forecast.
MIN_SELLING_DAYS = 5
#: The weekly season of daily sales: the seasonal naive's lag.
SEASON = 7


@dataclass
class ProductSeries:
    """The products that can be forecast (a long frame) and those that cannot, with why and their totals."""

    frame: pd.DataFrame
    skipped: dict[str, str] = field(default_factory=dict)
    volume: dict[str, float] = field(default_factory=dict)
    selling_days: dict[str, int] = field(default_factory=dict)


def category_products(conn: Connection, category: str) -> list[str]:
    """Every product with observations in `category`, sorted (the order chunks are cut in)."""
    return list(conn.scalars(select(CategoryProduct.product_id).where(CategoryProduct.category == category)
                             .order_by(CategoryProduct.product_id)))


def product_count(conn: Connection, category: str) -> int:
    """How many products `category` has."""
    return conn.scalar(select(func.count()).select_from(CategoryProduct)
                       .where(CategoryProduct.category == category)) or 0


def load_product_rows(conn: Connection, category: str, products: list[str], start: dt.date,
                      end: dt.date) -> pd.DataFrame:
    """The stored (product_id, date, sales) rows of `products` in `category` from `start` to `end`."""
    rows = conn.execute(select(InvoiceData.product_id, InvoiceData.date, InvoiceData.sales).where(
        InvoiceData.category == category, InvoiceData.product_id.in_(products),
        InvoiceData.date >= start, InvoiceData.date <= end)).all()
    return pd.DataFrame(rows, columns=["unique_id", "ds", "y"])


def product_series(rows: pd.DataFrame, products: list[str], end: dt.date, horizon: int) -> ProductSeries:
    """Daily zero-filled series of `products` ending on `end`, from each one's first sale; short ones skipped."""
    rows = rows.assign(ds=pd.to_datetime(rows["ds"]), y=rows["y"].astype("float64"))
    totals = rows.groupby(["unique_id", "ds"], as_index=False)["y"].sum()
    last = pd.Timestamp(end)
    result = ProductSeries(frame=pd.DataFrame(columns=["unique_id", "ds", "y"]))
    parts = []
    by_product = dict(tuple(totals.groupby("unique_id")))
    for product in products:
        own = by_product.get(product)
        selling = own[own["y"] > 0] if own is not None else None
        result.volume[product] = float(own["y"].sum()) if own is not None else 0.0
        result.selling_days[product] = len(selling) if selling is not None else 0
        reason = _too_short(selling, last, horizon)
        if reason:
            result.skipped[product] = reason
            continue
        days = pd.date_range(selling["ds"].iloc[0], last, freq="D")
        values = own.set_index("ds")["y"].reindex(days, fill_value=0.0).clip(lower=0.0)
        parts.append(pd.DataFrame({"unique_id": product, "ds": days, "y": values.to_numpy()}))
    if parts:
        result.frame = pd.concat(parts, ignore_index=True)
    return result


def min_length(horizon: int) -> int:
    """Shortest series a product needs: a backtest window of `horizon` days after twice that and two seasons."""
    return 3 * horizon + 2 * SEASON


def _too_short(selling: pd.DataFrame | None, last: pd.Timestamp, horizon: int) -> str | None:
    if selling is None or selling.empty:
        return "no sales in the history the run used"
    if len(selling) < MIN_SELLING_DAYS:
        return f"sold on {len(selling)} days only (at least {MIN_SELLING_DAYS} needed)"
    days = (last - selling["ds"].iloc[0]).days + 1
    if days < min_length(horizon):
        return f"{days} days since its first sale (at least {min_length(horizon)} needed)"
    return None


def naive_scales(frame: pd.DataFrame) -> dict[str, float]:
    """Each series' seasonal naive mean absolute error (lag SEASON): the denominator of its MASE."""
    scales = {}
    for product, own in frame.groupby("unique_id", sort=False):
        values = own["y"].to_numpy()
        diffs = np.abs(values[SEASON:] - values[:-SEASON])
        scales[product] = float(diffs.mean()) if len(diffs) else float("nan")
    return scales
