"""Intervals of sums: do the 80% and 95% intervals of 30-day and calendar-week totals cover what they promise?

On bench/accuracy.py's tasks (real daily series cut at several origins, 30 days held back), castflow's
`forecast_category` forecasts each held-back window; the recommended forecast's daily quantiles are summed
over the 30 days and over each Monday-to-Sunday week inside them, four ways: with the error structure the
run measured on its own backtest as the API uses it (services/forecast/sums.py `for_sums`), with the default
older runs get, as the sum of the daily bounds, and as if the days were independent. Printed: the share of
actual totals inside each interval (it should be near 80% and 95%), the mean width relative to the actual
total, and the spread of the measured structures (before MIN_LEVEL).

    .venv/bin/python bench/sums.py [--jobs 2] [--datasets pharmacy,contact-centre] [--max-series 3]
        [--max-origins 2] [--max-history-days 730] [--models holt_winters,auto_ets,...] [--out rows.csv]
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import multiprocessing  # noqa: E402
import time  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import accuracy, accuracy_data  # noqa: E402
from common.status import ModelType  # noqa: E402
from services.forecast import sums  # noqa: E402
from services.forecast.backtest import forecast_category  # noqa: E402
from services.forecast.models import fitters  # noqa: E402
from services.forecast.series import holiday_frame  # noqa: E402

#: The ways a sum's interval is built, by name.
STRUCTURES = {"measured": None, "default": sums.DEFAULT, "sum_of_bounds": sums.SUM_OF_BOUNDS,
              "independent": sums.INDEPENDENT}
#: Each interval checked: its name, its columns in a sum, its nominal coverage.
INTERVALS = (("80%", "p10", "p90"), ("95%", "lower", "upper"))


def windows(days: pd.DatetimeIndex) -> list[tuple[str, np.ndarray]]:
    """The sums checked in one held-back window: all its days, and each whole Monday-Sunday week in it."""
    out = [(f"{len(days)}-day total", np.arange(len(days)))]
    mondays = np.flatnonzero((days.weekday == 0) & (np.arange(len(days)) + 7 <= len(days)))
    return out + [("calendar week", np.arange(start, start + 7)) for start in mondays]


def task_rows(task: accuracy.Task, models: tuple[ModelType, ...]) -> list[dict]:
    """One forecast of the task's history; a row per (sum, structure) with each interval's hit and width."""
    train, actual = task.values.iloc[:-accuracy.HORIZON], task.values.iloc[-accuracy.HORIZON:]
    holidays = holiday_frame(task.calendar, train.index[0], actual.index[-1])
    chosen = {m: f for m, f in fitters().items() if m in models}
    result = forecast_category(train, accuracy.HORIZON, holidays, accuracy.LEVEL, chosen)
    frame = result.forecasts[ModelType.RECOMMENDED].reindex(actual.index)
    metrics = result.metrics.get(ModelType.RECOMMENDED)
    known = metrics is not None and metrics.error_level is not None
    measured = sums.for_sums(metrics.error_level, metrics.error_ar) if known else sums.DEFAULT
    rows = []
    for kind, positions in windows(actual.index):
        total = float(actual.iloc[positions].sum())
        for name, structure in STRUCTURES.items():
            q = sums.sum_quantiles(frame.iloc[positions], positions, structure or measured)
            row = {"dataset": task.dataset, "series": task.series, "origin": task.origin.date(), "sum": kind,
                   "structure": name, "measured": known, "level": metrics.error_level if known else None,
                   "ar": metrics.error_ar if known else None}
            for label, low, high in INTERVALS:
                row[f"in{label}"] = q[low] <= total <= q[high]
                row[f"width{label}"] = (q[high] - q[low]) / total if total > 0 else np.nan
            rows.append(row)
    return rows


def run_all(tasks: list[accuracy.Task], jobs: int, models: tuple[ModelType, ...]) -> pd.DataFrame:
    """The tasks on a pool of `jobs` processes; progress on stderr."""
    rows: list[dict] = []
    work = partial(task_rows, models=models)
    with multiprocessing.get_context("fork").Pool(jobs, accuracy.quiet_worker, maxtasksperchild=20) as pool:
        for done, found in enumerate(pool.imap_unordered(work, sorted(tasks, key=lambda t: -len(t.values))), 1):
            rows += found
            print(f"[{done}/{len(tasks)}]", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def report(rows: pd.DataFrame) -> str:
    """Coverage and mean relative width per sum and structure, and the measured structures' spread."""
    table = rows.groupby(["sum", "structure"], sort=False).agg(
        sums=("in80%", "size"), cover80=("in80%", "mean"), width80=("width80%", "mean"),
        cover95=("in95%", "mean"), width95=("width95%", "mean"))
    structures = rows.drop_duplicates(["dataset", "series", "origin"])
    spread = structures[["level", "ar"]].describe(percentiles=[0.25, 0.5, 0.75]).T
    return (f"{table.to_string(float_format=lambda v: f'{v:.3f}')}\n\nmeasured structures "
            f"({int(structures['measured'].sum())} of {len(structures)} runs measured one):\n"
            f"{spread.to_string(float_format=lambda v: f'{v:.2f}')}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--datasets", default=",".join(accuracy_data.LOADERS))
    parser.add_argument("--max-series", type=int, default=3, help="series per dataset")
    parser.add_argument("--max-origins", type=int, default=2)
    parser.add_argument("--max-history-days", type=int, default=730)
    parser.add_argument("--models", default=",".join(m.value for m in fitters()),
                        help="castflow models to fit (default all)")
    parser.add_argument("--out", type=Path, help="write the per-(sum, structure) rows to this CSV")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Build the tasks, run them, print the report."""
    args = parse_args(argv)
    started = time.perf_counter()
    series = accuracy.select_series(args.datasets.split(","), args.max_series)
    tasks = accuracy.make_tasks(series, args.max_origins, "default", args.max_history_days)
    models = tuple(ModelType(m) for m in args.models.split(","))
    print(f"{len(tasks)} tasks from {len(series)} series, models {args.models}, jobs {args.jobs}", flush=True)
    accuracy.preload()
    rows = run_all(tasks, args.jobs, models)
    if args.out:
        rows.to_csv(args.out, index=False)
    print(report(rows))
    print(f"\nwall {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
