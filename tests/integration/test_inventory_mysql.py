"""Product reads and inventory on MariaDB: exact keys, case-insensitive search, tuple lookups, all-or-nothing stock."""

from __future__ import annotations

import io

import pytest

from common.queue import FORECAST_QUEUE, queue
from tests.etl.test_jobs import load
from tests.products import Product, Skipped, add_product_run, sales_csv, steady

pytestmark = pytest.mark.integration


def test_product_reads_and_inventory_on_mariadb(client, drain, engine, real_redis, prefix):
    """A product run's products list, one product's rows, stock in by file and JSON, and /inventory's advice."""
    batch = load(client, drain, sales_csv({"north": ["Item-1", "item-1", "p2"], "south": ["s1"]}))
    assert batch["status"] == "completed", batch["error_log"]
    queue(real_redis, FORECAST_QUEUE, prefix).empty()
    run = add_product_run(engine, "north", {"Item-1": Product(steady(10, 4), volume=300.0),
                                            "item-1": Product(steady(2, 1), volume=50.0)},
                          {"p2": Skipped()}).run_id

    listed = client.get("/categories/north/products?search=ITEM").json
    assert (listed["run_id"], [p["product_id"] for p in listed["data"]]) == (run, ["Item-1", "item-1"])
    rows = client.get("/forecast-data?category=north&product_id=item-1").json
    assert {(r["product_id"], r["p50"]) for r in rows} == {("item-1", 2.0)} and len(rows) == 30
    assert client.get("/forecast-data?category=north&product_id=ITEM-1").status_code == 404  # ids compare exactly

    bad = client.post("/inventory/stock", json={"rows": [{"product_id": "Item-1", "category": "north", "on_hand": 5},
                                                         {"product_id": "ITEM-1", "category": "north", "on_hand": 5}]})
    assert bad.status_code == 400 and [p["line"] for p in bad.json["problems"]] == [2]
    assert client.get("/inventory").json["data"] == []  # nothing stored
    csv_file = "product_id,category,on_hand,lead_time_days\nItem-1,north,20,5\nitem-1,north,100,5\n"
    stored = client.post("/inventory/stock", data={"file": (io.BytesIO(csv_file.encode()), "stock.csv")},
                         content_type="multipart/form-data")
    assert stored.status_code == 201, stored.json
    advice = {r["product_id"]: r for r in client.get("/inventory").json["data"]}
    assert [r["product_id"] for r in client.get("/inventory").json["data"]] == ["Item-1", "item-1"]
    assert advice["Item-1"]["order_now"] is True and advice["Item-1"]["lead_time_demand"] == 50.0
    assert advice["item-1"]["order_now"] is False and advice["item-1"]["days_of_inventory"] == 50.0
