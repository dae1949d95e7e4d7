"""What GET /forecast-backtests answers: a run's held-out actuals and each model's backtest forecast per window.

A run backtests every model on a few windows of its category's history (services/forecast/backtest.py) and
stores those forecasts with the days' actuals (forecast_backtests). Unless a run is named, the answer is of the
category's latest completed run. Runs made before backtests were stored answer no window, with a note.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby

import pandas as pd
from sqlalchemy import Connection, Row, select

from common.models import ForecastBacktest
from common.status import ModelType
from services.api.forecast_reads import latest_run_id, run_exists
from services.forecast.metrics import score

#: Models in the order a window lists them: the recommended forecast first, then as ModelType lists them.
MODEL_ORDER = {model.value: i for i, model in enumerate(
    [ModelType.RECOMMENDED, *(m for m in ModelType if m is not ModelType.RECOMMENDED)])}


@dataclass(frozen=True)
class BacktestFilter:
    """The /forecast-backtests parameters: one category, optionally some models and a named run."""

    category: str
    model_types: tuple[str, ...] | None = None
    run_id: int | None = None


def run_backtests(conn: Connection, where: BacktestFilter) -> dict[str, object] | None:
    """The run's windows (actuals, each model's forecast and window metrics), JSON-ready; None for an unknown run."""
    run_id = where.run_id if where.run_id is not None else conn.scalar(select(latest_run_id(where.category)))
    if where.run_id is not None and not run_exists(conn, where.run_id):
        return None
    answer: dict[str, object] = {"category": where.category, "run_id": run_id, "note": None, "windows": []}
    if run_id is None:
        answer["note"] = f"category {where.category[:100]!r} has no completed forecast run"
        return answer
    query = select(ForecastBacktest).where(ForecastBacktest.run_id == run_id,
                                           ForecastBacktest.category == where.category)
    if where.model_types is not None:
        query = query.where(ForecastBacktest.model_type.in_(where.model_types))
    rows = conn.execute(query.order_by(ForecastBacktest.origin, ForecastBacktest.forecast_date)).all()
    if not rows:
        answer["note"] = _no_backtests(run_id, where.model_types is not None)
    answer["windows"] = [window_json(origin, list(group)) for origin, group in groupby(rows, key=lambda r: r.origin)]
    return answer


def _no_backtests(run_id: int, filtered: bool) -> str:
    return (f"run {run_id} has no stored backtest forecasts{' of these models' if filtered else ''}: runs made "
            "before castflow kept them, and histories too short to backtest, have none; refresh the forecast "
            "to see them")


def window_json(origin: dt.date, rows: Sequence[Row]) -> dict[str, object]:
    """One window: its origin and days, the actual of each day, and each model's forecast and metrics on it."""
    actuals = {row.forecast_date: row.actual for row in rows}
    models = sorted({row.model_type for row in rows}, key=lambda m: MODEL_ORDER.get(m, len(MODEL_ORDER)))
    return {
        "origin": origin.isoformat(), "start": min(actuals).isoformat(), "end": max(actuals).isoformat(),
        "actuals": [{"date": day.isoformat(), "actual": value} for day, value in sorted(actuals.items())],
        "models": [model_json(model, [row for row in rows if row.model_type == model]) for model in models],
    }


def model_json(model: str, rows: Sequence[Row]) -> dict[str, object]:
    """One model's forecast on a window, with its MAE, RMSE, sMAPE and interval coverage there (null: no actual)."""
    forecasts = [{"forecast_date": r.forecast_date.isoformat(), "forecast_value": r.forecast_value,
                  "lower_bound": r.lower_bound, "upper_bound": r.upper_bound} for r in rows]
    return {"model_type": model, **window_metrics(rows), "forecasts": forecasts}


def window_metrics(rows: Sequence[Row]) -> dict[str, float | None]:
    """MAE, RMSE, sMAPE (percent) and coverage of the rows that have an actual; all null when none has."""
    known = [r for r in rows if r.actual is not None]
    if not known:
        return {"mae": None, "rmse": None, "smape": None, "coverage": None}
    forecast = pd.DataFrame({"value": [r.forecast_value for r in known], "lower": [r.lower_bound for r in known],
                             "upper": [r.upper_bound for r in known]})
    metrics = score(pd.Series([r.actual for r in known]), forecast, pd.Series(dtype="float64"))
    return {"mae": metrics.mae, "rmse": metrics.rmse, "smape": metrics.smape, "coverage": metrics.coverage}
