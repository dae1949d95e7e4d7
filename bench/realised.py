"""Realised accuracy benchmark: scoring the forecasts a batch's actuals answer, against the ETL merge it rides on.

On a fresh MariaDB database per repeat: a history of --days days for --products products (in --categories
categories) is uploaded and merged; then each category gets --runs completed daily runs written straight
into the tables (every model's 30-day forecast, backtest metrics, and each product's reconciled forecast),
the latest ending on the history's last day and each earlier one a day before; then the next 30 days of
actuals for every product are uploaded and the batch is processed by the ETL job in this process. The job
reports how long its merge took (classify, journal, write the rows, create the runs) and how long the
scoring that follows took, in the same transaction (services/etl/accuracy.py and drift.py). Prints the
medians of --repeat runs and their ratio; the target is scoring <= 10% of the merge.

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


def one_repeat(args: argparse.Namespace, scratch: Path) -> tuple[Outcome, float]:
    """A fresh database: history, seeded runs, then the timed batch of new actuals."""
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
        return _process(client, settings, engine, store, redis, csv(
            args.products, args.categories, range(args.days, args.days + NEW_DAYS)), "new.csv")
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
    merges, scorings, jobs = [], [], []
    with tempfile.TemporaryDirectory(prefix="castflow-bench-") as scratch:
        for i in range(args.repeat):
            outcome, job = one_repeat(args, Path(scratch))
            merges.append(outcome.merge_seconds)
            scorings.append(outcome.scoring_seconds)
            jobs.append(job - outcome.scoring_seconds)
            print(f"repeat {i + 1}: merge {outcome.merge_seconds:.3f} s, scoring {outcome.scoring_seconds:.3f} s, "
                  f"whole ETL job without the scoring {jobs[-1]:.3f} s, {outcome.counts.inserted} new keys, "
                  f"{len(outcome.drifts)} drifting", flush=True)
    merge, scoring, job = median(merges), median(scorings), median(jobs)
    print(f"{machine()}; MariaDB; {args.products} products in {args.categories} categories x {NEW_DAYS} days of new "
          f"actuals after {args.days} days, {args.runs} completed run(s) per category"
          f"{' (category totals only)' if args.category_only else ', products forecast too'}")
    print(f"median of {args.repeat}: ETL merge {merge:.3f} s, realised accuracy scoring {scoring:.3f} s, "
          f"scoring / merge = {scoring / merge:.1%} (target <= 10%)")
    print(f"whole ETL job (read, validate, stage, merge) without the scoring {job:.3f} s: scoring / job = "
          f"{scoring / job:.1%}")


if __name__ == "__main__":
    main()
