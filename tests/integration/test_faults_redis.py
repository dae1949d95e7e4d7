"""Redis lost (FLUSHALL, or a restart without persistence) while batches wait and one runs: nothing lost, nothing twice.

The Redis here is a redis-server the test starts itself (port 6391-6399), never the shared one. The
database is the source of truth: the workers' reconcile step queues every unfinished batch again,
and the end state equals an undisturbed run of the same files.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from common.db import make_engine
from services.api import create_app
from tests.integration.faultcheck import (
    FAST,
    checksum,
    counts,
    csv_bytes,
    undisturbed_run,
    upload,
    wait_for_progress,
    wait_for_status,
)

pytestmark = pytest.mark.integration



def correction(frame: pd.DataFrame, every: int) -> pd.DataFrame:
    """The same rows with every `every`-th value raised by one."""
    changed = frame.copy()
    changed.loc[changed.index[::every], "sales"] += 1
    return changed


def the_files(store_items: pd.DataFrame) -> list[bytes]:
    """Five uploads: two big loads, each followed by corrections of overlapping keys."""
    first, second = store_items.iloc[:120_000], store_items.iloc[120_000:240_000]
    return [csv_bytes(first), csv_bytes(correction(first.iloc[:5000], 7)),
            csv_bytes(pd.concat([correction(first.iloc[:3000], 5), store_items.iloc[240_000:241_000]])),
            csv_bytes(second), csv_bytes(correction(second.iloc[-4000:], 3))]


def test_lost_redis_is_reconciled_and_ends_like_an_undisturbed_run(settings, mysql_url, private_redis, processes,
                                                                   store_items, other_mysql_url, tmp_path):
    """FLUSHALL mid-batch, then a Redis restart mid-batch: each batch completes once, counts and rows as undisturbed."""
    settings = replace(settings, redis_url=private_redis.url, etl_chunk_rows=20_000, **FAST)
    files = the_files(store_items)
    expected_counts, expected_sum = undisturbed_run(settings, other_mysql_url, files, tmp_path / "calm")
    engine = make_engine(mysql_url)
    try:
        client = create_app(settings, engine=engine, redis=private_redis.client()).test_client()
        worker = processes.worker("services.etl", settings)
        batches = [upload(client, content).json["batch_num"] for content in files[:3]]
        wait_for_progress(engine, batches[0], processes)
        private_redis.client().flushall()  # the running job's entry and the two waiting ones are gone
        for number in batches:
            wait_for_status(engine, number, ("completed", "failed"), 90, processes)
        batches += [upload(client, content).json["batch_num"] for content in files[3:]]
        wait_for_progress(engine, batches[3], processes)
        private_redis.stop()
        private_redis.start()  # empty again, and every connection to it was cut
        for number in batches[3:]:
            wait_for_status(engine, number, ("completed", "failed"), 90, processes)
        assert worker.alive, processes.report()
        assert [counts(engine, number) for number in batches] == expected_counts
        assert checksum(engine) == expected_sum
    finally:
        engine.dispose()
