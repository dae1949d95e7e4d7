"""Inventory: stock in (file or JSON), inventory settings, /inventory against hand-computed numbers, bad input."""

from __future__ import annotations

import csv
import io
import math
from statistics import NormalDist

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.models import ProductStock
from tests.builders import refused, workbook
from tests.conftest import upload
from tests.products import Product, Skipped, add_product_run, sales_csv, steady

#: p1: a rising forecast (p50 10 + day, p10/p90 3 and 5 either side); p2: flat 4 +- 2; p3: 0.5 +- 0.5.
P1_DAYS = [(7 + n, 10 + n, 15 + n) for n in range(30)]


@pytest.fixture
def forecast(client, drain, engine) -> int:
    """north: sales of p1, p2, p3, rare, new; a completed product run forecasting p1, p2, p3 and skipping rare.
    south: sales, no product run."""
    upload(client, sales_csv({"north": ["p1", "p2", "p3", "rare", "new"], "south": ["s1"]}))
    drain()
    return add_product_run(engine, "north", {"p1": Product(P1_DAYS), "p2": Product(steady(4, 2)),
                                             "p3": Product(steady(0.5, 0.5))}, {"rare": Skipped()}).run_id


def post_stock(client, rows: list[dict[str, object]]):
    return client.post("/inventory/stock", json={"rows": rows})


def stored(engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(ProductStock))


def by_product(client, path: str = "/inventory") -> dict[str, dict[str, object]]:
    response = client.get(path)
    assert response.status_code == 200, response.json
    return {row["product_id"]: row for row in response.json["data"]}


def hand_advice(days: list[tuple[float, float, float]], lead_time: int, level: float) -> tuple[float, float]:
    """Safety stock and reorder point, computed here from the textbook formulas without castflow's code."""
    demand = sum(p50 for _, p50, _ in days[:lead_time])
    sigma = math.sqrt(sum(((p90 - p10) / (2 * 1.2815516)) ** 2 for p10, _, p90 in days[:lead_time]))
    safety = NormalDist().inv_cdf(level) * sigma
    return safety, demand + safety


def test_inventory_matches_hand_computed_safety_stock_and_reorder_point(client, forecast):
    """For three products with their own lead times and service levels, /inventory's SS and ROP are the hand's."""
    response = post_stock(client, [
        {"product_id": "p1", "category": "north", "on_hand": 30, "lead_time_days": 4, "service_level": 0.9},
        {"product_id": "p2", "category": "north", "on_hand": 100, "lead_time_days": 10, "service_level": 0.99},
        {"product_id": "p3", "category": "north", "on_hand": 2},  # defaults: 7 days, 0.95
    ])
    assert response.status_code == 201 and response.json == {"rows": 3, "inserted": 3, "updated": 0}
    rows = by_product(client)
    for product, days, lead_time, level in (("p1", P1_DAYS, 4, 0.9), ("p2", steady(4, 2), 10, 0.99),
                                            ("p3", steady(0.5, 0.5), 7, 0.95)):
        safety, reorder_point = hand_advice(days, lead_time, level)
        assert rows[product]["safety_stock"] == pytest.approx(safety, abs=0.01), product
        assert rows[product]["reorder_point"] == pytest.approx(reorder_point, abs=0.01), product
        assert (rows[product]["lead_time_days"], rows[product]["service_level"]) == (lead_time, level)
    # p1: 30 on hand <= ROP (46 + 5.1): order now; 10 + 11 + 12 = 33 > 30 so it lasts 2 + 9/12 days.
    assert rows["p1"]["order_now"] is True and rows["p1"]["days_of_inventory"] == 2.75
    assert rows["p1"]["stockout_date"] == "2023-04-03"
    assert rows["p2"]["order_now"] is False and rows["p2"]["order_quantity"] == 0
    assert rows["p2"]["days_of_inventory"] == 25.0


def test_inventory_lists_order_now_first_and_pages(client, forecast):
    """Products to order come first (fewest days left first), then the rest; page and limit page them."""
    post_stock(client, [{"product_id": "p1", "category": "north", "on_hand": 30},
                        {"product_id": "p2", "category": "north", "on_hand": 500},
                        {"product_id": "p3", "category": "north", "on_hand": 0}])
    answer = client.get("/inventory?limit=2").json
    assert [(r["product_id"], r["order_now"]) for r in answer["data"]] == [("p3", True), ("p1", True)]
    assert answer["pagination"] == {"page": 1, "limit": 2, "total_items": 3, "total_pages": 2}
    assert [r["product_id"] for r in client.get("/inventory?order_now=false").json["data"]] == ["p2"]
    assert client.get("/inventory?category=south").json["data"] == []


def test_a_product_without_a_forecast_gets_a_note(client, forecast):
    """Stock of a product the run did not forecast (or of a category without product forecasts) is listed, noted."""
    post_stock(client, [{"product_id": "rare", "category": "north", "on_hand": 3},
                        {"product_id": "new", "category": "north", "on_hand": 3},
                        {"product_id": "s1", "category": "south", "on_hand": 3}])
    rows = by_product(client)
    assert "skipped it (one sale in two years" in rows["rare"]["note"] and rows["rare"]["reorder_point"] is None
    assert "did not forecast it" in rows["new"]["note"]
    assert "no completed product forecast" in rows["s1"]["note"] and rows["s1"]["order_now"] is False


def test_lead_time_beyond_the_horizon_is_a_note(client, forecast):
    """A 60-day lead time over the 30-day forecast is computed with the mean day and noted, not refused."""
    assert post_stock(client, [{"product_id": "p2", "category": "north", "on_hand": 1,
                                "lead_time_days": 60}]).status_code == 201
    row = by_product(client)["p2"]
    assert row["lead_time_demand"] == 240.0 and "beyond the 30-day forecast" in row["note"]


def test_category_inventory_settings_apply_and_reset(client, forecast):
    """PUT sets a category's lead time, service level and EOQ costs; /inventory uses them; null resets one."""
    assert client.get("/categories/north/inventory-settings").json["lead_time_days"] == 7
    response = client.put("/categories/north/inventory-settings",
                          json={"lead_time_days": 5, "service_level": 0.95, "order_cost": 50, "unit_cost": 4,
                                "holding_cost_rate": 0.25})
    assert response.status_code == 200, response.json
    assert sorted(response.json["overridden"]) == ["holding_cost_rate", "lead_time_days", "order_cost",
                                                   "service_level", "unit_cost"]
    post_stock(client, [{"product_id": "p2", "category": "north", "on_hand": 10}])
    row = by_product(client)["p2"]
    # p2: 4 a day +- 2: D_LT 20, sigma_LT = sqrt(5) * 4 / 2.5631, EOQ = sqrt(2 * 1460 * 50 / 1) = 382.1.
    assert row["lead_time_demand"] == 20.0 and row["eoq"] == pytest.approx(382.1, abs=0.01)
    assert row["order_quantity"] == math.ceil(row["reorder_point"] + math.sqrt(2 * 1460 * 50) - 10)
    reset = client.put("/categories/north/inventory-settings", json={"lead_time_days": None}).json
    assert reset["lead_time_days"] == 7 and "lead_time_days" not in reset["overridden"]
    assert by_product(client)["p2"]["lead_time_days"] == 7


@pytest.mark.parametrize("body", [{"lead_time_days": 0}, {"lead_time_days": 10000}, {"lead_time_days": 2.5},
                                  {"service_level": 1.0}, {"service_level": 0}, {"order_cost": -1},
                                  {"unit_cost": "4"}, {"holding_cost_rate": 0}, {}, {"colour": "red"}])
def test_bad_inventory_settings_are_400(client, forecast, body):
    """Out-of-range, mistyped, unknown or no settings are a 400 and change nothing."""
    assert refused(client.put("/categories/north/inventory-settings", json=body))
    assert client.get("/categories/north/inventory-settings").json["overridden"] == []


def test_inventory_settings_of_an_unknown_category_are_404(client, forecast):
    """A category without stored data has no inventory settings to read or write."""
    assert refused(client.get("/categories/nowhere/inventory-settings"), 404)
    assert refused(client.put("/categories/nowhere/inventory-settings", json={"lead_time_days": 3}), 404)


def test_stock_file_csv_and_xlsx(client, forecast, engine):
    """A CSV (any column order, extra columns ignored) and an .xlsx store stock; a second upload updates it."""
    text = "Category;product_id;ON_HAND;lead_time_days;comment\nnorth;p1;12;3;x\nnorth;p2;7;;\n"
    response = client.post("/inventory/stock", data={"file": (io.BytesIO(text.encode()), "stock.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.json
    assert response.json == {"rows": 2, "inserted": 2, "updated": 0}
    book = workbook(("Stock", [["product_id", "category", "on_hand", "service_level"], ["p1", "north", 20, 0.9]]))
    response = client.post("/inventory/stock", data={"file": (io.BytesIO(book), "stock.xlsx")},
                           content_type="multipart/form-data")
    assert response.json == {"rows": 1, "inserted": 0, "updated": 1}
    rows = by_product(client)
    assert (rows["p1"]["on_hand"], rows["p1"]["service_level"], rows["p1"]["lead_time_days"]) == (20.0, 0.9, 7)
    assert stored(engine) == 2


@pytest.mark.parametrize(("row", "column", "reason"), [
    ({"product_id": "nope", "category": "north", "on_hand": 1}, "product_id", "unknown product"),
    ({"product_id": "p1", "category": "nowhere", "on_hand": 1}, "category", "unknown category"),
    ({"product_id": "p1", "category": "north", "on_hand": -1}, "on_hand", "negative"),
    ({"product_id": "p1", "category": "north", "on_hand": 1, "lead_time_days": 0}, "lead_time_days", "1..365"),
    ({"product_id": "p1", "category": "north", "on_hand": 1, "lead_time_days": 10000}, "lead_time_days", "1..365"),
    ({"product_id": "p1", "category": "north", "on_hand": 1, "service_level": 1.0}, "service_level", "below 1"),
    ({"product_id": "p1", "category": "north", "on_hand": 1, "service_level": 0}, "service_level", "at least 0.5"),
    ({"product_id": "p1", "category": "north", "on_hand": "5"}, "on_hand", "number"),
    ({"product_id": "p1", "category": "north"}, "on_hand", "required"),
    ({"product_id": "", "category": "north", "on_hand": 1}, "product_id", "non-empty"),
    ({"product_id": "p1", "category": "north", "on_hand": 1, "price": 3}, "price", "unknown key"),
])
def test_bad_stock_rows_are_400_and_store_nothing(client, forecast, engine, row, column, reason):
    """One bad row among good ones: a 400 naming its line, column and reason; no row is stored."""
    response = post_stock(client, [{"product_id": "p2", "category": "north", "on_hand": 1}, row])
    error = refused(response)
    assert "nothing was stored" in error
    assert [(p["line"], p["column"]) for p in response.json["problems"]] == [(2, column)]
    assert reason in response.json["problems"][0]["reason"]
    assert stored(engine) == 0


def test_stock_file_reports_every_bad_line(client, forecast, engine):
    """A file's bad rows are all reported with their file line; nothing is stored."""
    text = "product_id,category,on_hand\np1,north,1\nghost,north,2\np2,north,-3\np3,elsewhere,1\np1,north,4\n"
    response = client.post("/inventory/stock", data={"file": (io.BytesIO(text.encode()), "stock.csv")},
                           content_type="multipart/form-data")
    refused(response)
    assert [(p["line"], p["column"]) for p in response.json["problems"]] == [(4, "on_hand"), (6, "product_id")]
    assert stored(engine) == 0
    # Once the values are right, the unknown product and category are what is left to report.
    text = "product_id,category,on_hand\np1,north,1\nghost,north,2\np3,elsewhere,1\n"
    response = client.post("/inventory/stock", data={"file": (io.BytesIO(text.encode()), "stock.csv")},
                           content_type="multipart/form-data")
    assert [(p["line"], p["column"], p["value"]) for p in response.json["problems"]] == [
        (3, "product_id", "ghost"), (4, "category", "elsewhere")]
    assert stored(engine) == 0


@pytest.mark.parametrize(("name", "content", "status", "words"), [
    ("stock.txt", b"product_id,category,on_hand\np1,north,1\n", 415, "unsupported file type"),
    ("stock.xlsx", b"product_id,category,on_hand\n", 415, "not an Excel workbook"),
    ("stock.csv", b"product_id,category\np1,north\n", 400, "missing required column(s): on_hand"),
    ("stock.csv", b"", 400, "empty"),
    ("stock.csv", b"product_id,category,on_hand\n", 400, "no data rows"),
])
def test_bad_stock_files_are_refused(client, forecast, engine, name, content, status, words):
    """A wrong file type, a missing column, an empty file: a clear 4xx and nothing stored."""
    response = client.post("/inventory/stock", data={"file": (io.BytesIO(content), name)},
                           content_type="multipart/form-data")
    assert words in refused(response, status)
    assert stored(engine) == 0


def test_bad_stock_bodies_are_400(client, forecast):
    """No body, a body without rows, and rows that are not objects are 400s."""
    assert refused(client.post("/inventory/stock"))
    assert "rows" in refused(client.post("/inventory/stock", json={"stock": []}))
    assert refused(client.post("/inventory/stock", json={"rows": ["p1"]}))
    assert refused(client.post("/inventory/stock", data={"other": "x"}, content_type="multipart/form-data"))


def test_inventory_export_csv_and_xlsx(client, forecast):
    """The export holds every /inventory row, order-now first, as CSV or as an .xlsx sheet."""
    post_stock(client, [{"product_id": "p1", "category": "north", "on_hand": 30},
                        {"product_id": "p2", "category": "north", "on_hand": 500}])
    response = client.get("/inventory/export?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["product_id"], r["order_now"]) for r in rows] == [("p1", "True"), ("p2", "False")]
    book = openpyxl.load_workbook(io.BytesIO(client.get("/inventory/export?format=xlsx").data))
    sheet = list(book["inventory"].iter_rows(values_only=True))
    assert sheet[0][:3] == ("category", "product_id", "on_hand") and sheet[1][1] == "p1"
    assert refused(client.get("/inventory/export?format=pdf"))


def test_inventory_answer_follows_new_stock(client, forecast):
    """/inventory is cached, and a stock upload makes the next read fresh."""
    post_stock(client, [{"product_id": "p1", "category": "north", "on_hand": 30}])
    assert by_product(client)["p1"]["on_hand"] == 30.0
    post_stock(client, [{"product_id": "p1", "category": "north", "on_hand": 31}])
    assert by_product(client)["p1"]["on_hand"] == 31.0


def test_stock_files_past_the_row_limit_are_refused(client, forecast, engine, monkeypatch):
    """A CSV or workbook with more rows than MAX_STOCK_ROWS is a 400 asking for parts; nothing is stored."""
    monkeypatch.setattr("services.api.stock.MAX_STOCK_ROWS", 2)
    text = "product_id,category,on_hand\np1,north,1\np2,north,1\np3,north,1\n"
    response = client.post("/inventory/stock", data={"file": (io.BytesIO(text.encode()), "stock.csv")},
                           content_type="multipart/form-data")
    assert "more than 2 rows" in refused(response)
    book = workbook(("s", [["product_id", "category", "on_hand"], *([f"p{n}", "north", 1] for n in (1, 2, 3))]))
    response = client.post("/inventory/stock", data={"file": (io.BytesIO(book), "stock.xlsx")},
                           content_type="multipart/form-data")
    assert "more than 2 rows" in refused(response)
    assert stored(engine) == 0


def test_a_workbook_without_the_stock_columns_is_refused(client, forecast):
    """An .xlsx none of whose sheets has product_id, category and on_hand is a 400 naming them."""
    book = workbook(("s", [["product", "store", "qty"], ["p1", "north", 1]]))
    response = client.post("/inventory/stock", data={"file": (io.BytesIO(book), "stock.xlsx")},
                           content_type="multipart/form-data")
    assert "product_id, category, on_hand" in refused(response)
