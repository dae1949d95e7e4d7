"""The data of bench/load.py: a database as a busy castflow holds it, bulk-loaded straight into the tables.

- invoice_data: `categories` x `products` x `days` observations (1,022,000 with the defaults), in
  primary-key order with LOAD DATA LOCAL INFILE, the way the ETL's own bulk path writes them;
- upload_metadata: `batches` finished batches, for /batches/<id>;
- forecast_runs: two completed runs per category, and a newer failed or pending one for half of
  them, so that "the latest *completed* run" has to skip something;
- forecast_data: every model's `horizon` days in each completed run (192,000 rows), and metrics.

category_stats is left empty on purpose: the API fills it from invoice_data on first use.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection, insert

from common.db import create_schema, make_engine
from common.models import ForecastMetric, ForecastRun, UploadMetadata
from common.status import BatchStatus, ForecastStatus, ModelType

HISTORY_START = dt.date(2023, 1, 1)
SEED_HASH = "b" * 64
TABLES = ("upload_metadata", "invoice_data", "forecast_runs", "forecast_data", "forecast_metrics")


@dataclass(frozen=True)
class Shape:
    """How much data to seed."""

    categories: int = 200
    products: int = 14
    days: int = 365
    horizon: int = 120
    batches: int = 2000
    models: tuple[str, ...] = tuple(m.value for m in ModelType)

    @property
    def history_end(self) -> dt.date:
        """The last stored day."""
        return HISTORY_START + dt.timedelta(days=self.days - 1)


@dataclass
class Seeded:
    """What was seeded, for building request paths."""

    shape: Shape
    categories: list[str]
    completed_runs: list[int] = field(default_factory=list)
    invoice_rows: int = 0
    forecast_rows: int = 0

    @property
    def forecast_start(self) -> dt.date:
        """The first forecast day of the latest runs."""
        return self.shape.history_end + dt.timedelta(days=1)


def seed(database_url: str, shape: Shape) -> Seeded:
    """Create the schema and fill it; analyse the tables so that plans see the real sizes."""
    engine = make_engine(database_url)
    create_schema(engine)
    seeded = Seeded(shape, [f"cat-{n:03d}" for n in range(shape.categories)])
    with engine.connect() as conn:
        _seed_batches(conn, shape)
        seeded.invoice_rows = _seed_invoices(conn, seeded)
        seeded.completed_runs = _seed_runs(conn, seeded)
        seeded.forecast_rows = _seed_forecasts(conn, seeded)
        _seed_metrics(conn, seeded)
        for table in TABLES:
            conn.exec_driver_sql(f"ANALYZE TABLE {table}").fetchall()
        conn.commit()
    engine.dispose()
    return seeded


def _seed_batches(conn: Connection, shape: Shape) -> None:
    now = dt.datetime(2024, 1, 1, 12, 0, 0)
    conn.execute(insert(UploadMetadata), [
        {"batch_num": n, "original_filename": f"sales-{n}.csv", "stored_filename": f"{n:064x}.csv",
         "file_hash": f"{n:064x}", "file_size": 1000 + n, "num_total_rows": 511, "num_inserted_rows": 500,
         "num_updated_rows": 10, "num_rejected_rows": 1, "status": BatchStatus.COMPLETED, "progress": 1.0,
         "forecast_status": ForecastStatus.COMPLETED, "error_log": "1 row rejected (see /batches/{n}/errors)",
         "attempts": 1, "uploaded_at": now, "started_at": now, "finished_at": now}
        for n in range(1, shape.batches + 1)
    ])
    conn.commit()


def _seed_invoices(conn: Connection, seeded: Seeded) -> int:
    shape = seeded.shape
    per_day = shape.products * shape.categories
    day = np.repeat(np.arange(shape.days), per_day)
    product = np.tile(np.repeat(np.arange(shape.products), shape.categories), shape.days)
    category = np.tile(np.arange(shape.categories), shape.days * shape.products)
    weekly = 1 + 0.3 * np.sin(2 * math.pi * ((day + 3) % 7) / 7)
    noise = np.random.default_rng(5).normal(0, 3, day.size)
    sales = np.round(np.maximum(0, (10 + category % 37 + product) * weekly + noise), 2)
    table = pa.table({
        "date": pa.array(np.datetime64(HISTORY_START, "D") + day),
        "product_id": pa.array([f"item-{n:02d}" for n in range(shape.products)]).take(pa.array(product)),
        "category": pa.array(seeded.categories).take(pa.array(category)),
        "sales": pa.array(sales),
        "batch_num": pa.array(1 + day % shape.batches),
    })
    load_csv(conn, table, "invoice_data",
             f"SET is_imputed = 0, file_hash = '{SEED_HASH}', created_at = '2024-01-01 12:00:00', "
             "updated_at = '2024-01-01 12:00:00', version = 1")
    return table.num_rows


def _seed_runs(conn: Connection, seeded: Seeded) -> list[int]:
    """Rounds of runs over every category (ids interleave as in real life); the completed run ids."""
    rows, completed = [], []
    rounds = (ForecastStatus.COMPLETED, ForecastStatus.COMPLETED, None)
    for number, status in enumerate(rounds):
        for n, category in enumerate(seeded.categories):
            run_status = status or (ForecastStatus.FAILED, ForecastStatus.PENDING, None, None)[n % 4]
            if run_status is None:
                continue
            run_id = len(rows) + 1
            rows.append({"id": run_id, "category": category, "batch_num": 1 + (run_id % seeded.shape.batches),
                         "status": run_status, "horizon_days": seeded.shape.horizon, "holiday_country": "US",
                         "history_start": HISTORY_START, "history_end": seeded.shape.history_end,
                         "created_at": dt.datetime(2024, 1, 1, number), "attempts": 1,
                         "error_log": "sarimax: did not converge" if run_status == ForecastStatus.FAILED else None})
            if run_status == ForecastStatus.COMPLETED:
                completed.append(run_id)
    conn.execute(insert(ForecastRun), rows)
    conn.commit()
    return completed


def _seed_forecasts(conn: Connection, seeded: Seeded) -> int:
    shape = seeded.shape
    runs = np.array(seeded.completed_runs)
    per_run = len(shape.models) * shape.horizon
    run = np.repeat(runs, per_run)
    model = np.tile(np.repeat(np.arange(len(shape.models)), shape.horizon), runs.size)
    step = np.tile(np.arange(shape.horizon), runs.size * len(shape.models))
    category = (run - 1) % shape.categories
    # The older run forecast from a month earlier: its days start 30 days before the latest run's.
    first = np.where(run <= shape.categories, -30, 0)
    value = np.round((10 + category % 37) * shape.products * (1 + 0.3 * np.sin(2 * math.pi * step / 7)), 2)
    spread = np.round(value * (0.1 + 0.002 * step), 2)
    table = pa.table({
        "run_id": pa.array(run),
        "batch_num": pa.array(1 + run % shape.batches),
        "category": pa.array(seeded.categories).take(pa.array(category)),
        "model_type": pa.array(list(shape.models)).take(pa.array(model)),
        "forecast_date": pa.array(np.datetime64(seeded.forecast_start, "D") + first + step),
        "forecast_value": pa.array(value),
        "lower_bound": pa.array(np.maximum(0, value - spread)),
        "upper_bound": pa.array(value + spread),
    })
    load_csv(conn, table, "forecast_data")
    return table.num_rows


def _seed_metrics(conn: Connection, seeded: Seeded) -> None:
    shape = seeded.shape
    rows = []
    for run_id in seeded.completed_runs:
        category = seeded.categories[(run_id - 1) % shape.categories]
        best = run_id % len(shape.models)
        rows += [{"run_id": run_id, "category": category, "model_type": model, "mae": 4.0 + n, "rmse": 5.0 + n,
                  "smape": 0.1 + n / 100, "mase": 0.8 + n / 10, "coverage": 0.94, "is_best": n == best,
                  "fit_seconds": 1.5} for n, model in enumerate(shape.models)]
    conn.execute(insert(ForecastMetric), rows)
    conn.commit()


def load_csv(conn: Connection, table: pa.Table, into: str, assignments: str = "") -> None:
    """Bulk-load an Arrow table into `into` (columns by name) with LOAD DATA LOCAL INFILE."""
    fd, path = tempfile.mkstemp(prefix="castflow-seed-", suffix=".csv")
    os.close(fd)
    try:
        pacsv.write_csv(table, path, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        conn.exec_driver_sql(
            f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE {into} CHARACTER SET utf8mb4 "
            "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' "
            f"({', '.join(table.column_names)}) {assignments}"
        )
        conn.commit()
    finally:
        os.unlink(path)
