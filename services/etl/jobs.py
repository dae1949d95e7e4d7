"""The ETL job: read a stored upload in chunks, validate, stage, and merge it in one transaction.

`run_etl(batch_num)` is what RQ calls; it builds its dependencies and hands over to
`process_batch`, which tests call directly with SQLite and fakeredis. A job is safe to run twice:
a batch that is already completed or failed is left alone, and a batch finished by another job
while this one worked is detected under a row lock before anything is written.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError
from rq import get_current_job
from sqlalchemy import Connection, Engine, delete, insert, select, update

from common.config import Settings, load_settings
from common.db import make_engine, utcnow
from common.fileformat import FileKind, FileProblem, inspect_file
from common.generation import bump_generation
from common.logs import job_log_context
from common.mapping import Mapping, parse_mapping
from common.metrics import JobKind, record_rows, recorder, timed_job
from common.models import MAX_SALES_CENTS, BatchError, ForecastRun, UploadMetadata
from common.queue import connect, enqueue_forecast
from common.status import BatchStatus, ForecastStatus
from common.storage import UploadStore, open_store
from services.etl.impute import impute
from services.etl.load import BatchLoader, MergeCounts, retry_lock_conflicts
from services.etl.reader import read_chunks
from services.etl.tally import BatchRejected, Tally
from services.etl.validate import validate
from services.hooks.events import batch_ended
from services.hooks.notify import announces

logger = logging.getLogger(__name__)

#: Share of the progress bar spent reading and staging; the merge takes the rest.
READ_SHARE = 0.9


@dataclass(frozen=True)
class Claim:
    """A batch this job has taken: where its file is, and which attempt this is."""

    batch_num: int
    stored_filename: str
    file_hash: str
    attempts: int
    mapping: Mapping = Mapping()


@dataclass(frozen=True)
class Outcome:
    """What a completed ETL wrote."""

    batch_num: int
    counts: MergeCounts
    tally: Tally
    run_ids: list[int]
    #: Seconds the merge took (classify, journal, write the rows, create the runs). Realised accuracy is
    #: computed when read (common/realised.py) and drift judged by each category's next run
    #: (services/etl/drift.py): the ETL does neither.
    merge_seconds: float = 0.0


@timed_job(JobKind.ETL, failed=(BatchRejected,))
@job_log_context("batch_num")
def run_etl(batch_num: int) -> str:
    """RQ entry point: process one batch with settings from the environment."""
    settings = load_settings()
    engine = make_engine(settings.database_url)
    job = get_current_job()
    try:
        outcome = process_batch(batch_num, settings=settings, engine=engine,
                                store=open_store(settings),
                                redis=job.connection if job else connect(settings.redis_url),
                                job_id=job.id if job else "")
        return "skipped" if outcome is None else "completed"
    except BatchRejected:
        if job is not None:
            job.retries_left = 0  # a bad file stays bad: fail the job without queueing retries that would only skip
        raise
    finally:
        engine.dispose()


@announces(batch_ended)  # webhooks: batch.completed / batch.failed, after the batch's own commit
def process_batch(batch_num: int, *, settings: Settings, engine: Engine, store: UploadStore,
                  redis: Redis, job_id: str = "") -> Outcome | None:
    """Load one batch; None when there was nothing to do. Raises after recording a failure."""
    claim = claim_batch(engine, batch_num)
    if claim is None:
        logger.info("etl skip batch=%s job=%s: not waiting to be processed", batch_num, job_id)
        return None
    if claim.attempts > settings.etl_max_attempts:
        fail_batch(engine, batch_num, f"gave up after {_attempts(settings.etl_max_attempts)} "
                                      "(the worker stopped or crashed each time); nothing was loaded")
        return None
    logger.info("etl start batch=%s job=%s attempt=%d", batch_num, job_id, claim.attempts)
    try:
        outcome = load_batch(claim, settings=settings, engine=engine, store=store)
    except BatchRejected as exc:
        fail_batch(engine, batch_num, exc.message, exc.tally)
        logger.info("etl rejected batch=%s job=%s; the reason is in its error_log", batch_num, job_id)
        raise
    except Exception as exc:
        _record_crash(engine, claim, settings.etl_max_attempts, exc, job_id)
        raise
    if outcome is not None:
        bump_generation(redis, settings.queue_prefix)  # merged: cached /categories (and its runs) are obsolete
        enqueue_runs(redis, outcome.run_ids, settings)
        counts = outcome.counts
        record_rows(recorder(settings, redis), inserted=counts.inserted, updated=counts.updated,
                    unchanged=counts.unchanged, imputed=counts.imputed, rejected=outcome.tally.rejected)
        logger.info("etl done batch=%s job=%s rows=%d inserted=%d updated=%d unchanged=%d rejected=%d "
                    "merge_s=%.3f", batch_num, job_id, outcome.tally.total, outcome.counts.inserted,
                    outcome.counts.updated, outcome.counts.unchanged, outcome.tally.rejected, outcome.merge_seconds)
    return outcome


def claim_batch(engine: Engine, batch_num: int) -> Claim | None:
    """Mark a waiting batch processing and count the attempt; None when it is not waiting."""
    with engine.begin() as conn:
        taken = conn.execute(
            update(UploadMetadata)
            .where(UploadMetadata.batch_num == batch_num, UploadMetadata.status.in_(BatchStatus.unfinished()))
            .values(status=BatchStatus.PROCESSING, attempts=UploadMetadata.attempts + 1,
                    started_at=utcnow(), progress=0.0)
        ).rowcount
        if not taken:
            return None
        row = conn.execute(
            select(UploadMetadata.stored_filename, UploadMetadata.file_hash, UploadMetadata.attempts,
                   UploadMetadata.mapping)
            .where(UploadMetadata.batch_num == batch_num)
        ).one()
    mapping = parse_mapping(json.loads(row.mapping)) if row.mapping else Mapping()
    return Claim(batch_num, row.stored_filename, row.file_hash, row.attempts, mapping)


def load_batch(claim: Claim, *, settings: Settings, engine: Engine, store: UploadStore) -> Outcome | None:
    """Read, validate and stage the file, then merge it; BatchRejected for a bad file."""
    tally = Tally(settings.max_stored_errors)
    with engine.connect() as conn:
        loader = BatchLoader(conn)
        loader.create()
        try:
            _stage_file(claim, loader, tally, settings, store)
            tally.check(settings.max_rejected_share)
            too_big = loader.largest_key() if tally.cents_total > MAX_SALES_CENTS else None
            if too_big is not None:
                raise BatchRejected(f"the rows of {tuple(map(str, too_big))} add up to more than DECIMAL(12,2) "
                                    "allows (9999999999.99); nothing was loaded", tally)
            loader.lock()
            try:
                return retry_lock_conflicts(conn, lambda: _merge(conn, loader, claim, tally, settings),
                                            f"merge of batch {claim.batch_num}")
            finally:
                conn.rollback()
                loader.unlock()
        finally:
            conn.rollback()
            loader.drop()


def _stage_file(claim: Claim, loader: BatchLoader, tally: Tally, settings: Settings, store: UploadStore) -> None:
    """Stream the file through validation into the loader; DB work overlaps parsing in one thread."""
    kind = FileKind(claim.stored_filename.split(".", 1)[1])
    try:
        with store.open(claim.stored_filename) as fileobj, ThreadPoolExecutor(1) as db_thread:
            layout = inspect_file(fileobj, kind, settings.max_uncompressed_bytes, claim.mapping,
                                  limits=settings.file_limits)
            pending: Future | None = None
            for chunk in read_chunks(fileobj, layout, chunk_rows=settings.etl_chunk_rows,
                                     max_uncompressed=settings.max_uncompressed_bytes):
                checked = validate(chunk.rows, date_format=claim.mapping.date_format,
                                   drop_negative=claim.mapping.drop_negative_sales, decimal=claim.mapping.decimal,
                                   value_label=claim.mapping.wide_field if layout.values else None)
                tally.add(chunk, checked)
                if pending is not None:
                    pending.result()
                pending = db_thread.submit(_stage_chunk, loader, claim.batch_num, checked.good, chunk.progress)
            if pending is not None:
                pending.result()
    except FileNotFoundError:
        raise BatchRejected("the uploaded file is no longer in the upload store", tally) from None
    except FileProblem as exc:
        raise BatchRejected(exc.message, tally) from None


def _stage_chunk(loader: BatchLoader, batch_num: int, good, progress: float) -> None:  # noqa: ANN001
    loader.stage(good)
    loader.conn.execute(update(UploadMetadata).where(UploadMetadata.batch_num == batch_num)
                        .values(progress=round(progress * READ_SHARE, 3)))
    loader.conn.commit()


def _merge(conn: Connection, loader: BatchLoader, claim: Claim, tally: Tally, settings: Settings) -> Outcome | None:
    started = time.perf_counter()
    status = conn.execute(
        select(UploadMetadata.status).where(UploadMetadata.batch_num == claim.batch_num).with_for_update()
    ).scalar_one()
    if status != BatchStatus.PROCESSING:
        logger.info("etl batch=%s finished by another job meanwhile (%s); discarding", claim.batch_num, status)
        return None
    if tally.missing:
        missing = loader.missing_series()
        if not missing.empty:
            file_rows, stored = loader.series_rows(missing[["product_id", "category"]].drop_duplicates())
            loader.set_imputed(impute(file_rows, stored))
    loader.classify(claim.batch_num)
    counts, touched = loader.counts()
    now = utcnow()
    if counts.updated and settings.undo_keep_batches:
        loader.journal(claim.batch_num)
    loader.forget_journal(claim.batch_num - settings.undo_keep_batches)
    loader.merge(claim.batch_num, claim.file_hash, now, counts.inserted)
    run_ids = _create_runs(conn, claim.batch_num, touched, settings, now)
    merged = time.perf_counter()
    _store_errors(conn, claim.batch_num, tally)
    conn.execute(update(UploadMetadata).where(UploadMetadata.batch_num == claim.batch_num).values(
        status=BatchStatus.COMPLETED, progress=1.0, finished_at=now, error_log=tally.summary(claim.batch_num),
        forecast_status=ForecastStatus.PENDING if run_ids else ForecastStatus.COMPLETED,
        num_inserted_rows=counts.inserted, num_updated_rows=counts.updated,
        num_unchanged_rows=counts.unchanged, num_imputed_rows=counts.imputed, **tally.columns(),
    ))
    conn.commit()
    return Outcome(claim.batch_num, counts, tally, run_ids, merge_seconds=merged - started)


def _create_runs(conn: Connection, batch_num: int, categories: list[str], settings: Settings,
                 now: dt.datetime) -> list[int]:
    if not categories:
        return []
    conn.execute(insert(ForecastRun), [
        {"category": c, "batch_num": batch_num, "status": ForecastStatus.PENDING,
         "horizon_days": settings.forecast_horizon_days, "created_at": now}
        for c in categories
    ])
    return list(conn.scalars(select(ForecastRun.id).where(ForecastRun.batch_num == batch_num)
                             .order_by(ForecastRun.id)))


def _store_errors(conn: Connection, batch_num: int, tally: Tally) -> None:
    conn.execute(delete(BatchError).where(BatchError.batch_num == batch_num))
    rows = tally.error_rows(batch_num)
    if rows:
        conn.execute(insert(BatchError), rows)


def fail_batch(engine: Engine, batch_num: int, message: str, tally: Tally | None = None) -> None:
    """Mark a batch failed with a readable reason; no observation of it is written."""
    with engine.begin() as conn:
        values = {"status": BatchStatus.FAILED, "finished_at": utcnow(), "error_log": message[:60000]}
        if tally is not None:
            _store_errors(conn, batch_num, tally)
            values.update(tally.columns())
        conn.execute(update(UploadMetadata).where(UploadMetadata.batch_num == batch_num,
                                                  UploadMetadata.status == BatchStatus.PROCESSING).values(**values))


def _record_crash(engine: Engine, claim: Claim, max_attempts: int, exc: Exception, job_id: str) -> None:
    what = f"{type(exc).__name__} on attempt {claim.attempts} of {max_attempts}"
    logger.exception("etl error batch=%s job=%s: %s", claim.batch_num, job_id, what)
    try:
        if claim.attempts >= max_attempts:
            fail_batch(engine, claim.batch_num, f"internal error ({what}); the worker log has the details "
                                                f"(job {job_id or 'n/a'}); nothing was loaded")
            return
        with engine.begin() as conn:
            conn.execute(update(UploadMetadata).where(UploadMetadata.batch_num == claim.batch_num)
                         .values(error_log=f"{what}; it will be retried"))
    except Exception:  # noqa: BLE001 - the database may be the thing that is down; the retry will tell
        logger.warning("could not record the error batch=%s", claim.batch_num)


def _attempts(count: int) -> str:
    return f"{count} attempt" if count == 1 else f"{count} attempts"


def enqueue_runs(redis: Redis, run_ids: list[int], settings: Settings) -> None:
    """Queue forecast runs; if Redis is away, the reconcile step queues them later."""
    try:
        for run_id in run_ids:
            enqueue_forecast(redis, run_id, prefix=settings.queue_prefix)
    except RedisError:
        logger.warning("redis unavailable; %d forecast runs left for reconcile", len(run_ids))
