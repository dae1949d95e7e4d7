"""Forecasting end to end on MariaDB + Redis with the real models: upload, ETL, forecast, read back."""

from __future__ import annotations

import pandas as pd
import pytest

from common.queue import FORECAST_QUEUE
from services.forecast.models import fitters
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
    """Two real categories get every model's 30-day forecast with nested bounds and quantiles, metrics, one best
    model, and a recommended forecast with its method, which the default read shows."""
    batch = load(client, drain, pharma_history(("M01AB", "N02BE"), 400), "pharma.csv")
    assert batch["status"] == "completed", batch["error_log"]
    drain(FORECAST_QUEUE)
    assert client.get(f"/batches/{batch['batch_num']}").json["forecast_status"] == "completed"
    rows = client.get("/forecast-data?category=N02BE&model_type=all").json
    models = {m.value for m in fitters()}
    assert {r["model_type"] for r in rows} == models | {"ensemble", "recommended"}
    assert all(0 <= r["lower_bound"] <= r["p10"] <= r["forecast_value"] == r["p50"] <= r["p90"] <= r["upper_bound"]
               for r in rows)
    assert len([r for r in rows if r["model_type"] == "prophet"]) == 30
    metrics = client.get("/forecast-metrics?category=N02BE").json
    assert sum(m["is_best"] for m in metrics) == 1
    assert all(m["mase"] is not None and m["coverage"] is not None for m in metrics)
    categories = {c["category"]: c for c in client.get("/categories").json}
    assert categories["N02BE"]["best_model"] in models | {"ensemble"}
    assert categories["N02BE"]["recommended_method"].startswith("mean of ")
    shown = {r["model_type"] for r in client.get("/forecast-data?category=N02BE").json}  # the default: one forecast
    assert shown == {"recommended"}
    recommended = next(m for m in metrics if m["model_type"] == "recommended")
    assert recommended["method"] == categories["N02BE"]["recommended_method"] and recommended["wql"] > 0
