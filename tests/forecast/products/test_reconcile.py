"""Reconciliation: every method makes the products add up; the choice follows the backtest window."""

from __future__ import annotations

import numpy as np
import pytest

from services.forecast.products.reconcile import CLEARLY_BETTER, METHODS, choose, reconcile, shift_quantiles


@pytest.fixture
def window():
    """A backtest window: 20 products selling about 5 a day, their forecasts, and a noisy category forecast."""
    rng = np.random.default_rng(1)
    sold = rng.poisson(5, (20, 14)).astype(float)
    products = 5.0 + rng.normal(0, 0.5, (20, 14))
    category = sold.sum(axis=0) + rng.normal(0, 5, 14)
    return category, products, np.vstack([sold.sum(axis=0)[None, :], sold])


@pytest.mark.parametrize("name", METHODS)
def test_every_method_returns_non_negative_products(name, window):
    """Each method gives one non-negative row per product; top-down keeps the category's total."""
    category, products, sold = window
    out = reconcile(name, category, products, sold, np.vstack([category[None, :], products]))
    assert out.shape == products.shape and (out >= 0).all()
    if name == "top_down":
        assert np.allclose(out.sum(axis=0), category)
    if name == "bottom_up":
        assert np.allclose(out, products)


def test_choice_is_the_lowest_backtest_error_of_those_eligible(window):
    """The chosen method has the lowest scored error of top-down and the methods whose category total beat the
    category's own forecast clearly on the window."""
    category, products, sold = window
    method, errors = choose(category, products, sold, np.full(21, 2.0))
    own = np.abs(category - sold[0]).mean()
    eligible = {name: error for name, error in errors.items() if error is not None and (
        name == "top_down" or np.abs(reconcile(name, category, products, sold, np.vstack(
            [category[None, :], products])).sum(axis=0) - sold[0]).mean() <= CLEARLY_BETTER * own)}
    assert errors[method] == min(eligible.values())


def test_a_tie_on_the_window_keeps_the_category():
    """Products whose sum is as good as the category's own forecast on the window, but no better by the margin:
    top-down keeps the better-informed category level."""
    sold = np.array([[4.0] * 7, [6.0] * 7])
    category = sold.sum(axis=0) + np.array([1.0, -1.0] * 3 + [1.0])  # off by 1 a day
    products = sold + np.array([[0.5, -0.5] * 3 + [0.5]] * 2)  # the sum off by 1 a day too, products closer
    method, errors = choose(category, products, np.vstack([sold.sum(axis=0)[None, :], sold]), np.ones(3))
    assert errors["bottom_up"] <= errors["top_down"] and method == "top_down"


def test_a_category_forecast_far_off_is_left_for_bottom_up():
    """When the category's own forecast is wildly off and the products are exact, bottom-up wins."""
    sold = np.full((3, 7), 4.0)
    method, _ = choose(np.full(7, 100.0), sold.copy(), np.vstack([sold.sum(axis=0)[None, :], sold]), np.ones(4))
    assert method == "bottom_up"


def test_quantiles_move_with_their_value_and_stay_ordered():
    """Bands shift by the change of the value, then clip at 0 and sort."""
    bands = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    assert shift_quantiles(bands, np.array([3.0]), np.array([1.0])).tolist() == [[0.0, 0.0, 1.0, 2.0, 3.0]]


def test_a_method_that_would_worsen_the_category_is_not_chosen():
    """Products exact but summing far from a category forecast that was exact too: bottom-up would be as good
    for the products, yet the category's own forecast is kept (top-down), as it did better on the window."""
    sold = np.array([[4.0] * 7, [6.0] * 7])
    products = np.array([[8.0] * 7, [12.0] * 7])  # twice too high, in the right proportions
    category = sold.sum(axis=0)  # exact
    method, errors = choose(category, products, np.vstack([category[None, :], sold]), np.ones(3))
    assert method == "top_down" and errors["bottom_up"] > errors["top_down"]
