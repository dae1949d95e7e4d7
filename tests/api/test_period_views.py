"""Weekly and monthly views: /forecast-data and the category history with grain=, and the grain CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import numpy as np
import openpyxl
import pandas as pd
import pytest
from sqlalchemy.orm import Session

from common.models import ForecastData, ForecastMetric, ForecastRun
from services.forecast import sums
from tests.builders import refused
from tests.conftest import upload

#: north: 10 a day from Monday 2 January to Wednesday 15 March 2023; monthly: one row on each month's 1st.
SALES = "Date,product_id,category,sales\n" + "".join(
    f"{day.date()},p1,north,10\n" for day in pd.date_range("2023-01-02", "2023-03-15")
) + "".join(f"{day.date()},p1,monthly,300\n" for day in pd.date_range("2022-01-01", "2023-03-01", freq="MS"))
HISTORY_END = dt.date(2023, 3, 15)
FIRST = HISTORY_END + dt.timedelta(days=1)
#: The recommended forecast's day: value, lower, upper, p10, p90 (asymmetric, as real ones are).
DAY = (20.0, 10.0, 35.0, 15.0, 26.0)
STRUCTURE = sums.ErrorCorrelation(level=0.2, ar=0.5)


def add_run(engine, category: str = "north", days: int = 30, structure: sums.ErrorCorrelation | None = STRUCTURE,
            quantiles: bool = True) -> int:
    """A completed run with `days` recommended daily rows from FIRST, and its metrics with `structure`."""
    with Session(engine) as session, session.begin():
        run = ForecastRun(category=category, status="completed", horizon_days=days, history_end=HISTORY_END,
                          history_start=dt.date(2023, 1, 2))
        session.add(run)
        session.flush()
        value, lower, upper, p10, p90 = DAY
        session.add_all(ForecastData(
            run_id=run.id, category=category, model_type="recommended", forecast_date=FIRST + dt.timedelta(days=n),
            forecast_value=value, lower_bound=lower, upper_bound=upper, p10=p10 if quantiles else None,
            p50=value if quantiles else None, p90=p90 if quantiles else None) for n in range(days))
        session.add(ForecastMetric(run_id=run.id, category=category, model_type="recommended", is_best=False,
                                   error_level=structure and structure.level, error_ar=structure and structure.ar))
        return run.id


@pytest.fixture
def stored(client, drain):
    """The observations above, loaded through the ETL."""
    assert upload(client, SALES).status_code == 202
    drain()


@pytest.fixture
def run(stored, engine) -> int:
    """north's completed run: 30 days from 16 March to 14 April 2023."""
    return add_run(engine)


def get(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, response.json
    return response.json


def error_of(client, path: str, status: int) -> str:
    """The JSON error of a GET expected to fail with `status`."""
    return refused(client.get(path), status)


def expected(days: int, structure: sums.ErrorCorrelation) -> dict[str, float]:
    """The sum of `days` consecutive forecast days with `structure`, as services/forecast/sums.py computes it."""
    frame = pd.DataFrame([DAY] * days, columns=["value", "lower", "upper", "p10", "p90"])
    return sums.sum_quantiles(frame, np.arange(days), structure)


def test_no_grain_and_grain_day_answer_the_same_bytes(client, run):
    """Omitting grain and grain=day both answer today's daily rows, byte for byte."""
    daily = client.get("/forecast-data?category=north").data
    assert client.get("/forecast-data?category=north&grain=day").data == daily
    assert len(get(client, "/forecast-data?category=north")) == 30


def test_month_view_sums_the_forecast_per_month(client, run):
    """grain=month: one row per month, dated at its 1st, with the forecast's sum and the days it holds."""
    rows = get(client, "/forecast-data?category=north&grain=month")
    assert [(r["forecast_date"], r["period_end"], r["days"], r["days_in_period"]) for r in rows] == [
        ("2023-03-01", "2023-03-31", 16, 31), ("2023-04-01", "2023-04-30", 14, 30)]
    assert [r["forecast_value"] for r in rows] == [16 * 20.0, 14 * 20.0]
    assert [(r["forecast_start"], r["forecast_end"]) for r in rows] == [("2023-03-16", "2023-03-31"),
                                                                        ("2023-04-01", "2023-04-14")]
    assert {(r["category"], r["model_type"], r["run_id"], r["grain"]) for r in rows} == {
        ("north", "recommended", run, "month")}


def test_the_month_the_forecast_starts_in_carries_the_actual_so_far(client, run):
    """March holds 15 stored days (150) and 16 forecast days: actual, total and complete say so."""
    march, april = get(client, "/forecast-data?category=north&grain=month")
    assert (march["actual"], march["actual_days"], march["total"], march["complete"]) == (150.0, 15, 470.0, True)


def test_a_month_the_horizon_cuts_is_marked_incomplete(client, run):
    """April's forecast ends on the 14th: 14 of 30 days, no actual, not complete."""
    april = get(client, "/forecast-data?category=north&grain=month")[1]
    assert (april["actual"], april["actual_days"], april["total"], april["complete"]) == (None, 0, 280.0, False)


def test_week_view_has_monday_weeks(client, run):
    """grain=week: rows dated on Mondays; the first week (from Monday 13 March) holds the actual of 13-15 March."""
    rows = get(client, "/forecast-data?category=north&grain=week")
    assert [r["forecast_date"] for r in rows] == ["2023-03-13", "2023-03-20", "2023-03-27", "2023-04-03",
                                                  "2023-04-10"]
    assert all(dt.date.fromisoformat(r["forecast_date"]).weekday() == 0 for r in rows)
    assert [r["days"] for r in rows] == [4, 7, 7, 7, 5]
    assert (rows[0]["actual"], rows[0]["actual_days"], rows[0]["complete"]) == (30.0, 3, True)
    assert "target" not in rows[0]


def test_month_interval_comes_from_the_stored_error_structure(client, run):
    """April's quantiles are the daily ones combined with the run's measured structure (its level at least
    MIN_LEVEL), each side separately."""
    april = get(client, "/forecast-data?category=north&grain=month")[1]
    want = expected(14, sums.for_sums(STRUCTURE.level, STRUCTURE.ar))
    for field, name in (("lower_bound", "lower"), ("upper_bound", "upper"), ("p10", "p10"), ("p90", "p90")):
        assert april[field] == pytest.approx(want[name], abs=0.01)
    assert april["upper_bound"] - april["forecast_value"] > april["forecast_value"] - april["lower_bound"]


def test_month_interval_lies_between_independence_and_sum_of_bounds(client, run):
    """The monthly interval is narrower than the sum of the daily bounds and wider than independent days."""
    april = get(client, "/forecast-data?category=north&grain=month")[1]
    wide, narrow = expected(14, sums.SUM_OF_BOUNDS), expected(14, sums.INDEPENDENT)
    assert wide["lower"] < april["lower_bound"] < narrow["lower"]
    assert narrow["upper"] < april["upper_bound"] < wide["upper"]


def test_a_run_without_a_measured_structure_uses_the_default(client, stored, engine):
    """A run stored before the structure was measured sums with the documented conservative default."""
    add_run(engine, structure=None)
    april = get(client, "/forecast-data?category=north&grain=month")[1]
    assert april["upper_bound"] == pytest.approx(expected(14, sums.DEFAULT)["upper"], abs=0.01)


def test_a_run_without_quantiles_has_null_p10_p90_per_month(client, stored, engine):
    """Rows made before quantiles give null 10th/90th percentiles per month, never invented ones."""
    add_run(engine, quantiles=False)
    april = get(client, "/forecast-data?category=north&grain=month")[1]
    assert (april["p10"], april["p90"]) == (None, None)
    assert april["lower_bound"] is not None


def test_month_view_keeps_the_other_filters(client, run):
    """start_date narrows the days summed (days says so) and limit/offset page the period rows."""
    rows = get(client, "/forecast-data?category=north&grain=month&start_date=2023-04-05")
    assert [(r["forecast_date"], r["days"], r["forecast_value"]) for r in rows] == [("2023-04-01", 10, 200.0)]
    assert [r["forecast_date"] for r in get(client, "/forecast-data?category=north&grain=month&offset=1")] == [
        "2023-04-01"]
    assert len(get(client, "/forecast-data?category=north&grain=month&limit=1")) == 1


def test_month_view_of_every_category(client, run):
    """Without a category the month view sums each category's shown forecast."""
    rows = get(client, "/forecast-data?grain=month")
    assert {r["category"] for r in rows} == {"north"}


def test_unknown_grain_is_400(client, run):
    """A grain that is not day, week, month or quarter is a JSON 400 naming the parameter."""
    assert "grain" in error_of(client, "/forecast-data?grain=fortnight", 400)


def test_month_view_of_a_category_without_a_forecast_is_404(client, stored):
    """A category with data but no completed forecast is a 404 that says there is nothing to sum."""
    assert "no completed forecast" in error_of(client, "/forecast-data?category=north&grain=month", 404)


def test_month_view_of_a_missing_run_is_404(client, run):
    """A run_id that does not exist is a 404, as in the daily view."""
    response = client.get("/forecast-data?run_id=999&grain=month")
    assert response.status_code == 404


def test_history_per_month_with_the_days_each_holds(client, stored):
    """grain=month sums the stored days per month; January and March hold only part of their days."""
    rows = get(client, "/categories/north/history?grain=month")
    assert rows == [{"date": "2023-01-01", "sales": 300.0, "days": 30, "days_in_period": 31},
                    {"date": "2023-02-01", "sales": 280.0, "days": 28, "days_in_period": 28},
                    {"date": "2023-03-01", "sales": 150.0, "days": 15, "days_in_period": 31}]


def test_history_per_week_starts_on_mondays(client, stored):
    """grain=week: Monday weeks; the range filter narrows the days each holds."""
    rows = get(client, "/categories/north/history?grain=week&start_date=2023-01-04&end_date=2023-01-15")
    assert rows == [{"date": "2023-01-02", "sales": 50.0, "days": 5, "days_in_period": 7},
                    {"date": "2023-01-09", "sales": 70.0, "days": 7, "days_in_period": 7}]


def test_history_of_monthly_data_passes_through_per_month(client, stored):
    """A category stored one row a month answers those rows unchanged for grain=month, each a whole month."""
    rows = get(client, "/categories/monthly/history?grain=month")
    assert rows[0] == {"date": "2022-01-01", "sales": 300.0, "days": 31, "days_in_period": 31}
    assert len(rows) == 15


def test_history_finer_than_the_data_is_400(client, stored):
    """Weekly sums of monthly data are refused with a 400 naming the category and the data's grain."""
    error = error_of(client, "/categories/monthly/history?grain=week", 400)
    assert "monthly" in error and "per month" in error


@pytest.mark.parametrize("query", ["grain=year", "grain=", "grain=Month"])
def test_history_bad_grain_is_400(client, stored, query):
    """An unknown grain on the history is a JSON 400."""
    assert client.get(f"/categories/north/history?{query}").status_code == 400


def test_history_per_month_of_an_unknown_category_is_404(client, stored):
    """The monthly history of a category without data is a 404 naming it."""
    assert "west" in error_of(client, "/categories/west/history?grain=month", 404)


def test_csv_export_per_month(client, run):
    """The CSV export with grain=month holds the monthly view's rows."""
    response = client.get("/forecast-data/export?category=north&grain=month")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.data.decode())))
    assert [(r["forecast_date"], r["days"], r["actual"], r["total"]) for r in rows] == [
        ("2023-03-01", "16", "150.0", "470.0"), ("2023-04-01", "14", "", "280.0")]


def test_xlsx_export_refuses_a_grain(client, run):
    """grain applies to the CSV export only: the Excel file has its Monthly sheet."""
    assert "Monthly" in error_of(client, "/forecast-data/export?format=xlsx&grain=week", 400)


def test_xlsx_export_has_a_monthly_sheet_with_targets(client, run):
    """The workbook's Monthly sheet holds per month the forecast, the total's interval, the target and the gap."""
    assert client.put("/categories/north/targets", json={"2023-03": 500}).status_code == 200
    response = client.get("/forecast-data/export?format=xlsx&category=north")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data))["Monthly"]
    header, march, april = list(sheet.values)
    row = dict(zip(header, march, strict=True))
    assert row["month"].date() == dt.date(2023, 3, 1)
    assert (row["actual so far"], row["forecast"], row["total"], row["target"], row["gap"]) == (150, 320, 470, 500, -30)
    assert row["total lower"] < 470 < row["total upper"]
    assert dict(zip(header, april, strict=True))["target"] is None
