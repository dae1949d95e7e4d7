"""bench/accuracy.py: scores by hand, origin picking and holiday windows, the ratio lines, one task end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench import accuracy
from bench.accuracy_data import Series
from bench.accuracy_tables import main_table, paired_ratio, ratio_lines, report, timing_lines
from common.status import ModelType

T = pd.Timestamp


def days(values: list[float], start: str = "2023-01-02") -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="D"), dtype="float64")


def test_mase_and_smape_match_hand_computed_values():
    """MASE divides the MAE by the in-sample seasonal naive MAE (season 7); sMAPE is in percent."""
    train = np.array([1, 2, 3, 4, 5, 6, 7, 3, 2, 3, 4, 5, 6, 9], dtype=float)  # naive errors 2,0,0,0,0,0,2
    scale = accuracy.mase_scale(train)
    assert scale == pytest.approx(4 / 7)
    scores = accuracy.metrics(np.array([1.0, 2.0]), {"mean": np.array([2.0, 2.0])}, scale)
    assert scores["mase"] == pytest.approx(0.5 / (4 / 7))
    assert scores["smape"] == pytest.approx(100 * (2 * 1 / 3) / 2)


def test_smape_counts_zero_over_zero_as_zero():
    """A day where actual and forecast are both 0 adds 0 to sMAPE."""
    assert accuracy.smape(np.array([0.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(100.0)


def test_mase_scale_of_a_flat_history_is_none():
    """A history the seasonal naive fits exactly has no MASE scale, so MASE is skipped."""
    assert accuracy.mase_scale(np.full(30, 5.0)) is None
    assert accuracy.metrics(np.array([5.0]), {"mean": np.array([4.0])}, None)["mase"] is None


def test_coverage_counts_days_inside_the_band():
    """Coverage is the share of days within [lower, upper], bounds included; None without a band."""
    actual = np.array([1.0, 5.0, 10.0])
    assert accuracy.coverage(actual, np.array([0.0, 6, 0]), np.array([2.0, 7, 10])) == pytest.approx(2 / 3)
    assert accuracy.coverage(actual, None, None) is None


def test_castflow_prediction_without_quantiles_has_no_80_band():
    """A castflow frame without p10/p90 gives an 80% coverage of None; lower/upper give the 95% band."""
    frame = pd.DataFrame({"value": [2.0, 3], "lower": [1.0, 1], "upper": [3.0, 4]}, index=days([0, 0]).index)
    prediction = accuracy.castflow_prediction(frame, frame.index)
    scores = accuracy.metrics(np.array([3.0, 5.0]), prediction, 1.0)
    assert scores["cov80"] is None
    assert scores["cov95"] == pytest.approx(0.5)


def test_castflow_prediction_uses_p10_p90_when_present():
    """p10/p90 are the castflow 80% band."""
    frame = pd.DataFrame({"value": [2.0], "lower": [0.0], "upper": [9.0], "p10": [1.0], "p50": [2.0], "p90": [2.5]},
                         index=days([0]).index)
    scores = accuracy.metrics(np.array([3.0]), accuracy.castflow_prediction(frame, frame.index), 1.0)
    assert (scores["cov80"], scores["cov95"]) == (0.0, 1.0)


def test_thanksgiving_is_the_fourth_thursday_of_november():
    """US Thanksgiving dates of three years."""
    assert [accuracy.thanksgiving(y) for y in (2016, 2017, 2018)] == [T("2016-11-24"), T("2017-11-23"),
                                                                       T("2018-11-22")]


def test_pick_origins_keeps_the_latest_holiday_origins_and_two_ordinary_ones():
    """Three years of days give the latest Dec 1, Dec 15, Easter, Thanksgiving and two ordinary origins."""
    picked = accuracy.pick_origins(T("2015-01-01"), T("2017-12-31"), 6)
    assert picked == [(T("2016-12-15"), "dec15"), (T("2017-04-06"), "easter"), (T("2017-06-15"), "ordinary"),
                      (T("2017-09-15"), "ordinary"), (T("2017-11-13"), "thanksgiving"), (T("2017-12-01"), "dec01")]


def test_pick_origins_needs_180_days_before_and_30_after():
    """An origin with 179 days of history, or fewer than 30 days after it, is dropped."""
    assert accuracy.eligible(T("2017-12-01"), T("2017-06-04"), T("2017-12-30"))
    assert not accuracy.eligible(T("2017-12-01"), T("2017-06-05"), T("2017-12-30"))
    assert not accuracy.eligible(T("2017-12-01"), T("2017-06-04"), T("2017-12-29"))
    assert accuracy.pick_origins(T("2017-06-04"), T("2017-12-31"), 6) == [(T("2017-12-01"), "dec01")]


def test_pick_origins_cap_keeps_a_christmas_and_an_ordinary_origin():
    """Capped at two, the picks are the latest Dec 1 and the latest ordinary origin."""
    assert accuracy.pick_origins(T("2015-01-01"), T("2017-12-31"), 2) == [(T("2017-09-15"), "ordinary"),
                                                                           (T("2017-12-01"), "dec01")]


@pytest.mark.parametrize(("origin", "windows"), [
    ("2017-12-01", ("christmas",)), ("2016-12-15", ("christmas",)), ("2017-04-06", ("easter",)),
    ("2017-11-13", ("thanksgiving",)), ("2016-03-15", ("easter",)), ("2017-06-15", ("none",)),
])
def test_holiday_windows_tag_the_holidays_inside_the_horizon(origin: str, windows: tuple[str, ...]):
    """Christmas, (Western) Easter and US Thanksgiving are tagged when they fall in the 30 days."""
    assert accuracy.holiday_windows(T(origin)) == windows


def _rows(mases: dict[str, list[float | None]], family: dict[str, str]) -> pd.DataFrame:
    rows = []
    for method, values in mases.items():
        for task, mase in enumerate(values):
            rows.append({"dataset": "d", "series": f"s{task}", "origin": "2017-01-01", "windows": "none",
                         "method": method, "family": family.get(method, "castflow"), "status": "ok", "error": "",
                         "mase": mase, "smape": 10.0, "cov80": None, "cov95": 0.9, "cpu_s": 1.0})
    return pd.DataFrame(rows)


PEERS = {"sf_AutoETS": "peer", "sf_AutoARIMA": "peer", "sf_SeasonalNaive": "peer"}


def test_paired_ratio_uses_only_tasks_both_methods_scored():
    """A task the other method has no MASE for is left out of both means."""
    rows = _rows({"ensemble": [1.0, 2.0, 9.0], "sf_AutoETS": [2.0, 2.0, None]}, PEERS)
    assert paired_ratio(rows, "ensemble", "sf_AutoETS") == (pytest.approx(0.75), 2)


def test_ratio_lines_fall_back_to_the_ensemble_without_recommended():
    """Without `recommended`, the lines say so and compare the ensemble with the best non-naive peer."""
    rows = _rows({"ensemble": [1.0, 1.0], "marked_best": [1.2, 1.2], "sf_AutoETS": [2.0, 2.0],
                  "sf_AutoARIMA": [1.6, 1.6], "sf_SeasonalNaive": [0.5, 0.5]}, PEERS)
    lines = ratio_lines(rows, main_table(rows))
    assert lines[0].startswith("recommended: absent")
    assert "ensemble / best peer (sf_AutoARIMA) mean MASE = 0.625" in lines[1]
    assert "marked_best / best peer (sf_AutoARIMA) mean MASE = 0.750" in lines[2]
    assert "marked_best / castflow ensemble mean MASE = 1.200" in lines[3]


def test_ratio_lines_compare_recommended_when_present():
    """With `recommended`, it is compared with the best peer and the ensemble."""
    rows = _rows({"recommended": [0.9, 0.9], "ensemble": [1.0, 0.8], "sf_AutoETS": [1.8, 1.8]}, PEERS)
    lines = ratio_lines(rows, main_table(rows))
    assert lines[:2] == ["recommended / best peer (sf_AutoETS) mean MASE = 0.500 (2 tasks where both were scored)",
                         "recommended / castflow ensemble mean MASE = 1.000 (2 tasks where both were scored)"]


def test_main_table_sorts_by_mean_mase_and_counts_failures():
    """Methods are sorted by mean MASE; failed rows are counted, not scored."""
    rows = _rows({"ensemble": [1.0, 3.0], "sf_AutoETS": [1.0, 1.0]}, PEERS)
    rows.loc[rows.index[-1], ["status", "mase"]] = ["failed", None]
    table = main_table(rows)
    assert list(table.index) == ["sf_AutoETS", "ensemble"]
    assert (table.loc["sf_AutoETS", "tasks"], table.loc["sf_AutoETS", "failed"]) == (1, 1)


def _fake_fit(shift: float):
    def fit(history: pd.Series, horizon: int, holidays: pd.DataFrame, level: float) -> pd.DataFrame:
        index = pd.date_range(history.index[-1] + pd.Timedelta(days=1), periods=horizon, freq="D")
        value = np.resize(history.to_numpy()[-7:], horizon) + shift
        return pd.DataFrame({"value": value, "lower": value - 5, "upper": value + 5}, index=index)
    return fit


class _Broken:
    def forecast(self, **kwargs: object) -> dict:
        raise ValueError("no fit")


def _task() -> accuracy.Task:
    values = np.tile([10.0, 12, 14, 13, 15, 4, 2], 40)[:270] + np.random.default_rng(1).normal(0, 1, 270)
    series = Series("synthetic", "weekly", "US", days(list(np.clip(values, 0, None)), start="2016-05-01"))
    return accuracy.make_tasks([series], 1, "default")[0]


def test_run_task_scores_castflow_keys_marked_best_and_peers():
    """One task with two fake models gives rows for both, the ensemble, the recommended, the marked best and the
    peer; castflow's 80% coverage comes from the p10/p90 every forecast now carries."""
    task = _task()
    models = {ModelType.HOLT_WINTERS: _fake_fit(0.0), ModelType.SARIMAX: _fake_fit(3.0)}
    rows = pd.DataFrame(accuracy.run_task(task, peers=("SeasonalNaive",), models=models))
    assert set(rows["method"]) == {"holt_winters", "sarimax", "ensemble", "recommended", "marked_best",
                                  "sf_SeasonalNaive"}
    assert (rows["status"] == "ok").all()
    by = rows.set_index("method")
    assert by.loc["marked_best", "mase"] == by.loc["holt_winters", "mase"]
    assert by.loc["holt_winters", "mase"] == pytest.approx(by.loc["sf_SeasonalNaive", "mase"])
    assert not pd.isna(by.loc["holt_winters", "cov80"]) and not pd.isna(by.loc["sf_SeasonalNaive", "cov80"])
    assert "== Ratios ==" in report(rows, 1.0)


def test_a_peer_that_raises_is_a_failed_row():
    """A peer's exception is recorded as a failure of that method on that task."""
    task = _task()
    train, actual = task.values.iloc[:-30], task.values.iloc[-30:]
    row = accuracy.peer_row(task, "Broken", _Broken(), train, actual, 1.0)
    assert (row["method"], row["status"], row["error"]) == ("sf_Broken", "failed", "ValueError: no fit")


def test_timing_lines_give_the_cpu_median_per_band_of_history():
    """castflow's CPU per task is summarised per history band, so the two-year figure can be read off."""
    rows = _rows({"recommended": [1.0, 1.0, 1.0]}, {})
    rows["train_days"] = [200, 700, 800]
    rows["cpu_s"] = [0.5, 1.5, 2.5]
    line = timing_lines(rows, 60.0)[2]
    assert line == ("castflow CPU s per series by history length: <=1y median 0.50 (1 tasks), "
                    "1-2y median 1.50 (1 tasks), 2-3y median 2.50 (1 tasks)")


def test_max_history_days_keeps_that_many_days_before_each_origin():
    """The speed target is stated for two years of days: the cap cuts the history, never the held-back days."""
    values = np.arange(1000.0)
    series = Series("synthetic", "ramp", "US", days(list(values), start="2015-01-01"))
    full = accuracy.make_tasks([series], 1, "default")[0]
    capped = accuracy.make_tasks([series], 1, "default", history_days=400)[0]
    assert capped.origin == full.origin
    assert capped.values.index[-1] == full.values.index[-1]
    assert capped.values.index[0] == full.origin - pd.Timedelta(days=400)
    assert len(capped.values) == 400 + accuracy.HORIZON
