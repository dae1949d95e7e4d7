"""castflow upload against the real API: waiting, failed batches, duplicates, refused files, mappings."""

from __future__ import annotations

import json

import pytest

from common.queue import ETL_QUEUE, FORECAST_QUEUE
from common.status import ModelType
from services.forecast import jobs
from tests.cli.conftest import GOOD, HEADER
from tests.forecast.test_backtest import constant


def test_upload_without_wait_prints_the_batch_number(castflow, url, sales_file):
    """The upload prints its batch number and exits 0 without waiting for the ETL."""
    run = castflow("upload", str(sales_file), "--url", url)
    assert run.code == 0
    assert run.out == "uploaded sales.csv as batch 1\n"
    assert castflow("status", "1", "--json", "--url", url).out.count('"status": "uploaded"') == 1


def test_upload_wait_follows_the_batch_to_completed(castflow_with_workers, url, sales_file):
    """--wait polls until the ETL completed the batch, prints its counts and exits 0."""
    run = castflow_with_workers("upload", str(sales_file), "--wait", "--url", url)
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == "uploaded sales.csv as batch 1"
    assert lines[1] == "batch 1: sales.csv"
    assert "  status          completed (100%)" in lines
    assert "  rows read       112" in lines and "  inserted        112" in lines
    assert "  forecasts       pending (0 of 2 forecast, 2 to go)" in lines
    assert "batch 1 completed" in run.err  # the plain progress line of a non-terminal stderr


def test_upload_wait_exits_1_for_a_failed_batch_with_its_error_log(castflow_with_workers, url, tmp_path):
    """A batch failing on too many rejected rows prints its error log and exits 1."""
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "2023-01-01,p,c,1\n2023-02-30,p,c,1\n2023-01-03,,c,1\n")
    run = castflow_with_workers("upload", str(path), "--wait", "--url", url)
    assert run.code == 1
    assert "  status          failed" in run.out and "  error log:" in run.out
    assert "line 3 date: impossible date" in run.out
    assert "castflow: batch 1 failed: " in run.err


def test_wait_forecasts_waits_for_the_forecast_runs(castflow_with_workers, url, sales_file, monkeypatch):
    """--wait-forecasts also waits for the batch's forecast runs and exits 0 when they completed."""
    monkeypatch.setattr(jobs, "fitters", lambda: {ModelType.HOLT_WINTERS: constant(10)})
    run = castflow_with_workers("upload", str(sales_file), "--wait-forecasts", "--url", url,
                                queues=(ETL_QUEUE, FORECAST_QUEUE))
    assert run.code == 0, run.err
    assert "  forecasts       completed (2 of 2 forecast)" in run.out.splitlines()


def test_wait_forecasts_exits_1_when_the_forecasts_failed(castflow_with_workers, url, sales_file, monkeypatch):
    """When every run fails (here each finds its category's history gone), --wait-forecasts says so and exits 1.

    Every model failing no longer fails a run: the naive fallback publishes.
    """
    monkeypatch.setattr(jobs, "load_totals", lambda conn, category: [])
    run = castflow_with_workers("upload", str(sales_file), "--wait-forecasts", "--url", url,
                                queues=(ETL_QUEUE, FORECAST_QUEUE))
    assert run.code == 1
    assert "  status          completed (100%)" in run.out
    assert "  forecasts       failed (0 of 2 forecast, 2 failed)" in run.out
    assert "the forecasts of batch 1 failed" in run.err


def test_duplicate_names_the_original_batch_and_exits_0(castflow, url, sales_file, tmp_path):
    """The same bytes again: 'already uploaded as batch N', exit 0 (the file is there)."""
    castflow("upload", str(sales_file), "--url", url)
    copy = tmp_path / "copy.csv"
    copy.write_bytes(sales_file.read_bytes())
    run = castflow("upload", str(copy), "--url", url)
    assert (run.code, run.out) == (0, "copy.csv was already uploaded as batch 1\n")


def test_duplicate_with_wait_waits_for_the_original_batch(castflow_with_workers, url, sales_file):
    """A duplicate with --wait follows the original batch and reports it."""
    assert castflow_with_workers("upload", str(sales_file), "--wait", "--url", url).code == 0
    run = castflow_with_workers("upload", str(sales_file), "--wait", "--url", url)
    assert run.code == 0
    assert run.out.splitlines()[:2] == ["sales.csv was already uploaded as batch 1", "batch 1: sales.csv"]


@pytest.mark.parametrize(("content", "name", "words"), [
    ("", "empty.csv", "empty.csv was refused: "),
    ("Date,product,category,sales\n2023-01-01,a,b,1\n", "cols.csv", "product_id"),
    (GOOD, "sales.txt", "(HTTP 415)"),
])
def test_a_refused_file_is_a_message_and_exit_1(castflow, url, tmp_path, content, name, words):
    """A file the server refuses (400/415) prints the server's reason, no traceback, and exits 1."""
    path = tmp_path / name
    path.write_text(content)
    run = castflow("upload", str(path), "--url", url)
    assert run.code == 1 and run.out == ""
    assert run.err.startswith(f"castflow: {name} was refused: ") and words in run.err
    assert "Traceback" not in run.err


def test_missing_file_is_a_usage_error(castflow, url, tmp_path):
    """A file that does not exist: exit 2, nothing sent."""
    run = castflow("upload", str(tmp_path / "nope.csv"), "--url", url)
    assert run.code == 2 and run.err == f"castflow: {tmp_path / 'nope.csv'}: no such file\n"


def test_mapping_from_a_file_is_sent_with_the_upload(castflow, url, tmp_path):
    """--mapping @FILE sends the JSON mapping; the batch records it."""
    data = tmp_path / "retail.csv"
    data.write_text("Day,Item,Shop,Units\n2023-01-01,a,s1,1\n2023-01-02,a,s1,2\n")
    mapping = {"date": "Day", "product_id": "Item", "category": "Shop", "sales": "Units"}
    (tmp_path / "mapping.json").write_text(json.dumps(mapping))
    assert castflow("upload", str(data), "--mapping", f"@{tmp_path / 'mapping.json'}", "--url", url).code == 0
    batch = json.loads(castflow("status", "1", "--json", "--url", url).out)
    assert {k: batch["mapping"][k] for k in mapping} == mapping


def test_mapping_by_name_uses_the_saved_profile(castflow, url, client, tmp_path):
    """--mapping-name sends a saved profile's name; an unknown one is the server's 400 in words."""
    client.post("/mappings", json={"name": "shops", "mapping": {"category": {"const": "all"}}})
    data = tmp_path / "flat.csv"
    data.write_text("Date,product_id,sales\n2023-01-01,a,1\n")
    assert castflow("upload", str(data), "--mapping-name", "shops", "--url", url).code == 0
    run = castflow("upload", str(data), "--mapping-name", "nobody", "--url", url)
    assert run.code == 1 and "no mapping profile named 'nobody'" in run.err


@pytest.mark.parametrize(("options", "words"), [
    (["--mapping", "{date: Day}"], "--mapping is not valid JSON"),
    (["--mapping", "@/no/such/mapping.json"], "--mapping @/no/such/mapping.json: cannot read it"),
    (["--mapping", "{}", "--mapping-name", "x"], "not allowed with argument"),
])
def test_bad_mapping_options_are_usage_errors(castflow, url, sales_file, options, words):
    """Mapping options that cannot be sent stop with exit 2 before anything is uploaded."""
    run = castflow("upload", str(sales_file), *options, "--url", url)
    assert run.code == 2 and words in run.err
    assert castflow("batches", "--json", "--url", url).out == "[]\n"


class _PartialBatch:
    """A client whose batch loaded and whose forecasts ended partial (34 of 38)."""

    def get_json(self, path: str) -> dict[str, object]:
        return {"batch_num": 7, "original_filename": "retail.xlsx", "status": "completed", "progress": 1.0,
                "forecast_status": "partial", "error_log": None,
                "forecast_runs": {"total": 38, "completed": 34, "failed": 4, "running": 0, "pending": 0}}


def test_wait_forecasts_exits_4_when_some_forecasts_failed(capsys):
    """A partial roll-up prints the counts and exits 4 under --wait-forecasts (all were asked for)."""
    from services.cli.batches import wait_and_report
    assert wait_and_report(_PartialBatch(), 7, forecasts=True) == 4
    captured = capsys.readouterr()
    assert "  forecasts       partial (34 of 38 forecast, 4 failed)" in captured.out.splitlines()
    assert "some forecasts of batch 7 failed: partial (34 of 38 forecast, 4 failed)" in captured.err


def test_wait_without_forecasts_exits_0_for_a_partial_batch(capsys):
    """--wait asks only for the load: a partial forecast roll-up does not fail it."""
    from services.cli.batches import wait_and_report
    assert wait_and_report(_PartialBatch(), 7, forecasts=False) == 0


def test_forecast_text_counts_the_runs_still_to_go():
    """While runs are under way the text says how many are left; without counts, just the status."""
    from services.cli.progress import forecast_text
    runs = {"total": 5, "completed": 2, "failed": 1, "running": 1, "pending": 1}
    assert forecast_text({"forecast_status": "running", "forecast_runs": runs}) == (
        "running (2 of 5 forecast, 1 failed, 2 to go)")
    assert forecast_text({"forecast_status": "completed"}) == "completed"
    assert forecast_text({"forecast_status": None}) == "-"


def test_a_wide_mapping_file_is_sent_as_it_is(castflow_with_workers, url, tmp_path):
    """--mapping @FILE with category_columns and decimal ",": the batch loads one category per column."""
    data = tmp_path / "channels.csv"
    data.write_text("date;Calls;Emails;total\n2023-01-01;1,5;2;3,5\n2023-01-02;4;1.000,25;1.004,25\n")
    mapping = {"date": "date", "product_id": {"const": "all"}, "decimal": ",",
               "category_columns": {"all_except": ["total"]}}
    (tmp_path / "wide.json").write_text(json.dumps(mapping))
    run = castflow_with_workers("upload", str(data), "--mapping", f"@{tmp_path / 'wide.json'}", "--wait", "--url", url)
    assert run.code == 0, run.err
    batch = json.loads(castflow_with_workers("status", "1", "--json", "--url", url).out)
    assert batch["categories_from"] == {"columns": ["Calls", "Emails"]}
    assert (batch["num_total_rows"], batch["num_inserted_rows"]) == (4, 4)
