"""What GET /accuracy answers: realised accuracy of past forecasts against the actuals that came later.

The ETL's merge scores every completed daily run on the days it brings (services/etl/accuracy.py); this
read aggregates those scores per group (days ahead, run or date) and model: n, MAE, MASE (each error over
its run's naive scale, or the product's in that run), bias (mean of forecast - actual: positive means the
forecast was too high) and interval coverage, with the mean actual and forecast of the group.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, Float, and_, case, cast, func, select

from common.models import ForecastAccuracy, ForecastRun, ProductForecastSummary

#: What the answer says about the runs it cannot score.
SCOPE_NOTE = ("only runs forecast by day are scored (a weekly or monthly run's periods are not scored); "
              "bias is the mean of forecast - actual")


class GroupBy(StrEnum):
    """How /accuracy groups the scores (besides the model)."""

    DAYS_AHEAD = "days_ahead"
    RUN = "run"
    DATE = "date"


_GROUP_COLUMNS = {GroupBy.DAYS_AHEAD: ForecastAccuracy.periods_ahead, GroupBy.RUN: ForecastAccuracy.run_id,
                  GroupBy.DATE: ForecastAccuracy.forecast_date}
_GROUP_KEYS = {GroupBy.DAYS_AHEAD: "days_ahead", GroupBy.RUN: "run_id", GroupBy.DATE: "date"}


@dataclass(frozen=True)
class AccuracyFilter:
    """The /accuracy filters; None means no filter (product None: the category totals' scores)."""

    category: str | None = None
    product_id: str | None = None
    model_types: tuple[str, ...] | None = None
    run_id: int | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    group_by: GroupBy = GroupBy.DAYS_AHEAD


def accuracy(conn: Connection, where: AccuracyFilter) -> dict[str, object]:
    """The scores aggregated per group and model, JSON-ready."""
    group = _GROUP_COLUMNS[where.group_by].label("group_key")
    scale = case((ForecastAccuracy.product_id == "", ForecastRun.naive_scale),
                 else_=ProductForecastSummary.naive_scale)
    query = (
        select(group, ForecastAccuracy.model_type, func.count().label("n"),
               func.avg(ForecastAccuracy.abs_error).label("mae"),
               func.avg(ForecastAccuracy.abs_error / func.nullif(scale, 0)).label("mase"),
               func.avg(ForecastAccuracy.signed_error).label("bias"),
               func.avg(cast(case((ForecastAccuracy.inside, 1.0), else_=0.0), Float)).label("coverage"),
               func.avg(ForecastAccuracy.actual).label("actual"),
               func.avg(ForecastAccuracy.forecast_value).label("forecast"))
        .join(ForecastRun, ForecastRun.id == ForecastAccuracy.run_id)
        .outerjoin(ProductForecastSummary, and_(ProductForecastSummary.run_id == ForecastAccuracy.run_id,
                                                ProductForecastSummary.product_id == ForecastAccuracy.product_id))
        .where(*_conditions(where))
        .group_by(group, ForecastAccuracy.model_type)
        .order_by(group, ForecastAccuracy.model_type)
    )
    key = _GROUP_KEYS[where.group_by]
    groups = [{key: _json(row.group_key), "model_type": row.model_type, "n": row.n,
               **{name: _number(getattr(row, name)) for name in ("mae", "mase", "bias", "coverage", "actual",
                                                                 "forecast")}}
              for row in conn.execute(query)]
    return {"group_by": where.group_by.value, "product_id": where.product_id, "note": SCOPE_NOTE, "groups": groups}


def _conditions(where: AccuracyFilter) -> list:
    conditions = [ForecastAccuracy.product_id == (where.product_id or "")]
    if where.category is not None:
        conditions.append(ForecastAccuracy.category == where.category)
    if where.model_types is not None:
        conditions.append(ForecastAccuracy.model_type.in_(where.model_types))
    if where.run_id is not None:
        conditions.append(ForecastAccuracy.run_id == where.run_id)
    if where.start is not None:
        conditions.append(ForecastAccuracy.forecast_date >= where.start)
    if where.end is not None:
        conditions.append(ForecastAccuracy.forecast_date <= where.end)
    return conditions


#: The category_drift columns /categories shows in `drift`.
DRIFT_FIELDS = ("since", "run_id", "realised_mase", "backtest_mase", "ratio", "threshold", "reason",
                "reforecast_run_id")


def overview_drift(row: dict[str, object]) -> dict[str, object]:
    """A /categories row's `drifting` and `drift` from its open drift mark (the query's drift_* keys removed)."""
    found = {name: row.pop(f"drift_{name}") for name in DRIFT_FIELDS}
    if found["since"] is None:
        return {"drifting": False, "drift": None}
    found["since"] = str(found["since"])[:19].replace(" ", "T")  # as the database wrote it: ISO, to the second
    return {"drifting": True, "drift": found}


def _number(value: object) -> float | None:
    return None if value is None else float(value)


def _json(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-":
        return value[:10]  # SQLite may hand a grouped date back as its text
    return int(value) if value is not None else None
