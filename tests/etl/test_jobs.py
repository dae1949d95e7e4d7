"""The ETL job end to end on SQLite + fakeredis: counts, imputation, upserts, failures, idempotency."""

from __future__ import annotations

import gzip

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from common.config import settings_env
from common.models import ForecastRun, InvoiceData, UploadMetadata
from common.queue import FORECAST_QUEUE, forecast_job_id, queue
from common.storage import LocalUploadStore
from services.etl import jobs
from services.etl.validate import NOT_A_DATE
from tests.builders import workbook
from tests.conftest import upload

HEADER = "Date,product_id,category,sales\n"


def load(client, drain, body: str | bytes, filename: str = "sales.csv") -> dict:
    """Upload a file, run the ETL, and return the batch as the API shows it."""
    response = upload(client, body, filename)
    assert response.status_code == 202, response.json
    drain()
    return client.get(f"/batches/{response.json['batch_num']}").json


def stored(engine) -> dict[tuple[str, str, str], tuple[float, bool, int, int]]:
    """Every observation: key -> (sales, is_imputed, version, batch_num)."""
    with Session(engine) as session:
        return {(r.date.isoformat(), r.product_id, r.category): (r.sales, r.is_imputed, r.version, r.batch_num)
                for r in session.scalars(select(InvoiceData))}


def test_counts_of_a_first_load(client, drain, engine):
    """Total, missing, imputed, inserted and rejected rows are counted; duplicate keys are summed."""
    body = HEADER + "2023-01-01,p,c,1.5\n2023-01-01,p,c,2.25\n2023-01-02,p,c,NA\n2023-01-03,q,c,7\n"
    body += "2023-01-04,q,c,-1\n" + "".join(f"2023-02-{d:02d},r,c,1\n" for d in range(1, 9))
    batch = load(client, drain, body)
    assert batch["status"] == "completed"
    assert (batch["num_total_rows"], batch["num_missing_rows"], batch["num_imputed_rows"]) == (13, 1, 1)
    assert (batch["num_inserted_rows"], batch["num_updated_rows"], batch["num_unchanged_rows"]) == (11, 0, 0)
    assert batch["num_rejected_rows"] == 1
    assert "1 row was rejected" in batch["error_log"]
    rows = stored(engine)
    assert rows[("2023-01-01", "p", "c")][0] == 3.75
    assert rows[("2023-01-02", "p", "c")][:2] == (3.75, True)


def test_duplicate_keys_across_chunks_are_summed(client, drain, engine):
    """Rows of one key far apart in the file (different chunks) add up."""
    filler = "".join(f"2023-03-01,f{i},c,1\n" for i in range(30_000))
    batch = load(client, drain, HEADER + "2023-01-01,p,c,2\n" + filler + "2023-01-01,p,c,3\n")
    assert batch["num_total_rows"] == 30_002 and batch["num_inserted_rows"] == 30_001
    assert stored(engine)[("2023-01-01", "p", "c")][0] == 5


def test_imputation_never_crosses_series_and_seeds_from_stored(client, drain, engine):
    """A gap is filled from its own series (stored history first), never from another product."""
    load(client, drain, HEADER + "2023-01-01,a,c,10\n2023-01-01,b,c,99\n" + "2023-01-01,z,c,1\n" * 9)
    batch = load(client, drain, HEADER + "2023-01-02,b,c,5\n2023-01-02,a,c,\n2023-01-03,a,c,null\n"
                 "2023-01-02,new,c,NaN\n" + "".join(f"2023-01-0{d},y,c,1\n" for d in range(1, 8)))
    rows = stored(engine)
    assert rows[("2023-01-02", "a", "c")][:2] == (10, True)
    assert rows[("2023-01-03", "a", "c")][:2] == (10, True)
    assert rows[("2023-01-02", "new", "c")][:2] == (0, True)
    assert batch["num_imputed_rows"] == 3


def test_reupload_counts_changed_rows_only(client, drain, engine):
    """A corrected file updates the changed keys (version + 1) and leaves the rest untouched."""
    days = [f"2023-01-{d:02d}" for d in range(1, 31)]
    original = HEADER + "".join(f"{d},p{i},c,{i}\n" for d in days for i in range(10))
    load(client, drain, original)
    corrected = original.replace("2023-01-05,p3,c,3\n", "2023-01-05,p3,c,33\n").replace(
        "2023-01-06,p4,c,4\n", "2023-01-06,p4,c,4.01\n") + "2023-02-01,p0,c,1\n"
    batch = load(client, drain, corrected, "corrected.csv")
    assert (batch["num_inserted_rows"], batch["num_updated_rows"], batch["num_unchanged_rows"]) == (1, 2, 298)
    rows = stored(engine)
    assert rows[("2023-01-05", "p3", "c")][2:] == (2, batch["batch_num"])
    assert rows[("2023-01-07", "p3", "c")][2:] == (1, 1)


def test_keys_are_case_sensitive(client, drain, engine):
    """15056BL and 15056bl are two products."""
    load(client, drain, HEADER + "2023-01-01,15056BL,c,1\n2023-01-01,15056bl,c,2\n" + "2023-01-02,x,c,1\n" * 8)
    assert {k[1] for k in stored(engine)} == {"15056BL", "15056bl", "x"}


def test_too_many_rejects_fail_the_batch_and_keep_stored_rows(client, drain, engine):
    """Over MAX_REJECTED_SHARE the batch fails with a reason, writes nothing and changes nothing stored."""
    load(client, drain, HEADER + "2023-01-01,p,c,1\n" * 10)
    before = stored(engine)
    batch = load(client, drain, HEADER + "2023-01-01,p,c,500\n2023-02-30,p,c,1\n2023-01-03,,c,1\n")
    assert batch["status"] == "failed"
    assert "2 of 3 rows" in batch["error_log"] and "line 3 date: impossible date" in batch["error_log"]
    assert stored(engine) == before
    errors = client.get(f"/batches/{batch['batch_num']}/errors").json
    assert errors == [
        {"line": 3, "column": "date", "value": "2023-02-30", "reason": "impossible date"},
        {"line": 4, "column": "product_id", "value": "", "reason": "empty product_id"},
    ]


def test_a_rejected_batch_is_not_retried(app, client, drain):
    """A bad file fails its job for good: no retry is scheduled (it would only find the batch failed)."""
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry

    from common.queue import ETL_QUEUE
    from services.api import services
    batch = load(client, drain, HEADER + "2023-02-30,p,c,1\n" * 3)
    assert batch["status"] == "failed"
    with app.app_context():
        etl = queue(services().redis, ETL_QUEUE, services().settings.queue_prefix)
    assert ScheduledJobRegistry(queue=etl).get_job_ids() == []
    assert len(FailedJobRegistry(queue=etl).get_job_ids()) == 1


def test_errors_download_as_csv_with_formulas_escaped(client, drain):
    """?format=csv gives the rejected rows as CSV; a formula-looking value is defused."""
    batch = load(client, drain, HEADER + "=cmd(),p,c,1\n" + "2023-01-02,p,c,1\n" * 10)
    response = client.get(f"/batches/{batch['batch_num']}/errors?format=csv")
    assert response.mimetype == "text/csv"
    assert response.data.decode().splitlines() == [
        "line,column,value,reason", f"2,date,'=cmd(),{NOT_A_DATE}"]


@pytest.mark.parametrize(("body", "filename"), [
    ("\ufeffDate,Product_ID , CATEGORY,Sales\r\n2023-01-01,p,c,1\r\n2023-01-02,p,c,2\r\n", "bom.csv"),
    ('Date;product_id;category;sales\n2023-01-01;"p;1";c;1\n2023-01-02;"p;1";c;2\n', "semi.csv"),
    ('sales,extra,category,product_id,Date\n1,"x, y",c,p,2023-01-01 08:26:00\n2,z,c,p,2023-01-02T10:00\n',
     "reordered.csv"),
])
def test_csv_dialects_load(client, drain, engine, body, filename):
    """BOM + CRLF + odd header case, semicolons, quoted commas, reordered and extra columns, timestamps."""
    batch = load(client, drain, body, filename)
    assert batch["status"] == "completed" and batch["num_inserted_rows"] == 2
    assert len(stored(engine)) == 2


def test_gzip_file_loads(client, drain, engine):
    """A .csv.gz is decompressed as it streams."""
    batch = load(client, drain, gzip.compress((HEADER + "2023-01-01,p,c,1\n" * 3).encode()), "s.csv.gz")
    assert batch["status"] == "completed" and stored(engine)[("2023-01-01", "p", "c")][0] == 3


def test_xlsx_loads_the_first_sheet_with_the_columns(client, drain, engine):
    """An .xlsx loads the first sheet that has the required columns; real Excel dates work."""
    import datetime as dt

    header = ["Date", "product_id", "category", "sales"]
    book = workbook(("Notes", [["read me first"]]),
                    ("Data", [header, [dt.datetime(2023, 1, 1), "p", "c", 1.5], ["2023-01-02", 42, "c", 2]]),
                    ("Other", [header]))
    batch = load(client, drain, book, "book.xlsx")
    assert batch["status"] == "completed", batch["error_log"]
    assert stored(engine) == {("2023-01-01", "p", "c"): (1.5, False, 1, 1), ("2023-01-02", "42", "c"): (2, False, 1, 1)}


def test_forecast_runs_are_created_and_queued_per_touched_category(client, drain, engine, redis, settings):
    """Each category with new or changed rows gets a pending forecast run and a job on `forecast`."""
    load(client, drain, HEADER + "2023-01-01,p,north,1\n2023-01-01,p,south,1\n")
    batch = load(client, drain, HEADER + "2023-01-01,p,north,1\n2023-01-01,p,south,2\n", "second.csv")
    with Session(engine) as session:
        runs = session.scalars(select(ForecastRun).order_by(ForecastRun.id)).all()
    assert [(r.category, r.batch_num, r.status) for r in runs] == [
        ("north", 1, "pending"), ("south", 1, "pending"), ("south", batch["batch_num"], "pending")]
    forecasts = queue(redis, FORECAST_QUEUE, settings.queue_prefix)
    assert forecasts.job_ids == [forecast_job_id(run.id, settings.queue_prefix) for run in runs]
    assert batch["forecast_status"] == "pending"


def test_running_a_job_twice_changes_nothing(client, drain, engine, settings, redis):
    """A second run of a completed batch's job is a no-op: same rows, same counts."""
    batch = load(client, drain, HEADER + "2023-01-01,p,c,1\n2023-01-02,p,c,2\n")
    rows = stored(engine)
    again = jobs.process_batch(batch["batch_num"], settings=settings, engine=engine,
                               store=LocalUploadStore(settings.upload_dir), redis=redis)
    assert again is None
    assert stored(engine) == rows
    assert client.get(f"/batches/{batch['batch_num']}").json == batch


def test_a_reprocessed_older_batch_does_not_overwrite_a_newer_one(client, drain, engine, settings, redis):
    """If batch 1 runs again after batch 2 (recovery), batch 2's values stay."""
    first = upload(client, HEADER + "2023-01-01,p,c,1\n").json["batch_num"]
    second = upload(client, HEADER + "2023-01-01,p,c,2\n").json["batch_num"]
    store = LocalUploadStore(settings.upload_dir)
    jobs.process_batch(second, settings=settings, engine=engine, store=store, redis=redis)
    outcome = jobs.process_batch(first, settings=settings, engine=engine, store=store, redis=redis)
    assert stored(engine)[("2023-01-01", "p", "c")][0] == 2
    assert (outcome.counts.updated, outcome.counts.unchanged) == (0, 1)


def test_a_crash_is_retried_then_fails_with_a_reason(client, engine, settings, redis, monkeypatch):
    """An unexpected error keeps the batch processing for a retry; the last attempt marks it failed."""
    batch_num = upload(client, HEADER + "2023-01-01,p,c,1\n").json["batch_num"]

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(jobs.BatchLoader, "merge", broken)
    store = LocalUploadStore(settings.upload_dir)
    for attempt in range(1, settings.etl_max_attempts + 1):
        with pytest.raises(RuntimeError):
            jobs.process_batch(batch_num, settings=settings, engine=engine, store=store, redis=redis)
        status = client.get(f"/batches/{batch_num}").json
        expected = "failed" if attempt == settings.etl_max_attempts else "processing"
        assert status["status"] == expected and "RuntimeError" in status["error_log"]
    assert stored(engine) == {}


def test_a_batch_claimed_too_often_is_given_up(client, engine, settings, redis):
    """A batch whose worker died on every attempt ends failed, not processing forever."""
    batch_num = upload(client, HEADER + "2023-01-01,p,c,1\n").json["batch_num"]
    with Session(engine) as session, session.begin():
        session.execute(update(UploadMetadata).values(attempts=settings.etl_max_attempts, status="processing"))
    jobs.process_batch(batch_num, settings=settings, engine=engine,
                       store=LocalUploadStore(settings.upload_dir), redis=redis)
    status = client.get(f"/batches/{batch_num}").json
    assert status["status"] == "failed" and "gave up" in status["error_log"]


def test_a_vanished_file_fails_the_batch(client, drain, settings, engine):
    """If the stored upload is gone, the batch fails saying so."""
    batch_num = upload(client, HEADER + "2023-01-01,p,c,1\n").json["batch_num"]
    with Session(engine) as session:
        name = session.get(UploadMetadata, batch_num).stored_filename
    LocalUploadStore(settings.upload_dir).delete(name)
    drain()
    status = client.get(f"/batches/{batch_num}").json
    assert status["status"] == "failed" and "no longer" in status["error_log"]


def test_run_etl_reads_its_settings_from_the_environment(client, settings, monkeypatch):
    """The RQ entry point builds its own engine and store from the environment."""
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    batch_num = upload(client, HEADER + "2023-01-01,p,c,1\n").json["batch_num"]
    assert jobs.run_etl(batch_num) == "completed"
    assert jobs.run_etl(batch_num) == "skipped"
