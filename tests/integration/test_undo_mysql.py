"""Undo on the real MariaDB: a batch that updated every one of the 913,000 Store Item keys, taken back exactly."""

from __future__ import annotations

import logging
import time

import pytest
from sqlalchemy import text

from tests.integration.faultcheck import checksum, csv_bytes, upload

pytestmark = pytest.mark.integration
logger = logging.getLogger(__name__)


def table_checksum(engine) -> int:
    """MariaDB's CHECKSUM TABLE of invoice_data: every column of every row."""
    with engine.connect() as conn:
        return conn.execute(text("CHECKSUM TABLE invoice_data EXTENDED")).one()[1]


def load(client, drain, content: bytes, name: str) -> int:
    batch = upload(client, content, name).json["batch_num"]
    drain()
    assert client.get(f"/batches/{batch}").json["status"] == "completed"
    return batch


def test_undo_of_a_batch_that_updated_every_key(client, drain, engine, store_items):
    """After the undo, invoice_data's checksum is the one from before the batch, and stats match it."""
    load(client, drain, csv_bytes(store_items), "train.csv")
    before, totals = table_checksum(engine), checksum(engine)
    with engine.connect() as conn:
        stats = conn.execute(text("SELECT category, product_count, first_date, last_date, row_count "
                                  "FROM category_stats ORDER BY category")).all()
    second = load(client, drain, csv_bytes(store_items.assign(sales=store_items["sales"] + 1)), "train-plus-1.csv")
    assert client.get(f"/batches/{second}").json["num_updated_rows"] == len(store_items)
    assert table_checksum(engine) != before
    started = time.perf_counter()
    response = client.delete(f"/batches/{second}")
    seconds = time.perf_counter() - started
    logger.warning("undo of %d updated keys took %.1f s", len(store_items), seconds)
    assert response.status_code == 200, response.json
    assert response.json["restored_rows"] == len(store_items) and len(response.json["forecast_run_ids"]) == 10
    assert table_checksum(engine) == before
    assert checksum(engine) == totals
    with engine.connect() as conn:
        assert conn.execute(text("SELECT category, product_count, first_date, last_date, row_count "
                                 "FROM category_stats ORDER BY category")).all() == stats
        assert conn.execute(text("SELECT COUNT(*) FROM invoice_history")).scalar() == 0
