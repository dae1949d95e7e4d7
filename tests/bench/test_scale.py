"""bench/scale.py: the upload it builds from Store Item Demand (one category per store and item)."""

from __future__ import annotations

import pandas as pd
import pytest

from bench import scale


@pytest.mark.skipif(not scale.SOURCE.exists(), reason="Store Item Demand is not beside the project")
def test_prepare_writes_one_series_per_store_and_item(tmp_path):
    """Each (store, item) pair is a category with exactly the asked days of history, ending at the cutoff."""
    path = tmp_path / "series.csv"
    rows = scale.prepare(path, categories=3, history_days=40)
    frame = pd.read_csv(path)
    assert rows == len(frame) == 3 * 40
    assert list(frame.columns) == ["Date", "product_id", "category", "sales"]
    assert sorted(frame["category"].unique()) == ["store-01-item-01", "store-01-item-02", "store-01-item-03"]
    per_category = frame.groupby("category")["Date"].agg(["min", "max", "nunique"])
    assert (per_category["max"] == scale.CUTOFF).all() and (per_category["nunique"] == 40).all()
