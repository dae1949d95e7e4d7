"""Realised accuracy on the real MariaDB: scores computed from forecasts and actuals, a correction, undo, and drift."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor, wait

import pytest
from sqlalchemy import text

from common.status import ModelType
from services.etl.drift import judge_replaced
from services.forecast import jobs
from tests.accuracy.seed import rows, seed_run
from tests.accuracy.test_drift import pending_runs
from tests.accuracy.test_realised import END, HISTORY, MODELS, NEXT, load, scores
from tests.forecast.test_backtest import constant

pytestmark = pytest.mark.integration


def test_scores_follow_corrections_and_undo_on_mariadb(client, drain, engine):
    """The same scores as by hand; a correction changes its day; undoing it, then the new days, takes them back."""
    load(client, drain, HISTORY, "history.csv")
    run_id = seed_run(engine, history_end=END, days=7, models=MODELS, naive_scale=5.0, backtest_mase=0.5,
                      products={"p1": (10.0, 8.0, 11.0, 2.0)})
    batch = load(client, drain, NEXT, "next.csv")
    assert [(r[1], r[2], r[4], r[6], r[8], r[9]) for r in scores(engine)] == [
        ("", "auto_ets", 30.0, 5.0, 0, 1), ("", "auto_ets", 36.0, 11.0, 0, 2),
        ("", "auto_ets", 27.0, 2.0, 0, 3), ("", "recommended", 30.0, 2.0, 1, 1),
        ("", "recommended", 36.0, 4.0, 0, 2), ("", "recommended", 27.0, 5.0, 0, 3),
        ("p1", "recommended", 10.0, 0.0, 1, 1), ("p1", "recommended", 12.0, 2.0, 0, 2),
        ("p1", "recommended", 9.0, 1.0, 1, 3)]
    group = client.get(f"/accuracy?run_id={run_id}&model_type=recommended&group_by=run").json["groups"][0]
    assert (group["n"], group["mae"], group["mase"], group["bias"], group["coverage"]) == pytest.approx(
        (3, 11 / 3, 11 / 15, 1.0, 1 / 3))
    before = scores(engine)
    fix = load(client, drain, rows(END + dt.timedelta(days=2), {"p2": [18]}), "fix.csv")
    assert [r[4] for r in scores(engine) if r[1] == "" and r[3] == END + dt.timedelta(days=2)] == [30.0, 30.0]
    assert client.delete(f"/batches/{fix}").status_code == 200
    assert scores(engine) == before
    assert client.delete(f"/batches/{batch}").status_code == 200
    assert scores(engine) == []


def test_drift_is_marked_on_mariadb(client, drain, engine, redis, settings):
    """A week two units off a naive scale of 1 against a backtest MASE of 0.5: the week's run marks the category
    drifting before it forecasts (its category_stats row locked first), and a second check updates that mark."""
    load(client, drain, HISTORY, "history.csv")
    run_id = seed_run(engine, history_end=END, days=14, models={"recommended": (32.0, 31.0, 33.0)},
                      naive_scale=1.0, backtest_mase=0.5)
    load(client, drain, rows(END + dt.timedelta(days=1), {"p1": [10] * 7, "p2": [20] * 7}), "week.csv")
    [pending] = pending_runs(engine, run_id)
    judge_replaced(engine, redis, settings, pending[0], "north")
    assert jobs.process_run(pending[0], settings=settings, engine=engine, redis=redis,
                            models={ModelType.HOLT_WINTERS: constant(30)}) == "completed"
    north = {c["category"]: c for c in client.get("/categories").json}["north"]
    assert north["drifting"] is True
    assert (north["drift"]["run_id"], north["drift"]["ratio"]) == (run_id, pytest.approx(4.0))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM category_drift")).scalar() == 1


def test_weeks_and_months_are_scored_on_mariadb(client, drain, engine):
    """MariaDB's own date arithmetic: a monthly run's February is scored on February's 28 days once they are all
    there (March, with no data, is not), and a weekly run counts weeks ahead."""
    load(client, drain, rows(dt.date(2023, 1, 1), {"p1": [10] * 31}), "january.csv")
    monthly = seed_run(engine, history_end=dt.date(2023, 1, 1), days=59, models={"recommended": (300.0, 285.0, 320.0)},
                       naive_scale=40.0, grain="month", dates=[dt.date(2023, 2, 1), dt.date(2023, 3, 1)])
    weekly = seed_run(engine, history_end=dt.date(2023, 1, 23), days=14, models={"recommended": (75.0, 60.0, 80.0)},
                      naive_scale=5.0, grain="week", dates=[dt.date(2023, 1, 30), dt.date(2023, 2, 6)])
    load(client, drain, rows(dt.date(2023, 2, 1), {"p1": [10] * 27}), "february-but-one.csv")
    assert client.get(f"/accuracy?run_id={monthly}").json["groups"] == []
    load(client, drain, rows(dt.date(2023, 2, 28), {"p1": [10]}), "february-28.csv")
    month = client.get(f"/accuracy?run_id={monthly}").json["groups"]
    assert month == [{"days_ahead": 1, "grain": "month", "model_type": "recommended", "n": 1, "mae": 20.0,
                      "mase": 0.5, "bias": 20.0, "coverage": 0.0, "actual": 280.0, "forecast": 300.0}]
    weeks = client.get(f"/accuracy?run_id={weekly}").json["groups"]
    assert [(g["days_ahead"], g["grain"], g["actual"], g["coverage"]) for g in weeks] == [
        (1, "week", 70.0, 1.0), (2, "week", 70.0, 1.0)]


def test_checks_of_one_category_wait_for_each_other_on_mariadb(client, drain, engine, redis, settings):
    """Two runs of a category judging at once cannot both open a mark: each check first locks the category's
    category_stats row, so both wait while another transaction holds it, then run one after the other."""
    load(client, drain, HISTORY, "history.csv")
    run_id = seed_run(engine, history_end=END, days=14, models={"recommended": (32.0, 31.0, 33.0)},
                      naive_scale=1.0, backtest_mase=0.5)
    load(client, drain, rows(END + dt.timedelta(days=1), {"p1": [10] * 7, "p2": [20] * 7}), "week.csv")
    load(client, drain, rows(END + dt.timedelta(days=8), {"p1": [10], "p2": [20]}), "day.csv")
    first, second = (run for run, _, _ in pending_runs(engine, run_id))
    with engine.connect() as holder, ThreadPoolExecutor(2) as pool:
        holder.execute(text("SELECT category FROM category_stats WHERE category = 'north' FOR UPDATE"))
        checks = [pool.submit(judge_replaced, engine, redis, settings, run, "north") for run in (first, second)]
        assert not wait(checks, timeout=1.0).done  # both blocked behind the held row, however fast the machine
        holder.commit()
        assert all(len(check.result(timeout=60)) == 1 for check in checks)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM category_drift WHERE cleared_at IS NULL")).scalar() == 1
