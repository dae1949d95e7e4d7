"""Realised accuracy: the runs that forecast days with actuals are scored on them when asked; GET /accuracy
aggregates the scores."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from common.models import ProductForecastSummary
from common.realised import Scope, scored_days
from tests.accuracy.seed import rows, seed_run
from tests.conftest import upload

DAY = dt.date(2023, 1, 1)
#: Two weeks of history: p1 sells 10 and p2 20 a day (the category 30).
HISTORY = rows(DAY, {"p1": [10] * 14, "p2": [20] * 14})
END = DAY + dt.timedelta(days=13)
#: The next three days: category totals 30, 36 and 27; p1 10, 12 and 9.
NEXT = rows(END + dt.timedelta(days=1), {"p1": [10, 12, 9], "p2": [20, 24, 18]})
MODELS = {"recommended": (32.0, 28.0, 34.0), "auto_ets": (25.0, 24.0, 26.0)}


def load(client, drain, body: str, name: str) -> int:
    """Upload a file, run its ETL, and return its batch number."""
    batch = upload(client, body, name).json["batch_num"]
    drain()
    assert client.get(f"/batches/{batch}").json["status"] == "completed"
    return batch


def scores(engine) -> list[tuple]:
    """(run, product, model, date, actual, forecast, abs error, signed error, inside, days ahead) of every scored
    day: the category totals', then each forecast product's, by product, model and date."""
    with engine.connect() as conn:
        products = conn.execute(select(ProductForecastSummary.category, ProductForecastSummary.product_id)
                                .distinct()).all()
        found = []
        for scope in [Scope(), *(Scope(category=c, product_id=p) for c, p in products)]:
            days = scored_days(conn, scope)
            if days is not None:
                s = days.subquery()
                found += [(r.run_id, r.product_id, r.model_type, r.forecast_date, r.actual, r.forecast_value,
                           r.abs_error, r.signed_error, int(r.inside), r.periods_ahead)
                          for r in conn.execute(select(s))]
    return sorted(found, key=lambda r: (r[1], r[2], r[3], r[0]))


@pytest.fixture
def scored(client, drain, engine):
    """History loaded, a run seeded on it (with p1 forecast), and the next three days loaded: (run, batch)."""
    load(client, drain, HISTORY, "history.csv")
    run_id = seed_run(engine, history_end=END, days=7, models=MODELS, naive_scale=5.0, backtest_mase=0.5,
                      products={"p1": (10.0, 8.0, 11.0, 2.0)})
    return run_id, load(client, drain, NEXT, "next.csv")


def test_new_actuals_score_every_model_and_product(scored, engine):
    """Each model's day against the category total, and p1's forecast against p1, with days ahead; the four
    forecast days without an actual yet are not scored."""
    run_id, batch = scored
    days = [END + dt.timedelta(days=i) for i in (1, 2, 3)]
    assert scores(engine) == [
        (run_id, "", "auto_ets", days[0], 30.0, 25.0, 5.0, -5.0, 0, 1),
        (run_id, "", "auto_ets", days[1], 36.0, 25.0, 11.0, -11.0, 0, 2),
        (run_id, "", "auto_ets", days[2], 27.0, 25.0, 2.0, -2.0, 0, 3),
        (run_id, "", "recommended", days[0], 30.0, 32.0, 2.0, 2.0, 1, 1),
        (run_id, "", "recommended", days[1], 36.0, 32.0, 4.0, -4.0, 0, 2),
        (run_id, "", "recommended", days[2], 27.0, 32.0, 5.0, 5.0, 0, 3),
        (run_id, "p1", "recommended", days[0], 10.0, 10.0, 0.0, 0.0, 1, 1),
        (run_id, "p1", "recommended", days[1], 12.0, 10.0, 2.0, -2.0, 0, 2),
        (run_id, "p1", "recommended", days[2], 9.0, 10.0, 1.0, 1.0, 1, 3),
    ]


def test_a_run_made_after_its_actuals_came_is_scored(client, drain, engine):
    """A run completing once its days' actuals are already stored (a late run, a backfill) is scored all the same."""
    load(client, drain, HISTORY, "history.csv")
    load(client, drain, NEXT, "next.csv")
    run_id = seed_run(engine, history_end=END, days=7, models=MODELS, naive_scale=5.0, backtest_mase=0.5)
    groups = client.get(f"/accuracy?category=north&run_id={run_id}&group_by=run").json["groups"]
    assert [(g["model_type"], g["n"], g["mae"]) for g in groups] == [
        ("auto_ets", 3, pytest.approx(6.0)), ("recommended", 3, pytest.approx(11 / 3))]


def test_accuracy_by_run_as_computed_by_hand(scored, client):
    """MAE, MASE (MAE over the run's naive scale 5), bias and coverage of each model over the three days."""
    run_id, _ = scored
    answer = client.get("/accuracy?category=north&group_by=run").json
    assert answer["group_by"] == "run"
    assert answer["groups"] == [
        {"run_id": run_id, "grain": "day", "model_type": "auto_ets", "n": 3, "mae": pytest.approx(6.0),
         "mase": pytest.approx(6.0 / 5), "bias": pytest.approx(-6.0), "coverage": 0.0,
         "actual": pytest.approx(31.0), "forecast": pytest.approx(25.0)},
        {"run_id": run_id, "grain": "day", "model_type": "recommended", "n": 3, "mae": pytest.approx(11 / 3),
         "mase": pytest.approx(11 / 15), "bias": pytest.approx(1.0), "coverage": pytest.approx(1 / 3),
         "actual": pytest.approx(31.0), "forecast": pytest.approx(32.0)},
    ]


def test_accuracy_of_a_product_by_days_ahead(scored, client):
    """A product's scores use the product's own naive scale (2): day 2's error of 2 is a MASE of 1."""
    groups = client.get("/accuracy?category=north&product_id=p1").json["groups"]
    assert [(g["days_ahead"], g["n"], g["mae"], g["mase"], g["coverage"]) for g in groups] == [
        (1, 1, 0.0, 0.0, 1.0), (2, 1, 2.0, 1.0, 0.0), (3, 1, 1.0, 0.5, 1.0)]
    everything = client.get("/accuracy?category=north&product_id=p1&group_by=run").json["groups"]
    assert everything[0]["mae"] == pytest.approx(1.0) and everything[0]["bias"] == pytest.approx(-1 / 3)
    assert everything[0]["coverage"] == pytest.approx(2 / 3)


def test_accuracy_filters_by_model_and_dates(scored, client):
    """model_type and start_date/end_date narrow the scores; group_by=date gives each day's actual and forecast."""
    day2 = str(END + dt.timedelta(days=2))
    groups = client.get(f"/accuracy?model_type=recommended&start_date={day2}&end_date={day2}&group_by=date").json[
        "groups"]
    assert groups == [{"date": day2, "grain": "day", "model_type": "recommended", "n": 1, "mae": 4.0, "mase": 0.8,
                       "bias": -4.0, "coverage": 0.0, "actual": 36.0, "forecast": 32.0}]
    assert client.get("/accuracy?category=south").json["groups"] == []


def test_a_later_correction_changes_the_scores(scored, client, drain, engine):
    """A batch changing p1 and p2 on day 2 changes that day's total and p1's score (only those)."""
    day = f"start_date={END + dt.timedelta(days=2)}&end_date={END + dt.timedelta(days=2)}&model_type=recommended"
    assert client.get(f"/accuracy?{day}").json["groups"][0]["actual"] == 36.0
    load(client, drain, rows(END + dt.timedelta(days=2), {"p1": [11], "p2": [18]}), "fix.csv")
    assert client.get(f"/accuracy?{day}").json["groups"][0]["actual"] == 29.0  # the cached answer is not served
    day2 = [row for row in scores(engine) if row[3] == END + dt.timedelta(days=2)]
    assert [(r[1], r[2], r[4]) for r in day2] == [("", "auto_ets", 29.0), ("", "recommended", 29.0),
                                                  ("p1", "recommended", 11.0)]
    assert len(scores(engine)) == 9


def test_undo_takes_back_the_scores_its_actuals_made(scored, client, drain, engine):
    """Undoing the correction scores day 2 against the value put back; undoing the new days leaves nothing scored."""
    run_id, batch = scored
    before = scores(engine)
    fix = load(client, drain, rows(END + dt.timedelta(days=2), {"p1": [11], "p2": [18]}), "fix.csv")
    assert scores(engine) != before
    assert client.delete(f"/batches/{fix}").status_code == 200
    assert scores(engine) == before
    assert client.delete(f"/batches/{batch}").status_code == 200
    assert scores(engine) == []


def test_weekly_runs_are_scored_by_the_week_once_complete(client, drain, engine):
    """A run at weeks (Monday weeks) is scored per week on the sum of its days, once the category has data up to
    the week's last day; days_ahead counts weeks; MASE uses the run's weekly naive scale."""
    load(client, drain, HISTORY, "history.csv")  # Sunday 1 to Saturday 14 January 2023
    weeks = [dt.date(2023, 1, 16), dt.date(2023, 1, 23)]
    run_id = seed_run(engine, history_end=dt.date(2023, 1, 9), days=14, models={"recommended": (200.0, 150.0, 205.0)},
                      naive_scale=20.0, grain="week", dates=weeks)
    load(client, drain, rows(dt.date(2023, 1, 15), {"p1": [10] * 11, "p2": [20] * 11}), "to-25.csv")
    groups = client.get("/accuracy?category=north&group_by=run").json["groups"]
    assert groups == [{"run_id": run_id, "grain": "week", "model_type": "recommended", "n": 1, "mae": 10.0,
                       "mase": 0.5, "bias": -10.0, "coverage": 0.0, "actual": 210.0, "forecast": 200.0}]
    load(client, drain, rows(dt.date(2023, 1, 26), {"p1": [10, 10, 10, 12], "p2": [20] * 4}), "to-29.csv")
    by_week = client.get("/accuracy?category=north").json["groups"]
    assert [(g["days_ahead"], g["grain"], g["n"], g["actual"]) for g in by_week] == [(1, "week", 1, 210.0),
                                                                                       (2, "week", 1, 212.0)]
    assert "every completed run is scored at its own grain" in client.get("/accuracy").json["note"]
    assert scores(engine)[1][3:5] == (dt.date(2023, 1, 23), 212.0)


@pytest.mark.parametrize("query", ["group_by=week", "product_id=p1", "run_id=0", "run_id=x", "start_date=2023-13-01",
                                   "start_date=2023-02-01&end_date=2023-01-01", "model_type=best", "colour=red"])
def test_bad_filters_are_400(client, query):
    """Each bad filter is a 400 with an error naming it."""
    response = client.get(f"/accuracy?{query}")
    assert response.status_code == 400 and response.json["error"]
