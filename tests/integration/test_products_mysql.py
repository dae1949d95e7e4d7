"""Product forecasts end to end on MariaDB + Redis: real Store Item Demand items, chunks, reconciliation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from common.config import Settings
from common.models import ForecastData, ForecastRun, ProductForecastData, ProductForecastSummary
from common.queue import FORECAST_QUEUE
from tests.conftest import SHARED_DATA
from tests.etl.test_jobs import load

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SOURCE = SHARED_DATA / "store-item-demand" / "train.csv"
CUTOFF = "2017-10-31"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Products on, three items per product job."""
    return dataclasses.replace(settings, product_forecast_max=100, product_chunk_size=3)


def store_items() -> pd.DataFrame:
    """Store 1's first eight items, 400 days to the cutoff and November 2017."""
    if not SOURCE.exists():
        pytest.skip(f"shared dataset missing: {SOURCE.name}")
    raw = pd.read_csv(SOURCE)
    raw = raw[(raw["store"] == 1) & (raw["item"] <= 8) & (raw["date"] > "2016-09-25")]
    return raw.assign(product_id="item-" + raw["item"].astype(str), category="store-1")


def test_real_items_are_forecast_reconciled_and_add_up(client, drain, engine):
    """Eight real items in three product jobs: every item forecast, the store coherent with them every day,
    and the items' November forecasts better than the seasonal naive on average."""
    rows = store_items()
    history = rows[rows["date"] <= CUTOFF]
    body = pd.DataFrame({"Date": history["date"], "product_id": history["product_id"], "category": "store-1",
                         "sales": history["sales"]}).to_csv(index=False)
    batch = load(client, drain, body, "store_items.csv")
    drain(FORECAST_QUEUE)
    with engine.connect() as conn:
        run = conn.execute(select(ForecastRun)).one()
        category = dict(conn.execute(select(ForecastData.forecast_date, ForecastData.forecast_value).where(
            ForecastData.run_id == run.id, ForecastData.model_type == "recommended")).all())
        items = pd.DataFrame(conn.execute(select(ProductForecastData.product_id, ProductForecastData.forecast_date,
                                                 ProductForecastData.forecast_value)).all(),
                             columns=["product_id", "day", "value"])
        summaries = conn.execute(select(ProductForecastSummary)).all()
    assert (run.product_status, run.products_total, run.products_skipped) == ("completed", 8, 0)
    assert run.reconciliation and run.product_note is None  # chosen on the store's own backtest window
    assert len(summaries) == 8 and all(s.naive_scale > 0 for s in summaries)
    sums = items.groupby("day")["value"].sum()
    assert len(sums) == 30 and all(abs(sums[d] - category[d]) <= 1e-3 * category[d] for d in sums.index)
    assert client.get(f"/batches/{batch['batch_num']}").json["product_runs"][0]["products_done"] == 8
    assert np.mean([item_mase(rows, p, items) for p in items["product_id"].unique()]) < 1.0


def item_mase(rows: pd.DataFrame, product: str, items: pd.DataFrame) -> float:
    """The item's November MASE (scale: its weekly seasonal naive error over the history)."""
    own = rows[rows["product_id"] == product].set_index("date")["sales"].astype(float)
    train, actual = own[own.index <= CUTOFF].to_numpy(), own[own.index > CUTOFF].iloc[:30].to_numpy()
    forecast = items[items["product_id"] == product].sort_values("day")["value"].to_numpy()
    return float(np.abs(actual - forecast).mean() / np.abs(train[7:] - train[:-7]).mean())
