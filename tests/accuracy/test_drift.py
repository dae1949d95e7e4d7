"""Drift: a category whose forecast does much worse on new actuals than in its backtest is marked and re-forecast.

The next run of the category judges it before it fits (services/etl/drift.py, judge_replaced); `judge_pending`
takes that first step of every queued run, and one test runs a whole forecast job."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import replace

import pytest
from sqlalchemy import select, text

from common.db import utcnow
from common.models import CategoryDrift, CategorySetting, ForecastRun, WebhookDelivery
from common.status import ModelType
from services.etl import drift as drift_module
from services.etl.drift import announce_drifts, check_drift, judge_replaced
from services.forecast import jobs
from tests.accuracy.seed import rows, seed_run
from tests.accuracy.test_realised import load
from tests.api.test_metrics import scrape, value
from tests.forecast.test_backtest import constant

DAY = dt.date(2023, 1, 1)
HISTORY = rows(DAY, {"p1": [10] * 14, "p2": [20] * 14})
END = DAY + dt.timedelta(days=13)
#: A week of actuals at the usual 30 a day.
WEEK = rows(END + dt.timedelta(days=1), {"p1": [10] * 7, "p2": [20] * 7})
#: A forecast 2 too high every day: realised MASE 2 on a naive scale of 1, four times a backtest MASE of 0.5.
HIGH = {"recommended": (32.0, 31.0, 33.0)}


@pytest.fixture
def drifting(client, drain, engine, redis, settings):
    """History, a run forecasting 2 too high, and the week that shows it, judged by the week's run: (run, batch)."""
    load(client, drain, HISTORY, "history.csv")
    run_id = seed_run(engine, history_end=END, days=14, models=HIGH, naive_scale=1.0, backtest_mase=0.5)
    batch = load(client, drain, WEEK, "week.csv")
    judge_pending(engine, redis, settings)
    return run_id, batch


def judge_pending(engine, redis, settings) -> None:
    """What each queued run's forecast job does first, in the order they were queued: judge the forecast it
    replaces."""
    for run_id, category, _ in pending_runs(engine, 0):
        judge_replaced(engine, redis, settings, run_id, category)


def north_drifting(client) -> bool:
    return {c["category"]: c for c in client.get("/categories").json}["north"]["drifting"]


def pending_runs(engine, after: int) -> list[tuple]:
    """(id, category, batch_num) of every pending run made after run `after`."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT id, category, batch_num FROM forecast_runs WHERE status = 'pending' AND id > :after ORDER BY id"
        ), {"after": after})]


def test_a_week_past_the_threshold_marks_the_category(drifting, client, engine):
    """/categories shows it drifting with the numbers and the reason; the batch's own run re-forecasts it."""
    run_id, batch = drifting
    north = {c["category"]: c for c in client.get("/categories").json}["north"]
    assert north["drifting"] is True
    drift = north["drift"]
    assert (drift["run_id"], drift["realised_mase"], drift["backtest_mase"], drift["ratio"], drift["threshold"]) == (
        run_id, 2.0, 0.5, 4.0, 1.5)
    assert drift["reason"].startswith(f"the recommended forecast of run {run_id} has a realised MASE of 2.00 over "
                                      "its 7 scored days, 4.0 times its backtest MASE of 0.50 (threshold 1.5 times)")
    assert pending_runs(engine, run_id) == [(drift["reforecast_run_id"], "north", batch)]  # one run: the batch's own


def test_fewer_than_a_week_of_scores_is_not_judged(client, drain, engine, settings, redis):
    """Six scored days are too few to call drift, however far off."""
    load(client, drain, HISTORY, "history.csv")
    seed_run(engine, history_end=END, days=14, models=HIGH, naive_scale=1.0, backtest_mase=0.5)
    load(client, drain, rows(END + dt.timedelta(days=1), {"p1": [10] * 6, "p2": [20] * 6}), "six.csv")
    judge_pending(engine, redis, settings)
    assert north_drifting(client) is False


def test_the_merge_judges_nothing_the_run_judges_the_forecast_it_replaces(client, drain, engine, settings, redis):
    """The batch is loaded with no drift measured; its run's forecast job judges the seeded run before it fits,
    marks the category (naming itself as the re-forecast), then publishes its own forecast."""
    load(client, drain, HISTORY, "history.csv")
    run_id = seed_run(engine, history_end=END, days=14, models=HIGH, naive_scale=1.0, backtest_mase=0.5)
    batch = load(client, drain, WEEK, "week.csv")
    assert north_drifting(client) is False
    [(pending, _, _)] = pending_runs(engine, run_id)
    status = jobs.process_run(pending, settings=settings, engine=engine, models={ModelType.HOLT_WINTERS: constant(30)},
                              redis=redis)
    assert status == "completed"
    drift = {c["category"]: c for c in client.get("/categories").json}["north"]["drift"]
    assert (drift["run_id"], drift["reforecast_run_id"], drift["ratio"]) == (run_id, pending, 4.0)
    assert client.get(f"/batches/{batch}").json["forecast_status"] == "completed"


def test_a_category_threshold_wins(client, drain, engine, settings, redis):
    """With drift_threshold 5 (set through the settings API) a ratio of 4 is not drifting."""
    load(client, drain, HISTORY, "history.csv")
    response = client.put("/categories/north/settings", json={"drift_threshold": 5})
    assert response.status_code == 200 and response.json["drift_threshold"] == 5.0
    assert response.json["drift_threshold_default"] == 1.5 and "runs" not in response.json  # no refresh for it
    seed_run(engine, history_end=END, days=14, models=HIGH, naive_scale=1.0, backtest_mase=0.5)
    load(client, drain, WEEK, "week.csv")
    judge_pending(engine, redis, settings)
    assert north_drifting(client) is False


@pytest.mark.parametrize("body", [{"drift_threshold": -1}, {"drift_threshold": 0}, {"drift_threshold": "2"},
                                  {"drift_threshold": True}, {"drift_reforecast": "no"}, {"drift_reforecast": 0}])
def test_bad_drift_settings_are_400(client, drain, body):
    """A threshold that is not a number > 0, or a reforecast flag that is not a boolean, is a 400 naming it."""
    load(client, drain, HISTORY, "history.csv")
    response = client.put("/categories/north/settings", json=body)
    assert response.status_code == 400
    assert next(iter(body)) in response.json["error"]


def test_a_later_run_within_the_threshold_clears_the_mark(drifting, client, drain, engine, settings, redis):
    """The next run forecasts well; once its week is scored the category is no longer drifting."""
    next_end = END + dt.timedelta(days=7)
    seed_run(engine, history_end=next_end, days=14, models={"recommended": (30.0, 29.0, 31.0)}, naive_scale=1.0,
             backtest_mase=0.5)
    load(client, drain, rows(next_end + dt.timedelta(days=1), {"p1": [10] * 7, "p2": [20] * 7}), "next.csv")
    assert north_drifting(client) is True  # judged by the week's run to come
    judge_pending(engine, redis, settings)
    assert north_drifting(client) is False
    with engine.connect() as conn:
        assert conn.scalar(select(CategoryDrift.cleared_at)) is not None


@pytest.mark.parametrize(("reforecast", "queued"), [(None, 1), (False, 0)])
def test_drift_without_a_queued_run_queues_one_unless_off(drifting, engine, settings, reforecast, queued):
    """A check with no run queued for the category adds one (drift_reforecast on, the default), none when off."""
    with engine.begin() as conn:
        conn.execute(CategorySetting.__table__.insert().values(category="north", drift_reforecast=reforecast,
                                                              updated_at=utcnow()))
        before = conn.scalar(select(ForecastRun.id).order_by(ForecastRun.id.desc()).limit(1))
        found = check_drift(conn, ["north"], {}, settings, utcnow())
        after = conn.scalar(select(ForecastRun.id).order_by(ForecastRun.id.desc()).limit(1))
    assert len(found) == 1 and found[0].queued_here is bool(queued)
    assert after - before == queued
    assert ("re-forecasts it" in found[0].reason) is bool(queued)


def test_drifting_is_announced_once_per_run(drifting, engine, redis, settings):
    """category.drifting goes to WEBHOOK_URL with the numbers; the same drift announced again is not sent twice."""
    hooked = replace(settings, webhook_url="https://hooks.example.com/castflow", webhook_secret="s" * 32)
    with engine.begin() as conn:
        found = check_drift(conn, ["north"], {"north": 99}, hooked, utcnow())
    announce_drifts(engine, redis, hooked, found)
    announce_drifts(engine, redis, hooked, found)
    with engine.connect() as conn:
        deliveries = conn.execute(select(WebhookDelivery.event, WebhookDelivery.body)).all()
    assert len(deliveries) == 1 and deliveries[0].event == "category.drifting"
    assert '"realised_mase":2.0' in deliveries[0].body.replace(" ", "")


def test_metrics_show_realised_mase_and_drifting(drifting, client):
    """/metrics has each category's realised MASE of its latest scored run and 1 for a drifting category."""
    samples = scrape(client)
    assert value(samples, "castflow_forecast_realised_mase", category="north") == pytest.approx(2.0)
    assert value(samples, "castflow_category_drifting", category="north") == 1.0


def test_a_correction_and_its_undo_are_judged_again(drifting, client, drain, engine, settings, redis):
    """A correction bringing the actuals to the forecast clears the mark (judged by its run); undoing it marks
    the category again (judged by the undo)."""
    fix = load(client, drain, rows(END + dt.timedelta(days=1), {"p1": [12] * 7}), "fix.csv")
    judge_pending(engine, redis, settings)
    assert north_drifting(client) is False
    assert client.delete(f"/batches/{fix}").status_code == 200
    assert north_drifting(client) is True


def test_an_undo_leaving_too_few_days_clears_the_mark(drifting, client, drain):
    """Undoing the week that showed the drift leaves no scored day of the run: the mark's evidence is gone."""
    _, batch = drifting
    assert client.delete(f"/batches/{batch}").status_code == 200
    north = {c["category"]: c for c in client.get("/categories").json}["north"]
    assert north["drifting"] is False and north["drift"] is None
    assert ("castflow_forecast_realised_mase", frozenset({("category", "north")})) not in scrape(client)


def test_a_failing_drift_check_leaves_the_run_to_forecast(client, drain, engine, settings, monkeypatch, redis):
    """When judging fails the run forecasts all the same and nothing is marked."""
    load(client, drain, HISTORY, "history.csv")
    run_id = seed_run(engine, history_end=END, days=14, models=HIGH, naive_scale=1.0, backtest_mase=0.5)
    load(client, drain, WEEK, "week.csv")
    [(pending, _, _)] = pending_runs(engine, run_id)

    def broken(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(drift_module, "check_drift", broken)
        status = jobs.process_run(pending, settings=settings, engine=engine,
                                  models={ModelType.HOLT_WINTERS: constant(30)}, redis=redis)
    assert status == "completed" and north_drifting(client) is False


def test_a_check_waits_for_a_writer_on_sqlite(client, drain, engine, redis, settings):
    """SQLite (the local run): a check that starts while another process writes (a merge) waits for its commit
    and then judges, instead of failing to turn a stale read into a write."""
    load(client, drain, HISTORY, "history.csv")
    run_id = seed_run(engine, history_end=END, days=14, models=HIGH, naive_scale=1.0, backtest_mase=0.5)
    load(client, drain, WEEK, "week.csv")
    [(pending, _, _)] = pending_runs(engine, run_id)
    with engine.connect() as writer, ThreadPoolExecutor(1) as pool:
        writer.info["sqlite_begin"] = "BEGIN IMMEDIATE"
        with writer.begin():
            writer.execute(CategorySetting.__table__.insert().values(category="south", updated_at=utcnow()))
            check = pool.submit(judge_replaced, engine, redis, settings, pending, "north")
            assert not wait([check], timeout=0.5).done  # waiting for the writer, however fast the machine
        assert len(check.result(timeout=60)) == 1
    assert north_drifting(client) is True
