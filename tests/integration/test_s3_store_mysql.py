"""The S3 upload store for real: MariaDB, Redis, moto's standalone S3 server, and an ETL worker with no shared disk."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select

from common.models import InvoiceData
from services.api import create_app
from tests.conftest import upload
from tests.integration.processes import start_moto_server, wait_until
from tests.integration.test_etl_mysql import store_item_rows
from tests.s3 import client_with_bucket, keys, open_uploads, s3_store_settings

pytestmark = pytest.mark.integration

ROWS = 300_000  # about 7 MB: two multipart parts


@pytest.fixture
def moto_server(processes) -> str:
    """moto's S3 server as its own process (`python -m moto.server`, as in CI); its URL."""
    return start_moto_server(processes)


@pytest.fixture
def s3_bucket(moto_server, bucket):
    """A client of the moto server with this test's bucket created."""
    return client_with_bucket(moto_server, bucket)


def test_real_file_through_the_api_and_an_etl_worker_process(settings, engine, real_redis, moto_server, s3_bucket,
                                                            bucket, processes, tmp_path):
    """300,000 Store Item rows: stored in the bucket by the API, loaded by a worker whose disk has no uploads."""
    s3_settings = s3_store_settings(settings, moto_server, bucket)
    client = create_app(s3_settings, engine=engine, redis=real_redis).test_client()
    response = upload(client, store_item_rows(ROWS), "store-items.csv")
    assert response.status_code == 202
    assert [key.startswith("uploads/") for key in keys(s3_bucket, bucket)] == [True]
    assert open_uploads(s3_bucket, bucket) == []
    worker_view = dataclasses.replace(s3_settings, upload_dir=str(tmp_path / "worker-has-no-uploads"))
    worker = processes.worker("services.etl", worker_view)

    def finished() -> dict | None:
        batch = client.get(f"/batches/{response.json['batch_num']}").json
        return batch if batch["status"] in ("completed", "failed") else None

    batch = wait_until(finished, 300, lambda: worker.output())
    assert (batch["status"], batch["num_inserted_rows"]) == ("completed", ROWS), batch["error_log"]
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(InvoiceData)) == ROWS
    assert not (tmp_path / "worker-has-no-uploads").exists()
