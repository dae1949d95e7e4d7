"""Reconciliation: every method makes the products add up; the choice follows the backtest window."""

from __future__ import annotations

import numpy as np
import pytest

from services.forecast.products.reconcile import METHODS, choose, keep_total, reconcile, shift_quantiles


@pytest.fixture
def window():
    """A backtest window: 20 products selling about 5 a day, their forecasts, and a noisy category forecast."""
    rng = np.random.default_rng(1)
    sold = rng.poisson(5, (20, 14)).astype(float)
    products = 5.0 + rng.normal(0, 0.5, (20, 14))
    category = sold.sum(axis=0) + rng.normal(0, 5, 14)
    return category, products, np.vstack([sold.sum(axis=0)[None, :], sold])


@pytest.mark.parametrize("name", METHODS)
def test_every_method_returns_non_negative_products_adding_up_to_the_category(name, window):
    """Each method gives one non-negative row per product, and every day they add up to the category's own
    forecast."""
    category, products, sold = window
    out = reconcile(name, category, products, sold, np.vstack([category[None, :], products]))
    assert out.shape == products.shape and (out >= 0).all()
    assert np.allclose(out.sum(axis=0), category)
    if name == "bottom_up":  # the products' own split of each day
        assert np.allclose(out / out.sum(axis=0), products / products.sum(axis=0))


def test_choice_is_the_lowest_backtest_error(window):
    """The chosen method has the lowest scored error of those that ran."""
    category, products, sold = window
    method, errors = choose(category, products, sold, np.full(21, 2.0))
    assert errors[method] == min(e for e in errors.values() if e is not None)


def test_keep_total_scales_each_day_and_splits_a_zero_day_evenly():
    """Products scaled to the category's day; a day the products put at 0 is split evenly."""
    out = keep_total(np.array([[1.0, 0.0], [3.0, 0.0]]), np.array([8.0, 4.0]))
    assert out.tolist() == [[2.0, 2.0], [6.0, 2.0]]


def test_quantiles_move_with_their_value_and_stay_ordered():
    """Bands shift by the change of the value, then clip at 0 and sort."""
    bands = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    assert shift_quantiles(bands, np.array([3.0]), np.array([1.0])).tolist() == [[0.0, 0.0, 1.0, 2.0, 3.0]]
