"""READ_DATABASE_URL on MariaDB: a second database stands in for a replica that lags until it is caught up."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from common.db import create_schema, make_engine
from services.api import create_app
from tests.conftest import upload

pytestmark = pytest.mark.integration

GOOD = "Date,product_id,category,sales\n2023-01-01,p1,c1,3\n2023-01-02,p1,c1,4\n"
#: What the stand-in replicates: the tables the replica's reads touch.
TABLES = ("upload_metadata", "invoice_data")


def catch_up(primary_url: str, replica_url: str) -> None:
    """Copy the primary's rows into the replica database, as replication would (on the same server)."""
    primary, replica = make_url(primary_url).database, make_url(replica_url).database
    engine = create_engine(replica_url)
    with engine.begin() as conn:
        conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {replica}.{table}"))
            conn.execute(text(f"INSERT INTO {replica}.{table} SELECT * FROM {primary}.{table}"))
    engine.dispose()


@pytest.fixture
def replica_client(settings, engine, real_redis, other_mysql_url, monkeypatch):
    """The API on MariaDB reading from a lagging stand-in replica; queued jobs see the same settings."""
    from common.config import settings_env

    replica_engine = make_engine(other_mysql_url)
    create_schema(replica_engine)
    replica_engine.dispose()
    with_replica = dataclasses.replace(settings, read_database_url=other_mysql_url)
    for name, value in settings_env(with_replica).items():
        monkeypatch.setenv(name, value)
    return create_app(with_replica, engine=engine, redis=real_redis).test_client()


def test_lagging_replica_on_mariadb(replica_client, drain, settings, other_mysql_url):
    """Rows and 'completed' appear together, once the replica has caught up; a new batch is found at once."""
    batch_num = upload(replica_client, GOOD).json["batch_num"]
    assert replica_client.get(f"/batches/{batch_num}").json["status"] == "uploaded"
    drain()
    assert replica_client.get(f"/batches/{batch_num}").json["status"] == "uploaded"
    assert replica_client.get("/invoice-data").json["pagination"]["total_items"] == 0
    catch_up(settings.database_url, other_mysql_url)
    assert replica_client.get(f"/batches/{batch_num}").json["status"] == "completed"
    assert replica_client.get("/invoice-data").json["pagination"]["total_items"] == 2


def test_replica_down_on_mariadb(settings, engine, real_redis):
    """A replica nobody listens for: its reads and /ready answer 503 naming it; uploads still work."""
    down = dataclasses.replace(settings, read_database_url="mysql+pymysql://root@127.0.0.1:1/castflow")
    client = create_app(down, engine=engine, redis=real_redis).test_client()
    answer = client.get("/invoice-data")
    assert answer.status_code == 503 and "read replica" in answer.json["error"]
    assert "read_replica" in client.get("/ready").json
    assert upload(client, GOOD).status_code == 202
