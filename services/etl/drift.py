"""Drift: after scoring, is each category's current forecast doing much worse on the new actuals than its backtest?

The current forecast is the recommended forecast of the category's latest completed run. Once at least
MIN_SCORED_DAYS of its days are scored, its realised MASE (mean absolute error over the run's naive scale,
forecast_runs.naive_scale) is compared with its backtest MASE (forecast_metrics, model "recommended"; the
run's best model in runs made before the recommended forecast). Past the threshold (the category's
drift_threshold setting, else DRIFT_THRESHOLD) the category is marked drifting in category_drift with the
reason in words, and re-forecast: by the run the batch already queued for it when there is one (a batch
that brings actuals always queues one; no second run), else by a new run unless its drift_reforecast
setting is off. A later check within the threshold clears the mark. The caller announces
`category.drifting` after its commit (`announce_drifts`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from redis import Redis
from sqlalchemy import Connection, Engine, func, insert, select, update

from common.config import Settings
from common.models import CategoryDrift, CategorySetting, ForecastAccuracy, ForecastMetric, ForecastRun
from common.status import ForecastStatus, ModelType
from services.hooks.events import category_drifting
from services.hooks.notify import notify

logger = logging.getLogger(__name__)

#: Fewest scored days of the current forecast before its realised error is judged (daily runs only are scored).
MIN_SCORED_DAYS = 7


@dataclass(frozen=True)
class Drift:
    """A category found drifting by one check."""

    category: str
    run_id: int
    realised_mase: float
    backtest_mase: float
    threshold: float
    reason: str
    #: The run re-forecasting it; None when none was queued (drift_reforecast off).
    reforecast_run_id: int | None
    #: True when this check queued that run (the caller must enqueue it after its commit).
    queued_here: bool


@dataclass(frozen=True)
class Measure:
    """The current forecast's realised and backtest MASE, over `days` scored days."""

    run_id: int
    days: int
    realised: float
    backtest: float


def check_drift(conn: Connection, categories: list[str], queued: Mapping[str, int], settings: Settings,
                now: dt.datetime) -> list[Drift]:
    """Mark or clear each category's drift, in the caller's transaction; the drifting categories found."""
    found = []
    for category in categories:
        measure = measure_current(conn, category)
        if measure is None:
            continue
        threshold, reforecast = _drift_settings(conn, category, settings)
        open_id = conn.scalar(select(CategoryDrift.id).where(CategoryDrift.category == category,
                                                             CategoryDrift.cleared_at.is_(None)))
        if measure.realised <= threshold * measure.backtest:
            if open_id is not None:
                conn.execute(update(CategoryDrift).where(CategoryDrift.id == open_id).values(cleared_at=now))
                logger.info("drift cleared category=%r run=%s", category, measure.run_id)
            continue
        # The batch's own run re-forecasts the category whatever drift_reforecast says: new actuals always do.
        drift = _drifting(conn, category, measure, threshold, queued.get(category), reforecast, settings, now)
        _record(conn, drift, open_id, now)
        found.append(drift)
    return found


def measure_current(conn: Connection, category: str) -> Measure | None:
    """The latest completed run's realised and backtest MASE; None while either is unknown or too few days."""
    run = conn.execute(select(ForecastRun.id, ForecastRun.naive_scale).where(
        ForecastRun.id == select(func.max(ForecastRun.id)).where(
            ForecastRun.category == category, ForecastRun.status == ForecastStatus.COMPLETED).scalar_subquery()
    )).first()
    if run is None or not run.naive_scale:
        return None
    days, mae = conn.execute(select(func.count(), func.avg(ForecastAccuracy.abs_error)).where(
        ForecastAccuracy.category == category, ForecastAccuracy.run_id == run.id, ForecastAccuracy.product_id == "",
        ForecastAccuracy.model_type == ModelType.RECOMMENDED.value)).one()
    backtest = _backtest_mase(conn, run.id)
    if days < MIN_SCORED_DAYS or not backtest:
        return None
    return Measure(run.id, days, float(mae) / run.naive_scale, backtest)


def _backtest_mase(conn: Connection, run_id: int) -> float | None:
    """The backtest MASE of the run's recommended forecast (its best model's in runs made before one)."""
    rows = dict(conn.execute(select(ForecastMetric.model_type, ForecastMetric.mase).where(
        ForecastMetric.run_id == run_id,
        (ForecastMetric.model_type == ModelType.RECOMMENDED.value) | ForecastMetric.is_best)).all())
    if rows.get(ModelType.RECOMMENDED.value) is not None:
        return rows[ModelType.RECOMMENDED.value]
    return next((mase for model, mase in rows.items() if model != ModelType.RECOMMENDED.value), None)


def _drift_settings(conn: Connection, category: str, settings: Settings) -> tuple[float, bool]:
    """The category's threshold (its setting, else DRIFT_THRESHOLD) and whether drifting queues a run."""
    row = conn.execute(select(CategorySetting.drift_threshold, CategorySetting.drift_reforecast)
                       .where(CategorySetting.category == category)).first()
    threshold = row.drift_threshold if row is not None and row.drift_threshold is not None else None
    reforecast = row is None or row.drift_reforecast is None or bool(row.drift_reforecast)
    return (threshold or settings.drift_threshold), reforecast


def _drifting(conn: Connection, category: str, measure: Measure, threshold: float, run_id: int | None,
              reforecast: bool, settings: Settings, now: dt.datetime) -> Drift:
    """The drift found, with the run that re-forecasts it (a new pending one unless one is queued or it is off)."""
    queued_here = run_id is None and reforecast
    if queued_here:
        run_id = conn.execute(insert(ForecastRun).values(
            category=category, batch_num=None, status=ForecastStatus.PENDING,
            horizon_days=settings.forecast_horizon_days, created_at=now)).inserted_primary_key[0]
    ratio = measure.realised / measure.backtest
    reason = (f"the recommended forecast of run {measure.run_id} has a realised MASE of {measure.realised:.2f} "
              f"over its {measure.days} scored days, {ratio:.1f} times its backtest MASE of {measure.backtest:.2f} "
              f"(threshold {threshold:g} times)")
    if run_id is not None:
        reason += f"; run {run_id} re-forecasts it"
    else:
        reason += "; not re-forecast (drift_reforecast is off)"
    return Drift(category, measure.run_id, measure.realised, measure.backtest, threshold, reason, run_id, queued_here)


def _record(conn: Connection, drift: Drift, open_id: int | None, now: dt.datetime) -> None:
    """Open the category's drift mark, or bring its open one's numbers up to date (keeping `since`)."""
    values = {"run_id": drift.run_id, "realised_mase": drift.realised_mase, "backtest_mase": drift.backtest_mase,
              "ratio": drift.realised_mase / drift.backtest_mase, "threshold": drift.threshold,
              "reason": drift.reason, "reforecast_run_id": drift.reforecast_run_id}
    if open_id is None:
        conn.execute(insert(CategoryDrift).values(category=drift.category, since=now, **values))
    else:
        conn.execute(update(CategoryDrift).where(CategoryDrift.id == open_id).values(**values))
    logger.info("drift category=%r run=%s realised_mase=%.3f backtest_mase=%.3f threshold=%g reforecast=%s",
                drift.category, drift.run_id, drift.realised_mase, drift.backtest_mase, drift.threshold,
                drift.reforecast_run_id)


def announce_drifts(engine: Engine, redis: Redis | None, settings: Settings, drifts: list[Drift]) -> None:
    """After the commit: the `category.drifting` webhook of each drift (once per category and run); never raises."""
    for drift in drifts:
        measured = {"realised_mase": round(drift.realised_mase, 4), "backtest_mase": round(drift.backtest_mase, 4),
                    "threshold": drift.threshold}
        try:
            notify(engine, redis, settings, category_drifting(drift.category, drift.run_id, drift.reason, measured))
        except Exception:  # noqa: BLE001 - a webhook must never fail the job it reports on
            logger.exception("drift webhook failed category=%r", drift.category)
