"""Integration fixtures: the real MariaDB/MySQL and Redis on 127.0.0.1, one database and key prefix per test.

When a service does not answer, these tests are skipped with a loud reason (and a banner at the end
of the run); set CASTFLOW_REQUIRE_SERVICES=1 to make that an error instead.
"""

from __future__ import annotations

import os
import uuid

import pytest
from redis import Redis
from rq import SimpleWorker
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from common.config import Settings, settings_env
from common.db import make_engine
from common.queue import ETL_QUEUE, queue
from services.api import create_app

MYSQL_SERVER = os.environ.get("CASTFLOW_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test")
REDIS_SERVER = os.environ.get("CASTFLOW_TEST_REDIS", "redis://127.0.0.1:6379/0")
_absent: dict[str, str] = {}


def _unavailable(name: str, why: str) -> None:
    _absent[name] = why
    if os.environ.get("CASTFLOW_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{name} is required but unavailable: {why}")
    pytest.skip(f"INTEGRATION SKIPPED: {name} unavailable ({why})")


def pytest_terminal_summary(terminalreporter) -> None:  # noqa: ANN001
    """Say loudly, at the end of the run, which services were missing."""
    for name, why in _absent.items():
        terminalreporter.write_sep("!", f"{name} NOT AVAILABLE: integration tests were skipped ({why})", red=True)


@pytest.fixture(scope="session")
def mysql_server():
    """An engine on the server (not a test database), or a loud skip."""
    engine = create_engine(MYSQL_SERVER, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        engine.dispose()
        _unavailable("MariaDB/MySQL", f"{make_url(MYSQL_SERVER).render_as_string()}: {type(exc).__name__}")
    yield engine
    engine.dispose()


def _throwaway_database(mysql_server):
    """Create a fresh database, yield its URL, drop it afterwards."""
    name = f"cf_test_{uuid.uuid4().hex[:12]}"
    with mysql_server.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    yield make_url(MYSQL_SERVER).set(database=name).render_as_string(hide_password=False)
    with mysql_server.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))


@pytest.fixture
def mysql_url(mysql_server):
    """A fresh database for one test, dropped afterwards."""
    yield from _throwaway_database(mysql_server)


@pytest.fixture
def real_redis():
    """The real Redis, or a loud skip."""
    client = Redis.from_url(REDIS_SERVER, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        _unavailable("Redis", f"{REDIS_SERVER}: {type(exc).__name__}")
    yield client
    client.close()


@pytest.fixture
def prefix(real_redis):
    """A key prefix of this test's own; its keys are deleted afterwards."""
    value = f"test-{uuid.uuid4().hex[:10]}-"
    yield value
    for key in real_redis.scan_iter(f"*{value}*"):
        real_redis.delete(key)


@pytest.fixture
def settings(tmp_path, mysql_url, prefix) -> Settings:
    """Settings for one integration test: its own database, key prefix and upload directory."""
    return Settings(database_url=mysql_url, redis_url=REDIS_SERVER, queue_prefix=prefix,
                    upload_dir=str(tmp_path / "uploads"), etl_chunk_rows=5000,
                    product_forecast_max=0)  # products only in the tests that switch them on


@pytest.fixture
def engine(settings):
    engine = make_engine(settings.database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def redis(real_redis):
    return real_redis


@pytest.fixture
def app(settings, engine, real_redis, monkeypatch):
    monkeypatch.setenv("CASTFLOW_ENV_FILE", "")
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    return create_app(settings, engine=engine, redis=real_redis)


@pytest.fixture
def drain(real_redis, prefix):
    """Run every queued job of this test's ETL queue to completion, through the real Redis."""

    def run(queue_name: str = ETL_QUEUE) -> None:
        SimpleWorker([queue(real_redis, queue_name, prefix)], connection=real_redis).work(burst=True)

    return run


@pytest.fixture
def processes(tmp_path):
    """Starts processes in their own process groups; every one of them is stopped when the test ends."""
    from tests.integration.processes import Processes

    started = Processes(tmp_path / "logs")
    try:
        yield started
    finally:
        started.stop_all()


@pytest.fixture
def private_redis(processes):
    """A redis-server of this test's own on a port in 6391-6399 (safe to FLUSHALL or restart), or a loud skip."""
    import shutil

    from tests.integration.processes import PrivateRedis

    if shutil.which("redis-server") is None:
        _unavailable("redis-server binary", "not on PATH")
    server = PrivateRedis(processes)
    server.start()
    return server  # `processes` stops it, after the workers that use it


@pytest.fixture
def private_mariadb(processes, tmp_path):
    """A MariaDB server of this test's own on a port in 3391-3399 (safe to stop), or a loud skip."""
    from tests.integration.processes import PrivateMariaDB

    if not PrivateMariaDB.available():
        _unavailable("mariadbd binary", "mariadbd or mariadb-install-db not on PATH")
    server = PrivateMariaDB(processes, tmp_path / "mariadb")
    server.install()
    server.start()
    return server  # `processes` stops it, after the workers that use it


@pytest.fixture
def other_mysql_url(mysql_server):
    """A second fresh database for one test (an undisturbed run to compare with), dropped afterwards."""
    yield from _throwaway_database(mysql_server)


@pytest.fixture(scope="session")
def store_items():
    """The real Store Item Demand rows (913,000) in castflow's columns, as a DataFrame; skipped if missing."""
    import pandas as pd

    from tests.conftest import SHARED_DATA

    path = SHARED_DATA / "store-item-demand" / "train.csv"
    if not path.exists():
        pytest.skip(f"shared dataset missing: {path.name}")
    raw = pd.read_csv(path, dtype={"date": "str", "store": "int64", "item": "int64", "sales": "int64"})
    return pd.DataFrame({"Date": raw["date"], "product_id": "item-" + raw["item"].astype("str"),
                         "category": "store-" + raw["store"].astype("str"), "sales": raw["sales"]})
