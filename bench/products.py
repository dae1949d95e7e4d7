"""Product benchmark: every (store, item) of Store Item Demand forecast per product, reconciled with its store.

History through 2017-10-31 goes through the real platform (API, ETL worker, MariaDB, forecast workers); each
store's run forecasts its 50 items too (500 products in all), in product jobs shared by the workers, then
reconciles them with the store. Printed, against the real November 2017 days:
- the recommended product forecasts' mean MASE beside statsforecast's AutoETS, AutoTheta and CrostonOptimized
  fitted on each series in this process (same two years of history), and the ratio to the best (target <= 0.95);
- the stores' reconciled forecasts' mean MASE beside today's category forecasts (a run with products off);
- coherence: the largest |sum of products - category| / category over every store and day (target <= 0.1%);
- wall time from the ETL's end to the last product published per worker count (target <= 5 min with 2),
  CPU seconds per series, how the time splits (from the product jobs' log lines), and the work horses' peak
  RSS (target < 1.5 GB). Times are medians of --repeat runs.
`--online-retail` times instead the 4,070 Online Retail stock codes as one category's products (target <= 10
min with 2 workers).

    python bench/products.py [--workers 1 2] [--repeat 3] [--online-retail]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (  # noqa: E402
    SHARED_DATA,
    RssSampler,
    cpu_seconds,
    drop_database,
    fresh_database,
    get_json,
    machine,
    median,
    running_platform,
    upload_file,
    wait_for_batch,
)
from common.config import Settings  # noqa: E402

STORE_ITEMS = SHARED_DATA / "store-item-demand" / "train.csv"
RETAIL = SHARED_DATA / "online-retail" / "online_retail.csv"
CUTOFF, HORIZON, SEASON, HISTORY_DAYS = "2017-10-31", 30, 7, 730
SPLIT = re.compile(r"(backtest|fit|stage|reconcile|store)=([0-9.]+)s")


def store_items(workdir: Path) -> tuple[Path, pd.DataFrame]:
    """The history file to upload, and every (store, item, date, sales) row (history and November)."""
    raw = pd.read_csv(STORE_ITEMS, dtype={"date": "str", "store": "int64", "item": "int64", "sales": "int64"})
    raw["category"] = "store-" + raw["store"].astype("str").str.zfill(2)
    raw["product_id"] = "item-" + raw["item"].astype("str").str.zfill(2)
    path = workdir / "store_items_to_2017-10-31.csv"
    history = raw[raw["date"] <= CUTOFF]
    pd.DataFrame({"Date": history["date"], "product_id": history["product_id"], "category": history["category"],
                  "sales": history["sales"]}).to_csv(path, index=False)
    raw["ds"] = pd.to_datetime(raw["date"])
    return path, raw[["category", "product_id", "ds", "sales"]]


def online_retail(workdir: Path) -> Path:
    """Online Retail's units sold per stock code and day (returns dropped), as one category's products."""
    raw = pd.read_csv(RETAIL, usecols=["StockCode", "Quantity", "InvoiceDate"], dtype={"StockCode": "str"})
    raw = raw[raw["Quantity"] > 0]
    raw["Date"] = raw["InvoiceDate"].str[:10]
    daily = raw.groupby(["Date", "StockCode"], as_index=False)["Quantity"].sum()
    path = workdir / "online_retail_units.csv"
    pd.DataFrame({"Date": daily["Date"], "product_id": daily["StockCode"].str.strip().str[:100],
                  "category": "online-retail", "sales": daily["Quantity"]}).to_csv(path, index=False)
    print(f"online retail: {daily['StockCode'].nunique()} stock codes, {len(daily)} rows", flush=True)
    return path


def run_platform(args: argparse.Namespace, path: Path, workers: int, workdir: Path, products: bool) -> dict:
    """Upload `path` to a fresh platform with `workers` forecast workers; time forecasts and products; read them."""
    name = f"castflow_bench_{uuid.uuid4().hex[:8]}"
    url = fresh_database(args.database_url, name)
    settings = Settings(database_url=url, redis_url=args.redis_url, queue_prefix=f"bench-{uuid.uuid4().hex[:8]}-",
                        upload_dir=str(workdir / name), forecast_horizon_days=HORIZON,
                        product_forecast_max=5000 if products else 0)
    log = workdir / f"{name}.log"
    try:
        with running_platform(settings, ("services.etl",) + ("services.forecast",) * workers, log) as platform:
            samplers = [RssSampler(pid).__enter__() for pid in platform.pids("forecast")]
            _, body = upload_file(platform.url, path)
            wait_for_batch(platform.url, body["batch_num"], timeout_s=3600)
            cpu_before = sum(cpu_seconds(pid) for pid in platform.pids("forecast"))
            started = time.perf_counter()
            batch = wait_for_products(platform.url, body["batch_num"])
            seconds = time.perf_counter() - started
            cpu = sum(cpu_seconds(pid) for pid in platform.pids("forecast")) - cpu_before
            for sampler in samplers:
                sampler.__exit__(None, None, None)
        engine = create_engine(url)
        with engine.connect() as conn:
            stored = read_results(conn)
        engine.dispose()
    finally:
        drop_database(args.database_url, name)
    return {"seconds": seconds, "cpu": cpu, "batch": batch, "split": time_split(log), **stored,
            "rss_mb": max(s.peak_single_kb for s in samplers) / 1024}


def wait_for_products(base_url: str, batch_num: int, timeout_s: float = 7200) -> dict:
    """Poll /batches/<n> until its category runs ended and every run's products are published or failed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batch = get_json(f"{base_url}/batches/{batch_num}")
        busy = [r for r in batch["product_runs"] if r["product_status"] in ("queued", "running")]
        if batch["forecast_status"] not in ("pending", "running") and not busy:
            return batch
        time.sleep(0.5)
    raise RuntimeError(f"the products of batch {batch_num} did not end in {timeout_s} s")


def read_results(conn: object) -> dict:
    """The categories' recommended forecasts, the products' forecasts and the runs' product fields."""
    category = pd.read_sql(text("SELECT category, forecast_date, forecast_value FROM forecast_data "
                                "WHERE model_type = 'recommended'"), conn)
    products = pd.read_sql(text("SELECT category, product_id, forecast_date, forecast_value, p10, p90, lower_bound, "
                                "upper_bound FROM product_forecast_data"), conn)
    runs = pd.read_sql(text("SELECT category, product_status, products_total, products_skipped, reconciliation, "
                            "product_note FROM forecast_runs"), conn)
    summaries = pd.read_sql(text("SELECT method FROM product_forecast_summaries WHERE status = 'forecast'"), conn)
    return {"category": category, "products": products, "runs": runs, "methods": summaries["method"]}


def time_split(log: Path) -> dict[str, float]:
    """Seconds summed over the product jobs' log lines: backtest, fit, stage, reconcile, store."""
    totals: dict[str, float] = {}
    for line in log.read_text(errors="replace").splitlines():
        if "product chunk done" in line or "products done" in line:
            for name, value in SPLIT.findall(line):
                totals[name] = totals.get(name, 0.0) + float(value)
    return totals


def coherence(result: dict) -> float:
    """The largest |sum of products - category| / category over every category and day."""
    sums = result["products"].groupby(["category", "forecast_date"])["forecast_value"].sum()
    category = result["category"].set_index(["category", "forecast_date"])["forecast_value"]
    joined = pd.concat([sums.rename("products"), category.rename("category")], axis=1, join="inner")
    return float((joined["products"] - joined["category"]).abs().div(joined["category"].clip(lower=1e-9)).max())


def mase(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray) -> float:
    """MAE scaled by the in-sample seasonal naive MAE (season 7)."""
    return float(np.mean(np.abs(actual - forecast)) / np.mean(np.abs(train[SEASON:] - train[:-SEASON])))


def peers(rows: pd.DataFrame) -> pd.DataFrame:
    """AutoETS, AutoTheta and CrostonOptimized on each (store, item) series: its November forecast (wide)."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, AutoTheta, CrostonOptimized

    frame = training(rows)
    engine = StatsForecast(models=[AutoETS(season_length=SEASON), AutoTheta(season_length=SEASON),
                                   CrostonOptimized()], freq="D", n_jobs=1)
    return engine.forecast(h=HORIZON, df=frame[["unique_id", "ds", "y"]])


def training(rows: pd.DataFrame) -> pd.DataFrame:
    """The last two years before the cutoff of each series, as statsforecast's long frame."""
    start = pd.Timestamp(CUTOFF) - pd.Timedelta(days=HISTORY_DAYS - 1)
    kept = rows[(rows["ds"] >= start) & (rows["ds"] <= CUTOFF)]
    return pd.DataFrame({"unique_id": kept["category"] + "/" + kept["product_id"], "ds": kept["ds"],
                         "y": kept["sales"].astype(float)})


def accuracy(result: dict, baseline: dict, rows: pd.DataFrame) -> None:
    """Print product and store MASE against November 2017 beside the peers and today's category forecasts."""
    train = training(rows)
    november = rows[(rows["ds"] > CUTOFF) & (rows["ds"] <= pd.Timestamp(CUTOFF) + pd.Timedelta(days=HORIZON))]
    actual = november.assign(unique_id=november["category"] + "/" + november["product_id"]).pivot(
        index="unique_id", columns="ds", values="sales")
    products = result["products"].assign(unique_id=lambda f: f["category"] + "/" + f["product_id"],
                                         ds=lambda f: pd.to_datetime(f["forecast_date"]))
    ours = products.pivot(index="unique_id", columns="ds", values="forecast_value")
    started = time.perf_counter()
    wide = peers(rows)
    peer_seconds = time.perf_counter() - started
    histories = {k: g["y"].to_numpy() for k, g in train.groupby("unique_id")}
    scores: dict[str, list[float]] = {"castflow recommended (reconciled)": [], "AutoETS": [], "AutoTheta": [],
                                      "CrostonOptimized": []}
    for series, sold in actual.iterrows():
        scores["castflow recommended (reconciled)"].append(
            mase(sold.to_numpy(float), ours.loc[series, sold.index].to_numpy(float), histories[series]))
        own = wide[wide["unique_id"] == series].set_index("ds")
        for peer in ("AutoETS", "AutoTheta", "CrostonOptimized"):
            scores[peer].append(mase(sold.to_numpy(float), own.loc[sold.index, peer].to_numpy(float),
                                     histories[series]))
    means = {k: float(np.mean(v)) for k, v in scores.items()}
    print(f"product forecasts, {len(actual)} (store, item) series, November 2017 (mean MASE; peers fitted in "
          f"{peer_seconds:.0f} s here on the same two years):")
    for name, value in means.items():
        print(f"  {name:36s} {value:.3f}")
    best = min(v for k, v in means.items() if not k.startswith("castflow"))
    print(f"  ratio to the best peer: {means['castflow recommended (reconciled)'] / best:.3f} (target <= 0.95)")
    counts = {str(k): int(v) for k, v in result["methods"].value_counts().head(8).items()}
    print(f"  recommended methods (most frequent): {counts}")
    store_scores(result, baseline, rows)


def store_scores(result: dict, baseline: dict, rows: pd.DataFrame) -> None:
    """Print the stores' MASE: reconciled (products on) beside today's category forecast (products off)."""
    totals = rows.groupby(["category", "ds"])["sales"].sum().unstack(0)
    history, november = totals[totals.index <= CUTOFF], totals[totals.index > CUTOFF].iloc[:HORIZON]
    out = {}
    for name, source in (("reconciled", result), ("category", baseline)):
        frame = source["category"].assign(ds=lambda f: pd.to_datetime(f["forecast_date"]))
        wide = frame.pivot(index="ds", columns="category", values="forecast_value")
        out[name] = np.mean([mase(november[c].to_numpy(float), wide.loc[november.index, c].to_numpy(float),
                                  history[c].to_numpy(float)) for c in november.columns])
    print(f"stores (mean MASE over 10): reconciled {out['reconciled']:.3f} vs today's category forecast "
          f"{out['category']:.3f} (target: no worse); reconciliation used: "
          f"{ {str(k): int(v) for k, v in result['runs']['reconciliation'].value_counts().items()} }")


def timing(label: str, results: list[dict], series: int, target_s: float) -> None:
    """Print the medians of wall time, CPU per series, time split and peak RSS over repeated runs."""
    split = {k: median([r["split"].get(k, 0.0) for r in results]) for k in results[0]["split"]}
    total = sum(split.values()) or 1.0
    parts = ", ".join(f"{k} {v:.0f} s ({v / total:.0%})" for k, v in split.items())
    print(f"{label}: {median([r['seconds'] for r in results]):.1f} s wall from the ETL's end to the last product "
          f"(median of {len(results)}; target <= {target_s:.0f} s with 2 workers); "
          f"CPU {median([r['cpu'] for r in results]) / series:.3f} s per series (category runs included); "
          f"peak work-horse RSS {max(r['rss_mb'] for r in results):.0f} MB (target < 1536 MB); "
          f"coherence max {max(coherence(r) for r in results):.2e} (target <= 1e-3)", flush=True)
    print(f"  product jobs' time split (summed over jobs): {parts}", flush=True)
    statuses = results[0]["runs"]["product_status"].value_counts(dropna=False).to_dict()
    print(f"  runs' product_status {statuses}; skipped {int(results[0]['runs']['products_skipped'].fillna(0).sum())}",
          flush=True)


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="forecast worker counts to time")
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count (times are medians)")
    parser.add_argument("--online-retail", action="store_true", help="time Online Retail's 4,070 stock codes instead")
    parser.add_argument("--database-url", default="mysql+pymysql://root@127.0.0.1:3306/test")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    if not STORE_ITEMS.exists():
        sys.exit(f"missing {STORE_ITEMS.name}: the shared datasets must sit beside the project")
    with tempfile.TemporaryDirectory(prefix="castflow-bench-") as tmp:
        workdir = Path(tmp)
        print(f"# product benchmark on {machine()}", flush=True)
        if args.online_retail:
            retail = online_retail(workdir)
            for workers in args.workers:
                results = [run_platform(args, retail, workers, workdir, products=True) for _ in range(args.repeat)]
                total = int(results[0]["runs"]["products_total"].fillna(0).sum())
                timing(f"online retail, {workers} forecast worker(s), {total} products", results, total + 1, 600)
            return 0
        path, rows = store_items(workdir)
        print(f"500 (store, item) series in 10 stores, history to {CUTOFF}, horizon {HORIZON} days", flush=True)
        baseline = run_platform(args, path, max(args.workers), workdir, products=False)
        for count, workers in enumerate(args.workers):
            results = [run_platform(args, path, workers, workdir, products=True) for _ in range(args.repeat)]
            timing(f"{workers} forecast worker(s), 500 products + 10 stores", results, 510, 300)
            if count == 0:
                accuracy(results[0], baseline, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
