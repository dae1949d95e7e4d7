"""The real daily series bench/accuracy.py scores, loaded as castflow would store them.

Each loader reads one public file from the shared data folder (see its SOURCES.md) once per run, sums it to
daily totals per series and runs them through castflow's own `daily_series`, so the series run from their first
to their last day with absent days 0, exactly what the forecast engine would see after an upload.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from bench.shared import SHARED_DATA
from services.forecast.series import daily_series

FAVORITA_STORES = 8
"""Favorita stores scored, spread over the store numbers."""

FAVORITA_MIN_DAYS = 2 * 365
"""A Favorita store needs two years of transactions (a few opened in 2015-2017)."""

RETAIL_MIN_SALE_DAYS = 150
"""Online Retail countries need this many days with sales. Only the UK has 250 (305); France 206, Germany 201
and EIRE 162 follow, then Belgium with 83, so 150 keeps the four countries with a usable year of history."""

RETAIL_COUNTRIES = {"United Kingdom": "GB", "France": "FR", "Germany": "DE", "EIRE": "IE"}
"""Holiday calendar (ISO code) of each Online Retail country that can qualify; others fall back to GB."""

SANDY_TOP_AGENCIES = 3
"""Sandy 311: the `total` plus this many agencies with the most calls."""


@dataclass(frozen=True)
class Series:
    """One series to forecast: where it comes from, its local holiday calendar and its daily values."""

    dataset: str
    name: str
    country: str
    values: pd.Series


def _as_daily(totals: pd.Series) -> pd.Series:
    """Daily totals (index: days) as castflow stores them: first to last day, absent days 0."""
    days = pd.to_datetime(totals.index)
    return daily_series([(day.date(), float(v)) for day, v in zip(days, totals.to_numpy(), strict=True)])


def pharmacy() -> list[Series]:
    """The 8 ATC classes of one Serbian pharmacy's daily sales."""
    raw = pd.read_csv(SHARED_DATA / "pharma-sales" / "salesdaily.csv")
    raw.index = pd.to_datetime(raw["datum"], format="%m/%d/%Y")
    classes = ["M01AB", "M01AE", "N02BA", "N02BE", "N05B", "N05C", "R03", "R06"]
    return [Series("pharmacy", name, "RS", _as_daily(raw[name])) for name in classes]


def contact_centre() -> list[Series]:
    """A US bank's and an Israeli bank's daily calls, and Hurricane Sandy 311 calls (total + top agencies)."""
    folder = SHARED_DATA / "contact-centre"
    found = []
    for name, country in (("bank_calls_daily", "US"), ("anonymous_bank_1999_daily", "IL")):
        calls = pd.read_csv(folder / f"{name}.csv", index_col="date")["calls"]
        found.append(Series("contact-centre", name, country, _as_daily(calls)))
    sandy = pd.read_csv(folder / "sandy_311_calls_by_day.csv")
    sandy.index = pd.to_datetime(sandy.pop("date"), format="%m/%d/%y")
    top = sandy.drop(columns="total").sum().nlargest(SANDY_TOP_AGENCIES).index
    for column in ["total", *top]:
        found.append(Series("contact-centre", f"sandy_{column}", "US", _as_daily(sandy[column])))
    return found


def favorita() -> list[Series]:
    """Daily transactions of stores spread over the store numbers, each with two years or more."""
    raw = pd.read_csv(SHARED_DATA / "favorita-transactions" / "transactions.csv")
    raw["date"] = pd.to_datetime(raw["date"])
    span = raw.groupby("store_nbr")["date"].agg(lambda d: (d.max() - d.min()).days)
    eligible = sorted(span[span >= FAVORITA_MIN_DAYS].index)
    picks = [eligible[i] for i in np.linspace(0, len(eligible) - 1, FAVORITA_STORES).round().astype(int)]
    daily = raw[raw["store_nbr"].isin(picks)].groupby(["store_nbr", "date"])["transactions"].sum()
    return [Series("favorita-transactions", f"store_{s:02d}", "EC", _as_daily(daily.loc[s])) for s in picks]


def store_item() -> list[Series]:
    """Daily sales per store (sum of its 50 items) of the Kaggle store-item demand data."""
    raw = pd.read_csv(SHARED_DATA / "store-item-demand" / "train.csv", usecols=["date", "store", "sales"])
    daily = raw.groupby(["store", "date"])["sales"].sum()
    return [Series("store-item-demand", f"store_{s:02d}", "US", _as_daily(daily.loc[s]))
            for s in daily.index.unique(level="store")]


def online_retail() -> list[Series]:
    """Daily revenue (Quantity * UnitPrice, negative lines dropped) per country with enough sale days."""
    raw = pd.read_csv(SHARED_DATA / "online-retail" / "online_retail.csv",
                      usecols=["Quantity", "InvoiceDate", "UnitPrice", "Country"])
    raw["revenue"] = raw["Quantity"] * raw["UnitPrice"]
    raw = raw[raw["revenue"] >= 0]
    raw["date"] = raw["InvoiceDate"].str[:10]
    daily = raw.groupby(["Country", "date"])["revenue"].sum()
    sale_days = daily[daily > 0].groupby(level="Country").size()
    countries = sale_days[sale_days >= RETAIL_MIN_SALE_DAYS].sort_values(ascending=False).index
    return [Series("online-retail", country, RETAIL_COUNTRIES.get(country, "GB"), _as_daily(daily.loc[country]))
            for country in countries]


LOADERS: dict[str, Callable[[], list[Series]]] = {
    "pharmacy": pharmacy,
    "contact-centre": contact_centre,
    "favorita-transactions": favorita,
    "store-item-demand": store_item,
    "online-retail": online_retail,
}
"""Dataset name -> loader, in the order the benchmark reports them."""


@cache
def load(dataset: str) -> tuple[Series, ...]:
    """The series of one dataset (read once per run)."""
    return tuple(LOADERS[dataset]())
