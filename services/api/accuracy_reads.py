"""What GET /accuracy answers: realised accuracy of past forecasts against the actuals that came later.

The scores are computed by the read itself, from the forecasts and the actuals (common/realised.py), and
aggregated per group (days ahead, run or date) and model: n, MAE, MASE (each error over its run's naive
scale, or the product's in that run), bias (mean of forecast - actual: positive means the forecast was too
high) and interval coverage, with the mean actual and forecast of the group.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, func, select

from common.realised import Scope, scored_days

#: What the answer says about how it scores.
SCOPE_NOTE = ("every completed run is scored at its own grain (days_ahead counts its periods: days, weeks, months "
              "or quarters); a week, month or quarter is scored once the category has data up to its last day; "
              "bias is the mean of forecast - actual")


class GroupBy(StrEnum):
    """How /accuracy groups the scores (besides the model)."""

    DAYS_AHEAD = "days_ahead"
    RUN = "run"
    DATE = "date"


_GROUP_COLUMNS = {GroupBy.DAYS_AHEAD: "periods_ahead", GroupBy.RUN: "run_id", GroupBy.DATE: "forecast_date"}
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

    def scope(self) -> Scope:
        """The forecasts these filters score."""
        return Scope(category=self.category, product_id=self.product_id, model_types=self.model_types,
                     run_ids=None if self.run_id is None else (self.run_id,), start=self.start, end=self.end)


def accuracy(conn: Connection, where: AccuracyFilter) -> dict[str, object]:
    """The scores aggregated per group and model, JSON-ready."""
    key = _GROUP_KEYS[where.group_by]
    answer = {"group_by": where.group_by.value, "product_id": where.product_id, "note": SCOPE_NOTE, "groups": []}
    days = scored_days(conn, where.scope())
    if days is None:
        return answer
    s = days.subquery("s")
    group = s.c[_GROUP_COLUMNS[where.group_by]].label("group_key")
    query = (
        select(s.c.grain, group, s.c.model_type, func.count().label("n"), func.avg(s.c.abs_error).label("mae"),
               func.avg(s.c.abs_error / func.nullif(s.c.scale, 0)).label("mase"),
               func.avg(s.c.signed_error).label("bias"), func.avg(s.c.inside).label("coverage"),
               func.avg(s.c.actual).label("actual"), func.avg(s.c.forecast_value).label("forecast"))
        .group_by(s.c.grain, group, s.c.model_type)
        .order_by(s.c.grain, group, s.c.model_type)
    )
    answer["groups"] = [
        {key: _json(row.group_key), "grain": row.grain, "model_type": row.model_type, "n": row.n,
         **{name: _number(getattr(row, name)) for name in ("mae", "mase", "bias", "coverage", "actual", "forecast")}}
        for row in conn.execute(query)]
    return answer


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
