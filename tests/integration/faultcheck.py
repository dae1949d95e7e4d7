"""What the fault tests compare: batch counts, a checksum of invoice_data, an undisturbed run of the same files."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import fakeredis
import pandas as pd
from sqlalchemy import Engine, text

from common.config import Settings
from common.db import make_engine
from common.storage import LocalUploadStore
from services.api import create_app
from services.etl import jobs
from tests.integration.processes import Processes, wait_until

#: Settings for heartbeats and maintenance rounds fast enough for a test.
FAST = {"worker_ttl_seconds": 10, "maintenance_seconds": 2}
#: The columns of a batch that an interrupted run must end with exactly as an undisturbed one.
COUNTS = ("status", "num_total_rows", "num_missing_rows", "num_rejected_rows", "num_inserted_rows",
          "num_updated_rows", "num_unchanged_rows", "num_imputed_rows")


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A DataFrame in castflow's columns as an uploadable CSV file."""
    return frame.to_csv(index=False).encode()


def upload(client, content: bytes, filename: str = "sales.csv"):  # noqa: ANN001, ANN201 - Flask test objects
    """POST a file to /upload through a Flask test client."""
    return client.post("/upload", data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data")


def batch(engine: Engine, batch_num: int) -> dict:
    """A batch's row of upload_metadata, plus how many forecast runs it created."""
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM upload_metadata WHERE batch_num = :b"),
                           {"b": batch_num}).mappings().one()
        runs = conn.execute(text("SELECT COUNT(*) FROM forecast_runs WHERE batch_num = :b"),
                            {"b": batch_num}).scalar()
    return {**row, "forecast_runs": runs}


def counts(engine: Engine, batch_num: int) -> dict:
    """The counts of a batch that must not depend on how its processing went."""
    row = batch(engine, batch_num)
    return {name: row[name] for name in (*COUNTS, "forecast_runs")}


def checksum(engine: Engine) -> tuple:
    """invoice_data summed up: rows, sales, versions, imputed flags, and rows per batch."""
    with engine.connect() as conn:
        totals = tuple(conn.execute(text(
            "SELECT COUNT(*), SUM(sales), MAX(version), SUM(version), SUM(is_imputed) FROM invoice_data")).one())
        per_batch = tuple(conn.execute(text(
            "SELECT batch_num, COUNT(*), SUM(sales) FROM invoice_data GROUP BY batch_num ORDER BY batch_num")).all())
    return totals, tuple(map(tuple, per_batch))


def wait_for_status(engine: Engine, batch_num: int, statuses: tuple[str, ...], timeout_s: float,
                    processes: Processes) -> dict:
    """Wait until the batch is in one of `statuses`; fail with the processes' output."""
    return wait_until(lambda: (row := batch(engine, batch_num))["status"] in statuses and row, timeout_s,
                      lambda: f"batch {batch_num} is {batch(engine, batch_num)['status']}\n{processes.report()}")


def wait_for_progress(engine: Engine, batch_num: int, processes: Processes, timeout_s: float = 60) -> dict:
    """Wait until a worker is in the middle of the batch: processing, progress above 0 (fail at once if it ended)."""

    def under_way() -> dict | None:
        row = batch(engine, batch_num)
        assert row["status"] not in ("completed", "failed"), \
            f"batch {batch_num} is {row['status']} already: {row['error_log']}\n{processes.report()}"
        return row if row["status"] == "processing" and row["progress"] > 0 else None

    return wait_until(under_way, timeout_s, lambda: f"batch {batch_num} never got under way\n{processes.report()}",
                      poll_s=0.02)


def undisturbed_run(settings: Settings, database_url: str, files: list[bytes], upload_dir: Path) -> tuple[list, tuple]:
    """Upload `files` in order to a fresh database, process each at once in-process; (counts per batch, checksum)."""
    settings = replace(settings, database_url=database_url, upload_dir=str(upload_dir))
    engine = make_engine(database_url)
    redis = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    try:
        client = create_app(settings, engine=engine, redis=redis).test_client()
        store = LocalUploadStore(upload_dir)
        results = []
        for content in files:
            response = upload(client, content)
            assert response.status_code == 202, response.json
            number = response.json["batch_num"]
            jobs.process_batch(number, settings=settings, engine=engine, store=store, redis=redis)
            results.append(counts(engine, number))
        return results, checksum(engine)
    finally:
        engine.dispose()
