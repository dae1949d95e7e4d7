"""Shared fixtures: an app on SQLite + fakeredis, and a worker that drains the queues in-process."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import fakeredis
import pytest
from rq import SimpleWorker

from bench.shared import SHARED_DATA  # noqa: F401 - the real datasets the tests read
from common.config import Settings, settings_env
from common.db import make_engine
from common.logs import log_context
from common.queue import ETL_QUEUE, queue
from services.api import create_app
from tests.hooks.receiver import deliver_all, receiver  # noqa: F401 - fixtures for the webhook tests
from tests.s3 import bucket, moto_endpoint, s3  # noqa: F401 - fixtures for the S3 upload store's tests

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _no_project_data(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test off the project's own .env and data/: code that reads settings itself gets throw-away ones."""
    scratch = tmp_path_factory.mktemp("defaults")
    monkeypatch.setenv("CASTFLOW_ENV_FILE", "")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{scratch / 'castflow.db'}")
    monkeypatch.setenv("UPLOAD_DIR", str(scratch / "uploads"))


@pytest.fixture
def restore_logging():
    """Put the root logger back as pytest had it (code that sets up logging replaces its handlers)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def fresh_log_context():
    """Each test starts and ends with no log fields bound: a job called directly (not through its RQ entry point)
    binds its ids for the rest of the thread, and a later test's records would carry them."""
    with log_context():
        yield


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for one test: its own SQLite file and upload directory."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'castflow.db'}",
        upload_dir=str(tmp_path / "uploads"),
        redis_url="redis://unused:6379/0",
        etl_chunk_rows=1000,
        product_forecast_max=0,  # products are forecast only in the tests that switch them on (slow)
    )


@pytest.fixture
def redis():
    """An in-memory Redis (with Lua, as RQ needs)."""
    server = fakeredis.FakeServer()
    return fakeredis.FakeRedis(server=server)


@pytest.fixture
def engine(settings: Settings):
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def app(settings: Settings, engine, redis, monkeypatch: pytest.MonkeyPatch):
    """The API wired to SQLite and fakeredis; jobs it queues read the same settings from the env."""
    monkeypatch.setenv("CASTFLOW_ENV_FILE", "")
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    return create_app(settings, engine=engine, redis=redis)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def drain(redis):
    """Run every queued ETL job to completion in this process."""

    def run(queue_name: str = ETL_QUEUE) -> None:
        SimpleWorker([queue(redis, queue_name)], connection=redis).work(burst=True)

    return run


def upload(client, content: bytes | str, filename: str = "sales.csv", **headers):
    """POST a file to /upload the way a browser form does."""
    if isinstance(content, str):
        content = content.encode()
    return client.post("/upload", data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data", headers=headers)
