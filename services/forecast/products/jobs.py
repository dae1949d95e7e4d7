"""The product jobs: a run's products split into chunks on the forecast queue, then one reconciliation job.

When a daily category run publishes its forecast, `plan_products` (in the same transaction) decides whether
its products are forecast (the category's `product_forecasts` setting; by default when it has at most
PRODUCT_FORECAST_MAX products), cuts them into chunks of PRODUCT_CHUNK_SIZE (product_chunks rows) and marks the
run's products queued. Each chunk is one RQ job (`run_product_chunk`), shared by every forecast worker; its
results are staged in its row, so a chunk that is done is never redone. The chunk that finds every chunk done
(decided under the run's row lock) queues the reconciliation (`run_product_reconcile`, services/forecast/
products/finish.py). common/reconcile.py re-queues the chunks and the reconciliation of a run whose jobs Redis
lost or whose worker died; attempts are bounded by FORECAST_MAX_ATTEMPTS, after which the products fail (the
category's forecast stays), so no run waits for ever.
"""

from __future__ import annotations

import json
import logging
import time

import pandas as pd
from redis import Redis
from rq import get_current_job
from sqlalchemy import Connection, Engine, delete, insert, select, update

from common.config import Settings, load_settings
from common.db import make_engine
from common.grain import Grain
from common.logs import job_log_context
from common.metrics import JobKind, timed_job
from common.models import CategorySetting, ForecastRun, ProductChunk
from common.queue import connect, enqueue_product_chunk, enqueue_product_reconcile
from common.status import ChunkStatus, ProductStatus
from services.forecast.products.backtest import forecast_products
from services.forecast.products.series import (
    HISTORY_DAYS,
    category_products,
    load_product_rows,
    product_series,
)
from services.forecast.products.staging import pack
from services.forecast.series import holiday_frame, load_events, with_events

logger = logging.getLogger(__name__)

#: Product statuses of a run whose product jobs are still to end.
UNFINISHED = (ProductStatus.QUEUED, ProductStatus.RUNNING)


def products_wanted(conn: Connection, category: str, grain: Grain, settings: Settings) -> tuple[bool, str | None]:
    """Whether the run's products are forecast, and a note for the planner when they are not (None: off by
    the category's own setting)."""
    setting = conn.scalar(select(CategorySetting.product_forecasts).where(CategorySetting.category == category))
    if setting is False:
        return False, None
    if grain is not Grain.DAY:
        return False, f"products are forecast at days only; this run forecast {grain.value}s"
    if setting is None:
        count = len(category_products(conn, category))
        if count > settings.product_forecast_max:
            return False, (f"{count} products: more than PRODUCT_FORECAST_MAX ({settings.product_forecast_max}); "
                           "switch them on for this category with its product_forecasts setting")
    return True, None


def plan_products(conn: Connection, run_id: int, category: str, grain: Grain, settings: Settings) -> int:
    """In the run's publishing transaction: cut its products into chunks when they are forecast; return how
    many chunks (0: products not forecast, the run's product_note says why when it is not the setting)."""
    wanted, note = products_wanted(conn, category, grain, settings)
    conn.execute(delete(ProductChunk).where(ProductChunk.run_id == run_id))
    products = category_products(conn, category) if wanted else []
    if not products:
        conn.execute(update(ForecastRun).where(ForecastRun.id == run_id).values(product_note=note))
        return 0
    size = settings.product_chunk_size
    chunks = [products[i:i + size] for i in range(0, len(products), size)]
    conn.execute(insert(ProductChunk), [{"run_id": run_id, "chunk": i, "products": json.dumps(ids),
                                         "status": ChunkStatus.PENDING} for i, ids in enumerate(chunks)])
    conn.execute(update(ForecastRun).where(ForecastRun.id == run_id).values(
        product_status=ProductStatus.QUEUED, products_total=len(products), products_done=0, products_skipped=0,
        reconciliation=None, product_note=None))
    return len(chunks)


def start_products(engine: Engine, redis: Redis | None, run_id: int, settings: Settings) -> None:
    """Queue a run's product chunks that are not done (after its publishing transaction committed)."""
    if redis is None:
        return
    try:
        with engine.connect() as conn:
            chunks = pending_chunks(conn, run_id)
        for chunk in chunks:
            enqueue_product_chunk(redis, run_id, chunk, prefix=settings.queue_prefix)
    except Exception:  # noqa: BLE001 - the run is published; the maintenance round queues what is missing
        logger.warning("could not queue the product jobs run=%s; recovery will", run_id)
        return
    if chunks:
        logger.info("products queued run=%s chunks=%d", run_id, len(chunks))


@timed_job(JobKind.FORECAST)
@job_log_context("run_id")
def run_product_chunk(run_id: int, chunk: int) -> str:
    """RQ entry point: forecast one chunk of a run's products."""
    settings = load_settings()
    engine = make_engine(settings.database_url)
    job = get_current_job()
    try:
        return process_chunk(run_id, chunk, settings=settings, engine=engine,
                             redis=job.connection if job else connect(settings.redis_url)) or "skipped"
    finally:
        engine.dispose()


def process_chunk(run_id: int, chunk: int, *, settings: Settings, engine: Engine,
                  redis: Redis | None = None) -> str | None:
    """Forecast one chunk and stage its results; queue the reconciliation when it was the last. None: skipped."""
    claim = _claim_chunk(engine, run_id, chunk)
    if claim is None:
        logger.info("product chunk skip run=%s chunk=%s: done or products ended", run_id, chunk)
        _queue_reconcile_if_ready(engine, redis, run_id, settings)
        return None
    run, products, attempts = claim
    if attempts > settings.forecast_max_attempts:
        fail_products(engine, run_id, f"chunk {chunk} gave up after {settings.forecast_max_attempts} attempts")
        return ChunkStatus.FAILED
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            start = max(run.history_start, run.history_end - pd.Timedelta(days=HISTORY_DAYS - 1).to_pytimedelta())
            rows = load_product_rows(conn, run.category, products, start, run.history_end)
            events = load_events(conn, run.category)
        series = product_series(rows, products, run.history_end, run.horizon_periods)
        holidays = _holidays(run, events)
        result = (forecast_products(series.frame, run.horizon_periods, settings.forecast_interval, holidays)
                  if not series.frame.empty else None)
    except Exception:
        _release_chunk(engine, run_id, chunk)
        raise
    staging = time.perf_counter()
    _finish_chunk(engine, run_id, chunk, pack(result, series), len(products), len(series.skipped))
    seconds = result.seconds if result is not None else {}
    # The time split is logged for operators and bench/products.py (which reads these lines).
    logger.info("product chunk done run=%s chunk=%s products=%d skipped=%d total=%.2fs backtest=%.2fs fit=%.2fs "
                "stage=%.2fs", run_id, chunk, len(products), len(series.skipped), time.perf_counter() - started,
                seconds.get("backtest", 0.0), seconds.get("fit", 0.0), time.perf_counter() - staging)
    _queue_reconcile_if_ready(engine, redis, run_id, settings)
    return ChunkStatus.DONE


def _holidays(run: object, events: pd.DataFrame) -> set:
    """The run's holiday and event days, for the global model's holiday feature."""
    end = pd.Timestamp(run.history_end) + pd.Timedelta(days=run.horizon_periods)
    frame = with_events(holiday_frame(run.holiday_country, pd.Timestamp(run.history_start), end), events)
    return {pd.Timestamp(day).date() for day in frame["ds"]}


def _claim_chunk(engine: Engine, run_id: int, chunk: int) -> tuple | None:
    """Mark a chunk running (and its run's products); None when it is done or the run's products ended."""
    with engine.begin() as conn:
        run = conn.execute(select(ForecastRun).where(ForecastRun.id == run_id)).one_or_none()
        if run is None or run.product_status not in UNFINISHED:
            return None
        taken = conn.execute(update(ProductChunk).where(
            ProductChunk.run_id == run_id, ProductChunk.chunk == chunk,
            ProductChunk.status.in_((ChunkStatus.PENDING, ChunkStatus.RUNNING)))
            .values(status=ChunkStatus.RUNNING, attempts=ProductChunk.attempts + 1)).rowcount
        if not taken:
            return None
        row = conn.execute(select(ProductChunk.products, ProductChunk.attempts).where(
            ProductChunk.run_id == run_id, ProductChunk.chunk == chunk)).one()
        conn.execute(update(ForecastRun).where(ForecastRun.id == run_id,
                                               ForecastRun.product_status == ProductStatus.QUEUED)
                     .values(product_status=ProductStatus.RUNNING))
    return run, json.loads(row.products), row.attempts


def _release_chunk(engine: Engine, run_id: int, chunk: int) -> None:
    """A chunk whose job raised goes back to pending (its attempts stay counted) for RQ's retry or recovery."""
    try:
        with engine.begin() as conn:
            conn.execute(update(ProductChunk).where(ProductChunk.run_id == run_id, ProductChunk.chunk == chunk,
                                                    ProductChunk.status == ChunkStatus.RUNNING)
                         .values(status=ChunkStatus.PENDING))
    except Exception:  # noqa: BLE001 - the database may be what is down; recovery sees the chunk running
        logger.warning("could not release product chunk run=%s chunk=%s", run_id, chunk)


def _finish_chunk(engine: Engine, run_id: int, chunk: int, blob: bytes, products: int, skipped: int) -> None:
    """Stage a chunk's results and count its products done, once (a chunk already done is left alone)."""
    with engine.begin() as conn:
        conn.execute(select(ForecastRun.id).where(ForecastRun.id == run_id).with_for_update())
        done = conn.execute(update(ProductChunk).where(
            ProductChunk.run_id == run_id, ProductChunk.chunk == chunk, ProductChunk.status != ChunkStatus.DONE)
            .values(status=ChunkStatus.DONE, result=blob)).rowcount
        if done:
            conn.execute(update(ForecastRun).where(ForecastRun.id == run_id).values(
                products_done=ForecastRun.products_done + products,
                products_skipped=ForecastRun.products_skipped + skipped))


def pending_chunks(conn: Connection, run_id: int) -> list[int]:
    """The chunks of a run whose products are unfinished and that are not done, in order."""
    status = conn.scalar(select(ForecastRun.product_status).where(ForecastRun.id == run_id))
    if status not in UNFINISHED:
        return []
    return list(conn.scalars(select(ProductChunk.chunk).where(
        ProductChunk.run_id == run_id, ProductChunk.status.in_((ChunkStatus.PENDING, ChunkStatus.RUNNING)))
        .order_by(ProductChunk.chunk)))


def chunks_left(conn: Connection, run_id: int) -> int:
    """How many chunks of a run are not done (read with a lock, so the last chunk to finish sees the others)."""
    return len(conn.scalars(select(ProductChunk.chunk).where(
        ProductChunk.run_id == run_id, ProductChunk.status != ChunkStatus.DONE).with_for_update()).all())


def ready_to_reconcile(conn: Connection, run_id: int) -> bool:
    """The run's products are unfinished and every chunk is done (the run's row locked for the caller's
    transaction)."""
    status = conn.scalar(select(ForecastRun.product_status).where(ForecastRun.id == run_id).with_for_update())
    return status in UNFINISHED and chunks_left(conn, run_id) == 0


def _queue_reconcile_if_ready(engine: Engine, redis: Redis | None, run_id: int, settings: Settings) -> None:
    """Queue the run's reconciliation when its products are unfinished and every chunk is done."""
    with engine.begin() as conn:
        ready = ready_to_reconcile(conn, run_id)
    if ready and redis is not None:
        enqueue_product_reconcile(redis, run_id, prefix=settings.queue_prefix)


def fail_products(engine: Engine, run_id: int, why: str) -> None:
    """End a run's products as failed (the category's forecast stays as published)."""
    with engine.begin() as conn:
        conn.execute(update(ForecastRun).where(ForecastRun.id == run_id,
                                               ForecastRun.product_status.in_(UNFINISHED))
                     .values(product_status=ProductStatus.FAILED, product_note=why))
        conn.execute(update(ProductChunk).where(ProductChunk.run_id == run_id).values(result=None))
    logger.info("products failed run=%s: %s", run_id, why)
