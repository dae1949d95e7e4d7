"""Product reads: /forecast-data and its exports with product_id, and /categories/<name>/products."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from common.status import ForecastStatus
from services.api.views.forecasts import FORECAST_FIELDS
from tests.builders import refused
from tests.conftest import upload
from tests.products import Product, Skipped, add_product_run, sales_csv, steady


@pytest.fixture
def seeded(client, drain, engine) -> dict[str, int]:
    """north: an older product run, the latest product run (3 products, 1 skipped), then a category-only run and
    a run whose products are still running; south: a category-only run."""
    upload(client, sales_csv({"north": ["p1", "p2", "p3", "rare"], "south": ["s1"]}))
    drain()
    old = add_product_run(engine, "north", {"p1": Product(steady(1, 0.5, 5))})
    latest = add_product_run(engine, "north", {
        "p1": Product(steady(10, 4), method="auto_ets", mase=0.7, mae=2.0, volume=300.0, selling_days=60),
        "p2": Product(steady(4, 2), method="croston_optimized", mase=1.1, mae=1.5, volume=120.0),
        "p3-x": Product(steady(1, 1), method="tsb", mase=None, mae=None, volume=20.0, selling_days=9),
    }, {"rare": Skipped()})
    category_only = add_product_run(engine, "north", {"p1": Product(steady(99, 1, 3))}, product_status=None)
    running = add_product_run(engine, "north", {"p1": Product(steady(77, 1, 3))}, product_status="running")
    south = add_product_run(engine, "south", {"s1": Product(steady(3, 1))}, product_status=None)
    return {"old": old.run_id, "latest": latest.run_id, "category_only": category_only.run_id,
            "running": running.run_id, "south": south.run_id}


def get(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, response.json
    return response.json


def test_product_rows_come_from_the_latest_completed_product_run(client, seeded):
    """product_id answers that product's rows of its category's latest run with completed products."""
    rows = get(client, "/forecast-data?category=north&product_id=p1")
    assert len(rows) == 30
    assert {r["run_id"] for r in rows} == {seeded["latest"]}
    assert list(rows[0]) == [*FORECAST_FIELDS, "product_id"]
    assert {(r["model_type"], r["product_id"], r["p10"], r["p50"], r["p90"]) for r in rows} == {
        ("recommended", "p1", 6.0, 10.0, 14.0)}
    assert [r["forecast_date"] for r in rows[:2]] == ["2023-04-01", "2023-04-02"]


def test_products_add_up_to_the_category_forecast(client, seeded):
    """The products' rows of a run sum to the category's recommended forecast of the same run, day by day."""
    category = get(client, f"/forecast-data?run_id={seeded['latest']}")
    totals = {r["forecast_date"]: 0.0 for r in category}
    for product in ("p1", "p2", "p3-x"):
        for row in get(client, f"/forecast-data?category=north&product_id={product}"):
            totals[row["forecast_date"]] += row["forecast_value"]
    assert totals == {r["forecast_date"]: r["forecast_value"] for r in category}


def test_product_rows_take_the_date_filters_and_paging(client, seeded):
    """start_date, end_date, limit and offset narrow a product's rows as they do a category's."""
    rows = get(client, "/forecast-data?product_id=p2&start_date=2023-04-05&end_date=2023-04-20&limit=3&offset=1")
    assert [r["forecast_date"] for r in rows] == ["2023-04-06", "2023-04-07", "2023-04-08"]
    assert get(client, "/forecast-data?product_id=p2&start_date=2024-01-01") == []


def test_product_rows_of_a_named_run(client, seeded):
    """run_id reads that run's product rows; a run without completed products is a 404 saying so."""
    rows = get(client, f"/forecast-data?product_id=p1&run_id={seeded['old']}")
    assert [(r["run_id"], r["p50"]) for r in rows] == [(seeded["old"], 1.0)] * 5
    error = refused(client.get(f"/forecast-data?product_id=p1&run_id={seeded['category_only']}"), 404)
    assert "no completed product forecasts" in error
    assert "not found" in refused(client.get("/forecast-data?product_id=p1&run_id=999999"), 404)


def test_unknown_and_skipped_products_are_404(client, seeded):
    """A product the run does not hold, or skipped, is a JSON 404 naming it (and why it was skipped)."""
    assert "'nope'" in refused(client.get("/forecast-data?category=north&product_id=nope"), 404)
    error = refused(client.get("/forecast-data?category=north&product_id=rare"), 404)
    assert "skipped" in error and "too little history" in error


def test_a_category_without_product_forecasts_is_404(client, seeded):
    """A category whose runs forecast the category only answers a 404 that says so, with product_id."""
    error = refused(client.get("/forecast-data?category=south&product_id=s1"), 404)
    assert "no completed product forecast" in error
    # Without a category: the categories that have product forecasts are searched; s1 is in none.
    assert "any category" in refused(client.get("/forecast-data?product_id=s1"), 404)


def test_product_id_refuses_other_models_and_grains(client, seeded):
    """A product has its recommended forecast only, per day: another model or a grain is a 400."""
    assert "recommended" in refused(client.get("/forecast-data?product_id=p1&model_type=sarimax"))
    assert "grain" in refused(client.get("/forecast-data?product_id=p1&grain=week"))
    assert len(get(client, "/forecast-data?product_id=p1&model_type=all")) == 30
    assert len(get(client, "/forecast-data?product_id=p1&model_type=recommended")) == 30


def test_without_product_id_the_category_rows_are_unchanged(client, seeded):
    """Without product_id /forecast-data answers the category's own rows (no product_id field)."""
    rows = get(client, "/forecast-data?category=north")
    assert {r["run_id"] for r in rows} == {seeded["running"]}
    assert list(rows[0]) == FORECAST_FIELDS


def test_product_csv_export(client, seeded):
    """The CSV export with product_id holds the product's rows, the forecast columns then product_id."""
    response = client.get("/forecast-data/export?format=csv&category=north&product_id=p2")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 30 and list(rows[0])[-1] == "product_id"
    assert {(r["product_id"], r["model_type"], r["forecast_value"]) for r in rows} == {("p2", "recommended", "4.0")}


def test_product_xlsx_export(client, seeded):
    """The workbook with product_id has a sheet per category with the product's sales history and forecast."""
    response = client.get("/forecast-data/export?format=xlsx&product_id=p1")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["north"]
    rows = list(book["north"].iter_rows(values_only=True))
    assert rows[0][:4] == ("category", "north", "product_id", "p1")
    history = [row for row in rows[2:] if row[1] is not None]
    assert len(history) == 20 and len([row for row in rows[2:] if row[2] is not None]) == 30


def test_product_export_errors(client, seeded):
    """The export answers the same 404s and 400s as /forecast-data with product_id."""
    assert refused(client.get("/forecast-data/export?product_id=nope"), 404)
    assert refused(client.get("/forecast-data/export?product_id=p1&grain=month"))


def test_products_list_defaults_to_volume_descending(client, seeded):
    """The list holds the latest product run's products with method, errors, volume, status, note."""
    answer = get(client, "/categories/north/products")
    assert (answer["run_id"], answer["reconciliation"], answer["products_total"], answer["products_skipped"]) == (
        seeded["latest"], "mint_shrink", 4, 1)
    assert [p["product_id"] for p in answer["data"]] == ["p1", "p2", "p3-x", "rare"]
    assert answer["data"][0] == {"product_id": "p1", "status": "forecast", "method": "auto_ets", "mase": 0.7,
                                 "mae": 2.0, "volume": 300.0, "selling_days": 60, "note": None}
    assert answer["data"][3]["status"] == "skipped" and answer["data"][3]["note"]
    assert answer["pagination"] == {"page": 1, "limit": 50, "total_items": 4, "total_pages": 1}


def test_products_list_sorts_by_error_with_unknown_errors_last(client, seeded):
    """sort=mase orders by MASE ascending (desc with order=desc); products without one come last either way."""
    ascending = get(client, "/categories/north/products?sort=mase")["data"]
    assert [p["product_id"] for p in ascending] == ["p1", "p2", "p3-x", "rare"]
    descending = get(client, "/categories/north/products?sort=mase&order=desc")["data"]
    assert [p["product_id"] for p in descending] == ["p2", "p1", "p3-x", "rare"]
    by_volume = get(client, "/categories/north/products?sort=volume&order=asc")["data"]
    assert [p["product_id"] for p in by_volume] == ["rare", "p3-x", "p2", "p1"]


def test_products_list_search_and_paging(client, seeded):
    """search keeps product ids holding the text (any case); page and limit page through them."""
    found = get(client, "/categories/north/products?search=P3")
    assert [p["product_id"] for p in found["data"]] == ["p3-x"] and found["pagination"]["total_items"] == 1
    page = get(client, "/categories/north/products?limit=3&page=2")
    assert [p["product_id"] for p in page["data"]] == ["rare"]
    assert page["pagination"] == {"page": 2, "limit": 3, "total_items": 4, "total_pages": 2}
    assert get(client, "/categories/north/products?search=%25")["data"] == []


def test_products_list_errors(client, seeded):
    """An unknown category, one without product forecasts, and bad parameters are JSON 4xx."""
    assert "no stored data" in refused(client.get("/categories/nowhere/products"), 404)
    assert "no completed product forecast" in refused(client.get("/categories/south/products"), 404)
    assert "sort" in refused(client.get("/categories/north/products?sort=price"))
    assert "limit" in refused(client.get("/categories/north/products?limit=0"))
    assert "unknown" in refused(client.get("/categories/north/products?q=p1"))


def test_products_list_follows_a_new_product_run(client, seeded, engine, redis):
    """A new completed product run (and the read generation its job bumps) shows in the cached list."""
    assert len(get(client, "/categories/north/products")["data"]) == 4
    run = add_product_run(engine, "north", {"p9": Product(steady(2, 1))}, status=ForecastStatus.COMPLETED)
    redis.delete("castflow:read-generation")  # what the forecast job's bump does: older entries are not served
    answer = get(client, "/categories/north/products")
    assert answer["run_id"] == run.run_id and [p["product_id"] for p in answer["data"]] == ["p9"]
