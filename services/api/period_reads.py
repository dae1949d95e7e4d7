"""The reads behind the weekly and monthly views: forecast rows, runs, error structures, actuals and targets.

The sums themselves are services/api/periods.py's pure functions; this module loads what they need and puts
their answers in the order and shape the API shows.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.grain import Grain, detect
from common.models import ForecastMetric, ForecastRun
from services.api import periods, targets
from services.api.forecast_reads import (
    ForecastFilter,
    category_exists,
    category_history,
    daily_history,
    forecast_rows,
    latest_run_id,
    run_exists,
)
from services.forecast import sums

#: The daily row fields a period sum reads, and the frame names services/forecast/sums.py gives them.
ROW_FIELDS = ("category", "model_type", "run_id", "batch_num", "forecast_date", "forecast_value", "lower_bound",
              "upper_bound", "p10", "p50", "p90")
_FRAME_NAMES = {api: frame for frame, api in periods.QUANTILE_FIELDS.items()}


class NoForecast(LookupError):
    """The category named has no completed forecast run to sum."""


def forecast_periods(session: Session, where: ForecastFilter, grain: Grain) -> list[dict[str, object]] | None:
    """Every matching forecast series summed per period of `grain`, ordered by category, model and period.

    None when the filter names a run that does not exist; NoForecast when it names a category without a
    completed run; periods.FinerThanSource when a run's rows come at a coarser grain than `grain`.
    """
    rows = forecast_rows(session, where, ROW_FIELDS)
    if not rows:
        if where.run_id is not None and not run_exists(session, where.run_id):
            return None
        if where.run_id is None and where.category is not None and not _has_completed_run(session, where.category):
            raise NoForecast(where.category)
        return []
    frame = pd.DataFrame(rows, columns=ROW_FIELDS).rename(columns=_FRAME_NAMES)
    runs = _runs(session, set(frame["run_id"]))
    structures = _structures(session, set(frame["run_id"]))
    found = targets.targets_of(session, set(frame["category"])) if grain is Grain.MONTH else {}
    answer: list[dict[str, object]] = []
    stored: dict[tuple[str, dt.date, dt.date], dict[dt.date, float]] = {}  # one read per category, whatever the models
    for (category, model, run_id), series in frame.groupby(["category", "model_type", "run_id"], sort=False):
        history_end, source = runs.get(run_id, (None, Grain.DAY))
        try:
            summed = periods.forecast_periods(series, grain, source, structures.get((run_id, model), sums.DEFAULT))
        except periods.FinerThanSource as exc:
            raise periods.FinerThanSource(f"category {category[:100]!r}: {exc}") from None
        head = {"category": category, "model_type": model, "run_id": int(run_id),
                "batch_num": _optional_int(series["batch_num"].iloc[0]), "grain": grain.value}
        for period in summed:
            period = _with_actual(session, stored, period, category, grain, history_end, where.start_date)
            if grain is Grain.MONTH:
                period = periods.with_target(period, found.get((category, period["start"])))
            answer.append(_as_json(head, period, grain))
    return answer


def _has_completed_run(session: Session, category: str) -> bool:
    return session.scalar(select(latest_run_id(category))) is not None


def _runs(session: Session, run_ids: set[int]) -> dict[int, tuple[dt.date | None, Grain]]:
    """Each run's last history day and the grain its rows come in (daily until runs record a grain)."""
    # forecast_runs.grain arrives with forecasting at each category's own grain; until then rows are daily.
    grain_column = getattr(ForecastRun, "grain", None)
    columns = [ForecastRun.id, ForecastRun.history_end] + ([grain_column] if grain_column is not None else [])
    found = {}
    for row in session.execute(select(*columns).where(ForecastRun.id.in_(sorted(run_ids)))):
        found[row[0]] = (row[1], Grain(row[2]) if len(row) > 2 and row[2] else Grain.DAY)
    return found


def _structures(session: Session, run_ids: set[int]) -> dict[tuple[int, str], sums.ErrorCorrelation]:
    """The error structure each (run, model) sums with: its measured one, or the default for older runs."""
    query = (select(ForecastMetric.run_id, ForecastMetric.model_type, ForecastMetric.error_level,
                    ForecastMetric.error_ar).where(ForecastMetric.run_id.in_(sorted(run_ids))))
    return {(run_id, model): sums.for_sums(level, ar) for run_id, model, level, ar in session.execute(query)}


def _with_actual(session: Session, stored: dict[tuple[str, dt.date, dt.date], dict[dt.date, float]],
                 period: dict[str, object], category: str, grain: Grain, history_end: dt.date | None,
                 start_date: dt.date | None) -> dict[str, object]:
    """The period with the stored history of its days before the forecast (the period the forecast starts in);
    `stored` keeps each history read for the request's other series of the same category."""
    days = periods.straddled(period["start"], grain, history_end)
    if days is None or period["forecast_start"] != days[1] + dt.timedelta(days=1):
        return periods.with_actual(period, None, 0)
    key = (category, max(days[0], start_date) if start_date else days[0], days[1])
    if key not in stored:
        stored[key] = daily_history(session, category, key[1], key[2] + dt.timedelta(days=1))
    found = stored[key]
    return periods.with_actual(period, sum(found.values()) if found else None, len(found))


def _as_json(head: dict[str, object], period: dict[str, object], grain: Grain) -> dict[str, object]:
    start = period.pop("start")
    end = start + dt.timedelta(days=int(period["days_in_period"]) - 1)
    rounded = {k: round(v, 2) if isinstance(v, float) and k in periods.QUANTILE_FIELDS.values() else v
               for k, v in period.items()}
    return {**head, "forecast_date": start.isoformat(), "period_end": end.isoformat(),
            **{k: v.isoformat() if isinstance(v, dt.date) else v for k, v in rounded.items()}}


def _optional_int(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def history_periods(session: Session, category: str, grain: Grain, start: dt.date | None,
                    end: dt.date | None) -> list[dict[str, object]] | None:
    """The category's stored totals summed per period of `grain` (each with the days it holds); None if unknown."""
    if not category_exists(session, category):
        return None
    days = category_history(session, category)
    source = detect(day for day, _ in days).grain or Grain.DAY
    inside = [(day, sales) for day, sales in days if (start is None or day >= start) and (end is None or day <= end)]
    if not inside:
        return []
    first, last = max(days[0][0], start or days[0][0]), min(days[-1][0], end or days[-1][0])
    return periods.history_periods(inside, grain, source, first, last)

