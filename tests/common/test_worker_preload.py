"""A worker imports its queues' job functions once, before RQ forks a work horse per job."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rq.utils import import_attribute

import common.worker as worker_module
from common.queue import ALL_QUEUES, ETL_QUEUE, FORECAST_QUEUE, QUEUE_JOBS, WEBHOOK_QUEUE


def test_every_queue_lists_job_functions_that_import():
    """Each queue's job paths name real functions (a renamed job would otherwise fail only in a horse)."""
    assert set(QUEUE_JOBS) == set(ALL_QUEUES)
    assert all(callable(import_attribute(path)) for paths in QUEUE_JOBS.values() for path in paths)


def test_preload_jobs_imports_the_job_functions_of_the_given_queues(monkeypatch):
    """The forecast worker imports the forecast and webhook jobs, and not the ETL's."""
    imported = []
    monkeypatch.setattr(worker_module, "import_attribute", imported.append)
    worker_module.preload_jobs((WEBHOOK_QUEUE, FORECAST_QUEUE))
    assert imported == [*QUEUE_JOBS[WEBHOOK_QUEUE], *QUEUE_JOBS[FORECAST_QUEUE]]
    assert not set(QUEUE_JOBS[ETL_QUEUE]) & set(imported)


def test_run_worker_preloads_its_jobs_before_it_starts_working(monkeypatch, redis, settings):
    """run_worker imports the job functions of both its queues, then freezes the collector, before the first fork."""
    calls = []
    monkeypatch.setattr(worker_module, "load_settings", lambda: settings)
    monkeypatch.setattr(worker_module, "configure_logging", lambda _settings: None)
    monkeypatch.setattr(worker_module, "wait_for_schema", lambda _settings: None)
    monkeypatch.setattr(worker_module, "connect", lambda _url: redis)
    monkeypatch.setattr(worker_module, "reconcile_once", lambda *_args: None)
    monkeypatch.setattr(worker_module, "plan_schedule_once", lambda *_args: None)
    monkeypatch.setattr(worker_module, "preload_jobs", lambda names: calls.append(("preload", names)))
    monkeypatch.setattr(worker_module, "freeze_for_fork", lambda: calls.append(("freeze",)))
    monkeypatch.setattr(worker_module.CastflowWorker, "work", lambda self, **_kw: calls.append(("work",)))
    worker_module.run_worker(FORECAST_QUEUE)
    assert calls == [("preload", (WEBHOOK_QUEUE, FORECAST_QUEUE)), ("freeze",), ("work",)]



def test_freeze_for_fork_moves_the_objects_so_far_out_of_collection():
    """In a fresh process, the freeze leaves the objects made so far in the collector's permanent generation."""
    code = "import gc; from common.worker import freeze_for_fork; freeze_for_fork(); print(gc.get_freeze_count())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert int(done.stdout.split()[-1]) > 10_000, done.stderr
