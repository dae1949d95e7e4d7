"""Forecast writes: a category's holiday settings, and POST /forecasts/refresh."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.models import CategorySetting, ForecastRun
from common.queue import FORECAST_QUEUE, connect, forecast_job_id, queue
from services.api import create_app
from tests.conftest import upload

SALES = "Date,product_id,category,sales\n2023-03-01,p1,north,3\n2023-03-01,p1,south,4\n2023-03-02,p2,a/b,1\n"


@pytest.fixture
def stored(client, drain, redis):
    """Observations of north, south and a/b, loaded through the ETL (whose own forecast jobs are dropped)."""
    upload(client, SALES)
    drain()
    queue(redis, FORECAST_QUEUE).empty()


def put(client, category: str, body: object = None, **kwargs):
    return client.put(f"/categories/{category}/settings", json=body, **kwargs)


def count_runs(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(ForecastRun))


def test_settings_default_to_the_configured_country(client, stored):
    """Without an override a category's holiday country is HOLIDAY_COUNTRY."""
    assert client.get("/categories/north/settings").json == {
        "category": "north", "holiday_country": "US", "holiday_country_overridden": False,
        "default_holiday_country": "US", "updated_at": None, "grain": None, "horizon": None,
        "product_forecasts": None,
        "drift_threshold": None, "drift_threshold_default": 1.5, "drift_reforecast": None,
    }


def test_put_settings_sets_a_country(client, stored):
    """PUT with an ISO code stores it and answers the new settings; GET and /categories agree."""
    response = put(client, "north", {"holiday_country": "GB"})
    assert response.status_code == 200
    assert response.json["holiday_country"] == "GB" and response.json["holiday_country_overridden"] is True
    assert response.json["updated_at"]
    assert client.get("/categories/north/settings").json == response.json
    north = {c["category"]: c for c in client.get("/categories").json}["north"]
    assert (north["holiday_country"], north["holiday_country_overridden"]) == ("GB", True)


def test_put_settings_null_means_no_holidays(client, stored):
    """A null country is stored as an override meaning no holiday calendar."""
    body = put(client, "south", {"holiday_country": None}).json
    assert (body["holiday_country"], body["holiday_country_overridden"]) == (None, True)
    south = {c["category"]: c for c in client.get("/categories").json}["south"]
    assert (south["holiday_country"], south["holiday_country_overridden"]) == (None, True)


def test_put_settings_twice_updates_one_row(client, engine, stored):
    """A second PUT updates the category's row rather than adding one."""
    put(client, "north", {"holiday_country": "GB"})
    assert put(client, "north", {"holiday_country": "FR"}).json["holiday_country"] == "FR"
    with Session(engine) as session:
        assert [(s.category, s.holiday_country) for s in session.scalars(select(CategorySetting))] == [("north", "FR")]


def test_settings_of_a_category_name_with_a_slash(client, stored):
    """A category name containing / is addressed as it is."""
    assert put(client, "a/b", {"holiday_country": "DE"}).json["category"] == "a/b"


def test_put_settings_refuses_an_unsupported_code(client, stored):
    """A code the holidays package does not know is a 400 naming it."""
    response = put(client, "north", {"holiday_country": "XX"})
    assert response.status_code == 400 and "'XX'" in response.json["error"]


def test_put_settings_wants_upper_case_codes(client, stored):
    """Codes are upper-case ISO codes: 'gb' is refused rather than guessed."""
    assert put(client, "north", {"holiday_country": "gb"}).status_code == 400


@pytest.mark.parametrize("method", ["get", "put"])
def test_settings_of_an_unknown_category_are_404(client, stored, method):
    """A category without stored data has no settings to read or write."""
    response = getattr(client, method)("/categories/west/settings", json={"holiday_country": "GB"})
    assert response.status_code == 404 and "west" in response.json["error"]


@pytest.mark.parametrize("body", [
    ["GB"], "GB", 5, {}, {"holiday_country": "GB", "extra": 1}, {"holiday_country": 5},
    {"holiday_country": ""}, {"country": "GB"},
])
def test_put_settings_refuses_bad_bodies(client, engine, stored, body):
    """A non-object, a missing or unknown key, or a non-string code is a 400 and nothing is stored."""
    response = put(client, "north", body)
    assert response.status_code == 400 and response.json["error"]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(CategorySetting)) == 0


@pytest.mark.parametrize("data", [b"", b"{not json", b"\xff\xfe"])
def test_put_settings_refuses_unreadable_bodies(client, stored, data):
    """An empty or unparseable body is a 400."""
    response = client.put("/categories/north/settings", data=data, content_type="application/json")
    assert response.status_code == 400


def test_refresh_one_category(client, engine, redis, settings, stored):
    """A refresh of one category creates one pending run and queues its job on the forecast queue."""
    before = count_runs(engine)
    response = client.post("/forecasts/refresh", json={"category": "north"})
    assert response.status_code == 202
    [run] = response.json["runs"]
    assert response.json["queued"] is True
    assert run == {"run_id": run["run_id"], "category": "north", "job_id": forecast_job_id(run["run_id"])}
    assert count_runs(engine) == before + 1
    with Session(engine) as session:
        row = session.get(ForecastRun, run["run_id"])
    assert (row.category, row.status, row.batch_num, row.horizon_days) == (
        "north", "pending", None, settings.forecast_horizon_days)
    assert row.created_at is not None
    assert queue(redis, FORECAST_QUEUE).job_ids == [forecast_job_id(run["run_id"])]


@pytest.mark.parametrize("body", [{"json": {}}, {}])
def test_refresh_all_categories(client, engine, redis, stored, body):
    """An empty object or no body at all refreshes every category with data, one job per run."""
    response = client.post("/forecasts/refresh", **body)
    assert response.status_code == 202
    runs = response.json["runs"]
    assert [r["category"] for r in runs] == ["a/b", "north", "south"]
    assert queue(redis, FORECAST_QUEUE).job_ids == [forecast_job_id(r["run_id"]) for r in runs]
    with Session(engine) as session:
        statuses = {session.get(ForecastRun, r["run_id"]).status for r in runs}
    assert statuses == {"pending"}


def test_refresh_with_no_data_creates_nothing(client, engine):
    """With no stored data a refresh creates no run."""
    response = client.post("/forecasts/refresh")
    assert response.status_code == 202 and response.json["runs"] == []
    assert count_runs(engine) == 0


def test_refresh_of_an_unknown_category_is_404(client, engine, stored):
    """A category without data is a 404 and no run is created."""
    before = count_runs(engine)
    response = client.post("/forecasts/refresh", json={"category": "west"})
    assert response.status_code == 404
    assert count_runs(engine) == before


@pytest.mark.parametrize("body", [[], {"category": 5}, {"category": ""}, {"category": "north", "x": 1},
                                  {"category": None}])
def test_refresh_refuses_bad_bodies(client, engine, stored, body):
    """A non-object body, an unknown key or a category that is not a non-empty string is a 400."""
    before = count_runs(engine)
    assert client.post("/forecasts/refresh", json=body).status_code == 400
    assert count_runs(engine) == before


def test_refresh_with_redis_down_still_records_runs(settings, engine, stored):
    """With Redis unreachable the runs are recorded, pending, and the answer is 202 with queued false."""
    client = create_app(settings, engine=engine, redis=connect("redis://127.0.0.1:1/0")).test_client()
    before = count_runs(engine)
    response = client.post("/forecasts/refresh", json={"category": "south"})
    assert response.status_code == 202
    assert response.json["queued"] is False and "Redis" in response.json["message"]
    assert count_runs(engine) == before + 1
    with Session(engine) as session:
        assert session.get(ForecastRun, response.json["runs"][0]["run_id"]).status == "pending"
