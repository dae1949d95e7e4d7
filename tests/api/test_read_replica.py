"""READ_DATABASE_URL: heavy reads from the replica, batches completed only once the replica has their rows."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest

from common.config import settings_env
from common.db import create_schema
from services.api import create_app
from tests.conftest import upload

GOOD = "Date,product_id,category,sales\n2023-01-01,p1,c1,3\n2023-01-02,p1,c1,4\n"


class Replica:
    """A SQLite copy of the primary that is only as new as its last `catch_up()`: a lagging replica."""

    def __init__(self, primary: str, replica: str) -> None:
        self.primary, self.path = primary, replica

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    def catch_up(self) -> None:
        """Copy the primary's committed state (SQLite's online backup)."""
        with sqlite3.connect(self.primary) as source, sqlite3.connect(self.path) as target:
            source.backup(target)


@pytest.fixture
def replica(settings, engine, tmp_path) -> Replica:
    """A replica of the test's primary database, caught up once (schema, no data)."""
    create_schema(engine)
    copy = Replica(settings.database_url.removeprefix("sqlite:///"), str(tmp_path / "replica.db"))
    copy.catch_up()
    return copy


def replica_app(settings, engine, redis, url: str, monkeypatch):  # noqa: ANN001, ANN201
    """The API with READ_DATABASE_URL=url; queued jobs read the same settings from the env."""
    with_replica = dataclasses.replace(settings, read_database_url=url)
    for name, value in settings_env(with_replica).items():
        monkeypatch.setenv(name, value)
    return create_app(with_replica, engine=engine, redis=redis)


@pytest.fixture
def client(settings, engine, redis, replica, monkeypatch):
    """A test client of the API reading from the lagging replica."""
    return replica_app(settings, engine, redis, replica.url, monkeypatch).test_client()


def test_observations_are_read_from_the_replica(client, replica, drain):
    """/invoice-data answers what the replica holds: nothing before it catches up, the rows after."""
    upload(client, GOOD)
    drain()
    assert client.get("/invoice-data").json["pagination"]["total_items"] == 0
    replica.catch_up()
    assert client.get("/invoice-data").json["pagination"]["total_items"] == 2


def test_a_lagging_replica_does_not_show_a_batch_completed_before_its_rows(client, replica, drain):
    """The primary has merged the batch, the replica has not: /batches says what the replica says."""
    batch_num = upload(client, GOOD).json["batch_num"]
    replica.catch_up()  # the replica knows the batch, still waiting
    drain()
    lagging = client.get(f"/batches/{batch_num}").json
    assert lagging["status"] == "uploaded"
    replica.catch_up()
    done = client.get(f"/batches/{batch_num}").json
    assert done["status"] == "completed"
    assert client.get("/invoice-data", query_string={"batch_num": batch_num}).json["pagination"]["total_items"] == 2


def test_once_the_replica_has_the_rows_the_batch_is_answered_from_the_primary(client, replica, drain, engine):
    """A completed batch shows the primary's newer forecast status, never the replica's older one."""
    from sqlalchemy import text

    batch_num = upload(client, GOOD).json["batch_num"]
    drain()
    replica.catch_up()
    with engine.begin() as conn:  # a forecast refresh the replica has not seen yet
        conn.execute(text("UPDATE upload_metadata SET forecast_status = 'running' WHERE batch_num = :b"),
                     {"b": batch_num})
    assert client.get(f"/batches/{batch_num}").json["forecast_status"] == "running"


def test_a_new_batch_is_found_before_the_replica_has_it(client, replica):
    """The batch an upload just created is read from the primary: polling it never gets a 404."""
    batch_num = upload(client, GOOD).json["batch_num"]
    assert client.get(f"/batches/{batch_num}").json["status"] == "uploaded"


def test_replica_down_answers_503_naming_it_and_uploads_still_work(settings, engine, redis, tmp_path, monkeypatch):
    """With the replica unreachable its reads get 503 naming it, /ready says so, and writes go on."""
    unreachable = tmp_path / "not-a-database"
    unreachable.mkdir()  # a directory: SQLite cannot open it
    client = replica_app(settings, engine, redis, f"sqlite:///{unreachable}", monkeypatch).test_client()
    answer = client.get("/invoice-data")
    assert answer.status_code == 503 and "read replica" in answer.json["error"]
    ready = client.get("/ready")
    assert ready.status_code == 503 and "read_replica" in ready.json
    assert upload(client, GOOD).status_code == 202


def test_without_a_replica_reads_use_the_primary(app, client, drain):
    """No READ_DATABASE_URL: every read sees the primary at once."""
    plain = app.test_client()
    upload(plain, GOOD)
    drain()
    assert plain.get("/invoice-data").json["pagination"]["total_items"] == 2


def test_replica_url_must_be_a_database_url():
    """READ_DATABASE_URL takes the same kinds of URL as DATABASE_URL."""
    from common.config import Settings, SettingsError

    with pytest.raises(SettingsError, match="READ_DATABASE_URL"):
        Settings.from_env({"READ_DATABASE_URL": "postgresql://db/castflow"})


def test_replica_password_is_a_secret():
    """The replica URL's password is masked in repr and redacted from logs."""
    from common.config import Settings

    settings = Settings(read_database_url="mysql+pymysql://reader:replica-pass@replica:3306/castflow")
    assert "replica-pass" not in repr(settings)
    assert "replica-pass" in settings.secrets()

