"""The inventory view and settings: each stored product's stock against its latest completed product forecast.

A product's lead time, service level and costs come from its stock row, else its category's inventory
settings, else the deployment's INVENTORY_* defaults. The formulas are services/api/inventory.py's.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.config import Settings
from common.db import utcnow
from common.models import InventorySetting, ProductForecastData, ProductForecastSummary, ProductStock
from services.api import inventory
from services.api.product_reads import SKIPPED, product_runs
from services.api.serialize import jsonable

#: The settings a category may set, in the order they are shown.
SETTING_NAMES = ("lead_time_days", "service_level", "review_days", "order_cost", "unit_cost", "holding_cost_rate")
#: The fields of each /inventory row, in order.
INVENTORY_FIELDS = ["category", "product_id", "on_hand", "order_now", "order_quantity", "reorder_point",
                    "safety_stock", "lead_time_demand", "lead_time_sigma", "days_of_inventory", "stockout_date",
                    "mean_daily_demand", "eoq", "order_up_to", "lead_time_days", "service_level", "review_days",
                    "order_cost", "unit_cost", "holding_cost_rate", "run_id", "forecast_start", "forecast_days",
                    "note", "updated_at"]


def deployment_defaults(settings: Settings) -> dict[str, object]:
    """The INVENTORY_* settings, under the names a category's settings use (unit cost: none by default)."""
    return {"lead_time_days": settings.inventory_lead_time_days, "service_level": settings.inventory_service_level,
            "review_days": settings.inventory_review_days, "order_cost": settings.inventory_order_cost or None,
            "unit_cost": None, "holding_cost_rate": settings.inventory_holding_cost_rate}


def category_inventory_settings(session: Session, category: str, settings: Settings) -> dict[str, object]:
    """The category's inventory settings in force, which of them it sets itself, the defaults, and when saved."""
    row = session.get(InventorySetting, category)
    own = {name: getattr(row, name) for name in SETTING_NAMES} if row is not None else {}
    defaults = deployment_defaults(settings)
    return {"category": category,
            **{name: own.get(name) if own.get(name) is not None else defaults[name] for name in SETTING_NAMES},
            "overridden": [name for name in SETTING_NAMES if own.get(name) is not None],
            "defaults": defaults, "updated_at": jsonable(row.updated_at) if row is not None else None}


def save_inventory_settings(sessions: sessionmaker[Session], category: str, change: dict[str, object],
                            settings: Settings) -> dict[str, object]:
    """Store the category's settings named in `change` (None: back to the default) and answer them in force."""
    with sessions.begin() as session:
        row = session.get(InventorySetting, category, with_for_update=True)
        if row is None:
            row = InventorySetting(category=category)
            session.add(row)
        for name, value in change.items():
            setattr(row, name, value)
        row.updated_at = utcnow()
        session.flush()
        return category_inventory_settings(session, category, settings)


@dataclass(frozen=True)
class InventoryFilter:
    """The /inventory filters: one category, and only the products to order now (or not)."""

    category: str | None = None
    order_now: bool | None = None


def inventory_rows(session: Session, settings: Settings, where: InventoryFilter) -> list[dict[str, object]]:
    """Every stored product's stock advice (JSON-ready), order-now first, then fewest days of inventory."""
    query = select(ProductStock).order_by(ProductStock.category, ProductStock.product_id)
    if where.category is not None:
        query = query.where(ProductStock.category == where.category)
    stock = list(session.scalars(query))
    categories = sorted({row.category for row in stock})
    policies = _category_policies(session, categories, settings)
    runs = {name: run for name, run in product_runs(session).items() if name in policies}
    forecasts = _forecasts(session, runs, {row.product_id for row in stock})
    skipped = _skipped(session, runs)
    rows = [_advice_row(row, policies[row.category], runs.get(row.category),
                        forecasts.get((row.category, row.product_id), []), skipped.get((row.category, row.product_id)))
            for row in stock]
    if where.order_now is not None:
        rows = [row for row in rows if row["order_now"] is where.order_now]
    rows.sort(key=lambda r: (not r["order_now"], r["days_of_inventory"] is None,
                             r["days_of_inventory"] or 0.0, r["category"], r["product_id"]))
    return rows


def _category_policies(session: Session, categories: list[str], settings: Settings) -> dict[str, dict[str, object]]:
    """Per category: its settings in force (its own where it has them, else the deployment's)."""
    defaults = deployment_defaults(settings)
    own = {row.category: row for row in session.scalars(
        select(InventorySetting).where(InventorySetting.category.in_(categories)))}
    policies = {}
    for category in categories:
        row = own.get(category)
        policies[category] = {name: getattr(row, name) if row is not None and getattr(row, name) is not None
                              else defaults[name] for name in SETTING_NAMES}
    return policies


def _forecasts(session: Session, runs: dict[str, int],
               product_ids: set[str]) -> dict[tuple[str, str], list[tuple[dt.date, inventory.Day]]]:
    """The daily demand forecast of each stocked product in the runs, by (category, product), in day order."""
    found: dict[tuple[str, str], list[tuple[dt.date, inventory.Day]]] = defaultdict(list)
    if not runs or not product_ids:
        return found
    table = ProductForecastData
    query = (select(table.category, table.product_id, table.forecast_date, table.forecast_value, table.p10,
                    table.p50, table.p90)
             .where(table.run_id.in_(tuple(runs.values())))
             .order_by(table.category, table.product_id, table.forecast_date))
    for category, product_id, day, value, p10, p50, p90 in session.execute(query):
        if product_id in product_ids:
            median = value if p50 is None else p50
            low, high = (median if p10 is None else p10), (median if p90 is None else p90)
            found[category, product_id].append((day, inventory.Day(p10=low, p50=median, p90=high)))
    return found


def _skipped(session: Session, runs: dict[str, int]) -> dict[tuple[str, str], str]:
    """Why each product the runs skipped was skipped, by (category, product)."""
    if not runs:
        return {}
    query = (select(ProductForecastSummary.category, ProductForecastSummary.product_id, ProductForecastSummary.note)
             .where(ProductForecastSummary.run_id.in_(tuple(runs.values())), ProductForecastSummary.status == SKIPPED))
    return {(category, product_id): note or "too little history"
            for category, product_id, note in session.execute(query)}


def _advice_row(stock: ProductStock, category_policy: dict[str, object], run_id: int | None,
                forecast: list[tuple[dt.date, inventory.Day]], skipped: str | None = None) -> dict[str, object]:
    """One /inventory row: the stock, the policy in force, and the formulas' answer (or a note why there is none)."""
    policy = {**category_policy, **{name: getattr(stock, name) for name in
                                    ("lead_time_days", "service_level", "order_cost", "unit_cost")
                                    if getattr(stock, name) is not None}}
    row = {field: None for field in INVENTORY_FIELDS}
    row.update(category=stock.category, product_id=stock.product_id, on_hand=stock.on_hand, order_now=False,
               order_quantity=0, run_id=run_id, updated_at=jsonable(stock.updated_at), **policy)
    if not forecast:
        if run_id is None:
            row["note"] = "no product forecast: the category has no completed product forecast yet"
        elif skipped is not None:
            row["note"] = f"no product forecast: the latest product run skipped it ({skipped})"
        else:
            row["note"] = "no product forecast: the latest product run did not forecast it"
        return row
    advice = inventory.advise(stock.on_hand, [day for _, day in forecast], inventory.Policy(**policy))
    start = forecast[0][0]
    row.update({name: _rounded(value) for name, value in asdict(advice).items() if name != "notes"},
               forecast_start=start.isoformat(), forecast_days=len(forecast), note="; ".join(advice.notes) or None)
    if advice.days_of_inventory is not None:
        row["stockout_date"] = (start + dt.timedelta(days=int(advice.days_of_inventory))).isoformat()
    return row


def _rounded(value: object) -> object:
    return round(value, 2) if isinstance(value, float) else value
