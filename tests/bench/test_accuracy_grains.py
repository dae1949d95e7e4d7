"""bench/accuracy.py --grains: origins, the MASE scale at a grain's season, one weekly task end to end, targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench import accuracy_grains
from common.grain import Grain
from common.status import ModelType
from tests.forecast.test_backtest import constant


def weeks(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2015-01-05", periods=len(values), freq="W-MON"), dtype="float64")


def test_origins_step_back_half_a_year_and_keep_two_years_of_history():
    """240 weeks, 13 ahead: cuts at 227, 201, 175, 149; a 120-week series keeps none under 104 weeks of history."""
    assert accuracy_grains.origins(240, Grain.WEEK, 4) == [149, 175, 201, 227]
    assert accuracy_grains.origins(130, Grain.WEEK, 4) == [117]
    assert accuracy_grains.origins(40, Grain.MONTH, 4) == [28]


def test_mase_scale_is_the_seasonal_naive_at_the_season_and_skips_gaps():
    """Lag 12 over two years of months; a NaN difference is left out; lag 1 under two seasons."""
    train = np.array([float(k % 12) for k in range(24)])
    train[13] += 2.0
    assert accuracy_grains.mase_scale(train, 12) == pytest.approx(2.0 / 12)
    gapped = train.copy()
    gapped[20] = np.nan
    assert accuracy_grains.mase_scale(gapped, 12) == pytest.approx(2.0 / 11)
    assert accuracy_grains.mase_scale(np.array([1.0, 3.0, 4.0]), 12) == pytest.approx(1.5)


def test_a_weekly_task_scores_castflow_and_the_peer_at_52_weeks(monkeypatch):
    """Fake models on a weekly task: castflow's rows, the recommended one, and the 52-week seasonal naive."""
    monkeypatch.setattr(accuracy_grains, "fitters",
                        lambda: {ModelType.HOLT_WINTERS: constant(10), ModelType.SARIMAX: constant(12)})
    noise = np.random.default_rng(3).normal(0, 0.1, 160)
    series = weeks(list(10 + 5 * np.sin(np.arange(160) * 2 * np.pi / 52) + noise))
    task = accuracy_grains.GrainTask("weekly_x", "a", series, 147)
    rows = pd.DataFrame(accuracy_grains.run_grain_task(task, peers=("SeasonalNaive",))).set_index("method")
    assert {"holt_winters", "sarimax", "ensemble", "recommended", "sf_SeasonalNaive"} <= set(rows.index)
    assert (rows["kind"] == "week").all() and rows.loc["sf_SeasonalNaive", "mase"] < 1.5
    assert rows.loc["recommended", "mase"] > 5  # a flat 10-12 misses a yearly wave the naive follows


def test_target_lines_give_recommended_against_naive_and_autoets_per_grain():
    """One line per grain and peer, with the ratio of mean MASE on shared tasks."""
    rows = pd.DataFrame([{"dataset": "d", "series": "s", "origin": "2017-01-01", "kind": "month", "method": m,
                          "status": "ok", "mase": v} for m, v in (("recommended", 0.8), ("sf_SeasonalNaive", 1.0),
                                                                  ("sf_AutoETS", 0.8))])
    lines = accuracy_grains.target_lines(rows)
    assert "all: recommended / sf_SeasonalNaive mean MASE = 0.800 (target < 1; 1 tasks)" in lines
    assert "month: recommended / sf_AutoETS mean MASE = 1.000 (target <= 1.10; 1 tasks)" in lines
