"""The stock formulas of services/api/inventory.py, and README's worked example."""

from __future__ import annotations

import math

import pytest

from services.api.inventory import Day, Policy, advise, daily_sigma, days_of_inventory, lead_time_demand, service_z


def test_readme_worked_example():
    """README's example: 30 days of p10 6 / p50 10 / p90 14, lead time 5 days, 95%, 40 on hand, EOQ costs."""
    days = [Day(6, 10, 14)] * 30
    advice = advise(40, days, Policy(lead_time_days=5, service_level=0.95, review_days=7, order_cost=50,
                                     unit_cost=4, holding_cost_rate=0.25))
    assert round(daily_sigma(days[0]), 4) == 3.1212
    assert advice.lead_time_demand == 50
    assert round(advice.lead_time_sigma, 2) == 6.98
    assert round(service_z(0.95), 4) == 1.6449
    assert round(advice.safety_stock, 2) == 11.48
    assert round(advice.reorder_point, 2) == 61.48
    assert advice.days_of_inventory == 4.0
    assert advice.order_now is True
    assert round(advice.eoq, 2) == 604.15
    assert round(advice.order_up_to, 2) == 665.63
    assert advice.order_quantity == 626
    assert advice.notes == []


def test_without_costs_the_lot_is_the_review_periods_demand():
    """No order or unit cost: no EOQ, the lot is mean daily demand x review days (the same example: 70)."""
    advice = advise(40, [Day(6, 10, 14)] * 30, Policy(lead_time_days=5, service_level=0.95, review_days=7))
    assert advice.eoq is None
    assert advice.order_quantity == 92  # ceil(61.48 + 70 - 40), as README says


def test_no_order_above_the_reorder_point():
    """Stock above the reorder point: order_now is false and nothing is ordered."""
    advice = advise(100, [Day(6, 10, 14)] * 30, Policy(lead_time_days=5, service_level=0.95, review_days=7))
    assert (advice.order_now, advice.order_quantity) == (False, 0)
    assert advice.days_of_inventory == 10.0


def test_days_of_inventory_walks_a_changing_forecast():
    """Stock is used up day by day: 25 units over days of 10, 10, 20 last 2.25 days."""
    assert days_of_inventory(25, [Day(0, 10, 20), Day(0, 10, 20), Day(0, 20, 40)]) == (2.25, False)
    assert days_of_inventory(0, [Day(0, 10, 20)]) == (0.0, False)


def test_stock_outlasting_the_horizon_is_extrapolated_and_said():
    """Past the horizon the rest lasts at the mean day, and the advice says so."""
    assert days_of_inventory(50, [Day(0, 10, 20)] * 3) == (5.0, True)
    assert days_of_inventory(50, [Day(0, 0, 0)] * 3) == (None, True)
    advice = advise(50, [Day(0, 10, 20)] * 3, Policy(lead_time_days=2, service_level=0.9, review_days=7))
    assert "outlasts the 3-day forecast" in advice.notes[0]


def test_lead_time_beyond_the_horizon_uses_the_mean_day():
    """A 5-day lead time over a 3-day forecast adds 2 mean days of demand and of variance, with a note."""
    days = [Day(8, 10, 12), Day(18, 20, 22), Day(28, 30, 32)]
    demand, sigma, beyond = lead_time_demand(days, 5)
    assert (demand, beyond) == (60 + 2 * 20, 2)
    assert sigma == pytest.approx(math.sqrt(5) * daily_sigma(days[0]))
    advice = advise(0, days, Policy(lead_time_days=5, service_level=0.9, review_days=7))
    assert "beyond the 3-day forecast" in advice.notes[0]


def test_higher_service_level_means_more_safety_stock():
    """Safety stock grows with the service level (z 0.5 -> 0: none at 50%)."""
    days = [Day(6, 10, 14)] * 30
    levels = [advise(0, days, Policy(5, level, 7)).safety_stock for level in (0.5, 0.9, 0.95, 0.99)]
    assert levels[0] == 0 and levels == sorted(levels)
