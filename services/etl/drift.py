"""Drift: is a category's current forecast doing much worse on its actuals than in its backtest?

Judged by each forecast run before it fits (`judge_replaced`: the forecast it replaces, the category's latest
completed run made before it, on the actuals stored by then), and by an undo for the categories it touched.
Never by the ETL: a batch that brings actuals queues a run for each category it wrote, and that run judges
the forecast the actuals score, so a merge pays nothing for drift and holds its lock no longer for it.

The forecast is scored against the actuals stored now (common/realised.py); the measure is kept in
category_realised for /metrics. Once at least MIN_SCORED_DAYS of its periods (days; weeks or months for a
run at those) are scored, its realised MASE (mean absolute error over the run's naive scale,
forecast_runs.naive_scale) is compared with its backtest MASE (forecast_metrics, model "recommended"; the
run's best model in runs made before the recommended forecast). Past the threshold (the category's
drift_threshold setting, else DRIFT_THRESHOLD) the category is marked drifting in category_drift with the
reason in words, and re-forecast: by the run that judged it or the run the undo queued, else by a new run
unless its drift_reforecast setting is off. A later check within the threshold clears the mark, and so does
one that finds fewer than MIN_SCORED_DAYS left of the run the mark was about (an undo took its days back).
The caller announces `category.drifting` after its commit (`announce_drifts`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from redis import Redis
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from common.config import Settings
from common.db import utcnow
from common.generation import bump_generation
from common.models import (
    CategoryDrift,
    CategoryRealised,
    CategorySetting,
    CategoryStats,
    ForecastMetric,
    ForecastRun,
)
from common.realised import recommended_scores
from common.status import ForecastStatus, ModelType
from services.hooks.events import category_drifting
from services.hooks.notify import notify

logger = logging.getLogger(__name__)

#: Fewest scored periods (days; weeks or months for runs at those) of the current forecast before it is judged.
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
    """The current forecast's realised MASE over `days` scored days (None: no day yet), and its backtest MASE
    (None: unknown)."""

    run_id: int
    days: int
    realised: float | None
    backtest: float | None
    #: The run's grain: what `days` counts.
    grain: str = "day"

    @property
    def judged(self) -> bool:
        """Enough days scored, and a backtest to compare with."""
        return self.days >= MIN_SCORED_DAYS and bool(self.backtest)


def judge_replaced(engine: Engine, redis: Redis | None, settings: Settings, run_id: int, category: str) -> list[Drift]:
    """Before run `run_id` forecasts `category`: judge the forecast it replaces (the latest completed run made
    before it) on the actuals stored now, in a transaction of its own; after the commit, renew the read
    generation (/categories shows the mark) and announce a drift.

    Checks of one category wait for each other (its category_stats row, locked first; SQLite's write lock),
    so two runs of it on two workers cannot both open a mark, and a merge writing meanwhile is waited for.
    Never raises: a failure is logged and the run forecasts all the same (the category's next run judges
    again).
    """
    try:
        with engine.connect() as conn:
            conn.info["sqlite_begin"] = "BEGIN IMMEDIATE"  # SQLite: the write lock first, not a stale read to upgrade
            with conn.begin():
                conn.execute(select(CategoryStats.category).where(CategoryStats.category == category)
                             .with_for_update())
                drifts = check_drift(conn, [category], {category: run_id}, settings, utcnow(), before=run_id)
    except Exception:  # noqa: BLE001 - drift is a report on the old forecast; the new one must not wait on it
        logger.exception("drift check failed run=%s category=%r; the category's next run judges it again",
                         run_id, category)
        return []
    bump_generation(redis, settings.queue_prefix)
    announce_drifts(engine, redis, settings, drifts)
    return drifts


def check_drift(conn: Connection, categories: list[str], queued: Mapping[str, int], settings: Settings,
                now: dt.datetime, before: int | None = None) -> list[Drift]:
    """Measure each category's current forecast (made before run `before`, when given), then mark or clear its
    drift, in the caller's transaction (a handful of set-based queries whatever the number of categories); the
    drifting categories found."""
    measures = measure_current(conn, categories, before)
    if not measures:
        return []
    _keep_measures(conn, measures.items(), now)
    wanted = sorted(measures)
    configured = _drift_settings(conn, wanted, settings)
    marks = {mark.category: mark for mark in conn.execute(
        select(CategoryDrift.category, CategoryDrift.id, CategoryDrift.run_id)
        .where(CategoryDrift.category.in_(wanted), CategoryDrift.cleared_at.is_(None)))}
    found = []
    for category in wanted:
        measure, mark = measures[category], marks.get(category)
        open_id = None if mark is None else mark.id
        threshold, reforecast = configured[category]
        if not measure.judged:
            # Too few days left of the run a mark was about (an undo took them back): its evidence is gone.
            if mark is not None and mark.run_id == measure.run_id:
                _clear(conn, category, open_id, measure, now)
            continue
        if measure.realised <= threshold * measure.backtest:
            if open_id is not None:
                _clear(conn, category, open_id, measure, now)
            continue
        # A run already queued (the judging run, or the undo's) re-forecasts it whatever drift_reforecast says.
        drift = _drifting(conn, category, measure, threshold, queued.get(category), reforecast, settings, now)
        _record(conn, drift, open_id, now)
        found.append(drift)
    return found


def measure_current(conn: Connection, categories: list[str], before: int | None = None) -> dict[str, Measure]:
    """Each category's latest completed run (of those made before run `before`, when given) measured on its
    scored days (categories with no such run, or whose run has no naive scale, are absent)."""
    wanted = sorted(set(categories))
    if not wanted:
        return {}
    earlier = [] if before is None else [ForecastRun.id < before]
    latest = (select(ForecastRun.category, func.max(ForecastRun.id).label("id"))
              .where(ForecastRun.category.in_(wanted), ForecastRun.status == ForecastStatus.COMPLETED, *earlier)
              .group_by(ForecastRun.category).subquery())
    runs = conn.execute(select(ForecastRun.id, ForecastRun.category, ForecastRun.naive_scale)
                        .join(latest, latest.c.id == ForecastRun.id).where(ForecastRun.naive_scale > 0)).all()
    scores = recommended_scores(conn, {run.id: run.category for run in runs})
    backtests = _backtest_mase(conn, [run.id for run in runs])
    measures = {}
    for run in runs:
        score = scores.get(run.id)
        measures[run.category] = Measure(run.id, score.days if score else 0,
                                         score.mae / run.naive_scale if score else None, backtests.get(run.id),
                                         score.grain if score else "day")
    return measures


def _keep_measures(conn: Connection, measures: Iterable[tuple[str, Measure]], now: dt.datetime) -> None:
    """Replace the categories' category_realised rows (what /metrics shows) with these measures (none for a
    forecast with no scored day)."""
    measures = list(measures)
    conn.execute(delete(CategoryRealised).where(CategoryRealised.category.in_([c for c, _ in measures])))
    rows = [{"category": category, "run_id": m.run_id, "days": m.days, "realised_mase": m.realised,
             "backtest_mase": m.backtest, "measured_at": now} for category, m in measures if m.days]
    if rows:
        conn.execute(insert(CategoryRealised), rows)


def _backtest_mase(conn: Connection, run_ids: list[int]) -> dict[int, float]:
    """Each run's backtest MASE of its recommended forecast (its best model's in runs made before one)."""
    if not run_ids:
        return {}
    found: dict[int, float] = {}
    rows = conn.execute(select(ForecastMetric.run_id, ForecastMetric.model_type, ForecastMetric.mase).where(
        ForecastMetric.run_id.in_(run_ids), ForecastMetric.mase.is_not(None),
        (ForecastMetric.model_type == ModelType.RECOMMENDED.value) | ForecastMetric.is_best)).all()
    for run_id, _, mase in sorted(rows, key=lambda r: r.model_type != ModelType.RECOMMENDED.value):
        found.setdefault(run_id, mase)
    return found


def _drift_settings(conn: Connection, categories: list[str], settings: Settings) -> dict[str, tuple[float, bool]]:
    """Each category's threshold (its setting, else DRIFT_THRESHOLD) and whether drifting queues a run."""
    rows = {row.category: row for row in conn.execute(
        select(CategorySetting.category, CategorySetting.drift_threshold, CategorySetting.drift_reforecast)
        .where(CategorySetting.category.in_(categories)))}
    configured = {}
    for category in categories:
        row = rows.get(category)
        threshold = row.drift_threshold if row is not None else None
        reforecast = row is None or row.drift_reforecast is None or bool(row.drift_reforecast)
        configured[category] = (threshold or settings.drift_threshold, reforecast)
    return configured


def _clear(conn: Connection, category: str, open_id: int, measure: Measure, now: dt.datetime) -> None:
    conn.execute(update(CategoryDrift).where(CategoryDrift.id == open_id).values(cleared_at=now))
    logger.info("drift cleared category=%r run=%s days=%d", category, measure.run_id, measure.days)


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
              f"over its {measure.days} scored {measure.grain}s, {ratio:.1f} times its backtest MASE of "
              f"{measure.backtest:.2f} "
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
