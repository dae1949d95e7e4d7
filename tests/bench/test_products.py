"""bench/products.py: its log parsing, coherence check and accuracy report on a small synthetic result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench import products


def synthetic_rows() -> pd.DataFrame:
    """Two stores of two items each, daily from 2016-06 through November 2017, with a weekly rhythm."""
    days = pd.date_range("2016-06-01", "2017-11-30", freq="D")
    rng = np.random.default_rng(3)
    return pd.concat([pd.DataFrame({"category": store, "product_id": item, "ds": days,
                                    "sales": rng.poisson(5 + 3 * (days.dayofweek >= 5))})
                      for store in ("store-01", "store-02") for item in ("item-01", "item-02")], ignore_index=True)


def result_of(rows: pd.DataFrame, level: float) -> dict:
    """A platform result whose products forecast `level` every November day, and stores their sum."""
    november = pd.date_range("2017-11-01", periods=30, freq="D")
    keys = rows[["category", "product_id"]].drop_duplicates()
    items = pd.DataFrame([{"category": c, "product_id": p, "forecast_date": d.date(), "forecast_value": level}
                          for c, p in keys.itertuples(index=False) for d in november])
    stores = items.groupby(["category", "forecast_date"], as_index=False)["forecast_value"].sum()
    runs = pd.DataFrame({"category": ["store-01", "store-02"], "product_status": "completed", "products_total": 2,
                         "products_skipped": 0, "reconciliation": "mint_shrink", "product_note": None})
    return {"products": items, "category": stores, "runs": runs, "methods": pd.Series(["theta", "mean:theta+tsb"])}


def test_time_split_sums_the_product_jobs_log_lines(tmp_path):
    """backtest/fit/stage of each chunk and reconcile/store of each run are summed by name."""
    log = tmp_path / "platform.log"
    log.write_text("x product chunk done run=1 chunk=0 products=3 skipped=0 total=9.00s backtest=2.50s fit=3.00s "
                   "stage=0.50s\nx product chunk done run=1 chunk=1 products=3 skipped=0 total=1.00s backtest=1.00s "
                   "fit=1.00s stage=0.25s\nx products done run=1 method=bottom_up reconcile=0.75s store=1.25s\n"
                   "x forecast done run=1 fit=100.0s\n")
    assert products.time_split(log) == {"backtest": 3.5, "fit": 4.0, "stage": 0.75, "reconcile": 0.75, "store": 1.25}


def test_coherence_is_the_largest_relative_gap():
    """Products adding up exactly give 0; one day 1% off gives 0.01."""
    result = result_of(synthetic_rows(), 5.0)
    assert products.coherence(result) == 0.0
    result["category"].loc[0, "forecast_value"] *= 1 / 0.99
    assert products.coherence(result) == pytest.approx(0.01, rel=1e-6)


def test_accuracy_report_prints_products_peers_and_stores(capsys):
    """The report scores the products beside the three peers and the stores beside the baseline."""
    rows = synthetic_rows()
    products.accuracy(result_of(rows, 6.0), result_of(rows, 6.0), rows)
    out = capsys.readouterr().out
    assert "4 (store, item) series" in out and "ratio to the best peer" in out
    assert all(name in out for name in ("AutoETS", "AutoTheta", "CrostonOptimized"))
    assert "reconciled" in out and "mint_shrink" in out


def test_timing_prints_medians_split_and_memory(capsys):
    """Wall time is the median of the runs; CPU is per series; the split is shown in seconds and shares."""
    rows = synthetic_rows()
    runs = [{**result_of(rows, 5.0), "seconds": s, "cpu": 40.0, "rss_mb": 700.0,
             "split": {"backtest": 3.0, "fit": 1.0}} for s in (10.0, 30.0, 20.0)]
    products.timing("2 forecast worker(s)", runs, 4, 300)
    out = capsys.readouterr().out
    assert "20.0 s wall" in out and "10.000 s per series" in out and "backtest 3 s (75%)" in out
    assert "700 MB" in out and "coherence max 0.00e+00" in out
