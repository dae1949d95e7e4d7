"""Forecast reads: /forecast-data, /forecast-metrics, /categories' forecast fields and the exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from common.models import CategorySetting, ForecastData, ForecastMetric, ForecastRun
from services.api.export import sheet_name
from tests.conftest import upload

START = dt.date(2023, 4, 1)
METHOD = "weighted mean of sarimax, holt_winters (backtest MASE 0.60)"
#: north: March 2023 without the 15th, daily total day + 1; south: 10-31 March, 2 a day.
SALES = "Date,product_id,category,sales\n" + "".join(
    f"2023-03-{day:02d},p1,north,{day}\n2023-03-{day:02d},p2,north,1\n" for day in range(1, 32) if day != 15
) + "".join(f"2023-03-{day:02d},p1,south,2\n" for day in range(10, 32))


def add_run(engine, category: str, status: str, forecast: dict[str, list[tuple[float, ...]]],
            metrics: tuple[dict[str, object], ...] | list[dict[str, object]] = (), method: str | None = None) -> int:
    """A forecast run with rows from START (per model a list of (value, lower, upper[, p10, p50, p90])) and metrics."""
    with Session(engine) as session, session.begin():
        run = ForecastRun(category=category, status=status, horizon_days=5, created_at=dt.datetime(2023, 4, 1),
                          recommended_method=method)
        session.add(run)
        session.flush()
        for model, days in forecast.items():
            session.add_all(ForecastData(run_id=run.id, category=category, model_type=model,
                                         forecast_date=START + dt.timedelta(days=n), forecast_value=value,
                                         lower_bound=lower, upper_bound=upper, p10=p10, p50=p50, p90=p90)
                            for n, (value, lower, upper, p10, p50, p90) in enumerate(d + (None,) * (6 - len(d))
                                                                                   for d in days))
        session.add_all(ForecastMetric(run_id=run.id, category=category, **m) for m in metrics)
        return run.id


@pytest.fixture
def stored(client, drain):
    """Observations of north and south, loaded through the ETL."""
    upload(client, SALES)
    drain()


@pytest.fixture
def runs(stored, engine) -> dict[str, int]:
    """north: two completed runs (the latest with a recommended forecast) then a failed one; south, '=cmd()': one."""
    return {
        "north_old": add_run(engine, "north", "completed",
                             {"holt_winters": [(100 + n, 90, 110) for n in range(3)],
                              "sarimax": [(200 + n, 190, 210) for n in range(3)]},
                             [{"model_type": "holt_winters", "mae": 1.0, "is_best": True},
                              {"model_type": "sarimax", "mae": 3.0, "is_best": False}]),
        "north": add_run(engine, "north", "completed",
                         {"holt_winters": [(10.0, 0.0, 20.0), *((10 + n, 5, 15) for n in range(1, 5))],
                          "sarimax": [(20 + n, 15, 25) for n in range(5)],
                          "recommended": [(15.0, 1.0, 30.0, 0.0, 15.0, 22.0),
                                          *((15 + n, 5, 25, 10, 15 + n, 20 + n) for n in range(1, 5))]},
                         [{"model_type": "sarimax", "mae": 1.5, "rmse": 2.0, "smape": 0.1, "mase": 0.8,
                           "coverage": 0.95, "is_best": True},
                          {"model_type": "holt_winters", "mae": 2.5, "is_best": False},
                          {"model_type": "prophet", "is_best": False, "error": "prophet failed: boom"},
                          {"model_type": "recommended", "mae": 1.2, "mase": 0.6, "coverage": 0.9,
                           "coverage80": 0.8, "wql": 0.07, "is_best": False}],
                         method=METHOD),
        "north_failed": add_run(engine, "north", "failed", {"holt_winters": [(999, 999, 999)]},
                                [{"model_type": "holt_winters", "error": "crashed"}]),
        "south": add_run(engine, "south", "completed", {"prophet": [(5, 4, 6)] * 3},
                         [{"model_type": "prophet", "mae": 0.5, "is_best": True}]),
        "cmd": add_run(engine, "=cmd()", "completed", {"holt_winters": [(1, 0, 2)]},
                       [{"model_type": "holt_winters", "is_best": True}]),
    }


def get(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, response.json
    return response.json


def test_forecast_data_defaults_to_latest_completed_run_per_category(client, runs):
    """Without run_id each category shows its latest completed run: not older ones, not a later failed one."""
    rows = get(client, "/forecast-data?model_type=all")
    by_category = {(r["category"], r["run_id"]) for r in rows}
    assert by_category == {("north", runs["north"]), ("south", runs["south"]), ("=cmd()", runs["cmd"])}
    assert len(rows) == 15 + 3 + 1


def test_forecast_data_defaults_to_the_recommended_forecast(client, runs):
    """Without model_type a run that published recommended rows shows those rows only."""
    rows = get(client, "/forecast-data?category=north")
    assert [(r["model_type"], r["forecast_value"]) for r in rows] == [("recommended", 15 + n) for n in range(5)]


def test_forecast_data_default_falls_back_to_the_best_model(client, runs):
    """Without model_type a run with no recommended rows (made before them) shows its best model only."""
    rows = get(client, "/forecast-data")
    assert sorted({(r["category"], r["model_type"]) for r in rows}) == [
        ("=cmd()", "holt_winters"), ("north", "recommended"), ("south", "prophet")]
    assert {r["model_type"] for r in get(client, f"/forecast-data?run_id={runs['north_old']}")} == {"holt_winters"}


def test_forecast_data_default_of_a_run_with_neither_is_empty(client, engine, stored):
    """A run with neither recommended rows nor a best model shows nothing by default, everything with all."""
    run = add_run(engine, "south", "completed", {"sarimax": [(1, 0, 2)]}, [{"model_type": "sarimax"}])
    assert get(client, "/forecast-data?category=south") == []
    assert [r["run_id"] for r in get(client, "/forecast-data?category=south&model_type=all")] == [run]


def test_forecast_data_model_type_all_answers_every_model(client, runs):
    """model_type=all answers every model of the run, the recommended forecast among them."""
    rows = get(client, "/forecast-data?category=north&model_type=all")
    assert sorted({r["model_type"] for r in rows}) == ["holt_winters", "recommended", "sarimax"]


def test_forecast_data_model_type_list(client, runs):
    """model_type=a,b answers those models only (a repeat counts once)."""
    rows = get(client, "/forecast-data?category=north&model_type=sarimax,recommended,sarimax")
    assert [r["model_type"] for r in rows] == ["recommended"] * 5 + ["sarimax"] * 5


def test_forecast_data_has_quantiles(client, runs):
    """Rows carry p10, p50 and p90; a quantile of 0 is 0, not null."""
    row = get(client, "/forecast-data?category=north&limit=1")[0]
    assert (row["p10"], row["p50"], row["p90"]) == (0, 15, 22) and row["p10"] is not None


def test_forecast_data_quantiles_of_older_rows_are_null(client, runs):
    """Rows stored without quantiles answer null for p10, p50 and p90."""
    row = get(client, "/forecast-data?category=south&limit=1")[0]
    assert (row["p10"], row["p50"], row["p90"]) == (None, None, None)


def test_forecast_data_rows_have_the_contract_shape(client, runs):
    """Each row carries exactly the contract's fields, dates in ISO form."""
    row = get(client, "/forecast-data?category=south&limit=1")[0]
    assert list(row) == ["id", "forecast_date", "category", "model_type", "forecast_value", "lower_bound",
                         "upper_bound", "batch_num", "run_id", "p10", "p50", "p90"]
    assert row | {"id": 0} == {"id": 0, "forecast_date": "2023-04-01", "category": "south",
                               "model_type": "prophet", "forecast_value": 5.0, "lower_bound": 4.0,
                               "upper_bound": 6.0, "batch_num": None, "run_id": runs["south"],
                               "p10": None, "p50": None, "p90": None}


def test_forecast_data_is_ordered_by_category_model_and_day(client, runs):
    """Rows come ordered by category, then model type, then forecast date."""
    keys = [(r["category"], r["model_type"], r["forecast_date"]) for r in get(client, "/forecast-data?model_type=all")]
    assert keys == sorted(keys)


def test_forecast_data_bound_of_zero_is_zero(client, runs):
    """A lower bound of exactly 0 comes back as 0, never null."""
    row = get(client, "/forecast-data?category=north&model_type=holt_winters&limit=1")[0]
    assert row["lower_bound"] == 0 and row["lower_bound"] is not None


def test_forecast_data_run_id_selects_an_older_run(client, runs):
    """run_id answers that run's rows even when a newer completed run exists."""
    rows = get(client, f"/forecast-data?run_id={runs['north_old']}")
    assert {r["run_id"] for r in rows} == {runs["north_old"]}
    assert [r["forecast_value"] for r in rows if r["model_type"] == "holt_winters"] == [100, 101, 102]


def test_forecast_data_run_id_of_a_failed_run(client, runs):
    """run_id reaches a failed run's rows too (they are never shown by default)."""
    rows = get(client, f"/forecast-data?run_id={runs['north_failed']}&model_type=all")
    assert [r["forecast_value"] for r in rows] == [999]


def test_forecast_data_unknown_run_is_404(client, runs):
    """A run_id that does not exist is a JSON 404."""
    response = client.get("/forecast-data?run_id=9999")
    assert response.status_code == 404
    assert response.json == {"error": "forecast run 9999 not found"}


def test_forecast_data_filters(client, runs):
    """category, model_type and an inclusive date range narrow the rows."""
    rows = get(client, "/forecast-data?category=north&model_type=sarimax&start_date=2023-04-02&end_date=2023-04-03")
    assert [(r["forecast_date"], r["forecast_value"]) for r in rows] == [("2023-04-02", 21), ("2023-04-03", 22)]
    assert get(client, "/forecast-data?category=North") == []


def test_forecast_data_limit_and_offset_page(client, runs):
    """limit and offset page through the ordered rows."""
    every = get(client, "/forecast-data?model_type=all")
    assert get(client, "/forecast-data?model_type=all&limit=3&offset=2") == every[2:5]
    assert get(client, "/forecast-data?limit=3&offset=2") == get(client, "/forecast-data")[2:5]


def test_forecast_data_with_no_completed_run_is_empty(client, engine, stored):
    """A category whose only runs are pending shows no rows (and no error)."""
    add_run(engine, "south", "pending", {})
    assert get(client, "/forecast-data?category=south") == []


@pytest.mark.parametrize("query", [
    "model_type=arima", "model_type=sarimax,arima", "model_type=all,sarimax", "model_type=", "model_type=sarimax,",
    "model_type=ALL", "start_date=2023-02-30", "end_date=tomorrow", "start_date=2023-05-01&end_date=2023-04-01",
    "offset=-1", "limit=0", "limit=100001", "limit=ten", "run_id=abc", "run_id=0", "run_id=99999999999999999999",
    "colour=red",
])
def test_forecast_data_bad_parameters_are_400(client, runs, query):
    """Bad parameters get a JSON 400 naming the problem, never a silent default."""
    response = client.get(f"/forecast-data?{query}")
    assert response.status_code == 400
    assert response.json["error"]


def test_forecast_metrics_default_to_latest_completed_run(client, runs):
    """Metrics of each category's latest completed run, ordered by category then model type."""
    rows = get(client, "/forecast-metrics")
    assert [(r["category"], r["model_type"], r["run_id"]) for r in rows] == [
        ("=cmd()", "holt_winters", runs["cmd"]), ("north", "holt_winters", runs["north"]),
        ("north", "prophet", runs["north"]),
        ("north", "recommended", runs["north"]), ("north", "sarimax", runs["north"]),
        ("south", "prophet", runs["south"]),
    ]


def test_forecast_metrics_have_the_contract_shape(client, runs):
    """A metrics row carries its numbers, is_best and the model's error (null metrics when it failed)."""
    rows = {r["model_type"]: r for r in get(client, "/forecast-metrics?category=north")}
    assert rows["sarimax"] == {"category": "north", "model_type": "sarimax", "run_id": runs["north"], "mae": 1.5,
                               "rmse": 2.0, "smape": 0.1, "mase": 0.8, "coverage": 0.95, "coverage80": None,
                               "wql": None, "is_best": True, "error": None, "fit_seconds": None, "method": None}
    assert rows["prophet"]["mae"] is None and rows["prophet"]["error"] == "prophet failed: boom"


def test_forecast_metrics_recommended_row_has_quantile_metrics_and_method(client, runs):
    """The recommended row carries 80% coverage, wQL and its run's recommended_method."""
    row = get(client, "/forecast-metrics?category=north&model_type=recommended")[0]
    assert (row["coverage80"], row["wql"], row["method"]) == (0.8, 0.07, METHOD)


def test_forecast_metrics_method_is_null_on_model_rows(client, runs):
    """A single model's metrics row has no method, though its run has one."""
    rows = get(client, "/forecast-metrics?category=north&model_type=sarimax,holt_winters")
    assert [(r["model_type"], r["method"]) for r in rows] == [("holt_winters", None), ("sarimax", None)]


def test_forecast_metrics_model_type_all(client, runs):
    """model_type=all is every model, as no model_type is."""
    assert get(client, "/forecast-metrics?model_type=all") == get(client, "/forecast-metrics")


def test_forecast_metrics_filters(client, runs):
    """run_id selects an older run's metrics; model_type narrows them."""
    rows = get(client, f"/forecast-metrics?run_id={runs['north_old']}&model_type=holt_winters")
    assert [(r["run_id"], r["mae"], r["is_best"]) for r in rows] == [(runs["north_old"], 1.0, True)]


@pytest.mark.parametrize(("query", "status"), [("model_type=best", 400), ("run_id=-1", 400), ("limit=5", 400),
                                                ("run_id=9999", 404)])
def test_forecast_metrics_bad_parameters(client, runs, query, status):
    """Bad /forecast-metrics parameters get 400; an unknown run 404."""
    assert client.get(f"/forecast-metrics?{query}").status_code == status


def test_categories_show_best_model_and_latest_run(client, runs):
    """best_model comes from the latest completed run; last_run_id and forecast_status from the latest run."""
    body = {c["category"]: c for c in get(client, "/categories")}
    assert body["north"] == {"category": "north", "product_count": 2, "first_date": "2023-03-01",
                             "last_date": "2023-03-31", "row_count": 60, "best_model": "sarimax",
                             "holiday_country": "US", "holiday_country_overridden": False,
                             "last_run_id": runs["north_failed"], "forecast_status": "failed",
                             "recommended_method": METHOD, "grain": "day", "grain_anchor": None,
                             "grain_source": "detected", "grain_problem": None, "product_status": None,
                             "reconciliation": None, "drifting": False, "drift": None}
    assert (body["south"]["best_model"], body["south"]["forecast_status"]) == ("prophet", "completed")


def test_categories_recommended_method_of_an_older_run_is_null(client, runs):
    """A category whose latest completed run predates recommended forecasts has a null recommended_method."""
    assert {c["category"]: c for c in get(client, "/categories")}["south"]["recommended_method"] is None


def test_categories_before_any_completed_run(client, stored):
    """A category whose only run is the ETL's pending one has no best model yet."""
    north = {c["category"]: c for c in get(client, "/categories")}["north"]
    assert (north["best_model"], north["forecast_status"]) == (None, "pending")


def test_categories_show_holiday_overrides(client, engine, stored):
    """A category_settings row overrides the default country, a null override meaning none."""
    with Session(engine) as session, session.begin():
        session.add(CategorySetting(category="north", holiday_country=None, updated_at=dt.datetime(2023, 4, 1)))
        session.add(CategorySetting(category="south", holiday_country="GB", updated_at=dt.datetime(2023, 4, 1)))
    body = {c["category"]: (c["holiday_country"], c["holiday_country_overridden"]) for c in get(client, "/categories")}
    assert body == {"north": (None, True), "south": ("GB", True)}


def test_categories_take_one_query_whatever_the_number_of_categories(client, engine, runs):
    """/categories reads everything in one SELECT, not one per category."""
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    get(client, "/categories")
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_export_csv_matches_forecast_data(client, runs):
    """The CSV is an attachment with the contract header and the same rows as /forecast-data."""
    response = client.get("/forecast-data/export?format=csv&category=north")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == ["forecast_date", "category", "model_type", "forecast_value", "lower_bound",
                             "upper_bound", "run_id", "batch_num", "p10", "p50", "p90"]
    expected = get(client, "/forecast-data?category=north")
    assert [(r["forecast_date"], r["model_type"], float(r["p90"]), int(r["run_id"])) for r in rows] == [
        (r["forecast_date"], r["model_type"], r["p90"], r["run_id"]) for r in expected]
    assert rows[0]["p10"] == "0.0" and rows[0]["batch_num"] == ""


def test_export_csv_defaults_to_the_recommended_forecast(client, runs):
    """Without model_type the CSV holds each run's recommended forecast, else its best model."""
    rows = list(csv.DictReader(io.StringIO(client.get("/forecast-data/export").get_data(as_text=True))))
    assert sorted({(r["category"], r["model_type"]) for r in rows}) == [
        ("'=cmd()", "holt_winters"), ("north", "recommended"), ("south", "prophet")]


def test_export_csv_model_type_all(client, runs):
    """model_type=all exports every model's rows, with empty quantiles where a row has none."""
    text = client.get("/forecast-data/export?category=north&model_type=all").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["model_type"] for r in rows] == ["holt_winters"] * 5 + ["recommended"] * 5 + ["sarimax"] * 5
    assert (rows[0]["p10"], rows[0]["p50"], rows[0]["p90"]) == ("", "", "")


def test_export_defaults_to_csv(client, runs):
    """Without format the export is CSV."""
    assert client.get("/forecast-data/export").mimetype == "text/csv"


def test_export_csv_escapes_formula_text(client, runs):
    """A category that looks like a formula is written with a leading quote."""
    text = client.get(f"/forecast-data/export?run_id={runs['cmd']}").get_data(as_text=True)
    assert text.splitlines()[1].split(",")[1] == "'=cmd()"


@pytest.mark.parametrize("query", ["format=pdf", "format=CSV", "model_type=arima", "limit=10", "colour=red"])
def test_export_bad_parameters_are_400(client, runs, query):
    """Unknown formats, bad filters and parameters the export does not take get 400."""
    assert client.get(f"/forecast-data/export?{query}").status_code == 400


def test_export_refuses_too_many_rows(client, runs, monkeypatch):
    """An export larger than the cap is a 400 asking to filter."""
    monkeypatch.setattr("services.api.views.forecasts.MAX_EXPORT_ROWS", 5)
    response = client.get("/forecast-data/export")
    assert response.status_code == 400 and "narrow it" in response.json["error"]
    assert client.get("/forecast-data/export?category=south").status_code == 200


def xlsx(client, query: str = "") -> bytes:
    response = client.get(f"/forecast-data/export?format=xlsx{query}")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return response.data


def test_export_xlsx_has_a_sheet_and_a_chart_per_category(client, runs):
    """One sheet per category, each with a line chart of its own, then the Monthly sheet."""
    data = xlsx(client)
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames == ["=cmd()", "north", "south", "Monthly"]
    archive = zipfile.ZipFile(io.BytesIO(data))
    charts = sorted(n for n in archive.namelist() if n.startswith("xl/charts/chart"))
    assert len(charts) == 3 and all(b"lineChart" in archive.read(n) for n in charts)
    for number in (1, 2, 3):
        assert b"drawing" in archive.read(f"xl/worksheets/_rels/sheet{number}.xml.rels")


def test_export_xlsx_values_match(client, runs):
    """A sheet holds history then each model's value and bounds per day, matching the stored rows."""
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx(client, "&category=north&model_type=all")))["north"]
    rows = list(sheet.values)
    assert rows[0][:2] == ("category", "north")
    assert rows[1] == ("date", "history", *(f"{model}{suffix}" for model in ("holt_winters", "sarimax", "recommended")
                                            for suffix in ("", "_lower", "_upper", "_p10", "_p50", "_p90")))
    by_day = {row[0].date(): row[1:] for row in rows[2:]}
    assert by_day[dt.date(2023, 3, 14)][0] == 15  # p1 sold 14, p2 sold 1
    assert by_day[dt.date(2023, 3, 15)][0] == 0  # no rows that day: 0
    assert by_day[START] == (None, 10, 0, 20, None, None, None, 20, 15, 25, None, None, None, 15, 1, 30, 0, 15, 22)
    assert by_day[START + dt.timedelta(days=4)][:7] == (None, 14, 5, 15, None, None, None)
    assert min(by_day) == dt.date(2023, 3, 1) and max(by_day) == START + dt.timedelta(days=4)


def test_export_xlsx_defaults_to_the_recommended_forecast(client, runs):
    """Without model_type a sheet holds the recommended forecast (or the best model) only, and its chart."""
    book = openpyxl.load_workbook(io.BytesIO(xlsx(client)))
    headers = {name: list(book[name].values)[1] for name in ("north", "south")}
    assert headers["north"][2:5] == ("recommended", "recommended_lower", "recommended_upper")
    assert headers["south"][2:] == ("prophet", "prophet_lower", "prophet_upper", "prophet_p10", "prophet_p50",
                                    "prophet_p90")
    archive = zipfile.ZipFile(io.BytesIO(xlsx(client)))
    assert len([n for n in archive.namelist() if n.startswith("xl/charts/chart")]) == 3


def test_export_xlsx_escapes_formula_text(client, runs):
    """The category cell of a sheet is escaped like the CSV."""
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx(client, f"&run_id={runs['cmd']}")))["=cmd()"]
    assert sheet["B1"].value == "'=cmd()" and sheet["B1"].data_type == "s"


def test_export_xlsx_with_no_rows_is_still_a_workbook(client, runs):
    """When no row matches, the workbook has one sheet saying so."""
    book = openpyxl.load_workbook(io.BytesIO(xlsx(client, "&category=nowhere")))
    assert book.sheetnames == ["forecasts"]


def test_sheet_names_are_safe_and_unique():
    """Sheet names lose []:*?/\\, keep to 31 characters and never repeat, whatever the case."""
    taken: set[str] = set()
    assert sheet_name("a/b[c]:d*e?f\\g", taken) == "a_b_c__d_e_f_g"
    long = sheet_name("x" * 40, taken)
    assert long == "x" * 31
    assert sheet_name("X" * 40, taken) == "X" * 29 + "~2"
    assert sheet_name("", taken) == "category"
    assert sheet_name("'quoted'", taken) == "quoted"


def test_export_xlsx_survives_control_characters_in_a_category(client, engine, stored):
    """A category holding a control character still gives a workbook that opens."""
    add_run(engine, "bell\x07", "completed", {"sarimax": [(1, 0, 2)]})
    book = openpyxl.load_workbook(io.BytesIO(xlsx(client, "&model_type=all")))
    assert book["bell"]["B1"].value == "bell"
