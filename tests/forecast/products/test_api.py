"""The product settings and fields in the API: the category switch, and runs saying how products were reconciled."""

from __future__ import annotations

from common.queue import FORECAST_QUEUE
from tests.conftest import upload

ROWS = "Date,product_id,category,sales\n2023-01-01,p,shop,1\n2023-01-02,q,shop,2\n"


def test_product_forecasts_switch_is_saved_shown_and_refreshes(client, drain):
    """PUT product_forecasts true: the settings show it and a refresh is queued; null goes back to the default."""
    upload(client, ROWS)
    drain()
    assert client.get("/categories/shop/settings").json["product_forecasts"] is None
    saved = client.put("/categories/shop/settings", json={"product_forecasts": True})
    assert saved.status_code == 200 and saved.json["product_forecasts"] is True and saved.json["refresh_queued"]
    assert client.get("/categories/shop/settings").json["product_forecasts"] is True
    again = client.put("/categories/shop/settings", json={"product_forecasts": True})
    assert "refresh_queued" not in again.json  # unchanged: nothing to refresh
    assert client.put("/categories/shop/settings", json={"product_forecasts": None}).json["product_forecasts"] is None


def test_product_forecasts_must_be_a_boolean_or_null(client, drain):
    """Anything but true, false or null is a 400 naming the field."""
    upload(client, ROWS)
    drain()
    answer = client.put("/categories/shop/settings", json={"product_forecasts": "yes"})
    assert answer.status_code == 400 and "product_forecasts" in answer.json["error"]


def test_categories_show_the_products_status_and_reconciliation(client, drain):
    """/categories carries the latest completed run's product_status and reconciliation (null: category only)."""
    upload(client, ROWS)
    drain()
    drain(FORECAST_QUEUE)
    row = client.get("/categories").json[0]
    assert (row["product_status"], row["reconciliation"]) == (None, None)
