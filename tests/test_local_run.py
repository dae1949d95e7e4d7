"""The one-command local run, for real: child processes, a Redis it starts itself, Ctrl-C stops all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from services.local import free_port
from tests.integration.processes import descendants

ROOT = Path(__file__).resolve().parents[1]
BODY = b"Date,product_id,category,sales\n2023-01-01,p,c,1\n2023-01-02,p,c,2\n"


def post_file(url: str, content: bytes, filename: str) -> dict:
    """POST a multipart upload with the standard library, as a minimal client would."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


def wait_until(check, timeout_s: float = 60, what=str):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"timed out; runner output:\n{what()[-5000:]}")


@pytest.mark.parametrize("redis_kind", ["redis-server", "embedded"])
def test_local_run_serves_loads_and_stops_on_ctrl_c(tmp_path, redis_kind):
    """The runner starts Redis, the API and the workers on SQLite; a file loads; SIGINT stops everything."""
    if redis_kind == "redis-server" and not any((Path(d) / "redis-server").exists()
                                                for d in os.environ.get("PATH", "").split(os.pathsep)):
        pytest.skip("no redis-server on PATH")
    port = free_port()
    path = os.environ["PATH"] if redis_kind == "redis-server" else str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": path, "CASTFLOW_ENV_FILE": "", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
           "UPLOAD_DIR": str(tmp_path / "uploads"), "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
           "WEB_WORKERS": "1"}
    log = tmp_path / "runner.log"
    with log.open("w") as sink:
        runner = subprocess.Popen([sys.executable, "-m", "services.local", "--port", str(port)], cwd=ROOT, env=env,
                                  stdout=sink, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get(f"{base}/ready")["status"] == "ready", what=lambda: log.read_text())
        batch = post_file(f"{base}/upload", BODY, "sales.csv")["batch_num"]
        status = wait_until(lambda: (s := get(f"{base}/batches/{batch}"))["status"] in ("completed", "failed") and s,
                            what=lambda: log.read_text())
        assert status["status"] == "completed" and status["num_inserted_rows"] == 2
        spawned = descendants(runner.pid)
        assert len(spawned) >= 3
    finally:
        runner.send_signal(signal.SIGINT)
        try:
            runner.wait(timeout=60)
        except subprocess.TimeoutExpired:
            runner.kill()
            raise AssertionError(f"runner did not stop on SIGINT:\n{log.read_text()[-6000:]}") from None
    output = log.read_text()
    assert runner.returncode == 0, output
    assert "castflow is running at" in output
    assert ("embedded fake Redis" in output) == (redis_kind == "embedded")
    # The runner has exited; its children are gone once init has reaped them, which a busy machine may delay.
    wait_until(lambda: not [p for p in spawned if Path(f"/proc/{p}").exists()], 30,
               what=lambda: f"still running: {[p for p in spawned if Path(f'/proc/{p}').exists()]}\n{output}")
