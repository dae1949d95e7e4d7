"""Scale benchmark: how many categories a minute 1, 2 (or more) forecast workers get through.

Store Item Demand's (store, item) pairs are the categories: the first `--categories` of them (200 by default:
stores 1-4, 50 items each), with `--history-days` of daily history before 2017-10-31 (two years by default).
Each worker count gets a fresh platform (API as shipped, one ETL worker, N forecast workers, MariaDB, Redis),
the same upload, and the clock runs from the ETL's end to the batch's last forecast. Printed per count:
wall seconds, categories per minute, speed-up against the first count, CPU seconds per category, and each
worker's share of the CPU (an idle worker would show as a low share).

    python bench/scale.py [--workers 1 2] [--categories 200] [--history-days 730]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (  # noqa: E402
    SHARED_DATA,
    cpu_seconds,
    drop_database,
    fresh_database,
    machine,
    running_platform,
    timed_forecasts,
    upload_file,
    wait_for_batch,
)
from common.config import Settings  # noqa: E402

SOURCE = SHARED_DATA / "store-item-demand" / "train.csv"
CUTOFF = "2017-10-31"


def prepare(path: Path, categories: int, history_days: int) -> int:
    """Write the upload: `categories` (store, item) series, `history_days` each; return the row count."""
    raw = pd.read_csv(SOURCE, dtype={"date": "str", "store": "int64", "item": "int64", "sales": "int64"})
    first = (pd.Timestamp(CUTOFF) - pd.Timedelta(days=history_days - 1)).strftime("%Y-%m-%d")
    raw = raw[(raw["date"] >= first) & (raw["date"] <= CUTOFF)]
    pairs = raw[["store", "item"]].drop_duplicates().sort_values(["store", "item"]).head(categories)
    if len(pairs) < categories:
        sys.exit(f"{SOURCE.name} has only {len(pairs)} (store, item) series")
    chosen = raw.merge(pairs, on=["store", "item"])
    frame = pd.DataFrame({
        "Date": chosen["date"],
        "product_id": "item-" + chosen["item"].astype("str").str.zfill(2),
        "category": "store-" + chosen["store"].astype("str").str.zfill(2) + "-item-"
                    + chosen["item"].astype("str").str.zfill(2),
        "sales": chosen["sales"],
    })
    frame.to_csv(path, index=False)
    return len(frame)


def run(args: argparse.Namespace, path: Path, workers: int, workdir: Path) -> dict:
    """Upload the file to a fresh platform with `workers` forecast workers; time its forecasts."""
    name = f"castflow_scale_{uuid.uuid4().hex[:8]}"
    settings = Settings(database_url=fresh_database(args.database_url, name), redis_url=args.redis_url,
                        queue_prefix=f"scale-{uuid.uuid4().hex[:8]}-", upload_dir=str(workdir / name),
                        product_forecast_max=0)  # categories only: bench/products.py measures products
    try:
        with running_platform(settings, ("services.etl",) + ("services.forecast",) * workers,
                              workdir / "platform.log") as platform:
            status, body = upload_file(platform.url, path)
            if status != 202:
                raise RuntimeError(f"upload refused ({status}): {body}")
            batch = wait_for_batch(platform.url, body["batch_num"], timeout_s=1800)
            if batch["status"] != "completed":
                raise RuntimeError(f"the ETL did not complete: {batch.get('error_log')}")
            before = {pid: cpu_seconds(pid) for pid in platform.pids("forecast")}
            timing = timed_forecasts(platform, body["batch_num"])
            shares = [cpu_seconds(pid) - spent for pid, spent in before.items()]
    finally:
        drop_database(args.database_url, name)
    return {"seconds": timing.seconds, "cpu": timing.cpu_seconds, "shares": shares,
            "status": timing.batch["forecast_status"], "runs": timing.batch.get("forecast_runs")}


def main() -> int:
    """Run the benchmark for each worker count and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="forecast worker counts to time")
    parser.add_argument("--categories", type=int, default=200)
    parser.add_argument("--history-days", type=int, default=730)
    parser.add_argument("--database-url", default="mysql+pymysql://root@127.0.0.1:3306/test")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    if not SOURCE.exists():
        sys.exit(f"missing {SOURCE.name}: the shared datasets must sit beside the project")
    with tempfile.TemporaryDirectory(prefix="castflow-scale-") as tmp:
        path = Path(tmp) / "store_item_series.csv"
        rows = prepare(path, args.categories, args.history_days)
        print(f"# scale benchmark on {machine()}: {args.categories} categories x {args.history_days} days "
              f"({rows} rows), every model with its backtests", flush=True)
        base = None
        for workers in args.workers:
            result = run(args, path, workers, Path(tmp))
            per_minute = args.categories / result["seconds"] * 60
            base = base or per_minute
            total = sum(result["shares"]) or 1.0
            print(f"{workers} forecast worker(s): {result['seconds']:.1f} s, {per_minute:.1f} categories/min, "
                  f"speed-up {per_minute / base:.2f}x; CPU {result['cpu'] / args.categories:.2f} s per category; "
                  f"CPU share per worker {', '.join(f'{s / total:.0%}' for s in result['shares'])}; "
                  f"batch {result['status']} {result['runs']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
