"""Intervals of sums: the error structure's estimate, and sum intervals checked against simulated daily paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from services.forecast import sums
from services.forecast.metrics import mean_metrics, score
from services.forecast.sums import ErrorCorrelation

#: The structure the simulations draw from: a shared level and a day-to-day persistence, as real errors have.
TRUE = ErrorCorrelation(level=0.2, ar=0.5)
DAYS = 30
SIMULATIONS = 4000


def simulate(structure: ErrorCorrelation, n: int, days: int = DAYS, seed: int = 1) -> np.ndarray:
    """`n` paths of `days` standard normal errors with the given correlation (rows are paths)."""
    corr = structure.matrix(np.arange(days))
    return np.random.default_rng(seed).multivariate_normal(np.zeros(days), corr, size=n)


def daily_forecast(days: int = DAYS) -> pd.DataFrame:
    """A daily forecast of 100 with an asymmetric spread (sd 10 below, 20 above), its quantiles exact."""
    value = np.full(days, 100.0)
    z80, z95 = norm.ppf(0.9), norm.ppf(0.975)
    return pd.DataFrame({"value": value, "lower": value - 10 * z95, "upper": value + 20 * z95,
                         "p10": value - 10 * z80, "p90": value + 20 * z80})


def actual_paths(errors: np.ndarray) -> np.ndarray:
    """Daily actuals around 100 from standard errors: sd 10 below the forecast, 20 above (as daily_forecast says)."""
    return 100 + np.where(errors < 0, 10 * errors, 20 * errors)


def coverage(structure: ErrorCorrelation, low: str, high: str, paths: np.ndarray) -> float:
    """Share of the simulated paths' 30-day sums inside the sum interval built with `structure`."""
    q = sums.sum_quantiles(daily_forecast(), np.arange(DAYS), structure)
    totals = paths.sum(axis=1)
    return float(np.mean((totals >= q[low]) & (totals <= q[high])))


@pytest.fixture(scope="module")
def paths() -> np.ndarray:
    """Simulated daily actuals whose errors have the TRUE structure."""
    return actual_paths(simulate(TRUE, SIMULATIONS))


@pytest.mark.parametrize(("low", "high", "nominal"), [("p10", "p90", 0.8), ("lower", "upper", 0.95)])
def test_sum_interval_with_the_true_structure_covers_its_nominal_share(paths, low, high, nominal):
    """With the errors' own structure, the 30-day sum falls inside its interval about as often as promised."""
    assert coverage(TRUE, low, high, paths) == pytest.approx(nominal, abs=0.03)


@pytest.mark.parametrize(("low", "high", "nominal"), [("p10", "p90", 0.8), ("lower", "upper", 0.95)])
def test_sum_of_bounds_over_covers(paths, low, high, nominal):
    """Summing the daily bounds gives an interval that holds far more sums than promised."""
    assert coverage(sums.SUM_OF_BOUNDS, low, high, paths) > nominal + 0.04


@pytest.mark.parametrize(("low", "high", "nominal"), [("p10", "p90", 0.8), ("lower", "upper", 0.95)])
def test_independence_under_covers(paths, low, high, nominal):
    """Treating the days as independent gives an interval that holds far fewer sums than promised."""
    assert coverage(sums.INDEPENDENT, low, high, paths) < nominal - 0.1


def test_sum_interval_is_between_independence_and_sum_of_bounds():
    """Each side of the sum's interval lies between the two extremes, and the sides keep their asymmetry."""
    frame, offsets = daily_forecast(), np.arange(DAYS)
    wide, ours, narrow = (sums.sum_quantiles(frame, offsets, s) for s in (sums.SUM_OF_BOUNDS, TRUE, sums.INDEPENDENT))
    assert wide["upper"] == pytest.approx(frame["upper"].sum())
    for side in ("lower", "p10"):
        assert wide[side] < ours[side] < narrow[side]
    for side in ("upper", "p90"):
        assert narrow[side] < ours[side] < wide[side]
    assert ours["upper"] - ours["value"] == pytest.approx(2 * (ours["value"] - ours["lower"]))


def test_lower_side_of_a_sum_is_clipped_at_zero():
    """A sum's lower quantile is never below 0, whatever the daily distances."""
    frame = pd.DataFrame({"value": [1.0, 1.0], "lower": [0.0, 0.0], "upper": [9.0, 9.0]})
    q = sums.sum_quantiles(frame.assign(value=[0.5, 0.5]), np.arange(2), sums.SUM_OF_BOUNDS)
    assert q["lower"] == 0.0
    assert q["p10"] is None  # no p10/p90 columns: that side is unknown, not invented


def test_estimate_recovers_a_strong_level_from_many_windows():
    """Over many simulated windows, the mean estimate finds a shared level well above none and below all."""
    errors = simulate(ErrorCorrelation(level=0.4, ar=0.3), 60, seed=7)
    frame = daily_forecast()
    found = [sums.estimate(actual_paths(e), frame) for e in errors]
    level = np.mean([f.level for f in found])
    assert 0.2 < level < 0.6


def test_estimate_of_independent_errors_is_near_zero():
    """Independent errors give a small level and AR on average."""
    frame = daily_forecast()
    found = [sums.estimate(actual_paths(e), frame) for e in simulate(sums.INDEPENDENT, 60, seed=3)]
    assert np.mean([f.level for f in found]) < 0.1
    assert np.mean([f.ar for f in found]) < 0.2


def test_estimate_needs_enough_days():
    """Fewer than MIN_DAYS usable days give no estimate."""
    frame = daily_forecast(sums.MIN_DAYS - 1)
    assert sums.estimate(np.full(sums.MIN_DAYS - 1, 120.0), frame) is None


def test_backtest_metrics_carry_the_error_structure():
    """score() measures the structure of a window's errors and mean_metrics averages it over the folds."""
    frame = daily_forecast().set_index(pd.date_range("2024-01-01", periods=DAYS))
    train = pd.Series(np.arange(60.0), index=pd.date_range("2023-11-02", periods=60))
    folds = [score(pd.Series(actual_paths(e), index=frame.index), frame, train) for e in simulate(TRUE, 2, seed=5)]
    assert all(f.error_level is not None and f.error_ar is not None for f in folds)
    assert mean_metrics(folds).error_level == pytest.approx(np.mean([f.error_level for f in folds]))


def test_for_sums_floors_the_level_and_defaults_without_a_measure():
    """A stored structure is used with its level at least MIN_LEVEL; a run without one gets DEFAULT."""
    assert sums.for_sums(0.0, 0.4) == ErrorCorrelation(level=sums.MIN_LEVEL, ar=0.4)
    assert sums.for_sums(0.5, 0.4) == ErrorCorrelation(level=0.5, ar=0.4)
    assert sums.for_sums(None, None) == sums.DEFAULT
