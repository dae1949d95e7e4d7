"""Ingest benchmark: the Store Item Demand file (913,000 rows) through the running API into MariaDB.

Prints, for the real file mapped to Date/product_id/category=store/sales:
- rows/s from the start of the upload to the batch's `completed` (median of --repeat runs, each on a
  fresh database and freshly started API + ETL worker, as shipped: gunicorn and `python -m services.etl`);
- the ETL worker's peak RSS (the work horse process that runs the job, and the worker's whole tree);
- the same for a file 4x larger (each product four times under another id), and the ratio of peaks;
- a re-upload of the file with 50 values corrected: its inserted / updated / unchanged counts;
- the Online Retail file (541,909 invoice lines) uploaded as it is with a column mapping;
- a wide file built from the same data (2,000 days x 500 category columns, one per store and item:
  1,000,000 cells) with a `category_columns` mapping: cells/s against the long file's rows/s, and
  the peak RSS of a wide file twice as long (`--only-wide` runs the long file once and this part only).

With `--store s3` the 913k-row runs alternate between the local upload directory and an S3 bucket
(moto's standalone S3 server, started here, or `--s3-endpoint-url`), and print both medians and
their ratios; the other cases then run through the bucket.

    python bench/ingest.py [--repeat 3] [--skip-4x] [--only-913k] [--only-wide] [--store local|s3] [--s3-endpoint-url http://127.0.0.1:9000]
                           [--database-url mysql+pymysql://root@127.0.0.1:3306/test]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (  # noqa: E402
    SHARED_DATA,
    RssSampler,
    drop_database,
    fresh_database,
    machine,
    median,
    running_platform,
    s3_endpoint,
    upload_file,
    wait_for_batch,
)
from common.config import Settings  # noqa: E402

SOURCE = SHARED_DATA / "store-item-demand" / "train.csv"
RETAIL = SHARED_DATA / "online-retail" / "online_retail.csv"
#: The Online Retail invoice lines as daily revenue per product and country, returns set aside.
RETAIL_MAPPING = {"date": "InvoiceDate", "product_id": "StockCode", "category": "Country",
                  "sales": "Quantity * UnitPrice", "drop_negative_sales": True}
CORRECTIONS = 50
#: The wide file: one column per store and item, each cell an observation of that category.
WIDE_DAYS, WIDE_MAPPING = 2000, {"product_id": {"const": "all"}, "category_columns": {"all_except": []}}
#: The bucket of `--store s3`; each run stores under a prefix of its own.
BUCKET = "castflow-bench"


def prepare(workdir: Path) -> dict[str, Path]:
    """Write the benchmark files: the mapped original, 4x larger, and a 50-value correction."""
    raw = pd.read_csv(SOURCE, dtype={"date": "str", "store": "int64", "item": "int64", "sales": "int64"})
    mapped = pd.DataFrame({"Date": raw["date"], "product_id": "item-" + raw["item"].astype("str"),
                           "category": "store-" + raw["store"].astype("str"), "sales": raw["sales"]})
    paths = {"1x": workdir / "store_items.csv", "4x": workdir / "store_items_4x.csv",
             "corrected": workdir / "store_items_corrected.csv"}
    mapped.to_csv(paths["1x"], index=False)
    with paths["4x"].open("w") as out:
        out.write("Date,product_id,category,sales\n")
        for copy in range(4):
            mapped.assign(product_id=mapped["product_id"] + f"-{copy}").to_csv(out, index=False, header=False)
    corrected = mapped.copy()
    rows = corrected.index[:: len(corrected) // CORRECTIONS][:CORRECTIONS]
    corrected.loc[rows, "sales"] += 1
    corrected.to_csv(paths["corrected"], index=False)
    return paths


def prepare_wide(workdir: Path, days: int = WIDE_DAYS) -> Path:
    """Write Store Item Demand as a wide file of `days` days x 500 columns (its 1,826 days, then again, shifted)."""
    raw = pd.read_csv(SOURCE, dtype={"date": "str", "store": "int64", "item": "int64", "sales": "int64"})
    raw["column"] = "s" + raw["store"].astype("str") + "-i" + raw["item"].astype("str")
    wide = raw.pivot(index="date", columns="column", values="sales")
    wide.index = pd.to_datetime(wide.index)
    laps = -(-days // len(wide))
    frames = [wide.set_axis(wide.index + pd.Timedelta(days=lap * len(wide))) for lap in range(laps)]
    whole = pd.concat(frames).iloc[:days]
    whole.index = whole.index.strftime("%Y-%m-%d")
    path = workdir / f"store_items_wide_{days}.csv"
    whole.rename_axis("Date").to_csv(path)
    return path


def wide_case(args: argparse.Namespace, workdir: Path, long_rate: float, s3_url: str | None) -> None:
    """The wide file and one twice as long: cells/s against the long file's rows/s, peak RSS of both."""
    fields = {"mapping": json.dumps(WIDE_MAPPING)}
    results = {}
    for days in (WIDE_DAYS, 2 * WIDE_DAYS):
        path = prepare_wide(workdir, days)
        results[days] = run_once(args, path, workdir, fields=fields, s3_url=s3_url)
        r = results[days]
        print(f"wide {days:,} days x 500 columns: {r['rows']:,} cells in {r['seconds']:.2f} s "
              f"({r['rows'] / r['seconds']:,.0f} cells/s; upload {r['upload_s']:.2f} s) peak RSS horse "
              f"{r['horse_mb']:.0f} MB, tree {r['tree_mb']:.0f} MB", flush=True)
    one, two = results[WIDE_DAYS], results[2 * WIDE_DAYS]
    rate = one["rows"] / one["seconds"]
    print(f"wide file: {rate:,.0f} cells/s = {rate / long_rate:.0%} of the long file's {long_rate:,.0f} rows/s "
          f"(target >= 80%); peak RSS of the 2x wide file / 1x: {two['horse_mb'] / one['horse_mb']:.2f} "
          "(flat: about 1)")


def store_settings(settings: Settings, s3_url: str | None, name: str) -> Settings:
    """`settings` with uploads in the bench bucket at `s3_url` (under prefix `name`); unchanged for None."""
    if s3_url is None:
        return settings
    return dataclasses.replace(settings, upload_store=f"s3://{BUCKET}/{name}", s3_endpoint_url=s3_url,
                               s3_region="us-east-1", s3_access_key_id="bench", s3_secret_access_key="bench-secret")


def create_bucket(s3_url: str) -> None:
    """Create the bench bucket (the S3 server is the benchmark's own, or a fresh one)."""
    import boto3

    client = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1", aws_access_key_id="bench",
                          aws_secret_access_key="bench-secret")
    if BUCKET not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
        client.create_bucket(Bucket=BUCKET)


def run_once(args: argparse.Namespace, path: Path, workdir: Path, then: Path | None = None,
             fields: dict[str, str] | None = None, s3_url: str | None = None) -> dict:
    """Upload `path` (with form `fields`) to a fresh platform and database; optionally upload `then` afterwards.

    `s3_url`: keep uploads in the bench bucket of that S3 endpoint instead of a local directory."""
    name = f"castflow_bench_{uuid.uuid4().hex[:8]}"
    settings = Settings(database_url=fresh_database(args.database_url, name), redis_url=args.redis_url,
                        queue_prefix=f"bench-{uuid.uuid4().hex[:8]}-", upload_dir=str(workdir / name))
    settings = store_settings(settings, s3_url, name)
    with running_platform(settings, ("services.etl",), workdir / "platform.log") as platform:
        with RssSampler(platform.pid("etl")) as rss:
            started = time.perf_counter()
            status, body = upload_file(platform.url, path, fields=fields)
            uploaded = time.perf_counter()
            if status != 202:
                raise RuntimeError(f"upload answered {status}: {body}")
            batch = wait_for_batch(platform.url, body["batch_num"])
            finished = time.perf_counter()
        if batch["status"] != "completed":
            raise RuntimeError(f"batch failed: {batch['error_log']}")
        result = {"rows": batch["num_total_rows"], "seconds": finished - started, "upload_s": uploaded - started,
                  "horse_mb": rss.peak_single_kb / 1024, "tree_mb": rss.peak_tree_kb / 1024}
        if then is not None:
            started = time.perf_counter()
            status, body = upload_file(platform.url, then)
            again = wait_for_batch(platform.url, body["batch_num"])
            result["again"] = again
            result["again_s"] = time.perf_counter() - started
    drop_database(args.database_url, name)  # leave nothing behind
    return result


def main() -> int:
    """Run the cases and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of the 913k-row case (median reported)")
    parser.add_argument("--skip-4x", action="store_true", help="skip the 4x larger file")
    parser.add_argument("--only-wide", action="store_true",
                        help="run the long file once (the reference rows/s), then the wide files only")
    parser.add_argument("--database-url", default="mysql+pymysql://root@127.0.0.1:3306/test",
                        help="a MySQL/MariaDB server URL; the benchmark creates and drops its own databases")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--store", choices=("local", "s3"), default="local",
                        help="s3: compare the local directory with an S3 bucket, then run the rest through S3")
    parser.add_argument("--only-913k", action="store_true", help="stop after the 913k-row runs and the correction")
    parser.add_argument("--s3-endpoint-url", help="with --store s3: this S3 endpoint (default: moto's server)")
    args = parser.parse_args()
    if not SOURCE.exists():
        sys.exit(f"missing {SOURCE.name}: the shared datasets must sit beside the project")
    with tempfile.TemporaryDirectory(prefix="castflow-bench-") as tmp:
        workdir = Path(tmp)
        if args.store == "s3":
            with s3_endpoint(args.s3_endpoint_url, workdir / "s3.log") as s3_url:
                create_bucket(s3_url)
                return run_cases(args, workdir, s3_url)
        return run_cases(args, workdir, None)


def run_913k(args: argparse.Namespace, path: Path, workdir: Path, corrected: Path | None, s3_url: str | None,
             label: str) -> dict:
    """One run of the 913k-row file (the first also uploads the correction); prints its line."""
    r = run_once(args, path, workdir, then=corrected, s3_url=s3_url)
    print(f"{label}: {r['rows']:,} rows in {r['seconds']:.2f} s ({r['rows'] / r['seconds']:,.0f} rows/s; "
          f"upload {r['upload_s']:.2f} s) peak RSS horse {r['horse_mb']:.0f} MB, tree {r['tree_mb']:.0f} MB",
          flush=True)
    return r


def summarise(runs: list[dict], what: str) -> tuple[float, float]:
    """Print the medians of the 913k runs; (rows/s, job process MB)."""
    rate = median([r["rows"] / r["seconds"] for r in runs])
    horse = median([r["horse_mb"] for r in runs])
    print(f"{what}913k rows end to end: median {rate:,.0f} rows/s over {len(runs)} runs (target >= 50,000)")
    print(f"{what}ETL worker peak RSS: median {horse:.0f} MB in the job's process, "
          f"{median([r['tree_mb'] for r in runs]):.0f} MB for the worker's whole tree (target < 400 MB)")
    return rate, horse


def compare_stores(args: argparse.Namespace, paths: dict[str, Path], workdir: Path, s3_url: str) -> list[dict]:
    """Alternate local and S3 runs of the 913k file; print both medians and the ratios. The S3 runs."""
    local, s3 = [], []
    for i in range(args.repeat):
        corrected = paths["corrected"] if i == 0 else None
        local.append(run_913k(args, paths["1x"], workdir, corrected, None, f"run {i + 1} local"))
        s3.append(run_913k(args, paths["1x"], workdir, corrected, s3_url, f"run {i + 1} s3   "))
    local_rate, local_horse = summarise(local, "local store: ")
    s3_rate, s3_horse = summarise(s3, "S3 store:    ")
    print(f"S3 / local: rows/s {s3_rate / local_rate:.2f} (target >= 0.80), "
          f"job process peak RSS {s3_horse / local_horse:.2f} (target <= 1.10)", flush=True)
    return s3


def run_cases(args: argparse.Namespace, workdir: Path, s3_url: str | None) -> int:
    """Every case, through the local directory or (s3_url) the bucket; prints the figures."""
    paths = prepare(workdir)
    print(f"# ingest benchmark on {machine()}; file {paths['1x'].stat().st_size / 2**20:.1f} MB; "
          f"store {'S3 at ' + s3_url if s3_url else 'local directory'}")
    if args.only_wide:
        reference = run_913k(args, paths["1x"], workdir, None, s3_url, "long file")
        wide_case(args, workdir, reference["rows"] / reference["seconds"], s3_url)
        return 0
    if s3_url:
        runs = compare_stores(args, paths, workdir, s3_url)
    else:
        runs = [run_913k(args, paths["1x"], workdir, paths["corrected"] if i == 0 else None, None, f"run {i + 1}")
                for i in range(args.repeat)]
        summarise(runs, "")
    again = runs[0]["again"]
    print(f"re-upload with {CORRECTIONS} corrected values: inserted {again['num_inserted_rows']:,}, "
          f"updated {again['num_updated_rows']:,}, unchanged {again['num_unchanged_rows']:,} "
          f"in {runs[0]['again_s']:.2f} s")
    if args.only_913k:
        return 0
    retail = run_once(args, RETAIL, workdir, fields={"mapping": json.dumps(RETAIL_MAPPING)}, s3_url=s3_url)
    print(f"Online Retail as it is, with a mapping: {retail['rows']:,} rows in {retail['seconds']:.2f} s "
          f"({retail['rows'] / retail['seconds']:,.0f} rows/s) peak RSS horse {retail['horse_mb']:.0f} MB",
          flush=True)
    if not args.skip_4x:
        horse = median([r["horse_mb"] for r in runs])
        big = run_once(args, paths["4x"], workdir, s3_url=s3_url)
        rate_4x = big["rows"] / big["seconds"]
        print(f"4x file: {big['rows']:,} rows in {big['seconds']:.2f} s ({rate_4x:,.0f} rows/s) "
              f"peak RSS horse {big['horse_mb']:.0f} MB, tree {big['tree_mb']:.0f} MB; "
              f"ratio to 1x (job process) {big['horse_mb'] / horse:.2f} (target within 1.20)")
    wide_case(args, workdir, median([r["rows"] / r["seconds"] for r in runs]), s3_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
