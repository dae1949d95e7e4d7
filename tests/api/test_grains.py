"""Weekly and monthly categories through the API on SQLite: forecast at their grain, shown and set, bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from common.queue import FORECAST_QUEUE
from common.status import ModelType
from services.forecast import jobs
from tests.conftest import SHARED_DATA, upload
from tests.forecast.test_backtest import constant

GRAINS = SHARED_DATA / "grains"
HEADER = "Date,product_id,category,sales\n"


@pytest.fixture(autouse=True)
def fast_models(monkeypatch):
    """Two stand-in models (the real ones are tested in tests/forecast): the plumbing is what is tested here."""
    monkeypatch.setattr(jobs, "fitters", lambda: {ModelType.HOLT_WINTERS: constant(10),
                                                  ModelType.AUTO_ETS: constant(20)})


def load(client, drain, content: str, name: str = "sales.csv") -> int:
    """Upload a file, load it and run its forecasts; its batch number."""
    response = upload(client, content, name)
    assert response.status_code == 202, response.json
    drain()
    drain(FORECAST_QUEUE)
    return response.json["batch_num"]


def recommended(client, category: str) -> list[dict]:
    response = client.get(f"/forecast-data?category={category}&model_type=recommended")
    assert response.status_code == 200, response.json
    return response.json


def overview(client, category: str) -> dict:
    return {c["category"]: c for c in client.get("/categories").json}[category]


def real(name: str, category: str | None = None) -> str:
    """A grains/ file's text, one category of it when named."""
    lines = (GRAINS / name).read_text().splitlines(keepends=True)
    return lines[0] + "".join(line for line in lines[1:] if category is None or f",{category}," in line)


def daily(start: dt.date, days: int, category: str = "calls") -> str:
    return HEADER + "".join(f"{start + dt.timedelta(days=k)},p,{category},{10 + k % 7}\n" for k in range(days))


def test_a_weekly_file_is_forecast_13_weeks_dated_mondays(client, drain):
    """Favorita store 7's weekly tickets: 13 rows, one a week, each a Monday after the last stored week."""
    load(client, drain, real("weekly_favorita-stores-7-12.csv", "favorita-store-7"))
    rows = recommended(client, "favorita-store-7")
    days = [dt.date.fromisoformat(r["forecast_date"]) for r in rows]
    assert len(days) == 13 and days[0] == dt.date(2017, 8, 7) and all(d.weekday() == 0 for d in days)
    assert all((b - a).days == 7 for a, b in zip(days, days[1:], strict=False))


def test_a_monthly_file_is_forecast_12_months_dated_at_the_first(client, drain):
    """Corticosteroid scripts to June 2008: 12 rows, July 2008 to June 2009, each on the 1st."""
    load(client, drain, real("monthly_au-corticosteroid-scripts.csv"))
    rows = recommended(client, "au-corticosteroid-scripts")
    assert [r["forecast_date"] for r in rows] == [f"{2008 + (m > 12)}-{(m - 1) % 12 + 1:02d}-01"
                                                   for m in range(7, 19)]


def test_categories_show_the_detected_grain(client, drain):
    """/categories: a weekly category is week, anchored on Monday, detected, without a problem."""
    load(client, drain, real("weekly_favorita-stores-7-12.csv", "favorita-store-8"))
    row = overview(client, "favorita-store-8")
    assert (row["grain"], row["grain_anchor"], row["grain_source"], row["grain_problem"]) == (
        "week", "Monday", "detected", None)


def test_a_category_mixing_daily_and_monthly_rows_fails_readably(client, drain):
    """Monthly rows then daily ones: the run fails with the problem in words, on the batch and /categories."""
    months = "".join(f"{2020 + m // 12}-{m % 12 + 1:02d}-01,p,mixed,100\n" for m in range(30))
    batch = load(client, drain, HEADER + months + daily(dt.date(2022, 8, 1), 20, "mixed")[len(HEADER):])
    problems = client.get(f"/batches/{batch}").json["forecast_problems"]
    assert [p["category"] for p in problems] == ["mixed"] and "mix grains" in problems[0]["problem"]
    assert client.get(f"/batches/{batch}").json["forecast_status"] == "failed"
    assert "mix grains" in overview(client, "mixed")["grain_problem"]


def test_a_weekly_file_whose_weekday_changes_fails_readably(client, drain):
    """Mondays, then Tuesdays: the run names the change instead of guessing."""
    start = dt.date(2023, 1, 2)
    weeks = [start + dt.timedelta(weeks=k) for k in range(20)] + [
        start + dt.timedelta(weeks=20 + k, days=1) for k in range(20)]
    batch = load(client, drain, HEADER + "".join(f"{d},p,shifty,5\n" for d in weeks))
    problem = client.get(f"/batches/{batch}").json["forecast_problems"][0]["problem"]
    assert "weekday changes" in problem and "Tuesday 2023-05-23" in problem


def test_grain_week_on_daily_data_forecasts_weeks(client, drain):
    """PUT grain week on 20 weeks of days queues a refresh whose forecast is 13 weekly rows from Monday."""
    load(client, drain, daily(dt.date(2023, 1, 2), 140))
    response = client.put("/categories/calls/settings", json={"grain": "week"})
    assert response.status_code == 200 and response.json["grain"] == "week" and response.json["refresh_queued"]
    drain(FORECAST_QUEUE)
    days = [dt.date.fromisoformat(r["forecast_date"]) for r in recommended(client, "calls")]
    assert len(days) == 13 and days[0] == dt.date(2023, 5, 22) and {d.weekday() for d in days} == {0}
    assert (overview(client, "calls")["grain"], overview(client, "calls")["grain_source"]) == ("week", "setting")


def test_a_horizon_setting_sets_the_number_of_periods(client, drain):
    """PUT horizon 6 on a monthly category: the refresh forecasts 6 months."""
    load(client, drain, real("monthly_au-corticosteroid-scripts.csv"))
    assert client.put("/categories/au-corticosteroid-scripts/settings", json={"horizon": 6}).status_code == 200
    drain(FORECAST_QUEUE)
    assert len(recommended(client, "au-corticosteroid-scripts")) == 6


@pytest.mark.parametrize(("body", "words"), [
    ({"grain": "day"}, "grain: the category's grain is set to day but its data are monthly"),
    ({"grain": "fortnight"}, "grain must be null or one of day, week, month, quarter"),
    ({"horizon": 37}, "horizon must be 1..36 months"),
    ({"horizon": "12"}, "horizon must be null or a whole number of months"),
    ({"horizon": 2.5}, "horizon must be null or a whole number of months"),
    ({"horizon": 0}, "horizon must be 1..36 months"),
    ({}, "send at least one of holiday_country, grain, horizon"),
])
def test_bad_grain_settings_are_400s_naming_the_field(client, drain, body, words):
    """A grain finer than the monthly data, an unknown grain, a horizon out of range or not whole: 400."""
    load(client, drain, real("monthly_au-corticosteroid-scripts.csv"))
    response = client.put("/categories/au-corticosteroid-scripts/settings", json=body)
    assert response.status_code == 400 and response.json["error"].startswith(words)


def test_a_grain_setting_keeps_the_default_holiday_calendar(client, drain):
    """Setting only the grain leaves the calendar following the default (not overridden)."""
    load(client, drain, daily(dt.date(2023, 1, 2), 60))
    answer = client.put("/categories/calls/settings", json={"grain": "week", "horizon": 8}).json
    assert (answer["holiday_country_overridden"], answer["grain"], answer["horizon"]) == (False, "week", 8)
    assert client.get("/categories/calls/settings").json["holiday_country"] == "US"
