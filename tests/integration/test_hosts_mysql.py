"""castflow on several "hosts" with no shared disk: each process in a network and mount namespace of its own.

The API (gunicorn, as shipped), two ETL workers and a forecast worker run each on a host of a private
LAN (see hosts.py), with an empty tmpfs over the temporary folders, the project's data/ folder and the
shared datasets, and reach a Redis, a MariaDB and moto's S3 server (CI's S3 endpoint; MinIO in docker
compose) that listen on the LAN's server address alone. A file can only cross from the API to a worker
through the bucket, and every setting names the LAN, so nothing here can work over a shared disk or
the machine's 127.0.0.1.

Making namespaces needs root and iproute2 (`ip`, `unshare`): without them the tests are skipped loudly,
and with CASTFLOW_REQUIRE_SERVICES=1 (CI, where both are present) that is an error, like a missing service.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text

from bench.harness import get_json, upload_file
from common.config import Settings, settings_env
from common.db import make_engine
from tests.conftest import SHARED_DATA
from tests.integration import hosts
from tests.integration.conftest import _unavailable
from tests.integration.faultcheck import FAST, batch, wait_for_progress, wait_for_status
from tests.integration.processes import ROOT, PrivateMariaDB, PrivateRedis, start_moto_server, wait_until
from tests.s3 import client_with_bucket, keys, s3_client, s3_store_settings

pytestmark = pytest.mark.integration

SOURCE = SHARED_DATA / "store-item-demand" / "train.csv"
ROWS, STORES = 913_000, 10
#: The file as published (date, store, item, sales): each store a category, each item a product.
MAPPING = {"product_id": "item", "category": "store"}
HOSTS = ("api", "etl1", "etl2", "forecast")
API_PORT = 5000
#: Folders each host gets empty and its own; the upload directory is inside the first.
PRIVATE = tuple(dict.fromkeys(p for p in (Path(tempfile.gettempdir()), Path("/var/tmp"), ROOT / "data", SHARED_DATA)
                              if p.is_dir()))
UPLOAD_DIR = PRIVATE[0] / "castflow-uploads"


def require_namespaces() -> None:
    """Skip loudly (fail with CASTFLOW_REQUIRE_SERVICES=1) where this machine cannot make network namespaces."""
    why = hosts.unavailable()
    if why:
        _unavailable("network namespaces", why)


@pytest.fixture
def lan():
    """Four hosts on a private LAN, removed afterwards (and whatever a crashed run left), or a loud skip."""
    require_namespaces()
    network = hosts.Lan(HOSTS)
    try:
        try:
            network.create()
            probe = next(iter(network.hosts.values())).wrap(PRIVATE, ROOT) + ["true"]
            subprocess.run(probe, check=True, capture_output=True, text=True, timeout=30)
        except subprocess.CalledProcessError as exc:
            _unavailable("network namespaces", f"{' '.join(exc.cmd)}: {exc.stderr.strip()}")
        yield network
    finally:
        network.remove()


@pytest.fixture
def lan_settings(lan, processes, tmp_path, bucket) -> Settings:
    """Settings naming Redis, MariaDB and moto's S3 server started on the LAN's server address, bucket created."""
    if not PrivateMariaDB.available():
        _unavailable("mariadbd binary", "mariadbd or mariadb-install-db not on PATH")
    if not SOURCE.exists():
        pytest.skip(f"shared dataset missing: {SOURCE.name}")
    redis = PrivateRedis(processes, lan.server_address)
    redis.start()
    mariadb = PrivateMariaDB(processes, tmp_path / "mariadb", lan.server_address)
    mariadb.install()
    mariadb.start()
    s3_url = start_moto_server(processes, lan.server_address)
    client_with_bucket(s3_url, bucket)
    settings = Settings(database_url=mariadb.create_database("castflow"), redis_url=redis.url,
                        upload_dir=str(UPLOAD_DIR), web_workers=1, web_threads=4, forecast_horizon_days=14)
    return s3_store_settings(replace(settings, **FAST), s3_url, bucket)


def copies(pid: int, size: int) -> list[Path]:
    """Files of `size` bytes, or any file in UPLOAD_DIR, in a process's private folders (seen through /proc)."""
    root, found = Path(f"/proc/{pid}/root"), []
    uploads = root / UPLOAD_DIR.relative_to("/")
    for path in (p for folder in PRIVATE for p in (root / folder.relative_to("/")).rglob("*")):
        with contextlib.suppress(FileNotFoundError):  # a temporary file that went while we looked
            if path.is_file() and (path.stat().st_size == size or path.is_relative_to(uploads)):
                found.append(path)
    return found


def sees(pid: int, path: Path) -> bool:
    """True when `path` (a folder of the test's) exists in a process's view of the file system."""
    return (Path(f"/proc/{pid}/root") / path.relative_to("/")).exists()


def stored_rows(engine) -> int:  # noqa: ANN001
    with engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM invoice_data")).scalar()


def test_a_lan_left_by_a_dead_run_is_removed_by_the_next():
    """The namespaces and bridge of a run that died before its clean-up are gone once the next run cleans up."""
    require_namespaces()
    made = subprocess.run([sys.executable, "-c", "import os; from tests.integration.hosts import Lan; "
                           "Lan(['gone']).create(); print(os.getpid())"],
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    if made.returncode:
        _unavailable("network namespaces", made.stderr.strip()[-300:])
    tag = f"{hosts.PREFIX}{made.stdout.strip()}"
    assert f"{tag}-gone" in hosts.ip("netns", "list").split() and tag in hosts.links()
    hosts.remove_leftovers()
    assert f"{tag}-gone" not in hosts.ip("netns", "list").split() and tag not in hosts.links()


@pytest.mark.slow
def test_api_and_workers_on_separate_hosts_load_and_forecast_through_the_network_alone(
        lan, processes, lan_settings, bucket, tmp_path):
    """Store Item Demand sent to the API host is loaded by the second ETL host (the first killed) and forecast."""
    settings, on = lan_settings, {name: host.wrap(PRIVATE, ROOT) for name, host in lan.hosts.items()}
    assert "127.0.0.1" not in json.dumps(settings_env(settings))
    api = processes.python("api", ["-m", "gunicorn", "services.api:create_app()", "-b",
                                   f"{lan.hosts['api'].address}:{API_PORT}"], settings, prefix=on["api"])
    etl1 = processes.worker("services.etl", settings, name="etl1", prefix=on["etl1"])
    processes.worker("services.forecast", settings, prefix=on["forecast"])
    base = f"http://{lan.hosts['api'].address}:{API_PORT}"
    wait_until(lambda: get_json(f"{base}/ready")["status"] == "ready", 120, processes.report)
    status, body = upload_file(base, SOURCE, fields={"mapping": json.dumps(MAPPING)})
    assert status == 202, body
    number, size = body["batch_num"], SOURCE.stat().st_size
    s3 = s3_client(settings.s3_endpoint_url)
    assert [(key.startswith("uploads/"), s3.head_object(Bucket=bucket, Key=key)["ContentLength"])
            for key in keys(s3, bucket)] == [(True, size)]
    engine = make_engine(settings.database_url)
    try:
        wait_for_progress(engine, number, processes, timeout_s=300)
        assert not any(sees(pid, tmp_path) for pid in (api.popen.pid, etl1.popen.pid))  # the private mounts hold
        assert copies(api.popen.pid, size) == [] and copies(etl1.popen.pid, size) == []
        etl1.kill()
        etl1.popen.wait()
        assert batch(engine, number)["status"] == "processing" and stored_rows(engine) == 0
        etl2 = processes.worker("services.etl", settings, name="etl2", prefix=on["etl2"])
        wait_until(lambda: batch(engine, number)["attempts"] == 2, 120, processes.report)
        done = wait_for_status(engine, number, ("completed", "failed"), 600, processes)
        assert (done["status"], done["num_inserted_rows"], done["attempts"]) == ("completed", ROWS, 2), done
        assert stored_rows(engine) == ROWS
        assert copies(api.popen.pid, size) == [] and copies(etl2.popen.pid, size) == []
        forecast = wait_until(lambda: (b := get_json(f"{base}/batches/{number}"))["forecast_status"]
                              in ("completed", "failed") and b, 600, processes.report, poll_s=1.0)
        assert forecast["forecast_status"] == "completed", forecast
        categories = get_json(f"{base}/categories")
        assert len(categories) == STORES and all(c["best_model"] for c in categories), categories
    finally:
        engine.dispose()
