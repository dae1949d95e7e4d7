"""The reconciliation job: a run's staged chunks become coherent product forecasts, in one transaction.

It reads every chunk's results, the category's recommended forecast and its backtest on the same last window
(forecast_backtests, origin = the run's last day minus its horizon), chooses the reconciliation by that
window (services/forecast/products/reconcile.py), and publishes: product_forecast_data, product_forecast_
summaries, the category's recommended rows rewritten to the reconciled total (so the products add up to the
category that /forecast-data serves, every day), and the run's product_status, reconciliation and note.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from redis import Redis
from rq import get_current_job
from sqlalchemy import Connection, Engine, delete, insert, select, update

from common.config import Settings, load_settings
from common.db import make_engine
from common.generation import bump_generation
from common.logs import job_log_context
from common.metrics import JobKind, timed_job
from common.models import (
    ForecastBacktest,
    ForecastData,
    ForecastRun,
    ProductChunk,
    ProductForecastData,
    ProductForecastSummary,
)
from common.queue import connect
from common.status import ModelType, ProductStatus
from services.forecast.products.jobs import UNFINISHED, fail_products, ready_to_reconcile
from services.forecast.products.reconcile import choose, reconcile, shift_quantiles
from services.forecast.products.staging import merged

logger = logging.getLogger(__name__)

#: Quantile columns of a forecast row, in order.
BANDS = ["lower", "p10", "p50", "p90", "upper"]
#: The reconciliation used when the category's backtest on the products' window is not stored.
FALLBACK = "top_down"


@dataclass
class Coherent:
    """A run's reconciled products and category, ready to store."""

    products: pd.DataFrame
    category: pd.DataFrame
    method: str | None
    note: str | None


@timed_job(JobKind.FORECAST)
@job_log_context("run_id")
def run_product_reconcile(run_id: int) -> str:
    """RQ entry point: reconcile and publish a run's products."""
    settings = load_settings()
    engine = make_engine(settings.database_url)
    job = get_current_job()
    try:
        return process_reconcile(run_id, settings=settings, engine=engine,
                                 redis=job.connection if job else connect(settings.redis_url)) or "skipped"
    finally:
        engine.dispose()


def process_reconcile(run_id: int, *, settings: Settings, engine: Engine, redis: Redis | None = None) -> str | None:
    """Reconcile a run whose chunks are all done and publish its products; None when there is nothing to do."""
    started = time.perf_counter()
    attempts = _count_attempt(engine, run_id)
    if attempts is None:
        return None
    if attempts > settings.forecast_max_attempts:
        fail_products(engine, run_id, f"the reconciliation gave up after {settings.forecast_max_attempts} attempts "
                                      "(its job died or its write failed each time)")
        return ProductStatus.FAILED
    with engine.connect() as conn:
        run = conn.execute(select(ForecastRun).where(ForecastRun.id == run_id)).one()
        staged = merged(list(conn.scalars(select(ProductChunk.result).where(ProductChunk.run_id == run_id)
                                          .order_by(ProductChunk.chunk))))
        top = _category_rows(conn, run_id)
        window = _category_backtest(conn, run_id, run.history_end, run.horizon_periods)
    try:
        coherent = make_coherent(staged, top, window)
    except Exception as exc:
        logger.exception("product reconciliation failed run=%s", run_id)
        fail_products(engine, run_id, f"reconciliation failed: {type(exc).__name__}: {exc}")
        raise
    storing = time.perf_counter()
    if not _publish(engine, run, staged, coherent):
        return None
    bump_generation(redis, settings.queue_prefix)
    logger.info("products done run=%s method=%s reconcile=%.2fs store=%.2fs", run_id, coherent.method,
                storing - started, time.perf_counter() - storing)
    return ProductStatus.COMPLETED


def _count_attempt(engine: Engine, run_id: int) -> int | None:
    """Count one more attempt at a run's reconciliation and return it; None when its products have ended or a
    chunk is not done (nothing to reconcile yet)."""
    with engine.begin() as conn:
        if not ready_to_reconcile(conn, run_id):
            return None
        attempts = (conn.scalar(select(ForecastRun.reconcile_attempts).where(ForecastRun.id == run_id)) or 0) + 1
        conn.execute(update(ForecastRun).where(ForecastRun.id == run_id).values(reconcile_attempts=attempts))
        return attempts


def _category_rows(conn: Connection, run_id: int) -> pd.DataFrame:
    """The run's recommended category forecast: ds, value and its bands."""
    rows = conn.execute(select(ForecastData.forecast_date, ForecastData.forecast_value, ForecastData.lower_bound,
                               ForecastData.p10, ForecastData.p50, ForecastData.p90, ForecastData.upper_bound)
                        .where(ForecastData.run_id == run_id, ForecastData.model_type == ModelType.RECOMMENDED)
                        .order_by(ForecastData.forecast_date)).all()
    frame = pd.DataFrame(rows, columns=["ds", "value", *BANDS])
    frame["ds"] = pd.to_datetime(frame["ds"])
    return frame


def _category_backtest(conn: Connection, run_id: int, end: dt.date, horizon: int) -> pd.DataFrame:
    """The category's recommended forecast and actuals on the run's last backtest window (ds, value, actual)."""
    origin = end - dt.timedelta(days=horizon)
    rows = conn.execute(select(ForecastBacktest.forecast_date, ForecastBacktest.forecast_value,
                               ForecastBacktest.actual)
                        .where(ForecastBacktest.run_id == run_id, ForecastBacktest.model_type == ModelType.RECOMMENDED,
                               ForecastBacktest.origin == origin).order_by(ForecastBacktest.forecast_date)).all()
    frame = pd.DataFrame(rows, columns=["ds", "value", "actual"])
    frame["ds"] = pd.to_datetime(frame["ds"])
    return frame


def make_coherent(staged: dict, top: pd.DataFrame, window: pd.DataFrame) -> Coherent:
    """Reconcile the staged products with the category's forecast `top`, chosen on the backtest `window`."""
    forecasts = staged["forecasts"]
    if forecasts is None or forecasts.empty:
        return Coherent(pd.DataFrame(), top, None, "no product had enough history to be forecast")
    values = forecasts.pivot(index="unique_id", columns="ds", values="value")
    if top.empty or list(values.columns) != list(top["ds"]):
        raise ValueError("the products' forecast days differ from the category's")
    method, note = _choose(staged, values.index, window)
    products = reconcile(method, top["value"].to_numpy(), values.to_numpy(), *_insample(staged, values.index,
                                                                                           window))
    return Coherent(_products_frame(forecasts, values, products), _category_frame(top, products.sum(axis=0)),
                    method, note)


def _window(staged: dict, products: pd.Index, window: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """(forecasts, actuals) on the backtest window, category first, or None when the category's is not stored."""
    tested = staged["backtests"]
    value = tested.pivot(index="unique_id", columns="ds", values="value").reindex(products)
    actual = tested.pivot(index="unique_id", columns="ds", values="actual").reindex(products)
    if window.empty or list(value.columns) != list(window["ds"]) or window["actual"].isna().any():
        return None
    fitted = np.vstack([window["value"].to_numpy()[None, :], value.to_numpy()])
    sold = np.vstack([window["actual"].to_numpy()[None, :], actual.fillna(0.0).to_numpy()])
    return fitted, sold


def _insample(staged: dict, products: pd.Index, window: pd.DataFrame) -> tuple:
    found = _window(staged, products, window)
    return (found[1], found[0]) if found is not None else (None, None)


def _choose(staged: dict, products: pd.Index, window: pd.DataFrame) -> tuple[str, str | None]:
    """The reconciliation chosen by the backtest window, and a note when it could not be chosen."""
    found = _window(staged, products, window)
    if found is None:
        return FALLBACK, f"the category's backtest on the products' window is missing: {FALLBACK} used"
    fitted, sold = found
    scales = staged["summaries"].set_index("unique_id")["naive_scale"].reindex(products).fillna(1.0).to_numpy()
    method, _ = choose(fitted[0], fitted[1:], sold, np.concatenate([[scales.sum()], scales]))
    return method, None


def _products_frame(forecasts: pd.DataFrame, values: pd.DataFrame, reconciled: np.ndarray) -> pd.DataFrame:
    """The products' rows with reconciled values and their bands moved with them."""
    new = pd.DataFrame(reconciled, index=values.index, columns=values.columns).stack().rename("new")
    out = forecasts.join(new, on=["unique_id", "ds"])
    out[BANDS] = shift_quantiles(out[BANDS].to_numpy(), out["value"].to_numpy(), out["new"].to_numpy())
    out["value"] = out["new"]
    return out.drop(columns="new")


def _category_frame(top: pd.DataFrame, total: np.ndarray) -> pd.DataFrame:
    """The category's recommended rows moved to the products' reconciled total."""
    out = top.copy()
    # Runs made before quantiles have no p10/p50/p90: the value stands in, so the bands still sort in place.
    bands = out[BANDS].astype("float64").apply(lambda column: column.fillna(out["value"]))
    out[BANDS] = shift_quantiles(bands.to_numpy(), out["value"].to_numpy(), total)
    out["value"] = total
    return out


def _publish(engine: Engine, run: object, staged: dict, coherent: Coherent) -> bool:
    """Write the products and the category's reconciled rows and end the run's products; False when they ended."""
    with engine.begin() as conn:
        status = conn.scalar(select(ForecastRun.product_status).where(ForecastRun.id == run.id).with_for_update())
        if status not in UNFINISHED:
            return False
        conn.execute(delete(ProductForecastData).where(ProductForecastData.run_id == run.id))
        conn.execute(delete(ProductForecastSummary).where(ProductForecastSummary.run_id == run.id))
        _insert_products(conn, run, coherent.products)
        _insert_summaries(conn, run, staged)
        _rewrite_category(conn, run.id, coherent.category)
        conn.execute(update(ForecastRun).where(ForecastRun.id == run.id).values(
            product_status=ProductStatus.COMPLETED, reconciliation=coherent.method, product_note=coherent.note,
            products_done=ForecastRun.products_total))
        conn.execute(update(ProductChunk).where(ProductChunk.run_id == run.id).values(result=None))
    return True


def _insert_products(conn: Connection, run: object, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    rows = [{"run_id": run.id, "category": run.category, "product_id": str(r.unique_id), "model_type": r.method,
             "forecast_date": r.ds.date(), "forecast_value": float(r.value), "lower_bound": float(r.lower),
             "upper_bound": float(r.upper), "p10": float(r.p10), "p50": float(r.p50), "p90": float(r.p90)}
            for r in frame.itertuples(index=False)]
    for start in range(0, len(rows), 10_000):
        conn.execute(insert(ProductForecastData), rows[start:start + 10_000])


def _insert_summaries(conn: Connection, run: object, staged: dict) -> None:
    rows = []
    if staged["summaries"] is not None:
        rows += [{"run_id": run.id, "product_id": str(r.unique_id), "category": run.category, "status": "forecast",
                  "method": r.method, "mase": _number(r.mase), "mae": _number(r.mae),
                  "naive_scale": _number(r.naive_scale), "volume": staged["volume"].get(str(r.unique_id), 0.0),
                  "selling_days": staged["selling_days"].get(str(r.unique_id), 0), "note": None}
                 for r in staged["summaries"].itertuples(index=False)]
    rows += [{"run_id": run.id, "product_id": product, "category": run.category, "status": "skipped",
              "method": None, "mase": None, "mae": None, "naive_scale": None,
              "volume": staged["volume"].get(product, 0.0), "selling_days": staged["selling_days"].get(product, 0),
              "note": why} for product, why in staged["skipped"].items()]
    for start in range(0, len(rows), 10_000):
        conn.execute(insert(ProductForecastSummary), rows[start:start + 10_000])


def _rewrite_category(conn: Connection, run_id: int, frame: pd.DataFrame) -> None:
    """The category's recommended rows set to the reconciled total (the products' sum), day by day."""
    for r in frame.itertuples(index=False):
        conn.execute(update(ForecastData).where(
            ForecastData.run_id == run_id, ForecastData.model_type == ModelType.RECOMMENDED,
            ForecastData.forecast_date == r.ds.date()).values(
            forecast_value=float(r.value), lower_bound=float(r.lower), upper_bound=float(r.upper),
            p10=_number(r.p10), p50=_number(r.p50), p90=_number(r.p90)))


def _number(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
