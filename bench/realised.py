"""Realised accuracy benchmark: what a batch of new actuals costs the ETL merge, and what reading the scores costs.

On a fresh MariaDB database per repeat: a history of --days days for --products products (in --categories
categories) is uploaded and merged; then each category gets --runs completed daily runs written straight
into the tables (every model's 30-day forecast, backtest metrics, and each product's reconciled forecast),
the latest ending on the history's last day and each earlier one a day before; then the next 30 days of
actuals for every product are uploaded and the batch is processed by the ETL job in this process. The job
reports how long its merge took (classify, journal, write the rows, create the runs). Realised accuracy is
computed when read (common/realised.py) and drift is judged by each category's run before it fits
(services/etl/drift.py): the ETL job does neither (the target: realised accuracy <= 10% of the merge). Then
each run's first step is timed on its own: judging the forecast it replaces (judge_replaced), one category each.
Then the scores are read through GET /accuracy, each answer's first (uncached) read timed: one category's
totals by days ahead, one product's by run, and every category's totals by run. Prints medians of --repeat.

    python bench/realised.py [--repeat 3] [--products 500] [--categories 5] [--days 120] [--runs 1] [--category-only]
                             [--database-url mysql+pymysql://root@127.0.0.1:3306/test]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import drop_database, fresh_database, machine, median  # noqa: E402
from common.config import Settings  # noqa: E402
from common.db import make_engine  # noqa: E402
from common.models import (  # noqa: E402
    ForecastData,
    ForecastMetric,
    ForecastRun,
    ProductForecastData,
    ProductForecastSummary,
)
from common.queue import connect  # noqa: E402
from common.status import ForecastStatus, ModelType  # noqa: E402
from common.storage import open_store  # noqa: E402
from services.api import create_app  # noqa: E402
from services.etl.drift import judge_replaced  # noqa: E402
from services.etl.jobs import Outcome, process_batch  # noqa: E402

FIRST_DAY = dt.date(2022, 1, 3)
NEW_DAYS = 30
#: The models a daily run stores forecasts of (the combined ones included).
MODELS = [m for m in ModelType if m is not ModelType.NAIVE]


def csv(products: int, categories: int, days: range) -> bytes:
    """Every product's sales on `days` (day numbers after FIRST_DAY), as a long CSV."""
    rng = np.random.default_rng(days.start)
    lines = ["Date,product_id,category,sales"]
    for day in days:
        date = FIRST_DAY + dt.timedelta(days=day)
        values = rng.poisson(20 + 5 * (day % 7), products)
        lines += [f"{date},p{p},c{p % categories},{values[p]}" for p in range(products)]
    return ("\n".join(lines) + "\n").encode()


def seed_runs(engine, args: argparse.Namespace) -> None:  # noqa: ANN001
    """Completed daily runs per category: forecasts of every model and every product, written directly."""
    last = FIRST_DAY + dt.timedelta(days=args.days - 1)
    with engine.begin() as conn:
        for category in range(args.categories):
            products = [p for p in range(args.products) if p % args.categories == category]
            seeded = [] if args.category_only else products
            for back in range(args.runs):
                _seed_run(conn, f"c{category}", last - dt.timedelta(days=back), seeded)


def _seed_run(conn, category: str, end: dt.date, products: list[int]) -> None:  # noqa: ANN001
    run_id = conn.execute(ForecastRun.__table__.insert().values(
        category=category, status=ForecastStatus.COMPLETED, horizon_days=NEW_DAYS, horizon_periods=NEW_DAYS,
        grain="day", history_start=FIRST_DAY, history_end=end, naive_scale=100.0,
        product_status=ForecastStatus.COMPLETED if products else None, created_at=dt.datetime.now(),
        finished_at=dt.datetime.now(),
    )).inserted_primary_key[0]
    dates = [end + dt.timedelta(days=i) for i in range(1, NEW_DAYS + 1)]
    total = 20.0 * len(products)
    conn.execute(ForecastData.__table__.insert(), [
        {"run_id": run_id, "category": category, "model_type": m.value, "forecast_date": d, "forecast_value": total,
         "lower_bound": total * 0.8, "upper_bound": total * 1.2} for m in MODELS for d in dates])
    conn.execute(ForecastMetric.__table__.insert(), [
        {"run_id": run_id, "category": category, "model_type": m.value, "mase": 0.8,
         "is_best": m is ModelType.AUTO_ETS} for m in MODELS])
    if not products:
        return
    conn.execute(ProductForecastSummary.__table__.insert(), [
        {"run_id": run_id, "product_id": f"p{p}", "category": category, "status": "forecast", "method": "auto_ets",
         "naive_scale": 5.0, "volume": 1000.0} for p in products])
    conn.execute(ProductForecastData.__table__.insert(), [
        {"run_id": run_id, "category": category, "product_id": f"p{p}", "model_type": "auto_ets",
         "forecast_date": d, "forecast_value": 25.0, "lower_bound": 15.0, "upper_bound": 35.0}
        for p in products for d in dates])


#: The reads timed after the batch (what a planner's accuracy page asks for), and how many of the categories'
#: forecasts each scores (one category, one product, every category).
READS = {"category": ("/accuracy?category=c0", 1), "product": ("/accuracy?category=c0&product_id=p0&group_by=run", 1),
         "all categories": ("/accuracy?group_by=run", None)}


def one_repeat(args: argparse.Namespace, scratch: Path) -> tuple[Outcome, float, list[float], dict[str, float]]:
    """A fresh database: history, seeded runs, the timed batch of new actuals, its runs' timed drift checks,
    then the timed reads."""
    name = f"cf_bench_realised_{uuid.uuid4().hex[:8]}"
    url = fresh_database(args.database_url, name)
    settings = Settings(database_url=url, upload_dir=str(scratch / name), queue_prefix=f"bench-{name}-")
    engine = make_engine(url)
    redis = connect(settings.redis_url)
    try:
        client = create_app(settings, engine=engine, redis=redis).test_client()
        store = open_store(settings)
        _process(client, settings, engine, store, redis, csv(args.products, args.categories, range(args.days)),
                 "history.csv")
        seed_runs(engine, args)
        outcome, seconds = _process(client, settings, engine, store, redis, csv(
            args.products, args.categories, range(args.days, args.days + NEW_DAYS)), "new.csv")
        judged = _timed_judging(engine, redis, settings, outcome.run_ids)
        return outcome, seconds, judged, {name: _timed_read(client, path, args.categories if series is None else series,
                                                            args) for name, (path, series) in READS.items()}
    finally:
        for key in redis.scan_iter(f"*{settings.queue_prefix}*"):
            redis.delete(key)
        engine.dispose()
        drop_database(args.database_url, name)


def _process(client, settings, engine, store, redis, body: bytes, filename: str) -> tuple[Outcome, float]:  # noqa: ANN001
    """Upload a file and run its ETL job here; the outcome and the job's seconds (read, validate, stage, merge)."""
    response = client.post("/upload", data={"file": (io.BytesIO(body), filename)}, content_type="multipart/form-data")
    started = time.perf_counter()
    outcome = process_batch(response.json["batch_num"], settings=settings, engine=engine, store=store, redis=redis)
    seconds = time.perf_counter() - started
    if outcome is None:
        raise RuntimeError(f"batch {response.json['batch_num']} was not processed")
    return outcome, seconds


def _timed_judging(engine, redis, settings: Settings, run_ids: list[int]) -> list[float]:  # noqa: ANN001
    """Seconds of each run's drift check (what its forecast job does first); checks that each found the drift
    the seeded runs' forecasts show (20 a product a day against
    a mean of 35)."""
    with engine.connect() as conn:
        categories = dict(conn.execute(select(ForecastRun.id, ForecastRun.category)
                                       .where(ForecastRun.id.in_(run_ids))).all())
    seconds = []
    for run_id in run_ids:
        started = time.perf_counter()
        found = judge_replaced(engine, redis, settings, run_id, categories[run_id])
        seconds.append(time.perf_counter() - started)
        if len(found) != 1:
            raise RuntimeError(f"run {run_id} found {len(found)} drifting categories, expected its own")
    return seconds


def _timed_read(client, path: str, series: int, args: argparse.Namespace) -> float:  # noqa: ANN001
    """Seconds of the first read of `path` (no cached answer yet); checks that it scored the new days of the
    latest run of each of its `series` (earlier runs' first days fall before the new actuals)."""
    started = time.perf_counter()
    response = client.get(path)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}: {response.json}")
    scored = sum(g["n"] for g in response.json["groups"] if g["model_type"] == ModelType.RECOMMENDED.value)
    expected = 0 if args.category_only and "product_id" in path else NEW_DAYS * series
    if scored < expected:
        raise RuntimeError(f"{path} scored {scored} days of the recommended forecast, expected >= {expected}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--categories", type=int, default=5)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--runs", type=int, default=1, help="completed runs per category before the new actuals")
    parser.add_argument("--category-only", action="store_true",
                        help="runs without product forecasts: only the category totals are scored")
    parser.add_argument("--database-url", default="mysql+pymysql://root@127.0.0.1:3306/test")
    args = parser.parse_args()
    merges, jobs, judged, reads = [], [], [], {name: [] for name in READS}
    with tempfile.TemporaryDirectory(prefix="castflow-bench-") as scratch:
        for i in range(args.repeat):
            outcome, job, judging, read = one_repeat(args, Path(scratch))
            merges.append(outcome.merge_seconds)
            jobs.append(job)
            judged += judging
            for name, seconds in read.items():
                reads[name].append(seconds)
            print(f"repeat {i + 1}: merge {outcome.merge_seconds:.3f} s, whole ETL job {job:.3f} s, "
                  f"{outcome.counts.inserted} new keys; drift checks of its {len(judging)} runs "
                  + ", ".join(f"{seconds:.3f}" for seconds in judging) + " s; first reads: "
                  + ", ".join(f"{name} {seconds:.3f} s" for name, seconds in read.items()), flush=True)
    merge, job, judge = median(merges), median(jobs), median(judged)
    print(f"{machine()}; MariaDB; {args.products} products in {args.categories} categories x {NEW_DAYS} days of new "
          f"actuals after {args.days} days, {args.runs} completed run(s) per category"
          f"{' (category totals only)' if args.category_only else ', products forecast too'}")
    print(f"median of {args.repeat}: ETL merge {merge:.3f} s, of which realised accuracy and drift 0 s (neither is "
          f"computed by the ETL: target <= 10% of the merge); whole ETL job {job:.3f} s")
    print(f"drift check each run makes before it fits, one category: median {judge * 1000:.1f} ms, slowest "
          f"{max(judged) * 1000:.1f} ms ({len(judged)} checks)")
    print("median first read of GET /accuracy (scores computed by the read): "
          + ", ".join(f"{name} {median(values):.3f} s" for name, values in reads.items()))


if __name__ == "__main__":
    main()
