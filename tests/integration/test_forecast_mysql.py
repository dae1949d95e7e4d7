"""Forecasting end to end on MariaDB + Redis with the real models: upload, ETL, forecast, read back."""

from __future__ import annotations

import pandas as pd
import pytest

from common.queue import FORECAST_QUEUE
from tests.conftest import SHARED_DATA
from tests.etl.test_jobs import load

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def pharma_history(categories: tuple[str, ...], days: int) -> str:
    """The last `days` days of real pharmacy sales for some ATC classes, in castflow's columns."""
    path = SHARED_DATA / "pharma-sales" / "salesdaily_long.csv"
    if not path.exists():
        pytest.skip(f"shared dataset missing: {path.name}")
    frame = pd.read_csv(path)
    frame = frame[frame["category"].isin(categories)]
    frame = frame[frame["date"] > sorted(frame["date"].unique())[-days - 1]]
    out = pd.DataFrame({"Date": frame["date"], "product_id": "all", "category": frame["category"],
                        "sales": frame["sales"].round(2)})
    return out.to_csv(index=False)


def test_real_models_forecast_real_sales_and_the_api_serves_them(client, drain, engine):
    """Two real categories get every model's 30-day forecast with ordered bounds, metrics and one best model."""
    batch = load(client, drain, pharma_history(("M01AB", "N02BE"), 400), "pharma.csv")
    assert batch["status"] == "completed", batch["error_log"]
    drain(FORECAST_QUEUE)
    assert client.get(f"/batches/{batch['batch_num']}").json["forecast_status"] == "completed"
    rows = client.get("/forecast-data?category=N02BE&model_type=all").json
    assert {r["model_type"] for r in rows} == {"holt_winters", "sarimax", "prophet", "ensemble"}
    assert all(0 <= r["lower_bound"] <= r["forecast_value"] <= r["upper_bound"] for r in rows)
    assert len([r for r in rows if r["model_type"] == "prophet"]) == 30
    metrics = client.get("/forecast-metrics?category=N02BE").json
    assert sum(m["is_best"] for m in metrics) == 1
    assert all(m["mase"] is not None and m["coverage"] is not None for m in metrics)
    categories = {c["category"]: c for c in client.get("/categories").json}
    assert categories["N02BE"]["best_model"] in {"holt_winters", "sarimax", "prophet", "ensemble"}
    shown = {r["model_type"] for r in client.get("/forecast-data?category=N02BE").json}  # the default: one forecast
    assert shown in ({"recommended"}, {categories["N02BE"]["best_model"]})
