"""The database goes away mid-batch: the API answers 503 in JSON at once, the worker waits and retries, nothing is lost.

The MariaDB here is a server the test starts itself (port 3391-3399) from an empty data directory,
so that it can be stopped (SIGTERM, as a service manager does) and started again.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from common.db import make_engine
from services.api import create_app
from tests.integration.faultcheck import FAST, batch, csv_bytes, upload, wait_for_progress, wait_for_status

pytestmark = pytest.mark.integration

#: Longest an answer may take while the database is down (no hanging connection attempts).
QUICK_S = 5.0


def timed(call):  # noqa: ANN001, ANN201 - a Flask test client call
    """The response of `call()` and the seconds it took."""
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_database_outage_gets_503s_and_the_batch_completes_once_it_is_back(settings, private_mariadb, real_redis,
                                                                           processes, store_items):
    """While MariaDB is stopped: /ready, /upload and reads answer 503 JSON fast; the worker retries; the batch loads."""
    settings = replace(settings, database_url=private_mariadb.create_database("castflow"), etl_chunk_rows=20_000,
                       **FAST)
    engine = make_engine(settings.database_url)
    try:
        client = create_app(settings, engine=engine, redis=real_redis).test_client()
        worker = processes.worker("services.etl", settings)
        number = upload(client, csv_bytes(store_items.iloc[:200_000])).json["batch_num"]
        wait_for_progress(engine, number, processes)
        private_mariadb.stop()
        answers = {
            "ready": timed(lambda: client.get("/ready")),
            "upload": timed(lambda: upload(client, csv_bytes(store_items.iloc[300_000:300_100]))),
            "batch": timed(lambda: client.get(f"/batches/{number}")),
            "metadata": timed(lambda: client.get("/metadata")),
        }
        for what, (response, seconds) in answers.items():
            assert (what, response.status_code) == (what, 503), response.get_data(as_text=True)
            assert response.is_json and response.json["error"], what
            assert seconds < QUICK_S, f"{what} took {seconds:.1f} s"
        assert "database" in answers["ready"][0].json
        assert "database is unavailable" in answers["upload"][0].json["error"]
        late = processes.worker("services.etl", settings, name="etl-late")  # starts while the database is down
        time.sleep(3 * FAST["maintenance_seconds"])  # maintenance rounds fail meanwhile; no worker may exit
        assert worker.alive and late.alive, processes.report()
        private_mariadb.start()
        # The job's first retry comes 15 s after its failure (then 60 s, 180 s).
        done = wait_for_status(engine, number, ("completed", "failed"), 45, processes)
        assert (done["status"], done["num_inserted_rows"]) == ("completed", 200_000), done["error_log"]
        assert done["attempts"] == 2 and worker.alive and late.alive
        assert [b["batch_num"] for b in client.get("/metadata").json] == [number]  # the refused upload left none
        assert batch(engine, number)["forecast_runs"] == 10
    finally:
        engine.dispose()
