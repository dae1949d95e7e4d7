"""castflow status, batches, categories, forecasts and export against the real API with seeded forecast runs."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest

from services.cli import forecasts as forecast_commands
from tests.api.test_forecast_reads import SALES, add_run
from tests.conftest import upload

NORTH = {"holt_winters": [(10.0, 0.0, 20.0), (11.5, 5.25, 15.0), (12.0, 5.0, 15.0)],
         "sarimax": [(1234.5, 1000.0, 1500.0), (21.0, 15.0, 25.0), (22.0, 15.0, 25.0)],
         "recommended": [(600.0, 10.0, 1400.0, 0.0, 600.0, 1200.0), (16.0, 8.0, 22.0, 12.0, 16.0, 20.0),
                         (17.0, 8.0, 22.0, 12.0, 17.0, 21.0)]}


@pytest.fixture
def runs(client, drain, engine) -> dict[str, int]:
    """north and south loaded through the ETL, then north: an old and a latest (recommended) run; south: one."""
    assert upload(client, SALES).status_code == 202
    drain()
    return {"north_old": add_run(engine, "north", "completed", {"holt_winters": [(100.0, 90.0, 110.0)]},
                                 [{"model_type": "holt_winters", "is_best": True}]),
            "north": add_run(engine, "north", "completed", NORTH,
                             [{"model_type": "sarimax", "mae": 1.0, "mase": 0.5, "is_best": True},
                              {"model_type": "recommended", "mae": 0.8}], method="mean of sarimax, holt_winters"),
            "south": add_run(engine, "south", "completed", {"prophet": [(5.0, 4.0, 6.0)] * 3},
                             [{"model_type": "prophet", "is_best": True}])}


def test_status_in_words(castflow, url, runs):
    """status prints the batch's status, counts and forecast status, aligned."""
    run = castflow("status", "1", "--url", url)
    assert run.code == 0
    lines = run.out.splitlines()
    assert lines[0] == "batch 1: sales.csv"
    assert lines[1:4] == ["  status          completed (100%)", "  forecasts       pending (0 of 2 forecast, 2 to go)",
                          "  rows read       82"]
    assert "  rejected        0" in lines and lines[-1].startswith("  finished        20")


def test_status_json_is_the_servers_batch(castflow, url, runs, client):
    """status --json prints the batch exactly as /batches/<id> answers it."""
    run = castflow("status", "1", "--json", "--url", url)
    assert json.loads(run.out) == client.get("/batches/1").json


def test_status_of_an_unknown_batch(castflow, url):
    """An unknown batch is the server's 404 in words, exit 1; a batch that is not a number is a usage error."""
    assert castflow("status", "7", "--url", url).err == "castflow: batch 7 not found (HTTP 404)\n"
    assert castflow("status", "seven", "--url", url).code == 2


def test_batches_table_and_json(castflow, url, runs, client):
    """batches lists the batches newest first as a table, or as the server's JSON."""
    upload(client, SALES.replace("north", "east"), "east.csv")
    lines = castflow("batches", "--url", url).out.splitlines()
    assert lines[0].split() == ["batch", "status", "progress", "rows", "rejected", "forecasts", "uploaded", "file"]
    assert [line.split()[:2] for line in lines[1:]] == [["2", "uploaded"], ["1", "completed"]]
    assert lines[2].split()[-1] == "sales.csv"
    assert json.loads(castflow("batches", "--json", "--limit", "1", "--url", url).out) == \
        client.get("/metadata?limit=1").json


def test_categories_table_and_json(castflow, url, runs, client):
    """categories shows each category's products, days, rows, grain and best model; --json the server's list."""
    lines = castflow("categories", "--url", url).out.splitlines()
    assert lines[0].split() == ["category", "products", "first", "day", "last", "day", "rows", "grain", "best",
                                "model", "forecasts", "holidays"]
    assert lines[1].split() == ["north", "2", "2023-03-01", "2023-03-31", "60", "day", "sarimax", "completed", "US"]
    assert json.loads(castflow("categories", "--json", "--url", url).out) == client.get("/categories").json


def test_forecasts_table_is_aligned(castflow, url, runs):
    """--model all: one row per model and day, numbers right-aligned with two decimals, '-' for no quantile."""
    run = castflow("forecasts", "--category", "north", "--model", "all", "--url", url)
    assert run.code == 0
    lines = run.out.splitlines()
    assert lines[0].split() == ["date", "category", "model", "value", "lower", "upper", "p10", "p50", "p90", "run"]
    assert len(lines) == 1 + 9 and len({len(line) for line in lines}) == 1
    assert lines[1].split() == ["2023-04-01", "north", "holt_winters", "10.00", "0.00", "20.00", "-", "-", "-",
                                str(runs["north"])]
    assert lines[7].split()[3:] == ["1234.50", "1000.00", "1500.00", "-", "-", "-", str(runs["north"])]
    assert lines[7].index("1234.50") + len("1234.50") == lines[0].index("value") + len("value")


def test_forecasts_default_to_the_recommended_forecast(castflow, url, runs):
    """Without --model the table shows the recommended forecast only, with its p10, p50 and p90."""
    lines = castflow("forecasts", "--category", "north", "--url", url).out.splitlines()
    assert [line.split()[2] for line in lines[1:]] == ["recommended"] * 3
    assert lines[1].split()[3:] == ["600.00", "10.00", "1400.00", "0.00", "600.00", "1200.00", str(runs["north"])]


def test_forecasts_default_falls_back_to_the_best_model(castflow, url, runs):
    """A run without a recommended forecast (made before them) shows its best model by default."""
    rows = json.loads(castflow("forecasts", "--category", "south", "--format", "json", "--url", url).out)
    assert [r["model_type"] for r in rows] == ["prophet"] * 3 and rows[0]["p10"] is None


def test_forecasts_csv_has_the_quantiles(castflow, url, runs):
    """--format csv writes p10, p50 and p90 after the earlier columns, empty where a row has none."""
    text = castflow("forecasts", "--category", "north", "--model", "sarimax,recommended", "--format", "csv",
                    "--url", url).out
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0])[-3:] == ["p10", "p50", "p90"]
    assert [(r["model_type"], r["p50"]) for r in rows][2:4] == [("recommended", "17.0"), ("sarimax", "")]


def test_forecasts_csv_and_json_match_the_api(castflow, url, runs, client):
    """--format json prints the API's rows; --format csv the same rows with a header."""
    expected = client.get("/forecast-data?category=north").json
    assert json.loads(castflow("forecasts", "--category", "north", "--format", "json", "--url", url).out) == expected
    rows = list(csv.DictReader(io.StringIO(castflow("forecasts", "--category", "north", "--format", "csv",
                                                    "--url", url).out)))
    assert [(r["forecast_date"], r["model_type"], float(r["forecast_value"]), float(r["lower_bound"]),
             int(r["run_id"])) for r in rows] == [
        (e["forecast_date"], e["model_type"], e["forecast_value"], e["lower_bound"], e["run_id"]) for e in expected]


def test_forecasts_page_through_everything(castflow, url, runs, client, monkeypatch):
    """With pages of 2 rows every row still comes back, in order: nothing silently truncated."""
    monkeypatch.setattr(forecast_commands, "PAGE_ROWS", 2)
    run = castflow("forecasts", "--category", "north", "--model", "all", "--format", "json", "--url", url)
    assert json.loads(run.out) == client.get("/forecast-data?category=north&model_type=all").json
    assert len(json.loads(run.out)) == 9


def test_forecasts_pin_the_run_of_their_first_page(castflow, url, runs, engine, monkeypatch):
    """A run published between two pages does not mix into the answer: later pages ask for the first one's run."""
    monkeypatch.setattr(forecast_commands, "PAGE_ROWS", 2)
    real_get = forecast_commands.Client.get_json

    def get_json(self, path, params=None):  # noqa: ANN001, ANN202
        answer = real_get(self, path, params)
        if params and params.get("offset") == 0:
            add_run(engine, "north", "completed", {"ensemble": [(7.0, 6.0, 8.0)] * 3})
        return answer

    monkeypatch.setattr(forecast_commands.Client, "get_json", get_json)
    rows = json.loads(castflow("forecasts", "--category", "north", "--model", "all", "--format", "json",
                               "--url", url).out)
    assert len(rows) == 9 and {r["run_id"] for r in rows} == {runs["north"]}


def test_forecasts_filters(castflow, url, runs):
    """--model, --from/--to (inclusive) and --run narrow the rows."""
    rows = json.loads(castflow("forecasts", "--category", "north", "--model", "sarimax", "--from", "2023-04-02",
                               "--to", "2023-04-03", "--format", "json", "--url", url).out)
    assert [(r["forecast_date"], r["forecast_value"]) for r in rows] == [("2023-04-02", 21.0), ("2023-04-03", 22.0)]
    old = json.loads(castflow("forecasts", "--category", "north", "--run", str(runs["north_old"]), "--format", "json",
                              "--url", url).out)
    assert [r["forecast_value"] for r in old] == [100.0]


def test_forecasts_with_nothing_to_show(castflow, url, runs):
    """No rows: the table says so on stderr and exits 0; JSON is an empty list; CSV just the header."""
    run = castflow("forecasts", "--category", "west", "--url", url)
    assert (run.code, run.out) == (0, "") and "no forecasts match" in run.err
    assert castflow("forecasts", "--category", "west", "--format", "json", "--url", url).out == "[]\n"
    assert castflow("forecasts", "--category", "west", "--format", "csv", "--url", url).out.count("\n") == 1


@pytest.mark.parametrize(("argv", "words"), [
    (["--from", "2023-02-30"], "argument --from: not a date: '2023-02-30' (use YYYY-MM-DD)"),
    (["--to", "soon"], "argument --to: not a date: 'soon'"),
    (["--from", "2023-05-01", "--to", "2023-04-01"], "--from 2023-05-01 is after --to 2023-04-01"),
    (["--run", "0"], "not a whole number >= 1"),
    (["--format", "xml"], "invalid choice: 'xml'"),
])
def test_bad_forecast_arguments_are_usage_errors(castflow, url, argv, words):
    """Bad dates, an inverted range, a bad run id or format: exit 2 before any request."""
    run = castflow("forecasts", "--category", "north", *argv, "--url", url)
    assert run.code == 2 and words in run.err


def test_forecasts_needs_a_category(castflow, url):
    """forecasts without --category is a usage error."""
    run = castflow("forecasts", "--url", url)
    assert run.code == 2 and "--category" in run.err


def test_server_side_filter_errors_are_shown(castflow, url, runs):
    """An unknown model or run is the server's message: exit 1."""
    run = castflow("forecasts", "--category", "north", "--model", "arima", "--url", url)
    assert run.code == 1 and "model_type" in run.err and "(HTTP 400)" in run.err
    run = castflow("forecasts", "--category", "north", "--run", "9999", "--url", url)
    assert run.err == "castflow: forecast run 9999 not found (HTTP 404)\n"


@pytest.fixture
def folder(tmp_path):
    """An empty folder for the exported files."""
    (tmp_path / "out").mkdir()
    return tmp_path / "out"


def test_export_csv_writes_the_file(castflow, url, runs, client, folder):
    """export --format csv streams the server's CSV into the file."""
    target = folder / "north.csv"
    run = castflow("export", "--format", "csv", "-o", str(target), "--category", "north", "--url", url)
    assert run.code == 0 and run.out.startswith(f"wrote {target} (")
    assert target.read_bytes() == client.get("/forecast-data/export?format=csv&category=north").data
    assert [p.name for p in folder.iterdir()] == ["north.csv"]


def test_export_xlsx_writes_a_workbook(castflow, url, runs, tmp_path):
    """export -o FILE.xlsx (format from the name) writes a workbook with a sheet per category."""
    target = tmp_path / "forecasts.xlsx"
    assert castflow("export", "-o", str(target), "--url", url).code == 0
    assert openpyxl.load_workbook(target).sheetnames == ["north", "south", "Monthly"]


def test_export_filters_reach_the_server(castflow, url, runs, tmp_path):
    """--model and the date range narrow the export like the forecasts command."""
    target = tmp_path / "f.csv"
    castflow("export", "-o", str(target), "--category", "north", "--model", "sarimax", "--from", "2023-04-03",
             "--url", url)
    rows = list(csv.DictReader(target.open()))
    assert [(r["forecast_date"], r["model_type"]) for r in rows] == [("2023-04-03", "sarimax")]


def test_export_failure_leaves_no_half_file(castflow, url, runs, folder):
    """A refused export leaves an existing file untouched and no temporary file behind."""
    target = folder / "keep.csv"
    target.write_text("precious")
    run = castflow("export", "-o", str(target), "--model", "arima", "--url", url)
    assert run.code == 1 and "(HTTP 400)" in run.err
    assert target.read_text() == "precious" and [p.name for p in folder.iterdir()] == ["keep.csv"]


def test_export_broken_mid_download_leaves_no_file(castflow, serve, folder):
    """A connection that breaks halfway through the body leaves neither the file nor a temporary one."""
    def half(environ, start_response):  # noqa: ANN001, ANN202
        start_response("200 OK", [("Content-Type", "text/csv"), ("Content-Length", "1000")])
        return [b"forecast_date,category\n"]

    run = castflow("export", "-o", str(folder / "out.csv"), "--url", serve(half))
    assert run.code == 3 and run.err.startswith("castflow: lost the connection to castflow at ")
    assert list(folder.iterdir()) == []


def test_export_into_a_missing_folder_is_a_usage_error(castflow, url, tmp_path):
    """-o into a folder that does not exist: exit 2, nothing requested."""
    run = castflow("export", "-o", str(tmp_path / "no" / "f.csv"), "--url", url)
    assert run.code == 2 and "not a file in an existing folder" in run.err
