"""A batch's forecast_status rolled up from its runs, and the run counts /batches/<id> serves with it."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.models import ForecastRun
from common.status import ModelType
from services.forecast import jobs
from services.forecast.jobs import rolled_status
from tests.conftest import upload
from tests.forecast.test_backtest import constant

HEADER = "Date,product_id,category,sales\n"
THREE = HEADER + "".join(f"2023-01-{d:02d},p,{c},{d}\n" for d in range(1, 29) for c in ("a", "b", "c"))


@pytest.mark.parametrize(("statuses", "rolled"), [
    ({"completed"}, "completed"),
    ({"completed", "failed"}, "partial"),
    ({"failed"}, "failed"),
    ({"completed", "running"}, "running"),
    ({"completed", "failed", "pending"}, "running"),
    ({"pending"}, "pending"),
    (set(), "completed"),
])
def test_rolled_status(statuses, rolled):
    """All completed: completed; some failed: partial; none completed: failed; any unended: running/pending."""
    assert rolled_status(statuses) == rolled


@pytest.fixture
def loaded(client, drain):
    """A batch of three categories (a, b, c) whose runs are queued."""
    batch = upload(client, THREE).json["batch_num"]
    drain()
    return batch


def run_ids(engine) -> dict[str, int]:
    with Session(engine) as session:
        return {r.category: r.id for r in session.scalars(select(ForecastRun))}


def run(engine, settings, run_id: int, works: bool) -> None:
    """Run it with a working model, or make it fail (every model failing no longer fails a run: the naive
    fallback publishes; a run fails when its job gives up, as here)."""
    if works:
        jobs.process_run(run_id, settings=settings, engine=engine, models={ModelType.HOLT_WINTERS: constant(5)})
    else:
        jobs.finish_failed(engine, jobs.claim_run(engine, run_id), "gave up after 3 attempts")


def test_a_batch_with_some_failed_runs_reads_partial_with_counts(client, engine, settings, loaded):
    """Two of three runs completed, one failed: partial, and the counts say which."""
    ids = run_ids(engine)
    run(engine, settings, ids["a"], True)
    run(engine, settings, ids["b"], False)
    batch = client.get(f"/batches/{loaded}").json
    assert batch["forecast_status"] == "running"
    assert batch["forecast_runs"] == {"total": 3, "completed": 1, "failed": 1, "running": 0, "pending": 1}
    run(engine, settings, ids["c"], True)
    batch = client.get(f"/batches/{loaded}").json
    assert batch["forecast_status"] == "partial"
    assert batch["forecast_runs"] == {"total": 3, "completed": 2, "failed": 1, "running": 0, "pending": 0}


def test_a_batch_whose_runs_all_failed_reads_failed(client, engine, settings, loaded):
    """No run completed: failed, with every run counted as failed."""
    for run_id in run_ids(engine).values():
        run(engine, settings, run_id, False)
    batch = client.get(f"/batches/{loaded}").json
    assert (batch["forecast_status"], batch["forecast_runs"]["failed"]) == ("failed", 3)


def test_a_claimed_run_counts_as_running(client, engine, loaded):
    """A run a worker has claimed is counted running until it ends."""
    jobs.claim_run(engine, run_ids(engine)["a"])
    counts = client.get(f"/batches/{loaded}").json["forecast_runs"]
    assert (counts["running"], counts["pending"]) == (1, 2)


def test_a_batch_without_runs_counts_zero(client, drain):
    """A failed load made no runs: every count is 0."""
    batch = upload(client, HEADER + "2023-01-01,p,a,-1\n").json["batch_num"]
    drain()
    assert client.get(f"/batches/{batch}").json["forecast_runs"] == {
        "total": 0, "completed": 0, "failed": 0, "running": 0, "pending": 0}


def test_a_partial_batch_is_finished_for_the_cache():
    """A partial batch no longer changes, so the response cache may keep its /batches/<id> answer."""
    from services.api.views.batches import is_finished
    assert is_finished({"status": "completed", "forecast_status": "partial"})
    assert not is_finished({"status": "completed", "forecast_status": "running"})
