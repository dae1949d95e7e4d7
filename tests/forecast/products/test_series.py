"""Product series: zero-filled from each product's first sale, too-short products skipped with a note."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from services.forecast.products.series import naive_scales, product_series


def rows(*triples: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame([(p, dt.date.fromisoformat(d), y) for p, d, y in triples], columns=["unique_id", "ds", "y"])


def test_series_start_at_the_first_sale_and_fill_gaps_with_zero():
    """A product's days without rows are 0 from its first sale to the window's end."""
    days = pd.date_range("2023-01-01", "2023-06-30")
    data = rows(*[("a", f"{d:%Y-%m-%d}", 2.0) for d in days[::3]], ("b", "2023-05-01", 1.0))
    made = product_series(data, ["a", "b"], dt.date(2023, 6, 30), horizon=7)
    a = made.frame[made.frame["unique_id"] == "a"]
    assert a["ds"].iloc[0] == pd.Timestamp("2023-01-01") and a["ds"].iloc[-1] == pd.Timestamp("2023-06-30")
    assert len(a) == len(days) and a["y"].sum() == pytest.approx(2.0 * len(days[::3]))
    assert made.selling_days == {"a": len(days[::3]), "b": 1}


def test_a_product_with_one_sale_in_two_years_is_skipped_and_counted():
    """One sale in two years: skipped with a note saying why, its volume still counted."""
    made = product_series(rows(("lonely", "2022-03-01", 5.0)), ["lonely", "absent"], dt.date(2023, 12, 31), 30)
    assert made.frame.empty
    assert made.skipped["lonely"] == "sold on 1 days only (at least 5 needed)"
    assert made.skipped["absent"] == "no sales in the history the run used"
    assert made.volume["lonely"] == 5.0


def test_a_product_launched_too_recently_is_skipped():
    """A product whose first sale leaves no room for a backtest window and a season of training is skipped."""
    data = rows(*[("new", f"2023-12-{d:02d}", 1.0) for d in range(1, 31)])
    made = product_series(data, ["new"], dt.date(2023, 12, 31), 30)
    assert "days since its first sale" in made.skipped["new"]


def test_naive_scale_is_the_weekly_seasonal_naive_error():
    """The scale is the mean absolute difference to the same weekday a week before."""
    frame = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2023-01-01", periods=14),
                          "y": [0.0] * 7 + [7.0] * 7})
    assert naive_scales(frame) == {"a": 7.0}
