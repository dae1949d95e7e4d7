"""Workers killed mid-job (SIGKILL of the worker with its work horse): the work is picked up and finished exactly once.

Real worker processes (`python -m services.etl`, `python -m services.forecast`) on the real MariaDB
and Redis, with short heartbeat timings (WORKER_TTL_SECONDS=10, MAINTENANCE_SECONDS=2) so that the
abandoned job is noticed in seconds rather than DESIGN's bound of 3 minutes.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pandas as pd
import pytest
from sqlalchemy import text

from services.forecast.models import fitters
from tests.conftest import SHARED_DATA
from tests.integration.faultcheck import (
    FAST,
    batch,
    checksum,
    counts,
    csv_bytes,
    undisturbed_run,
    upload,
    wait_for_progress,
    wait_for_status,
)
from tests.integration.processes import wait_until

pytestmark = pytest.mark.integration

#: Rows of the interrupted file: large enough that the kill lands mid-load.
BIG_ROWS = 200_000
#: How soon after the kill a new worker must have taken the job up again: the heartbeat's 10 s, a
#: maintenance round, the new worker's start. (RQ's own path, a delayed retry run by a scheduler whose
#: lock the dead worker holds for a minute, or its default heartbeat of 90 s, would miss it.)
RECLAIMED_WITHIN_S = 30


def files(store_items: pd.DataFrame) -> tuple[bytes, bytes]:
    """A first batch (20,000 rows, every 10th value changed) and the big one that overlaps it."""
    first = store_items.iloc[:20_000].copy()
    first.loc[first.index[::10], "sales"] += 1
    return csv_bytes(first), csv_bytes(store_items.iloc[:BIG_ROWS])


def rows_of(engine, batch_num: int) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM invoice_data WHERE batch_num = :b"), {"b": batch_num}).scalar()


def test_etl_worker_killed_mid_load_finishes_the_batch_like_an_undisturbed_run(
        settings, engine, app, processes, store_items, other_mysql_url, tmp_path):
    """SIGKILL during the load, a new worker: the same rows, checksum and counts as an undisturbed run."""
    settings = replace(settings, etl_chunk_rows=20_000, **FAST)
    first, big = files(store_items)
    expected_counts, expected_sum = undisturbed_run(settings, other_mysql_url, [first, big], tmp_path / "calm")
    client = app.test_client()
    worker = processes.worker("services.etl", settings, name="etl-1")
    one = upload(client, first).json["batch_num"]
    wait_for_status(engine, one, ("completed",), 60, processes)
    two = upload(client, big).json["batch_num"]
    wait_for_progress(engine, two, processes)
    worker.kill()
    worker.popen.wait()
    assert counts(engine, two)["status"] == "processing" and rows_of(engine, two) == 0  # nothing half-written
    processes.worker("services.etl", settings, name="etl-2")
    wait_until(lambda: batch(engine, two)["attempts"] == 2, RECLAIMED_WITHIN_S, processes.report)
    done = wait_for_status(engine, two, ("completed", "failed"), 120, processes)
    assert done["attempts"] == 2, done["error_log"]
    assert [counts(engine, one), counts(engine, two)] == expected_counts
    assert checksum(engine) == expected_sum


def test_a_batch_whose_worker_keeps_dying_fails_after_etl_max_attempts(settings, engine, app, processes, store_items):
    """With ETL_MAX_ATTEMPTS=1, one death of the worker is all: the requeued job marks the batch failed, saying why."""
    settings = replace(settings, etl_chunk_rows=20_000, etl_max_attempts=1, **FAST)
    client = app.test_client()
    worker = processes.worker("services.etl", settings, name="etl-1")
    number = upload(client, csv_bytes(store_items.iloc[:BIG_ROWS])).json["batch_num"]
    wait_for_progress(engine, number, processes)
    worker.kill()
    worker.popen.wait()
    processes.worker("services.etl", settings, name="etl-2")
    failed = wait_for_status(engine, number, ("completed", "failed"), RECLAIMED_WITHIN_S, processes)
    assert failed["status"] == "failed"
    assert "gave up after 1 attempt " in failed["error_log"] and "nothing was loaded" in failed["error_log"]
    assert rows_of(engine, number) == 0


def pharma_category(days: int) -> bytes:
    """The last `days` days of one real pharmacy category (N02BE), in castflow's columns."""
    path = SHARED_DATA / "pharma-sales" / "salesdaily_long.csv"
    if not path.exists():
        pytest.skip(f"shared dataset missing: {path.name}")
    frame = pd.read_csv(path)
    frame = frame[frame["category"] == "N02BE"].tail(days)
    return csv_bytes(pd.DataFrame({"Date": frame["date"], "product_id": "all", "category": frame["category"],
                                   "sales": frame["sales"].round(2)}))


def run_row(engine, batch_num: int) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT id, status, attempts, error_log FROM forecast_runs WHERE batch_num = :b"),
                                 {"b": batch_num}).mappings().one())


def forecast_rows(engine, run_id: int) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT model_type, COUNT(*) FROM forecast_data WHERE run_id = :r "
                                      "GROUP BY model_type"), {"r": run_id}).all())


def test_forecast_worker_killed_while_fitting_ends_with_a_completed_run(settings, engine, app, drain, processes):
    """SIGKILL while the models fit, a new worker: the run completes once, with every model's forecasts."""
    settings = replace(settings, **FAST)
    client = app.test_client()
    number = upload(client, pharma_category(400)).json["batch_num"]
    drain()
    worker = processes.worker("services.forecast", settings, name="forecast-1")
    running = wait_until(lambda: (r := run_row(engine, number))["status"] == "running" and r, 90,
                         lambda: processes.report(), poll_s=0.05)
    time.sleep(1.0)  # into the fit
    worker.kill()
    worker.popen.wait()
    assert run_row(engine, number)["status"] == "running" and forecast_rows(engine, running["id"]) == {}
    processes.worker("services.forecast", settings, name="forecast-2")
    wait_until(lambda: run_row(engine, number)["attempts"] == 2, RECLAIMED_WITHIN_S, processes.report)
    ended = wait_until(lambda: (r := run_row(engine, number))["status"] in ("completed", "failed") and r, 150,
                       lambda: processes.report(), poll_s=0.2)
    assert (ended["status"], ended["attempts"]) == ("completed", 2), ended["error_log"]
    published = {m.value for m in fitters()} | {"ensemble", "recommended"}
    assert forecast_rows(engine, ended["id"]) == {m: 30 for m in published}
    assert client.get(f"/batches/{number}").json["forecast_status"] == "completed"
