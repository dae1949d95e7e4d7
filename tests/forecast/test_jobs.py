"""The forecast job on SQLite + fakeredis, with fast stand-in models: publish, roll-up, failures, reruns."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from common.models import CategorySetting, ForecastData, ForecastMetric, ForecastRun
from common.queue import FORECAST_QUEUE
from common.status import ModelType
from services.forecast import jobs
from services.forecast.plan import make_plan
from services.forecast.series import GrainSeries, daily_series, holiday_frame, load_series
from tests.conftest import upload
from tests.forecast.test_backtest import broken, constant

HEADER = "Date,product_id,category,sales\n"
TWO_MONTHS = HEADER + "".join(f"2023-{m:02d}-{d:02d},p,{c},{d}\n" for m in (1, 2) for d in range(1, 29)
                              for c in ("north", "south"))


@pytest.fixture
def fake_models(monkeypatch):
    """Stand-in models (the real ones have their own tests): two that work, one that crashes."""
    models = {ModelType.HOLT_WINTERS: constant(10), ModelType.SARIMAX: constant(20), ModelType.PROPHET: broken}
    monkeypatch.setattr(jobs, "fitters", lambda: models)
    return models


@pytest.fixture
def loaded(client, drain):
    """A completed batch with two categories, whose forecast runs are queued."""
    batch = upload(client, TWO_MONTHS).json["batch_num"]
    drain()
    return batch


def runs(engine) -> list[ForecastRun]:
    with Session(engine) as session:
        return list(session.scalars(select(ForecastRun).order_by(ForecastRun.id)))


def test_worker_fans_out_and_rolls_the_batch_up(client, drain, engine, fake_models, loaded):
    """The ETL queued one run per category; the forecast queue drains them and the batch ends completed."""
    assert client.get(f"/batches/{loaded}").json["forecast_status"] == "pending"
    drain(FORECAST_QUEUE)
    assert [(r.category, r.status) for r in runs(engine)] == [("north", "completed"), ("south", "completed")]
    assert client.get(f"/batches/{loaded}").json["forecast_status"] == "completed"
    with Session(engine) as session:
        rows = session.scalars(select(ForecastData).where(ForecastData.category == "north")).all()
        metrics = {m.model_type: m for m in session.scalars(select(ForecastMetric).where(ForecastMetric.run_id == 1))}
    assert {r.model_type for r in rows} == {"holt_winters", "sarimax", "ensemble", "recommended"}
    assert len(rows) == 4 * 30 and min(r.forecast_date.isoformat() for r in rows) == "2023-03-01"
    assert metrics["prophet"].error.startswith("RuntimeError") and metrics["prophet"].mae is None
    lowest = min((row.mase, m) for m, row in metrics.items() if row.mase is not None)[1]
    assert [m for m, row in metrics.items() if row.is_best] == [lowest] == ["ensemble"]  # 15 beats 10 and 20 here


def test_roll_up_says_running_until_the_last_run_ends(client, engine, settings, fake_models, loaded):
    """With one of two runs done the batch is running; after both it is completed."""
    first, second = (r.id for r in runs(engine))
    jobs.process_run(first, settings=settings, engine=engine)
    assert client.get(f"/batches/{loaded}").json["forecast_status"] == "running"
    jobs.process_run(second, settings=settings, engine=engine)
    assert client.get(f"/batches/{loaded}").json["forecast_status"] == "completed"


def test_a_run_where_every_model_fails_publishes_the_naive_fallback(client, engine, settings, monkeypatch, loaded):
    """No model succeeded: the run completes with the naive forecast, marked as such, and each model's reason."""
    monkeypatch.setattr(jobs, "fitters", lambda: {ModelType.SARIMAX: broken})
    for run in runs(engine):
        assert jobs.process_run(run.id, settings=settings, engine=engine) == "completed"
    run = runs(engine)[0]
    assert json.loads(run.error_log)["sarimax"].startswith("RuntimeError")
    assert run.recommended_method.startswith("naive fallback") and "no model could forecast" in run.recommended_method
    with Session(engine) as session:
        rows = session.scalars(select(ForecastData).where(ForecastData.run_id == run.id)).all()
    assert {r.model_type for r in rows} == {"naive", "recommended"}
    assert [r.forecast_value for r in rows] == pytest.approx([sum(range(22, 29)) / 7] * 60)  # the last week's mean
    assert client.get(f"/batches/{loaded}").json["forecast_status"] == "completed"


def test_a_vanished_category_fails_its_run_clearly(engine, settings, fake_models, loaded):
    """A run for a category with no stored rows fails saying so."""
    with Session(engine) as session, session.begin():
        session.execute(update(ForecastRun).where(ForecastRun.id == 1).values(category="gone"))
    assert jobs.process_run(1, settings=settings, engine=engine) == "failed"
    assert "no stored data" in runs(engine)[0].error_log


def test_running_a_run_twice_publishes_once(engine, settings, fake_models, loaded):
    """A second run of an ended run is a no-op: no duplicate forecast rows."""
    assert jobs.process_run(1, settings=settings, engine=engine) == "completed"
    assert jobs.process_run(1, settings=settings, engine=engine) is None
    with Session(engine) as session:
        assert len(session.scalars(select(ForecastData).where(ForecastData.run_id == 1)).all()) == 120


def test_a_crash_is_retried_then_fails(engine, settings, fake_models, monkeypatch, loaded):
    """An error outside the models puts the run back to pending for a retry; the last attempt fails it."""
    monkeypatch.setattr(jobs, "publish", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("db gone")))
    for attempt in range(1, settings.forecast_max_attempts + 1):
        with pytest.raises(RuntimeError):
            jobs.process_run(1, settings=settings, engine=engine)
        expected = "failed" if attempt == settings.forecast_max_attempts else "pending"
        assert runs(engine)[0].status == expected


def test_the_run_records_its_history_and_calendar(engine, settings, fake_models, loaded):
    """A run stores the days it saw and the holiday calendar it used (a category override wins)."""
    with Session(engine) as session, session.begin():
        session.add(CategorySetting(category="south", holiday_country=None))
    for run in runs(engine):
        jobs.process_run(run.id, settings=settings, engine=engine)
    north, south = runs(engine)
    assert (north.history_start.isoformat(), north.history_end.isoformat()) == ("2023-01-01", "2023-02-28")
    assert (north.holiday_country, south.holiday_country) == ("US", None)


def test_daily_series_fills_missing_days_with_zero():
    """Days without rows count as 0 between the first and the last stored day."""
    import datetime as dt
    series = daily_series([(dt.date(2023, 1, 1), 5), (dt.date(2023, 1, 4), 2.5)])
    assert series.tolist() == [5.0, 0.0, 0.0, 2.5]
    assert series.index.freqstr == "D"


def test_holiday_frame_lists_the_country_days_in_range():
    """The US calendar has Independence Day; no country means an empty calendar."""
    import pandas as pd
    frame = holiday_frame("US", pd.Timestamp("2023-07-01"), pd.Timestamp("2023-07-31"))
    assert frame["ds"].dt.strftime("%Y-%m-%d").tolist() == ["2023-07-04"]
    assert holiday_frame(None, pd.Timestamp("2023-07-01"), pd.Timestamp("2023-07-31")).empty


def test_a_run_claimed_twice_is_published_by_the_latest_claim_only(engine, settings, fake_models, loaded):
    """Two jobs for one run (a duplicate queue entry): the stale one discards its result."""
    stale = jobs.claim_run(engine, 1)
    assert jobs.process_run(1, settings=settings, engine=engine) == "completed"
    with engine.connect() as conn:
        history = load_series(conn, stale.category)
    result = jobs.forecast_category(history, stale.horizon, holiday_frame(None, history.index[0], history.index[-1]),
                                    0.95, fake_models)
    plan = make_plan(history.index.date, None, None, stale.horizon)
    assert jobs.publish(engine, stale, GrainSeries(history), "US", result, plan) is None
    with Session(engine) as session:
        assert len(session.scalars(select(ForecastData).where(ForecastData.run_id == 1)).all()) == 120


def test_a_run_records_its_grain_and_says_what_it_left_out(engine, settings, fake_models, loaded):
    """Days from Sunday 1 January to Tuesday 28 February with grain week: the partial first and last weeks are
    left out and said so; the run is weekly, 13 periods ahead, horizon_days left as asked."""
    with Session(engine) as session, session.begin():
        session.add(CategorySetting(category="north", holiday_country_default=True, grain="week"))
    jobs.process_run(1, settings=settings, engine=engine)
    north = runs(engine)[0]
    assert (north.grain, north.grain_anchor, north.horizon_periods, north.horizon_days) == ("week", "Monday", 13, 30)
    assert (north.history_start.isoformat(), north.history_end.isoformat()) == ("2023-01-02", "2023-02-20")
    notes = json.loads(north.error_log)["series"]
    assert notes.startswith("the first week (2022-12-26) was left out") and "the last week (2023-02-27)" in notes


def test_a_grain_setting_finer_than_the_data_fails_the_run_in_words(engine, settings, fake_models, client, drain):
    """Monthly rows with grain day (set before the data came): the run fails with grain_problem, no forecast."""
    months = HEADER + "".join(f"2021-{m:02d}-01,p,monthly,5\n" for m in range(1, 13))
    upload(client, months)
    drain()
    with Session(engine) as session, session.begin():
        session.add(CategorySetting(category="monthly", grain="day"))
    run = runs(engine)[0]
    assert jobs.process_run(run.id, settings=settings, engine=engine) == "failed"
    failed = runs(engine)[0]
    assert "set to day but its data are monthly" in failed.grain_problem
    assert json.loads(failed.error_log)["run"] == failed.grain_problem
