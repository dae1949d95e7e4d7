"""Stock formulas: lead-time demand, safety stock, reorder point, days of inventory and order quantity.

The standard textbook (APICS) definitions, over a product's daily quantile forecast (p10, p50, p90);
README.md (Inventory) states them with a worked example that tests/api/test_inventory.py reproduces.

- Daily demand: the day's median forecast p50 (the point forecast where a row has no quantiles).
- Daily spread: sigma_day = (p90 - p10) / (2 * 1.2816), the standard deviation of a normal distribution
  with those 10th and 90th percentiles (1.2816 = z of 0.90).
- Lead-time demand D_LT: the sum of the daily demand over the L days of the lead time; its standard
  deviation sigma_LT = sqrt(sum of sigma_day^2) (days' errors taken as independent).
- Safety stock SS = z(service level) * sigma_LT, z the standard normal quantile of the cycle service level
  (the chance of no stock-out during a lead time).
- Reorder point ROP = D_LT + SS; order now when on hand <= ROP.
- Days of inventory: the forecast walked forward day by day until the stock on hand is used up (a
  fraction of the last day); past the horizon, the rest at the mean daily demand (and said so).
- Order quantity (min-max system, s = ROP, S = ROP + Q): when ordering, S - on hand, where the lot Q is
  the economic order quantity EOQ = sqrt(2 * D * S_o / (c * i)) (D yearly demand = mean daily demand * 365,
  S_o the cost of one order, c the unit cost, i the yearly holding cost rate) when those costs are known,
  else the demand over the review period (mean daily demand * review days). Rounded up to whole units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

#: z of the 90th percentile: p10 and p90 lie this many standard deviations either side of the median.
Z90 = NormalDist().inv_cdf(0.9)
#: Days in the year the EOQ's demand and holding cost are counted over.
DAYS_PER_YEAR = 365
#: The accepted ranges: lead time in days, and the cycle service level (1.0 would need infinite stock).
LEAD_TIME_RANGE = (1, 365)
SERVICE_LEVEL_RANGE = (0.5, 1.0)  # 0.5 <= s < 1


@dataclass(frozen=True)
class Day:
    """One day of a product's forecast demand: its 10th, 50th and 90th percentiles."""

    p10: float
    p50: float
    p90: float


@dataclass(frozen=True)
class Policy:
    """How a product is replenished: lead time, cycle service level, review period and the EOQ's costs."""

    lead_time_days: int
    service_level: float
    review_days: int
    order_cost: float | None = None
    unit_cost: float | None = None
    holding_cost_rate: float | None = None


@dataclass(frozen=True)
class Advice:
    """What the formulas say about one product's stock (quantities in the forecast's units)."""

    mean_daily_demand: float
    lead_time_demand: float
    lead_time_sigma: float
    safety_stock: float
    reorder_point: float
    #: Days until the stock on hand is used up; None when the forecast demand is 0.
    days_of_inventory: float | None
    order_now: bool
    eoq: float | None
    #: The order-up-to level S = ROP + lot, and what to order now (0 when not ordering).
    order_up_to: float
    order_quantity: int
    notes: list[str] = field(default_factory=list)


def daily_sigma(day: Day) -> float:
    """The day's demand standard deviation from its p10 and p90: (p90 - p10) / (2 * 1.2816)."""
    return max(day.p90 - day.p10, 0.0) / (2 * Z90)


def service_z(service_level: float) -> float:
    """The standard normal quantile of the cycle service level (1.6449 at 0.95)."""
    return NormalDist().inv_cdf(service_level)


def lead_time_demand(days: Sequence[Day], lead_time: int) -> tuple[float, float, int]:
    """(D_LT, sigma_LT, days taken past the horizon at the mean day) over the first `lead_time` days."""
    covered = days[:lead_time]
    demand = sum(day.p50 for day in covered)
    variance = sum(daily_sigma(day) ** 2 for day in covered)
    beyond = max(lead_time - len(days), 0)
    if beyond and days:
        demand += beyond * sum(day.p50 for day in days) / len(days)
        variance += beyond * sum(daily_sigma(day) ** 2 for day in days) / len(days)
    return demand, math.sqrt(variance), beyond


def days_of_inventory(on_hand: float, days: Sequence[Day]) -> tuple[float | None, bool]:
    """(days until `on_hand` is used up walking the daily demand forward, whether that is past the horizon)."""
    if on_hand <= 0:
        return 0.0, False
    left = on_hand
    for number, day in enumerate(days):
        if day.p50 >= left and day.p50 > 0:
            return number + left / day.p50, False
        left -= day.p50
    mean = sum(day.p50 for day in days) / len(days) if days else 0.0
    if left <= 0:
        return float(len(days)), False  # used up exactly on the last day
    if mean <= 0:
        return None, True
    return len(days) + left / mean, True


def economic_order_quantity(yearly_demand: float, policy: Policy) -> float | None:
    """EOQ = sqrt(2 * D * S / (c * i)); None unless demand, order cost, unit cost and holding rate are all > 0."""
    costs = (policy.order_cost, policy.unit_cost, policy.holding_cost_rate)
    if yearly_demand <= 0 or any(cost is None or cost <= 0 for cost in costs):
        return None
    return math.sqrt(2 * yearly_demand * policy.order_cost / (policy.unit_cost * policy.holding_cost_rate))


def advise(on_hand: float, days: Sequence[Day], policy: Policy) -> Advice:
    """Safety stock, reorder point, days of inventory and the order to place for `on_hand` units and the forecast."""
    mean = sum(day.p50 for day in days) / len(days) if days else 0.0
    demand, sigma, beyond = lead_time_demand(days, policy.lead_time_days)
    safety = service_z(policy.service_level) * sigma
    reorder_point = demand + safety
    remaining, past_horizon = days_of_inventory(on_hand, days)
    eoq = economic_order_quantity(mean * DAYS_PER_YEAR, policy)
    lot = eoq if eoq is not None else mean * policy.review_days
    order_now = on_hand <= reorder_point
    quantity = math.ceil(reorder_point + lot - on_hand - 1e-9) if order_now else 0
    notes = []
    if beyond:
        notes.append(f"the lead time of {policy.lead_time_days} days is beyond the {len(days)}-day forecast: its "
                     f"last {beyond} days assume the forecast's mean day")
    if past_horizon:
        notes.append(f"the stock outlasts the {len(days)}-day forecast" +
                     ("; the days after it assume the forecast's mean day" if remaining is not None
                      else " and the forecast demand is 0"))
    return Advice(mean_daily_demand=mean, lead_time_demand=demand, lead_time_sigma=sigma, safety_stock=safety,
                  reorder_point=reorder_point, days_of_inventory=remaining, order_now=order_now, eoq=eoq,
                  order_up_to=reorder_point + lot, order_quantity=max(quantity, 0), notes=notes)
