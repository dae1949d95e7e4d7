"""Weekly and monthly files end to end on MariaDB + Redis with the real models: upload, plan, forecast, read."""

from __future__ import annotations

import datetime as dt

import pytest

from common.queue import FORECAST_QUEUE
from services.forecast.models import fitters
from tests.conftest import SHARED_DATA
from tests.etl.test_jobs import load

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def grains_file(name: str, category: str | None = None) -> str:
    """A file of the grains set (one of its categories when named), as uploaded."""
    path = SHARED_DATA / "grains" / name
    if not path.exists():
        pytest.skip(f"shared dataset missing: {path.name}")
    lines = path.read_text().splitlines(keepends=True)
    return lines[0] + "".join(line for line in lines[1:] if category is None or f",{category}," in line)


def test_a_weekly_and_a_monthly_file_are_forecast_at_their_grain(client, drain):
    """Every real model forecasts 13 Mondays for the weekly file and 12 month starts for the monthly one; the
    runs record their grain and /categories shows it."""
    for content, name in ((grains_file("weekly_favorita-stores-7-12.csv", "favorita-store-9"), "weekly.csv"),
                          (grains_file("monthly_us-beverage-sales.csv"), "monthly.csv")):
        batch = load(client, drain, content, name)
        assert batch["status"] == "completed", batch["error_log"]
        drain(FORECAST_QUEUE)
        assert client.get(f"/batches/{batch['batch_num']}").json["forecast_status"] == "completed"
    expected = {m.value for m in fitters()} | {"ensemble", "recommended"}
    for category, grain, count in (("favorita-store-9", "week", 13), ("us-beverage-sales", "month", 12)):
        rows = client.get(f"/forecast-data?category={category}&model_type=all").json
        assert {r["model_type"] for r in rows} == expected
        days = sorted({dt.date.fromisoformat(r["forecast_date"]) for r in rows})
        assert len(days) == count
        assert all(d.weekday() == 0 for d in days) if grain == "week" else all(d.day == 1 for d in days)
        row = {c["category"]: c for c in client.get("/categories").json}[category]
        assert (row["grain"], row["grain_problem"]) == (grain, None)
        metrics = client.get(f"/forecast-metrics?category={category}").json
        assert all(m["mase"] is not None for m in metrics if m["model_type"] == "recommended")
