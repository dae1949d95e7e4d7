"""Accuracy benchmark: castflow's forecasts against statsforecast peers, on the same real series and splits.

What it measures: ~35 real daily series (pharmacy sales, call volumes, store transactions and sales, online
revenue; see bench/accuracy_data.py) are cut at several forecast origins a year (before Christmas, Easter and
US Thanksgiving, and ordinary ones), each with >= 180 days of history and 30 days held back. On each
(series, origin) task, castflow's `forecast_category` (every model it returns, plus the one its backtest marked
best) and five statsforecast 2.1 peers (AutoETS, AutoARIMA, AutoTheta, MSTL, SeasonalNaive, season 7) forecast
the 30 days from the same history. Scored per task and method: MASE (MAE over the in-sample MAE of the seasonal
naive, season 7), sMAPE, coverage of the 80% and 95% intervals, and CPU seconds (the whole castflow call; each
peer's own call; CPU includes child processes such as Prophet's Stan). Printed: a table per method, the
recommended forecast's MASE relative to the best peer and to castflow's ensemble, mean MASE per dataset and per
holiday window, wall time and castflow's CPU per series.

    .venv/bin/python bench/accuracy.py [--jobs 2] [--calendar default|local] [--datasets pharmacy,online-retail]
        [--max-origins 5] [--max-series N] [--max-history-days 730] [--quick] [--no-peers | --peers-only]
        [--out rows.csv] [--grains]

With --grains, the weekly and monthly files of the shared grains set instead (bench/accuracy_grains.py):
castflow at each file's grain against statsforecast peers at its season (52 weeks, 12 months).
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    # Before numpy loads: one BLAS thread per process (the pool's workers are the parallelism), as the
    # forecast worker does; forked workers inherit it.
    for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import logging  # noqa: E402
import multiprocessing  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Mapping  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from dateutil.easter import easter  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import accuracy_data  # noqa: E402
from bench.accuracy_tables import report  # noqa: E402
from services.forecast.backtest import CategoryForecast, forecast_category  # noqa: E402
from services.forecast.models import fitters  # noqa: E402
from services.forecast.series import holiday_frame  # noqa: E402

HORIZON = 30
"""Days forecast and held back per task."""

LEVEL = 0.95
"""Interval level castflow is asked for."""

SEASON = 7
"""Season of the naive forecast that scales MASE (weekly)."""

MIN_HISTORY_DAYS = 180
"""Days of history (as castflow sees them, gap days included) an origin needs before it."""

DEFAULT_MAX_ORIGINS = 5
"""Origins per series: the first 5 of ORIGIN_PRIORITY (6 would add a second ordinary one: ~190 tasks, whose
AutoARIMA fits alone take ~13 CPU s each on 5 years of days, too long for a run of ~20 minutes on 2 cores)."""

ORIGIN_PRIORITY = ("dec01", "ordinary", "easter", "thanksgiving", "dec15", "ordinary")
"""Which origins a cap keeps first (so 2 origins are one Christmas and one ordinary)."""

DEFAULT_CALENDAR = "US"
"""The calendar a new user's categories get with default settings."""

PEERS = ("AutoETS", "AutoARIMA", "AutoTheta", "MSTL", "SeasonalNaive")
"""statsforecast peer models, all with a weekly season (MSTL adds a yearly one given two years)."""

PEER_PREFIX = "sf_"
"""Peers' method names start with this, so castflow's own auto_ets etc. stay distinct."""

MAX_TASKS_PER_CHILD = 20
"""Tasks per pool worker before it is replaced (frees whatever Prophet/Stan and the fits leave behind)."""


@dataclass(frozen=True)
class Task:
    """One split: a series cut at `origin` (the first forecast day); `values` runs to the horizon's end."""

    dataset: str
    series: str
    calendar: str
    origin: pd.Timestamp
    kind: str
    windows: tuple[str, ...]
    values: pd.Series


def thanksgiving(year: int) -> pd.Timestamp:
    """US Thanksgiving: the fourth Thursday of November."""
    first = pd.Timestamp(year, 11, 1)
    return first + pd.Timedelta(days=(3 - first.weekday()) % 7 + 21)


def origin_candidates(year: int) -> list[tuple[pd.Timestamp, str]]:
    """The origins one year offers, with their kind (dec01/dec15 for Christmas, easter, thanksgiving, ordinary)."""
    day = pd.Timedelta(days=1)
    holidays = [(pd.Timestamp(year, 12, 1), "dec01"), (pd.Timestamp(year, 12, 15), "dec15"),
                (pd.Timestamp(easter(year)) - 10 * day, "easter"), (thanksgiving(year) - 10 * day, "thanksgiving")]
    return holidays + [(pd.Timestamp(year, month, 15), "ordinary") for month in (3, 6, 9)]


def eligible(origin: pd.Timestamp, first_day: pd.Timestamp, last_day: pd.Timestamp, horizon: int = HORIZON) -> bool:
    """True when the series has MIN_HISTORY_DAYS before `origin` and `horizon` full days from it."""
    history_days = (origin - first_day).days
    return history_days >= MIN_HISTORY_DAYS and origin + pd.Timedelta(days=horizon - 1) <= last_day


def pick_origins(first_day: pd.Timestamp, last_day: pd.Timestamp, max_origins: int) -> list[tuple[pd.Timestamp, str]]:
    """The latest eligible origin of each kind (two ordinary ones), capped in ORIGIN_PRIORITY order, by date."""
    found = sorted((c for year in range(first_day.year, last_day.year + 1) for c in origin_candidates(year)
                    if eligible(c[0], first_day, last_day)), reverse=True)
    picked: list[tuple[pd.Timestamp, str]] = []
    for kind in ORIGIN_PRIORITY:
        latest = next((c for c in found if c[1] == kind and c not in picked), None)
        if latest is not None:
            picked.append(latest)
    return sorted(picked[:max_origins])


def holiday_windows(origin: pd.Timestamp, horizon: int = HORIZON) -> tuple[str, ...]:
    """The holiday windows inside the horizon: christmas (Dec 24 - Jan 1), easter (Good Friday - Easter Monday,
    Western), thanksgiving (US); ("none",) without any."""
    days = pd.date_range(origin, periods=horizon, freq="D")
    tags = []
    if ((days.month == 12) & (days.day >= 24) | (days.month == 1) & (days.day == 1)).any():
        tags.append("christmas")
    years = sorted(set(days.year))
    if any(days.isin(pd.date_range(pd.Timestamp(easter(y)) - pd.Timedelta(days=2), periods=4)).any() for y in years):
        tags.append("easter")
    if any(thanksgiving(y) in days for y in years):
        tags.append("thanksgiving")
    return tuple(tags) or ("none",)


def make_tasks(series: list[accuracy_data.Series], max_origins: int, calendar: str,
               history_days: int | None = None) -> list[Task]:
    """Every (series, origin) task; `calendar` default gives every series the US calendar, local its own;
    `history_days` keeps only that many days before each origin (the speed target is stated for two years)."""
    tasks = []
    for s in series:
        country = DEFAULT_CALENDAR if calendar == "default" else s.country
        for origin, kind in pick_origins(s.values.index[0], s.values.index[-1], max_origins):
            first = origin - pd.Timedelta(days=history_days) if history_days else None
            values = s.values[first: origin + pd.Timedelta(days=HORIZON - 1)]
            tasks.append(Task(s.dataset, s.name, country, origin, kind, holiday_windows(origin), values))
    return tasks


def mase_scale(train: np.ndarray, season: int = SEASON) -> float | None:
    """In-sample MAE of the seasonal naive forecast; None when it is 0 or undefined (MASE is then skipped)."""
    if len(train) <= season:
        return None
    scale = float(np.mean(np.abs(train[season:] - train[:-season])))
    return scale if scale > 0 else None


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent; a day where both are 0 counts 0."""
    denominator = np.abs(actual) + np.abs(forecast)
    safe = np.where(denominator == 0, 1.0, denominator)
    return float(100 * np.mean(np.where(denominator == 0, 0.0, 2 * np.abs(actual - forecast) / safe)))


def coverage(actual: np.ndarray, lower: np.ndarray | None, upper: np.ndarray | None) -> float | None:
    """Share of days inside [lower, upper]; None when the method gives no such interval."""
    if lower is None or upper is None:
        return None
    return float(np.mean((actual >= lower) & (actual <= upper)))


def metrics(actual: np.ndarray, prediction: Mapping[str, np.ndarray | None], scale: float | None) -> dict:
    """MASE, sMAPE and 80%/95% coverage of one prediction (keys mean, lo80, hi80, lo95, hi95)."""
    mae = float(np.mean(np.abs(actual - prediction["mean"])))
    return {"mase": None if scale is None else mae / scale, "smape": smape(actual, prediction["mean"]),
            "cov80": coverage(actual, prediction.get("lo80"), prediction.get("hi80")),
            "cov95": coverage(actual, prediction.get("lo95"), prediction.get("hi95"))}


def castflow_prediction(frame: pd.DataFrame, days: pd.DatetimeIndex) -> dict[str, np.ndarray | None]:
    """A castflow forecast frame as a prediction (its 80% band is p10/p90, when the frame has them)."""
    frame = frame.reindex(days)
    column = {"mean": "value", "lo95": "lower", "hi95": "upper", "lo80": "p10", "hi80": "p90"}
    return {key: frame[name].to_numpy(dtype="float64") if name in frame else None for key, name in column.items()}


def peer_prediction(output: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A statsforecast `forecast` dict as a prediction."""
    keys = {"mean": "mean", "lo80": "lo-80", "hi80": "hi-80", "lo95": "lo-95", "hi95": "hi-95"}
    return {key: np.asarray(output[name], dtype="float64") for key, name in keys.items()}


def cpu_seconds() -> float:
    """CPU seconds of this process plus its finished children (Prophet runs Stan as a subprocess)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _row(task: Task, method: str, family: str, cpu: float | None, scores: dict | None, error: str = "") -> dict:
    return method_row(_task_fields(task), method, family, cpu, scores, error)


def _task_fields(task: Task) -> dict:
    return {"dataset": task.dataset, "series": task.series, "origin": task.origin.date().isoformat(),
            "kind": task.kind, "windows": "+".join(task.windows), "calendar": task.calendar,
            "train_days": len(task.values) - HORIZON}


def method_row(base: dict, method: str, family: str, cpu: float | None, scores: dict | None, error: str = "") -> dict:
    """A result row: the task's fields, then the method, its status, CPU seconds and scores (None when it failed)."""
    return base | {"method": method, "family": family, "status": "failed" if error else "ok", "error": error,
                   "cpu_s": cpu} | (scores or {"mase": None, "smape": None, "cov80": None, "cov95": None})


def result_rows(base: dict, result: CategoryForecast, actual: pd.Series, spent: float,
                score: Callable[[np.ndarray, Mapping], dict]) -> list[dict]:
    """The rows of one forecast_category call: one per forecast it returns, per model it lost, and its marked best."""
    y = actual.to_numpy(dtype="float64")
    rows = [method_row(base, str(model), "castflow", spent, score(y, castflow_prediction(frame, actual.index)))
            for model, frame in result.forecasts.items()]
    rows += [method_row(base, str(model), "castflow", spent, None, reason) for model, reason in result.errors.items()
             if model not in result.forecasts]
    if result.best in result.forecasts:
        best = castflow_prediction(result.forecasts[result.best], actual.index)
        rows.append(method_row(base, "marked_best", "castflow", spent, score(y, best)))
    return rows


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"


def castflow_rows(task: Task, train: pd.Series, actual: pd.Series, scale: float | None,
                  models: Mapping | None) -> list[dict]:
    """One forecast_category call: a row per forecast it returns, per model it lost, and for its marked best."""
    holidays = holiday_frame(task.calendar, train.index[0], actual.index[-1])
    started = cpu_seconds()
    try:
        result = forecast_category(train, HORIZON, holidays, LEVEL, fitters() if models is None else models)
    except Exception as exc:  # noqa: BLE001 - a failing call is a result of the benchmark, not its end
        return [_row(task, "castflow", "castflow", cpu_seconds() - started, None, _error(exc))]
    spent = cpu_seconds() - started
    return result_rows(_task_fields(task), result, actual, spent,
                       lambda y, prediction: metrics(y, prediction, scale))


def peer_model(name: str, train_days: int) -> object:
    """A statsforecast model: season 7; MSTL also yearly (365) when the history has two years."""
    from statsforecast import models

    if name == "MSTL":
        return models.MSTL(season_length=[7, 365] if train_days >= 2 * 365 else 7)
    return getattr(models, name)(season_length=SEASON)


def peer_row(task: Task, name: str, model: object, train: pd.Series, actual: pd.Series, scale: float | None) -> dict:
    """Forecast with one peer on the task's history; a peer that raises is a failed row."""
    method, started = PEER_PREFIX + name, cpu_seconds()
    try:
        prediction = peer_prediction(model.forecast(y=train.to_numpy(dtype="float64"), h=HORIZON, level=[80, 95]))
    except Exception as exc:  # noqa: BLE001 - a peer failing on a task is counted, not fatal
        return _row(task, method, "peer", cpu_seconds() - started, None, _error(exc))
    spent = cpu_seconds() - started
    if not np.isfinite(prediction["mean"]).all():
        return _row(task, method, "peer", spent, None, "non-finite forecast")
    return _row(task, method, "peer", spent, metrics(actual.to_numpy(dtype="float64"), prediction, scale))


def run_task(task: Task, castflow: bool = True, peers: tuple[str, ...] = PEERS,
             models: Mapping | None = None) -> list[dict]:
    """Score castflow (unless `castflow` is False; `models` replaces fitters()) and the peers on one task."""
    train, actual = task.values.iloc[:-HORIZON], task.values.iloc[-HORIZON:]
    scale = mase_scale(train.to_numpy(dtype="float64"))
    rows = castflow_rows(task, train, actual, scale, models) if castflow else []
    return rows + [peer_row(task, name, peer_model(name, len(train)), train, actual, scale) for name in peers]


def quiet_worker() -> None:
    """Pool initializer: keep library warnings and INFO logs off the report."""
    warnings.simplefilter("ignore")
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger().setLevel(logging.ERROR)


def preload() -> None:
    """Import the model libraries before forking, so no task's CPU time pays for the imports."""
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
    import prophet  # noqa: F401
    import statsforecast.models  # noqa: F401

    fitters()


def run_all(tasks: list, jobs: int, castflow: bool, peers: tuple[str, ...], run=None) -> list[dict]:  # noqa: ANN001
    """Run the tasks (`run`: run_task, or the grains' run_grain_task) on a pool of `jobs` processes, longest
    histories first (they take longest); progress to stderr."""
    rows: list[dict] = []
    tasks = sorted(tasks, key=lambda task: -len(task.values))
    work = partial(run or run_task, castflow=castflow, peers=peers)
    with multiprocessing.get_context("fork").Pool(jobs, quiet_worker, maxtasksperchild=MAX_TASKS_PER_CHILD) as pool:
        for done, task_rows in enumerate(pool.imap_unordered(work, tasks), start=1):
            rows += task_rows
            first = task_rows[0] if task_rows else {}
            print(f"[{done}/{len(tasks)}] {first.get('dataset')} {first.get('series')} {first.get('origin')}",
                  file=sys.stderr, flush=True)
    return rows


def select_series(datasets: list[str], max_series: int | None) -> list[accuracy_data.Series]:
    """The series of the chosen datasets, the first `max_series` of each when given."""
    return [s for d in datasets for s in accuracy_data.load(d)[:max_series]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--calendar", choices=("default", "local"), default="default")
    parser.add_argument("--datasets", default=",".join(accuracy_data.LOADERS))
    parser.add_argument("--max-origins", type=int, default=DEFAULT_MAX_ORIGINS)
    parser.add_argument("--max-series", type=int, help="series per dataset (default all)")
    parser.add_argument("--quick", action="store_true", help="2 series per dataset, 2 origins each")
    parser.add_argument("--max-history-days", type=int, help="days of history kept before each origin (default all)")
    parser.add_argument("--grains", action="store_true",
                        help="only the weekly and monthly files of the grains set (peers at their own season)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--no-peers", action="store_true")
    group.add_argument("--peers-only", action="store_true")
    parser.add_argument("--out", type=Path, help="write the per-(task, method) rows to this CSV")
    args = parser.parse_args(argv)
    unknown = set(args.datasets.split(",")) - set(accuracy_data.LOADERS)
    if unknown:
        parser.error(f"unknown datasets {sorted(unknown)}; choose from {list(accuracy_data.LOADERS)}")
    return args


def main(argv: list[str] | None = None) -> None:
    """Build the tasks, run them, print the report (and write the rows when asked)."""
    args = parse_args(argv)
    started = time.perf_counter()
    if args.grains:
        grains_main(args, started)
        return
    series = select_series(args.datasets.split(","), min(2, args.max_series or 2) if args.quick else args.max_series)
    tasks = make_tasks(series, min(2, args.max_origins) if args.quick else args.max_origins, args.calendar,
                       args.max_history_days)
    print(f"{len(tasks)} tasks from {len(series)} series, calendar {args.calendar}, jobs {args.jobs}", flush=True)
    preload()
    rows = pd.DataFrame(run_all(tasks, args.jobs, not args.peers_only, () if args.no_peers else PEERS))
    if args.out:
        rows.to_csv(args.out, index=False)
    print(report(rows, time.perf_counter() - started))


def grains_main(args: argparse.Namespace, started: float) -> None:
    """--grains: the weekly and monthly tasks (bench/accuracy_grains.py), run and reported."""
    from bench import accuracy_grains

    max_origins = args.max_origins if args.max_origins != DEFAULT_MAX_ORIGINS else accuracy_grains.DEFAULT_MAX_ORIGINS
    tasks = accuracy_grains.make_tasks(min(2, max_origins) if args.quick else max_origins,
                                       1 if args.quick else args.max_series, args.calendar)
    print(f"{len(tasks)} weekly and monthly tasks, calendar {args.calendar}, jobs {args.jobs}", flush=True)
    preload()
    peers = () if args.no_peers else accuracy_grains.PEERS
    rows = pd.DataFrame(run_all(tasks, args.jobs, not args.peers_only, peers, accuracy_grains.run_grain_task))
    if args.out:
        rows.to_csv(args.out, index=False)
    print(accuracy_grains.grain_report(rows, time.perf_counter() - started))


if __name__ == "__main__":
    main()
