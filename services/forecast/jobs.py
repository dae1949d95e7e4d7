"""The forecast job: one category's run, from its stored history to published forecasts and metrics.

The run first plans the category (services/forecast/plan.py: its grain, anchor and horizon in periods, from
its settings and stored dates), then sums the history to that grain. A category whose dates fit no grain (or
whose grain setting is finer than its data) fails with the problem in words, in `grain_problem` and
`error_log`, never a guess.

`run_forecast(run_id)` is what RQ calls; `process_run` does the work with injected dependencies.
The database session is closed while the models fit (minutes, not milliseconds) and a new
transaction publishes the run's forecasts, metrics, backtest forecasts and status at once, then rolls
the batch's `forecast_status` up from all its runs. A run that already ended is left alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
from redis import Redis
from rq import get_current_job
from sqlalchemy import Connection, Engine, insert, select, update

from common.config import Settings, load_settings
from common.db import make_engine, utcnow
from common.generation import bump_generation
from common.grain import Grain
from common.logs import bind_log_fields, job_log_context
from common.metrics import JobKind, timed_job
from common.models import ForecastBacktest, ForecastData, ForecastMetric, ForecastRun, UploadMetadata
from common.queue import connect
from common.status import ForecastStatus, ModelType
from services.etl.drift import judge_replaced
from services.forecast.backtest import CategoryForecast, forecast_category
from services.forecast.metrics import naive_scale
from services.forecast.models import FitFunction, fitters
from services.forecast.periods import future_periods
from services.forecast.plan import Plan, make_plan
from services.forecast.products.jobs import plan_products, start_products
from services.forecast.series import (
    GrainSeries,
    grain_series,
    grain_settings,
    holiday_country,
    holiday_frame,
    load_events,
    load_totals,
    with_events,
)
from services.hooks.events import forecasts_ended
from services.hooks.notify import announces

logger = logging.getLogger(__name__)

_ENDED = (ForecastStatus.COMPLETED, ForecastStatus.FAILED)


@dataclass(frozen=True)
class RunClaim:
    """A run this job has taken."""

    run_id: int
    category: str
    batch_num: int | None
    horizon: int
    attempts: int


@timed_job(JobKind.FORECAST)
@job_log_context("run_id")
def run_forecast(run_id: int) -> str:
    """RQ entry point: forecast one run's category with settings from the environment."""
    settings = load_settings()
    engine = make_engine(settings.database_url)
    job = get_current_job()
    try:
        status = process_run(run_id, settings=settings, engine=engine, job_id=job.id if job else "",
                             redis=job.connection if job else connect(settings.redis_url))
        return status or "skipped"
    finally:
        engine.dispose()


@announces(forecasts_ended)  # webhooks: forecasts.finished once the run's batch has no run left to end
def process_run(run_id: int, *, settings: Settings, engine: Engine, job_id: str = "",
                models: dict[ModelType, FitFunction] | None = None, redis: Redis | None = None) -> str | None:
    """Forecast one run; return its final status, or None when it had already ended.

    With `redis`, the read generation is renewed after the claim and after the run ends (common/generation.py).
    """
    claim = claim_run(engine, run_id)
    bind_log_fields(batch_num=claim.batch_num if claim else None)
    if claim is None:
        logger.info("forecast skip run=%s job=%s: already ended", run_id, job_id)
        return None
    bump_generation(redis, settings.queue_prefix)  # /categories shows the run running
    try:
        status = _forecast_claimed(claim, settings=settings, engine=engine, job_id=job_id, models=models, redis=redis)
        if status == ForecastStatus.COMPLETED:
            start_products(engine, redis, claim.run_id, settings)
        return status
    finally:
        bump_generation(redis, settings.queue_prefix)  # published, failed or pending again: cached reads obsolete


def _forecast_claimed(claim: RunClaim, *, settings: Settings, engine: Engine, job_id: str,
                      models: dict[ModelType, FitFunction] | None, redis: Redis | None) -> str | None:
    run_id = claim.run_id
    if claim.attempts > settings.forecast_max_attempts:
        return finish_failed(engine, claim, f"gave up after {settings.forecast_max_attempts} attempts")
    logger.info("forecast start run=%s category=%r batch=%s job=%s", run_id, claim.category, claim.batch_num, job_id)
    judge_replaced(engine, redis, settings, run_id, claim.category)  # the forecast this run replaces, on its actuals
    try:
        with engine.connect() as conn:
            rows = load_totals(conn, claim.category)
            grain, horizon = grain_settings(conn, claim.category)
            country = holiday_country(conn, claim.category, settings.holiday_country)
            events = load_events(conn, claim.category)
        if not rows:
            return finish_failed(engine, claim, f"category {claim.category!r} has no stored data")
        plan = make_plan([day for day, _ in rows], grain, horizon, claim.horizon)
        if plan.problem is not None:
            return finish_failed(engine, claim, plan.problem, grain_problem=True)
        made = grain_series(rows, plan.grain, plan.week_start, plan.data_grain)
        history = made.series
        if history.empty:
            return finish_failed(engine, claim, f"not one whole {plan.grain.value} is stored: "
                                 + "; ".join(made.notes), grain_problem=True)
        holidays = with_events(
            holiday_frame(country, history.index[0], future_periods(history, plan.horizon)[-1]), events)
        result = forecast_category(history, plan.horizon, holidays, settings.forecast_interval,
                                   models if models is not None else fitters())
        status = publish(engine, claim, made, country, result, plan, settings=settings)
    except Exception as exc:
        _record_crash(engine, claim, settings.forecast_max_attempts, exc, job_id)
        raise
    logger.info("forecast done run=%s category=%r status=%s best=%s errors=%s", run_id, claim.category, status,
                result.best, sorted(result.errors))
    return status


def claim_run(engine: Engine, run_id: int) -> RunClaim | None:
    """Mark a run running (and its batch's forecasts running); None when the run already ended."""
    with engine.begin() as conn:
        taken = conn.execute(
            update(ForecastRun).where(ForecastRun.id == run_id, ForecastRun.status.not_in(_ENDED))
            .values(status=ForecastStatus.RUNNING, started_at=utcnow(), attempts=ForecastRun.attempts + 1)
        ).rowcount
        if not taken:
            return None
        run = conn.execute(select(ForecastRun).where(ForecastRun.id == run_id)).one()
        if run.batch_num is not None:
            conn.execute(update(UploadMetadata).where(UploadMetadata.batch_num == run.batch_num,
                                                      UploadMetadata.forecast_status == ForecastStatus.PENDING)
                         .values(forecast_status=ForecastStatus.RUNNING))
    return RunClaim(run.id, run.category, run.batch_num, run.horizon_days, run.attempts)


def publish(engine: Engine, claim: RunClaim, made: GrainSeries, country: str | None,
            result: CategoryForecast, plan: Plan, *, settings: Settings | None = None) -> str | None:
    """Write the run's forecasts, metrics and backtest forecasts and end it, in one transaction; roll the batch up.

    With `settings`, a completed run's products are planned in the same transaction (products/jobs.py), so a
    worker dying after the commit cannot lose them.

    Returns the run's status, or None when a later claim of the same run owns it (nothing written).
    """
    history = made.series
    status = ForecastStatus.COMPLETED if result.forecasts else ForecastStatus.FAILED
    with _ending_run(engine, claim.batch_num) as conn:
        if not _still_ours(conn, claim):
            logger.info("forecast run=%s was taken over by a later attempt; discarding", claim.run_id)
            return None
        _insert_forecasts(conn, claim, result)
        _insert_metrics(conn, claim, result)
        _insert_backtests(conn, claim, history, result)
        conn.execute(update(ForecastRun).where(ForecastRun.id == claim.run_id).values(
            status=status, finished_at=utcnow(), holiday_country=country,
            history_start=history.index[0].date(), history_end=history.index[-1].date(),
            error_log=_error_log(result, made.notes), recommended_method=result.method,
            naive_scale=naive_scale(history),  # realised MASE's denominator (common/realised.py)
            **_grain_fields(claim, plan),
        ))
        roll_up(conn, claim.batch_num)
        if settings is not None and status == ForecastStatus.COMPLETED:
            plan_products(conn, claim.run_id, claim.category, plan.grain, settings)
    return status


@contextmanager
def _ending_run(engine: Engine, batch_num: int | None) -> Iterator[Connection]:
    """The transaction that ends a run: write-locked from the start, with the run's batch row locked.

    Runs of one batch ending at once must roll up one after the other, each seeing the others' status.
    """
    with engine.connect() as conn:
        conn.info["sqlite_begin"] = "BEGIN IMMEDIATE"
        with conn.begin():
            if batch_num is not None:
                conn.execute(select(UploadMetadata.batch_num).where(UploadMetadata.batch_num == batch_num)
                             .with_for_update())
            yield conn


def _grain_fields(claim: RunClaim, plan: Plan) -> dict[str, object]:
    """The run's grain columns; horizon_days keeps meaning days (a daily run's horizon, else as requested)."""
    days = plan.horizon if plan.grain is Grain.DAY else claim.horizon
    return {"grain": plan.grain.value, "grain_anchor": plan.anchor, "horizon_periods": plan.horizon,
            "horizon_days": days, "grain_problem": None}


def _error_log(result: CategoryForecast, notes: list[str] | None = None) -> str | None:
    """Per-model failures, backtests that could not run, and what was done to the series ("series"), as a JSON
    object (None when all went well)."""
    log = {m.value: reason for m, reason in result.errors.items()}
    log.update({f"{m.value} backtest": reason for m, reason in result.backtest_errors.items()})
    if notes:
        log["series"] = "; ".join(notes)
    return json.dumps(log) if log else None


def _still_ours(conn: Connection, claim: RunClaim) -> bool:
    # A run queued twice (say, by reconcile while a slow worker held it) is published by its latest claim only.
    row = conn.execute(select(ForecastRun.status, ForecastRun.attempts).where(ForecastRun.id == claim.run_id)
                       .with_for_update()).one()
    return row.status == ForecastStatus.RUNNING and row.attempts == claim.attempts


def _insert_forecasts(conn: Connection, claim: RunClaim, result: CategoryForecast) -> None:
    rows = [
        {"run_id": claim.run_id, "batch_num": claim.batch_num, "category": claim.category, "model_type": model.value,
         **day}
        for model, frame in result.forecasts.items() for day in _day_rows(frame, QUANTILE_COLUMNS)
    ]
    if rows:
        conn.execute(insert(ForecastData), rows)


def _insert_backtests(conn: Connection, claim: RunClaim, history: pd.Series, result: CategoryForecast) -> None:
    """Each model's forecasts on its backtest windows, with the day's actual (from the history the run saw)."""
    rows = []
    for model, folds in result.backtests.items():
        for cut, frame in folds.items():
            actuals = _optional_floats(history.reindex(frame.index))
            origin = history.index[cut - 1].date()
            rows += [{"run_id": claim.run_id, "category": claim.category, "model_type": model.value,
                      "origin": origin, **day, "actual": actual}
                     for day, actual in zip(_day_rows(frame), actuals, strict=True)]
    if rows:
        conn.execute(insert(ForecastBacktest), rows)


#: The quantile columns forecast_data stores (None where a frame has none).
QUANTILE_COLUMNS = ("p10", "p50", "p90")


def _day_rows(frame: pd.DataFrame, quantiles: tuple[str, ...] = ()) -> list[dict[str, object]]:
    """A forecast frame's days as row values: forecast_date, the value and bounds, and the `quantiles`.

    Read column by column (pandas' iterrows built a Series per day: 56 ms of each run's publish).
    """
    columns = {"forecast_value": frame["value"].astype("float64").tolist(),
               "lower_bound": frame["lower"].astype("float64").tolist(),
               "upper_bound": frame["upper"].astype("float64").tolist()}
    columns.update({name: _optional_floats(frame[name]) if name in frame else [None] * len(frame)
                    for name in quantiles})
    return [{"forecast_date": day, **{key: values[i] for key, values in columns.items()}}
            for i, day in enumerate(frame.index.date)]


def _optional_floats(values: pd.Series) -> list[float | None]:
    """Floats, with None for a missing (NaN) value."""
    return [None if pd.isna(value) else float(value) for value in values.tolist()]


def _insert_metrics(conn: Connection, claim: RunClaim, result: CategoryForecast) -> None:
    rows = []
    for model in ModelType:
        if model not in result.forecasts and model not in result.errors:
            continue
        metrics = result.metrics.get(model)
        rows.append({
            "run_id": claim.run_id, "category": claim.category, "model_type": model.value,
            "mae": metrics and metrics.mae, "rmse": metrics and metrics.rmse, "smape": metrics and metrics.smape,
            "mase": metrics.mase if metrics else None, "coverage": metrics and metrics.coverage,
            "coverage80": metrics.coverage80 if metrics else None, "wql": metrics.wql if metrics else None,
            "error_level": metrics.error_level if metrics else None,
            "error_ar": metrics.error_ar if metrics else None,
            "is_best": model == result.best, "fit_seconds": result.seconds.get(model),
            "error": result.errors.get(model),
        })
    if rows:
        conn.execute(insert(ForecastMetric), rows)


def roll_up(conn: Connection, batch_num: int | None) -> None:
    """Set a batch's forecast_status from all its runs: running until the last ends, then the outcome."""
    if batch_num is None:
        return
    # DISTINCT: each run's end reads at most the four statuses, not one row per run of the batch (O(runs) a job).
    statuses = set(conn.scalars(select(ForecastRun.status).where(ForecastRun.batch_num == batch_num).distinct()))
    conn.execute(update(UploadMetadata).where(UploadMetadata.batch_num == batch_num)
                 .values(forecast_status=rolled_status(statuses)))


def rolled_status(statuses: set[str]) -> ForecastStatus:
    """A batch's forecast_status from the set of its runs' statuses.

    Pending while nothing started; running until the last run ends; then completed (all completed),
    failed (none completed) or partial (some completed, some failed).
    """
    if statuses - set(_ENDED):
        return ForecastStatus.RUNNING if statuses - {ForecastStatus.PENDING} else ForecastStatus.PENDING
    if ForecastStatus.FAILED not in statuses:
        return ForecastStatus.COMPLETED
    return ForecastStatus.PARTIAL if ForecastStatus.COMPLETED in statuses else ForecastStatus.FAILED


def finish_failed(engine: Engine, claim: RunClaim, message: str, grain_problem: bool = False) -> str:
    """End a run as failed with `message` (also its `grain_problem` when that is what stopped it); roll its
    batch up."""
    with _ending_run(engine, claim.batch_num) as conn:
        conn.execute(update(ForecastRun).where(ForecastRun.id == claim.run_id).values(
            status=ForecastStatus.FAILED, finished_at=utcnow(), error_log=json.dumps({"run": message}),
            grain_problem=message if grain_problem else None))
        roll_up(conn, claim.batch_num)
    logger.info("forecast failed run=%s: %s", claim.run_id, message)
    return ForecastStatus.FAILED


def _record_crash(engine: Engine, claim: RunClaim, max_attempts: int, exc: Exception, job_id: str) -> None:
    what = f"{type(exc).__name__} on attempt {claim.attempts} of {max_attempts}"
    logger.exception("forecast error run=%s job=%s: %s", claim.run_id, job_id, what)
    try:
        if claim.attempts >= max_attempts:
            finish_failed(engine, claim, f"internal error ({what}); the worker log has the details")
        else:
            with engine.begin() as conn:
                conn.execute(update(ForecastRun).where(ForecastRun.id == claim.run_id).values(
                    status=ForecastStatus.PENDING, error_log=json.dumps({"run": f"{what}; it will be retried"})))
    except Exception:  # noqa: BLE001 - the database may be what is down; the retry will tell
        logger.warning("could not record the error run=%s", claim.run_id)
