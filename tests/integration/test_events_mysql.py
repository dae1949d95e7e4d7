"""A category's events and the partial roll-up on MariaDB + Redis: store, replace at once, reach the models."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.models import ForecastRun
from common.queue import FORECAST_QUEUE, queue
from common.status import ModelType
from services.forecast import jobs
from tests.etl.test_jobs import load
from tests.forecast.test_backtest import constant
from tests.forecast.test_events import recording_engine
from tests.integration.test_targets_mysql import puts_at_once

pytestmark = pytest.mark.integration

HEADER = "Date,product_id,category,sales\n"
#: Two categories told apart only by case (binary collation), 2023-06-01..2023-07-28.
SALES = HEADER + "".join(f"2023-{m:02d}-{d:02d},p,{c},{d}\n" for m in (6, 7) for d in range(1, 29)
                         for c in ("Shop", "shop"))
SALE = {"name": "Summer sale", "start": "2023-07-03", "end": "2023-07-05", "kind": "event"}
SHUT = {"name": "Works", "start": "2023-08-10", "end": "2023-08-10", "kind": "closure"}


def test_events_on_mariadb_round_trip_replace_concurrently_and_reach_the_models(app, client, drain, engine,
                                                                                 settings, real_redis, prefix,
                                                                                 monkeypatch):
    """Events store per exact category, concurrent replacements all succeed whole, the run sees them, and the
    closure day is forecast 0."""
    batch = load(client, drain, SALES)
    assert batch["status"] == "completed", batch["error_log"]
    queue(real_redis, FORECAST_QUEUE, prefix).empty()
    answer = client.put("/categories/Shop/events", json=[SHUT, SALE]).json
    assert answer["events"] == [SALE, SHUT] and answer["refresh_queued"] is True
    assert client.get("/categories/shop/events").json == []

    lists = [[{**SALE, "name": f"Sale {i}"}] for i in range(6)]
    assert puts_at_once(app, "/categories/shop/events", lists) == [200] * 6
    assert client.get("/categories/shop/events").json in lists  # one whole list, never a mix

    seen = recording_engine(monkeypatch)
    run_id = answer["runs"][0]
    jobs.process_run(run_id, settings=settings, engine=engine, models={ModelType.HOLT_WINTERS: constant(5)})
    events = seen[-1][seen[-1]["kind"] != "holiday"]
    assert [(d.strftime("%Y-%m-%d"), n, k) for d, n, k in events.itertuples(index=False)] == [
        ("2023-07-03", "Summer sale", "event"), ("2023-07-04", "Summer sale", "event"),
        ("2023-07-05", "Summer sale", "event"), ("2023-08-10", "Works", "closure")]
    shown = {r["forecast_date"]: r["forecast_value"]
             for r in client.get(f"/forecast-data?category=Shop&run_id={run_id}").json}
    assert (shown["2023-08-09"], shown["2023-08-10"]) == (5.0, 0.0)


def test_partial_roll_up_and_run_counts_on_mariadb(client, drain, engine, settings):
    """One category forecast, the other failed: the batch reads partial with its runs counted."""
    batch = load(client, drain, SALES)["batch_num"]
    with Session(engine) as session:
        runs = {r.category: r.id for r in session.scalars(select(ForecastRun))}
    jobs.process_run(runs["Shop"], settings=settings, engine=engine, models={ModelType.HOLT_WINTERS: constant(5)})
    jobs.finish_failed(engine, jobs.claim_run(engine, runs["shop"]), "gave up after 3 attempts")
    answer = client.get(f"/batches/{batch}").json
    assert answer["forecast_status"] == "partial"
    assert answer["forecast_runs"] == {"total": 2, "completed": 1, "failed": 1, "running": 0, "pending": 0}
