"""Product jobs on SQLite + fakeredis: chunks on the forecast queue, a final reconciliation, recovery, limits."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from common.config import Settings
from common.db import create_schema
from common.grain import Grain
from common.models import (
    CategoryProduct,
    CategorySetting,
    ForecastData,
    ForecastRun,
    ProductChunk,
    ProductForecastData,
    ProductForecastSummary,
)
from common.queue import FORECAST_QUEUE, queue
from common.reconcile import reconcile
from common.status import ModelType
from services.forecast import jobs
from services.forecast.products import finish
from services.forecast.products import jobs as product_jobs
from tests.conftest import upload
from tests.forecast.products.synthetic import csv_rows, product_frame
from tests.forecast.test_backtest import constant

HEADER = "Date,product_id,category,sales\n"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Products on, three products per chunk."""
    return dataclasses.replace(settings, product_forecast_max=100, product_chunk_size=3)


@pytest.fixture(autouse=True)
def fake_models(monkeypatch):
    """A constant category forecast (the category's own models have their own tests)."""
    monkeypatch.setattr(jobs, "fitters", lambda: {ModelType.HOLT_WINTERS: constant(30.0)})


@pytest.fixture
def loaded(client, drain):
    """Seven products in category 'shop' over 200 days (one sold once) and its queued forecast run."""
    body = HEADER + csv_rows(product_frame(products=6, days=200), "shop") + "2023-02-01,once,shop,3\n"
    batch = upload(client, body).json["batch_num"]
    drain()
    return batch


def run_row(engine) -> ForecastRun:
    with Session(engine) as session:
        return session.scalars(select(ForecastRun)).one()


def assert_coherent(engine, run_id: int) -> None:
    """For every day, the products add up to the category's recommended forecast (within 0.1%)."""
    with Session(engine) as session:
        category = dict(session.execute(select(ForecastData.forecast_date, ForecastData.forecast_value).where(
            ForecastData.run_id == run_id, ForecastData.model_type == ModelType.RECOMMENDED)).all())
        rows = session.execute(select(ProductForecastData.forecast_date, ProductForecastData.forecast_value,
                                      ProductForecastData.p10, ProductForecastData.p90)
                               .where(ProductForecastData.run_id == run_id)).all()
    sums = pd.DataFrame(rows, columns=["day", "value", "p10", "p90"]).groupby("day")["value"].sum()
    assert set(sums.index) == set(category) and len(category) == 30
    for day, total in sums.items():
        assert abs(total - category[day]) <= 1e-3 * max(category[day], 1e-9)
    assert all(r.p10 <= r.forecast_value <= r.p90 for r in rows)


def test_chunks_then_reconciliation_make_coherent_products(client, drain, engine, loaded):
    """Three chunk jobs and a final one: products forecast, the one-sale product skipped, all adding up."""
    drain(FORECAST_QUEUE)
    run = run_row(engine)
    assert (run.status, run.product_status, run.products_total, run.products_done, run.products_skipped) == (
        "completed", "completed", 7, 7, 1)
    assert run.reconciliation in {"bottom_up", "top_down", "mint_ols", "mint_wls_struct", "mint_shrink"}
    assert_coherent(engine, run.id)
    with Session(engine) as session:
        summaries = {s.product_id: s for s in session.scalars(select(ProductForecastSummary))}
        chunks = session.scalars(select(ProductChunk)).all()
    assert summaries["once"].status == "skipped" and "sold on 1 days" in summaries["once"].note
    assert all(summaries[f"p{i}"].status == "forecast" and summaries[f"p{i}"].naive_scale > 0 for i in range(6))
    assert len(chunks) == 3 and all(c.status == "done" and c.result is None for c in chunks)
    progress = client.get(f"/batches/{loaded}").json["product_runs"][0]
    assert (progress["products_done"], progress["products_total"], progress["product_status"]) == (7, 7, "completed")
    assert client.get("/categories").json[0]["reconciliation"] == run.reconciliation


def test_a_chunk_killed_mid_way_is_redone_and_nothing_is_lost(client, drain, engine, redis, settings, loaded,
                                                              monkeypatch):
    """A chunk left running by a dead worker (and its job lost) is queued again by recovery; the run completes."""
    original = product_jobs.forecast_products
    monkeypatch.setattr(product_jobs, "forecast_products", lambda *a, **k: (_ for _ in ()).throw(SystemExit(1)))
    with pytest.raises(SystemExit):
        product_jobs.process_chunk(run_id_after_category(engine, settings), 1, settings=settings, engine=engine)
    monkeypatch.setattr(product_jobs, "forecast_products", original)
    with Session(engine) as session:
        assert session.scalar(select(ProductChunk.status).where(ProductChunk.chunk == 1)) == "running"
    redis.flushall()
    assert reconcile(engine, redis, settings)["product_jobs"] == 3
    drain(FORECAST_QUEUE)
    run = run_row(engine)
    assert (run.product_status, run.products_done) == ("completed", 7)
    assert_coherent(engine, run.id)


def run_id_after_category(engine, settings: Settings) -> int:
    """Run the category's job only, without Redis (its product chunks are planned, not queued); return the run."""
    run = run_row(engine)
    jobs.process_run(run.id, settings=settings, engine=engine)
    return run.id


def test_a_chunk_that_keeps_failing_fails_the_products_not_the_category(client, engine, settings, loaded):
    """Past FORECAST_MAX_ATTEMPTS a chunk ends the products as failed with a note; the category stays completed."""
    run_id = run_id_after_category(engine, settings)
    with Session(engine) as session, session.begin():
        session.execute(update(ProductChunk).where(ProductChunk.chunk == 0).values(attempts=3))
    assert product_jobs.process_chunk(run_id, 0, settings=settings, engine=engine) == "failed"
    run = run_row(engine)
    assert (run.status, run.product_status) == ("completed", "failed") and "chunk 0 gave up" in run.product_note


def test_over_the_maximum_the_category_is_forecast_and_products_are_not(client, drain, engine, settings):
    """More products than PRODUCT_FORECAST_MAX: a clear note, no product jobs, the category still forecast."""
    body = HEADER + "".join(f"2023-01-{d:02d},p{i},big,1\n" for i in range(150) for d in (1, 2))
    upload(client, body)
    drain()
    drain(FORECAST_QUEUE)
    run = run_row(engine)
    assert (run.status, run.product_status) == ("completed", None)
    assert "150 products: more than PRODUCT_FORECAST_MAX (100)" in run.product_note


def test_the_category_setting_switches_products_off(client, drain, engine, redis, loaded):
    """product_forecasts false: the run forecasts its category only, without a note."""
    with Session(engine) as session, session.begin():
        session.add(CategorySetting(category="shop", product_forecasts=False))
    drain(FORECAST_QUEUE)
    run = run_row(engine)
    assert (run.status, run.product_status, run.product_note) == ("completed", None, None)
    assert queue(redis, FORECAST_QUEUE).count == 0


def test_chunks_are_cut_in_product_order(client, engine, settings, loaded):
    """Seven products in chunks of three: [once, p0, p1], [p2, p3, p4], [p5]."""
    run_id_after_category(engine, settings)
    with Session(engine) as session:
        cut = [json.loads(c.products) for c in session.scalars(select(ProductChunk).order_by(ProductChunk.chunk))]
    assert cut == [["once", "p0", "p1"], ["p2", "p3", "p4"], ["p5"]]


def test_fifty_thousand_products_get_a_note_not_jobs(engine, settings):
    """A category of 50,000 products (over the default maximum): no chunks, a note that says why and how."""
    create_schema(engine)
    default = dataclasses.replace(settings, product_forecast_max=Settings().product_forecast_max)
    with engine.begin() as conn:
        conn.execute(insert(CategoryProduct), [{"category": "huge", "product_id": f"p{i}"} for i in range(50_000)])
        conn.execute(insert(ForecastRun).values(id=1, category="huge", status="completed", horizon_days=30))
        assert product_jobs.plan_products(conn, 1, "huge", Grain.DAY, default) == 0
    run = run_row(engine)
    assert run.product_status is None
    assert run.product_note.startswith("50000 products: more than PRODUCT_FORECAST_MAX (5000)")


def test_weekly_runs_say_products_are_forecast_at_days_only(engine, settings):
    """A run at weeks plans no product jobs and says why."""
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(insert(CategoryProduct).values(category="weekly", product_id="p"))
        conn.execute(insert(ForecastRun).values(id=1, category="weekly", status="completed", horizon_days=91))
        assert product_jobs.plan_products(conn, 1, "weekly", Grain.WEEK, settings) == 0
    assert run_row(engine).product_note == "products are forecast at days only; this run forecast weeks"


def test_a_lost_reconciliation_job_is_queued_again(client, drain, engine, redis, settings, loaded):
    """Every chunk done but the final job lost with Redis: recovery queues the reconciliation alone."""
    run_id = run_id_after_category(engine, settings)
    for chunk in range(3):
        product_jobs.process_chunk(run_id, chunk, settings=settings, engine=engine)  # no Redis: nothing queued
    assert run_row(engine).product_status == "running"
    redis.flushall()
    assert reconcile(engine, redis, settings)["product_jobs"] == 1
    assert queue(redis, FORECAST_QUEUE).job_ids == [f"products-{run_id}-reconcile"]
    drain(FORECAST_QUEUE)
    assert run_row(engine).product_status == "completed"
    assert_coherent(engine, run_id)


def test_a_reconciliation_that_keeps_failing_fails_the_products_not_the_category(client, drain, engine, redis,
                                                                                  settings, loaded, monkeypatch):
    """Each start of the final job counts; when its write fails every time, recovery queues it again until
    FORECAST_MAX_ATTEMPTS, then the products end failed with a note and nothing is queued any more."""
    run_id = run_id_after_category(engine, settings)
    for chunk in range(3):
        product_jobs.process_chunk(run_id, chunk, settings=settings, engine=engine)

    def broken(*_args, **_kwargs):
        raise OSError("the database's disk is full")

    monkeypatch.setattr(finish, "_publish", broken)
    for attempt in range(1, settings.forecast_max_attempts + 1):
        redis.flushall()
        assert reconcile(engine, redis, settings)["product_jobs"] == 1
        with pytest.raises(OSError):
            finish.process_reconcile(run_id, settings=settings, engine=engine, redis=redis)
        assert run_row(engine).reconcile_attempts == attempt
    assert finish.process_reconcile(run_id, settings=settings, engine=engine, redis=redis) == "failed"
    run = run_row(engine)
    assert (run.status, run.product_status) == ("completed", "failed")
    assert "reconciliation gave up after 3 attempts" in run.product_note
    redis.flushall()
    assert reconcile(engine, redis, settings)["product_jobs"] == 0


def test_the_engines_products_are_read_through_the_api_and_inventory(client, drain, engine, loaded):
    """What the chunks and the reconciliation wrote is what /categories/<name>/products, product_id reads and
    /inventory serve: the products' daily forecasts add up to the category's as served, and stock gets advice."""
    drain(FORECAST_QUEUE)
    run = run_row(engine)
    listing = client.get("/categories/shop/products?sort=volume&order=desc")
    assert listing.status_code == 200, listing.json
    assert listing.json["run_id"] == run.id and listing.json["reconciliation"] == run.reconciliation
    forecast = [p["product_id"] for p in listing.json["data"] if p["status"] == "forecast"]
    assert sorted(forecast) == [f"p{i}" for i in range(6)]
    category = {r["forecast_date"]: r["forecast_value"]
                for r in client.get("/forecast-data?category=shop&model_type=recommended").json}
    sums: dict[str, float] = {}
    for product in forecast:
        rows = client.get(f"/forecast-data?category=shop&product_id={product}").json
        assert len(rows) == 30 and {r["run_id"] for r in rows} == {run.id}
        for row in rows:
            sums[row["forecast_date"]] = sums.get(row["forecast_date"], 0.0) + row["forecast_value"]
    assert sums.keys() == category.keys()
    assert all(abs(sums[day] - value) <= 1e-3 * max(value, 1e-9) for day, value in category.items())
    stocked = client.post("/inventory/stock", json={"rows": [
        {"product_id": "p0", "category": "shop", "on_hand": 0},
        {"product_id": "once", "category": "shop", "on_hand": 5}]})
    assert stocked.status_code == 201, stocked.json
    advice = {r["product_id"]: r for r in client.get("/inventory?category=shop").json["data"]}
    assert advice["p0"]["order_now"] is True and advice["p0"]["reorder_point"] > 0
    assert advice["p0"]["order_quantity"] > 0
    assert advice["once"]["reorder_point"] is None and "skipped" in advice["once"]["note"]
