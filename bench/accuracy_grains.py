"""bench/accuracy.py --grains: castflow at weeks and months against statsforecast peers at the same season.

The real weekly and monthly files of the shared grains set (see its README) are read as castflow stores and
plans them: summed per category, each period dated at its first day, a missing period a gap (common.grain
and services/forecast/series.grain_series). Each series is cut at several origins (the last ones, half a
year apart, so different seasons are forecast), with the grain's default horizon held back (13 weeks, 12
months). castflow's `forecast_category` (every model, ensemble, recommended, marked best) and the peers
(statsforecast AutoETS, AutoARIMA, AutoTheta and SeasonalNaive with the file's own season: 52 weeks, 12
months) forecast the same periods; MASE is scaled by the in-sample seasonal naive at that season. The
calendar is the default a new user has (US), or each file's own with --calendar local: its holidays name
the periods they fall in, which Prophet fits (services/forecast/calendar.in_periods).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.accuracy import PEER_PREFIX, cpu_seconds, method_row, metrics, peer_prediction, result_rows
from bench.accuracy_tables import mase_pivot, paired_ratio, report
from bench.shared import SHARED_DATA
from common.grain import Grain, detect, week_start_of
from services.forecast.backtest import forecast_category
from services.forecast.models import fitters
from services.forecast.periods import grain_of, spec
from services.forecast.series import grain_series, holiday_frame

GRAINS = SHARED_DATA / "grains"

COUNTRIES = {"au": "AU", "us": "US", "favorita": "EC", "store-item": "US"}
"""Each file's own calendar (--calendar local), by the start of its name after the grain."""

PEERS = ("AutoETS", "AutoARIMA", "AutoTheta", "SeasonalNaive")
"""statsforecast peers, each with the file's own season (52 weeks, 12 months)."""

DEFAULT_MAX_ORIGINS = 4
"""Origins per series: the last horizon, then every half year back."""

MIN_HISTORY_YEARS = 2
"""Years of history an origin needs before it (two yearly seasons)."""

LEVEL = 0.95
"""Interval level castflow is asked for."""


@dataclass(frozen=True)
class GrainTask:
    """One split: a series of a grains file cut before period `cut`; `values` runs to the horizon's end."""

    dataset: str
    series: str
    values: pd.Series
    cut: int
    #: The holiday calendar castflow is given (ISO code; "" for none).
    calendar: str = "US"


def load_series(max_series: int | None = None) -> list[tuple[str, str, pd.Series]]:
    """(file, category, period series) for every category of every weekly_ and monthly_ file."""
    found = []
    for path in sorted(GRAINS.glob("*.csv")):
        frame = pd.read_csv(path, parse_dates=["Date"])
        for category, rows in list(frame.groupby("category"))[:max_series]:
            totals = rows.groupby("Date")["sales"].sum()
            report = detect(totals.index.date)
            pairs = list(zip(totals.index.date, totals.to_numpy(dtype="float64"), strict=True))
            made = grain_series(pairs, report.grain, week_start_of(report.anchor), report.grain)
            found.append((path.stem, str(category), made.series))
    return found


def origins(length: int, grain: Grain, max_origins: int) -> list[int]:
    """Cut positions: the last horizon, then every half year back, each with two years of history before it."""
    grain_spec = spec(grain)
    step, least = round(grain_spec.year / 2), MIN_HISTORY_YEARS * round(grain_spec.year)
    cuts = [length - grain_spec.default_horizon - k * step for k in range(max_origins)]
    return sorted(cut for cut in cuts if cut >= least)


def mase_scale(train: np.ndarray, season: int) -> float | None:
    """In-sample MAE of the seasonal naive at `season` (lag 1 under two seasons), gaps left out; None when 0."""
    lag = season if len(train) >= 2 * season else 1
    diffs = np.abs(train[lag:] - train[:-lag])
    scale = float(np.nanmean(diffs)) if np.isfinite(diffs).any() else 0.0
    return scale if scale > 0 else None


def _scores(actual: np.ndarray, prediction: Mapping[str, np.ndarray | None], scale: float | None) -> dict:
    """bench/accuracy.metrics on the observed periods only (a gap is never scored)."""
    observed = np.isfinite(actual)
    kept = {key: None if value is None else np.asarray(value)[observed] for key, value in prediction.items()}
    return metrics(actual[observed], kept, scale)


def run_grain_task(task: GrainTask, castflow: bool = True, peers: tuple[str, ...] = PEERS) -> list[dict]:
    """Score castflow and the peers on one task."""
    name, category, series, cut = task.dataset, task.series, task.values, task.cut
    grain_spec = spec(grain_of(series.index))
    horizon, season = grain_spec.default_horizon, grain_spec.naive_season
    train, actual = series.iloc[:cut], series.iloc[cut:cut + horizon]
    scale = mase_scale(train.to_numpy(dtype="float64"), season)
    base = {"dataset": name, "series": category, "origin": actual.index[0].date().isoformat(),
            "kind": grain_spec.grain.value, "windows": "none", "calendar": "",
            "train_days": int((actual.index[0] - train.index[0]).days)}
    base["calendar"] = task.calendar
    holidays = holiday_frame(task.calendar, train.index[0], actual.index[-1] + pd.Timedelta(days=92))
    rows = _castflow_rows(base, train, actual, scale, horizon, holidays) if castflow else []
    for peer in peers:
        started = cpu_seconds()
        rows.append(_peer_row(base, peer, season, train, actual, scale, horizon) | {"cpu_s": cpu_seconds() - started})
    return rows


def _castflow_rows(base: dict, train: pd.Series, actual: pd.Series, scale: float | None, horizon: int,
                   holidays: pd.DataFrame) -> list[dict]:
    """One forecast_category call: a row per forecast it returns, per model it lost, and for its marked best."""
    started = cpu_seconds()
    result = forecast_category(train, horizon, holidays, LEVEL, fitters())
    spent = cpu_seconds() - started
    return result_rows(base, result, actual, spent, lambda y, prediction: _scores(y, prediction, scale))


def _peer_row(base: dict, name: str, season: int, train: pd.Series, actual: pd.Series, scale: float | None,
              horizon: int) -> dict:
    """One statsforecast peer at the grain's season, on the history with its gaps interpolated."""
    from statsforecast import models

    y = train.interpolate(limit_direction="both").to_numpy(dtype="float64")
    try:
        output = getattr(models, name)(season_length=season).forecast(y=y, h=horizon, level=[80, 95])
        prediction = peer_prediction(output)
    except Exception as exc:  # noqa: BLE001 - a peer failing on a task is counted, not fatal
        return method_row(base, PEER_PREFIX + name, "peer", None, None, f"{type(exc).__name__}: {str(exc)[:200]}")
    return method_row(base, PEER_PREFIX + name, "peer", None,
                _scores(actual.to_numpy(dtype="float64"), prediction, scale))


def make_tasks(max_origins: int = DEFAULT_MAX_ORIGINS, max_series: int | None = None,
               calendar: str = "default") -> list[GrainTask]:
    """Every (file, category, cut) task of the grains set (`max_series`: categories per file; `calendar`
    default: US for all, local: each file's own)."""
    return [GrainTask(name, category, series.iloc[:cut + spec(grain_of(series.index)).default_horizon], cut,
                      "US" if calendar == "default" else local_calendar(name))
            for name, category, series in load_series(max_series)
            for cut in origins(len(series), grain_of(series.index), max_origins)]


def local_calendar(name: str) -> str:
    """A grains file's own calendar, from its name (weekly_favorita-stores-7-12 -> EC)."""
    source = name.split("_", 1)[1]
    return next(code for prefix, code in COUNTRIES.items() if source.startswith(prefix))


def target_lines(rows: pd.DataFrame) -> list[str]:
    """The issue's targets: recommended against the seasonal naive and AutoETS at the file's season, per grain."""
    lines = []
    for grain, group in [("all", rows), *rows.groupby("kind")]:
        for other, goal in (("sf_SeasonalNaive", "< 1"), ("sf_AutoETS", "<= 1.10")):
            ratio, n = paired_ratio(group, "recommended", other)
            shown = "n/a" if ratio is None else f"{ratio:.3f}"
            lines.append(f"{grain}: recommended / {other} mean MASE = {shown} (target {goal}; {n} tasks)")
    return lines


def grain_report(rows: pd.DataFrame, wall_s: float) -> str:
    """The --grains report: bench/accuracy's tables, the mean MASE per grain and the target ratios."""
    methods = list(rows["method"].drop_duplicates())
    per_grain = mase_pivot(rows, "kind", methods).to_string(float_format=lambda v: f"{v:.3f}", na_rep="n/a")
    return "\n".join([report(rows, wall_s), "", "== Mean MASE per grain ==", per_grain, "",
                      "== Targets (issue 11) ==", *target_lines(rows)])
