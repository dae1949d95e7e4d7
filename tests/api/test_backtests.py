"""GET /forecast-backtests: a run's held-back actuals and each model's backtest forecast per window."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from common.models import ForecastBacktest
from common.queue import FORECAST_QUEUE
from common.status import ModelType
from services.forecast import jobs
from tests.api.test_forecast_reads import SALES, add_run
from tests.conftest import upload
from tests.forecast.test_backtest import constant

ORIGINS = (dt.date(2023, 3, 10), dt.date(2023, 3, 20))


def add_backtests(engine, run_id: int, category: str, forecasts: dict[str, float], actuals: list[float | None]) -> None:
    """Per model a flat forecast of `value` (band +-2) on two windows (after each of ORIGINS) with these actuals."""
    with Session(engine) as session, session.begin():
        session.add_all(
            ForecastBacktest(run_id=run_id, category=category, model_type=model, origin=origin,
                             forecast_date=origin + dt.timedelta(days=n + 1), forecast_value=value,
                             lower_bound=value - 2, upper_bound=value + 2, actual=actual)
            for model, value in forecasts.items() for origin in ORIGINS for n, actual in enumerate(actuals))


@pytest.fixture
def runs(client, drain, engine) -> dict[str, int]:
    """north: an old run without backtests, then one with them (sarimax and recommended); south: nothing stored."""
    upload(client, SALES)
    drain()
    old = add_run(engine, "north", "completed", {"sarimax": [(1, 0, 2)]})
    latest = add_run(engine, "north", "completed", {"sarimax": [(1, 0, 2)], "recommended": [(1, 0, 2)]})
    add_backtests(engine, latest, "north", {"sarimax": 10.0, "recommended": 12.0}, [10.0, 14.0, None])
    add_run(engine, "north", "failed", {})
    return {"old": old, "latest": latest}


def test_latest_run_windows_hold_actuals_and_each_models_forecast(client, runs):
    """Two windows by origin, each with its days' actuals (null: a gap) and the recommended forecast listed first."""
    answer = client.get("/forecast-backtests?category=north").json
    assert (answer["category"], answer["run_id"], answer["note"]) == ("north", runs["latest"], None)
    first = answer["windows"][0]
    assert [w["origin"] for w in answer["windows"]] == ["2023-03-10", "2023-03-20"]
    assert (first["start"], first["end"]) == ("2023-03-11", "2023-03-13")
    assert first["actuals"] == [{"date": "2023-03-11", "actual": 10.0}, {"date": "2023-03-12", "actual": 14.0},
                                {"date": "2023-03-13", "actual": None}]
    assert [m["model_type"] for m in first["models"]] == ["recommended", "sarimax"]
    sarimax = first["models"][1]
    assert sarimax["forecasts"][0] == {"forecast_date": "2023-03-11", "forecast_value": 10.0, "lower_bound": 8.0,
                                       "upper_bound": 12.0}


def test_window_metrics_are_computed_on_the_days_with_an_actual(client, runs):
    """sarimax forecast 10 against 10 and 14: MAE 2, RMSE sqrt(8), sMAPE 100*(0 + 8/24)/2, coverage 1/2."""
    sarimax = client.get("/forecast-backtests?category=north&model_type=sarimax").json["windows"][0]["models"][0]
    assert sarimax["mae"] == 2.0 and sarimax["rmse"] == pytest.approx(8 ** 0.5)
    assert sarimax["smape"] == pytest.approx(100 * (8 / 24) / 2) and sarimax["coverage"] == 0.5


def test_model_type_filter_keeps_the_named_models(client, runs):
    """model_type (comma-separated) keeps only those models' forecasts; `all` keeps every one."""
    def models(query: str) -> set[str]:
        windows = client.get(f"/forecast-backtests?category=north&{query}").json["windows"]
        return {m["model_type"] for w in windows for m in w["models"]}

    assert models("model_type=recommended") == {"recommended"}
    assert models("model_type=all") == models("model_type=sarimax,recommended") == {"sarimax", "recommended"}


def test_a_run_from_before_backtests_answers_no_window_and_a_note(client, runs):
    """A completed run without stored backtests is not an error: an empty list and a note saying why."""
    response = client.get(f"/forecast-backtests?category=north&run_id={runs['old']}")
    assert response.status_code == 200
    assert response.json["windows"] == [] and "refresh the forecast" in response.json["note"]


def test_a_category_without_a_completed_run_answers_no_window(client, runs):
    """south has data but no run (and west nothing at all): an empty list, run_id null, a note."""
    for category in ("south", "west"):
        answer = client.get(f"/forecast-backtests?category={category}").json
        assert answer["windows"] == [] and answer["run_id"] is None and "no completed forecast run" in answer["note"]


def test_an_unknown_run_is_404(client, runs):
    """A run_id that names no run is a JSON 404, as on /forecast-data."""
    response = client.get("/forecast-backtests?category=north&run_id=999")
    assert response.status_code == 404 and "999" in response.json["error"]


@pytest.mark.parametrize("query", ["", "model_type=sarimax", "category=north&model_type=best",
                                   "category=north&model_type=all,sarimax",
                                   "category=north&run_id=0", "category=north&run_id=x", "category=north&limit=5",
                                   "category=" + "x" * 101])
def test_bad_parameters_are_400(client, runs, query):
    """No category, an unknown model, a bad run_id, an unknown parameter, an over-long name: a JSON 400."""
    response = client.get(f"/forecast-backtests?{query}")
    assert response.status_code == 400 and response.json["error"]


def test_a_real_run_serves_the_windows_its_metrics_were_scored_on(client, drain, monkeypatch):
    """Through the queue with stand-in models: each model's mean window MAE is its /forecast-metrics MAE."""
    models = {ModelType.HOLT_WINTERS: constant(3), ModelType.SARIMAX: constant(20)}
    monkeypatch.setattr(jobs, "fitters", lambda: models)
    days = "".join(f"2023-{m:02d}-{d:02d},p,shop,{d}\n" for m in (1, 2, 3) for d in range(1, 29))
    upload(client, "Date,product_id,category,sales\n" + days)
    drain()
    drain(FORECAST_QUEUE)
    windows = client.get("/forecast-backtests?category=shop").json["windows"]
    metrics = {m["model_type"]: m for m in client.get("/forecast-metrics?category=shop").json}
    assert len(windows) == 2 and {m["model_type"] for m in windows[0]["models"]} == set(metrics)
    for model in metrics:
        maes = [m["mae"] for w in windows for m in w["models"] if m["model_type"] == model]
        assert sum(maes) / len(maes) == pytest.approx(metrics[model]["mae"])
