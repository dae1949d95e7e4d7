"""The Online Retail file uploaded as it is, with a mapping, on MariaDB + Redis: counts reconcile with pandas."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from rq import SimpleWorker
from sqlalchemy import text

from common.queue import FORECAST_QUEUE, queue
from tests.conftest import SHARED_DATA

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SOURCE = SHARED_DATA / "online-retail" / "online_retail.csv"
MAPPING = {"date": "InvoiceDate", "product_id": "StockCode", "category": "Country",
           "sales": "Quantity * UnitPrice", "drop_negative_sales": True}


def expected(path: Path) -> tuple[pd.DataFrame, int]:
    """The same aggregation done with pandas: per (day, StockCode, Country) the sum of row values in cents."""
    frame = pd.read_csv(path, dtype="str", keep_default_na=False)
    # Numbers parsed from their text the way the ETL does, so the last bit of every product agrees.
    value = pd.to_numeric(frame["Quantity"].str.strip()) * pd.to_numeric(frame["UnitPrice"].str.strip())
    kept = frame[value >= 0].assign(cents=(value[value >= 0] * 100).round().astype("int64"))
    kept = kept.assign(day=kept["InvoiceDate"].str.slice(0, 10), sku=kept["StockCode"].str.strip(),
                       country=kept["Country"].str.strip())
    sums = kept.groupby(["day", "sku", "country"], as_index=False)["cents"].sum()
    return sums, int((value < 0).sum())


def test_online_retail_as_it_is(client, drain, engine, real_redis, prefix):
    """541,909 invoice lines: filtered returns, stored keys and per-country revenue match pandas exactly."""
    if not SOURCE.exists():
        pytest.skip(f"shared dataset missing: {SOURCE.name}")
    with SOURCE.open("rb") as fileobj:
        answer = client.post("/upload", data={"file": (fileobj, "online_retail.csv"), "mapping": json.dumps(MAPPING)},
                             content_type="multipart/form-data")
    assert answer.status_code == 202, answer.json
    drain()
    batch = client.get(f"/batches/{answer.json['batch_num']}").json
    sums, negative = expected(SOURCE)
    assert batch["status"] == "completed", batch["error_log"]
    assert (batch["num_total_rows"], batch["num_filtered_rows"], batch["num_rejected_rows"]) == (541_909, negative, 0)
    assert batch["num_inserted_rows"] == len(sums)
    with engine.connect() as conn:
        totals = conn.execute(text("SELECT category, SUM(ROUND(sales * 100)) FROM invoice_data GROUP BY category"))
        stored = {category: total for category, total in totals}
    by_country = sums.groupby("country")["cents"].sum()
    assert {k: int(v) for k, v in stored.items()} == {k: int(v) for k, v in by_country.items()}
    # Forecasts appear per country: one run each, and the first two (real models) complete.
    runs = client.get("/categories").json
    assert len(runs) == sums["country"].nunique() == 38
    SimpleWorker([queue(real_redis, FORECAST_QUEUE, prefix)], connection=real_redis).work(burst=True, max_jobs=2)
    rows = client.get("/forecast-data?model_type=all&limit=100000").json
    assert len({r["category"] for r in rows}) == 2 and {r["model_type"] for r in rows} >= {"prophet"}
