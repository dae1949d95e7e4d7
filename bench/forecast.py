"""Forecast benchmark: Store Item Demand history through 2017-10-31, forecast November 2017, score it.

The 10 stores are the categories (their 50 items the products). The history goes through the real
platform (API as shipped, ETL worker, MariaDB), then 1 and then 2 forecast workers process the 10
category runs: every model with its backtest, the ensemble and the recommended forecast. Printed:
- per model: mean sMAPE and MASE over the 10 stores against the real November days, and 80% (p10..p90)
  and 95% interval coverage, beside the seasonal naive forecast (last week repeated);
- the recommended forecast against seasonal naive (target: sMAPE ratio <= 0.40, 95% coverage 90-98%),
  the methods it was built from, and the model each store's backtest marked best;
- wall time from the ETL's end to the last forecast, with 1 and with 2 workers; CPU seconds per category
  (the forecast workers' processes, their work horses and Prophet's optimiser); the workers' peak RSS.

    python bench/forecast.py [--workers 1 2] [--database-url mysql+pymysql://root@127.0.0.1:3306/test]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (  # noqa: E402
    SHARED_DATA,
    RssSampler,
    drop_database,
    fresh_database,
    get_json,
    machine,
    running_platform,
    timed_forecasts,
    upload_file,
    wait_for_batch,
)
from common.config import Settings  # noqa: E402
from services.forecast.metrics import SEASON, seasonal_naive  # noqa: E402

SOURCE = SHARED_DATA / "store-item-demand" / "train.csv"
CUTOFF, HORIZON = "2017-10-31", 30


def prepare(workdir: Path) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """The history file to upload, and the daily store totals before and after the cutoff."""
    raw = pd.read_csv(SOURCE, dtype={"date": "str", "store": "int64", "item": "int64", "sales": "int64"})
    raw["category"] = "store-" + raw["store"].astype("str").str.zfill(2)
    history = raw[raw["date"] <= CUTOFF]
    path = workdir / "store_items_to_2017-10-31.csv"
    pd.DataFrame({"Date": history["date"], "product_id": "item-" + history["item"].astype("str"),
                  "category": history["category"], "sales": history["sales"]}).to_csv(path, index=False)
    totals = raw.groupby(["category", "date"])["sales"].sum().unstack(0)
    totals.index = pd.to_datetime(totals.index)
    return path, totals[totals.index <= CUTOFF], totals[totals.index > CUTOFF].iloc[:HORIZON]


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent (0/0 counts as 0)."""
    denominator = np.abs(actual) + np.abs(forecast)
    return float(100 * np.mean(np.where(denominator == 0, 0, 2 * np.abs(actual - forecast) / np.where(
        denominator == 0, 1, denominator))))


def mase(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray) -> float:
    """MAE scaled by the in-sample seasonal naive MAE (season 7)."""
    return float(np.mean(np.abs(actual - forecast)) / np.mean(np.abs(train[SEASON:] - train[:-SEASON])))


def run(args: argparse.Namespace, path: Path, workers: int, workdir: Path) -> dict:
    """Upload the history to a fresh platform with `workers` forecast workers; time the forecasts."""
    name = f"castflow_bench_{uuid.uuid4().hex[:8]}"
    settings = Settings(database_url=fresh_database(args.database_url, name), redis_url=args.redis_url,
                        queue_prefix=f"bench-{uuid.uuid4().hex[:8]}-", upload_dir=str(workdir / name),
                        forecast_horizon_days=HORIZON, product_forecast_max=0)  # categories only: bench/products.py
    modules = ("services.etl",) + ("services.forecast",) * workers
    with running_platform(settings, modules, workdir / "platform.log") as platform:
        samplers = [RssSampler(pid) for pid in platform.pids("forecast")]
        for sampler in samplers:
            sampler.__enter__()
        status, body = upload_file(platform.url, path)
        wait_for_batch(platform.url, body["batch_num"], timeout_s=1800)
        timing = timed_forecasts(platform, body["batch_num"])
        for sampler in samplers:
            sampler.__exit__(None, None, None)
        data = pd.DataFrame(get_json(f"{platform.url}/forecast-data?limit=100000&model_type=all"))
        metrics = pd.DataFrame(get_json(f"{platform.url}/forecast-metrics"))
    drop_database(args.database_url, name)
    return {"seconds": timing.seconds, "forecast_status": timing.batch["forecast_status"], "data": data,
            "metrics": metrics, "rss_mb": max(s.peak_tree_kb for s in samplers) / 1024,
            "cpu_per_category": timing.cpu_seconds / 10}


def report(result: dict, history: pd.DataFrame, november: pd.DataFrame) -> None:
    """Print accuracy per model against the real November days, beside seasonal naive."""
    data = result["data"]
    data["forecast_date"] = pd.to_datetime(data["forecast_date"])
    rows = []
    for category in november.columns:
        actual, train = november[category].to_numpy(float), history[category].to_numpy(float)
        naive = seasonal_naive(history[category], HORIZON).to_numpy(float)
        rows.append({"category": category, "model_type": "seasonal_naive", "smape": smape(actual, naive),
                     "mase": mase(actual, naive, train), "coverage": np.nan})
        for model, frame in data[data["category"] == category].groupby("model_type"):
            frame = frame.sort_values("forecast_date")
            inside = (actual >= frame["lower_bound"].to_numpy()) & (actual <= frame["upper_bound"].to_numpy())
            inside80 = (actual >= frame["p10"].to_numpy()) & (actual <= frame["p90"].to_numpy())
            rows.append({"category": category, "model_type": model,
                         "smape": smape(actual, frame["forecast_value"].to_numpy()),
                         "mase": mase(actual, frame["forecast_value"].to_numpy(), train), "coverage": inside.mean(),
                         "coverage80": inside80.mean()})
    scores = pd.DataFrame(rows)
    table = scores.groupby("model_type")[["smape", "mase", "coverage80", "coverage"]].mean().sort_values("smape")
    print("accuracy on November 2017 (mean over 10 stores):")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    naive_smape = table.loc["seasonal_naive", "smape"]
    if "recommended" in table.index:
        recommended = table.loc["recommended"]
        print(f"recommended forecast: sMAPE {recommended['smape']:.3f} vs seasonal naive {naive_smape:.3f} "
              f"(ratio {recommended['smape'] / naive_smape:.2f}, target <= 0.40); coverage 95% "
              f"{recommended['coverage']:.1%} (target 90-98%), 80% {recommended['coverage80']:.1%}")
    best = result["metrics"][result["metrics"]["is_best"]][["category", "model_type"]]
    chosen = scores.merge(best, on=["category", "model_type"])
    print(f"model marked best per store: {dict(best['model_type'].value_counts())}; their mean sMAPE "
          f"{chosen['smape'].mean():.3f} (ratio {chosen['smape'].mean() / naive_smape:.2f} to seasonal naive)")
    methods = result["metrics"].loc[result["metrics"]["model_type"] == "recommended", "method"]
    for method, count in methods.value_counts().items():
        print(f"  recommended built as ({count} stores): {method}")
    fits = result["metrics"].groupby("category")["fit_seconds"].sum()
    print(f"fit seconds per category (all models, backtest + final, wall): median {fits.median():.1f}, "
          f"max {fits.max():.1f}; CPU seconds per category {result['cpu_per_category']:.2f} (target <= 2)")


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="forecast worker counts to time")
    parser.add_argument("--database-url", default="mysql+pymysql://root@127.0.0.1:3306/test")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    if not SOURCE.exists():
        sys.exit(f"missing {SOURCE.name}: the shared datasets must sit beside the project")
    with tempfile.TemporaryDirectory(prefix="castflow-bench-") as tmp:
        path, history, november = prepare(Path(tmp))
        print(f"# forecast benchmark on {machine()}: 10 stores, history to {CUTOFF}, horizon {HORIZON} days")
        for count, workers in enumerate(args.workers):
            result = run(args, path, workers, Path(tmp))
            print(f"{workers} forecast worker(s): 10 categories, every model with backtests in "
                  f"{result['seconds']:.1f} s (target < 120 s with 2); batch forecast_status "
                  f"{result['forecast_status']}; peak RSS per worker {result['rss_mb']:.0f} MB (target < 1024 MB)",
                  flush=True)
            if count == 0:
                report(result, history, november)
    return 0


if __name__ == "__main__":
    sys.exit(main())
