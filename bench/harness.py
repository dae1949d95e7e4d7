"""What the benchmarks share: a running castflow (API + chosen workers), uploads over HTTP, RSS sampling."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.shared import SHARED_DATA  # noqa: F401 - where the benchmarks read their files
from common.config import Settings
from services.local import Stack, free_port, stack_env

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def s3_endpoint(url: str | None, log: Path) -> Iterator[str]:
    """`url` as it is, or (None) moto's standalone S3 server started for the benchmark and stopped after."""
    if url:
        yield url
        return
    port = free_port()
    with log.open("a") as sink:
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                  stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_port(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)


def _wait_port(port: int, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the S3 server on port {port} did not start")


def drop_database(server_url: str, name: str) -> None:
    """Drop database `name` (the benchmark's own) from the server."""
    engine = create_engine(server_url)
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
    engine.dispose()


def fresh_database(server_url: str, name: str) -> str:
    """Drop and create database `name` on the server; return its URL."""
    engine = create_engine(server_url)
    with engine.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@dataclass
class Platform:
    """A running castflow: its base URL and its processes."""

    url: str
    stack: Stack

    def pid(self, name: str) -> int:
        """The process id of the (first) child called `name` (api, etl, forecast)."""
        return self.pids(name)[0]

    def pids(self, name: str) -> list[int]:
        """The process ids of every child called `name` (several forecast workers)."""
        return [p.pid for n, p in self.stack.processes if n == name]

    def subprocesses(self, name: str) -> list[int]:
        """The process ids below the child called `name` (gunicorn's workers under the api)."""
        return _descendants(self.pid(name))


@contextmanager
def running_platform(settings: Settings, workers: tuple[str, ...], log: Path,
                     port: int | None = None) -> Iterator[Platform]:
    """Start the API with gunicorn as shipped (on `port`, else a free one) and the given workers; stop them after."""
    port = port or free_port()
    with log.open("a") as sink:
        stack = Stack(env=stack_env(settings, settings.redis_url), output=sink)
        try:
            stack.start_platform("127.0.0.1", port, workers)
            platform = Platform(f"http://127.0.0.1:{port}", stack)
            _wait_ready(platform.url)
            yield platform
        finally:
            stack.stop()
            _forget_keys(settings)


def _forget_keys(settings: Settings) -> None:
    """Delete the run's Redis keys (its queue prefix), so benchmarks leave nothing behind."""
    redis = Redis.from_url(settings.redis_url)
    for key in redis.scan_iter(f"*{settings.queue_prefix}*"):
        redis.delete(key)
    redis.close()


def _wait_ready(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if get_json(f"{url}/ready").get("status") == "ready":
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"castflow at {url} did not become ready")


def get_json(url: str) -> object:
    """GET a JSON document."""
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.load(answer)


def upload_file(base_url: str, path: Path, filename: str | None = None,
                fields: dict[str, str] | None = None) -> tuple[int, dict]:
    """Stream a file to POST /upload as multipart/form-data (plus text `fields`); return (status, JSON body)."""
    boundary = uuid.uuid4().hex
    head = "".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                   for name, value in (fields or {}).items()).encode()
    head += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{filename or path.name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    host, port = base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=600)
    conn.putrequest("POST", "/upload")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + path.stat().st_size + len(tail)))
    conn.endheaders()
    conn.send(head)
    with path.open("rb") as fileobj:
        while block := fileobj.read(1024 * 1024):
            conn.send(block)
    conn.send(tail)
    answer = conn.getresponse()
    body = json.loads(answer.read() or b"{}")
    conn.close()
    return answer.status, body


def wait_for_batch(base_url: str, batch_num: int, timeout_s: float = 1800, poll_s: float = 0.1) -> dict:
    """Poll /batches/<n> until the batch is completed or failed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batch = get_json(f"{base_url}/batches/{batch_num}")
        if batch["status"] in ("completed", "failed"):
            return batch
        time.sleep(poll_s)
    raise RuntimeError(f"batch {batch_num} not finished after {timeout_s} s")


@dataclass(frozen=True)
class ForecastTiming:
    """How a batch's forecasts went once its ETL ended: wall seconds, the workers' CPU seconds, the last status."""

    seconds: float
    cpu_seconds: float
    batch: dict


def timed_forecasts(platform: Platform, batch_num: int, timeout_s: float = 7200) -> ForecastTiming:
    """Wait for a loaded batch's forecasts to end; time them and count the forecast workers' CPU."""
    started = time.perf_counter()
    cpu_before = sum(cpu_seconds(pid) for pid in platform.pids("forecast"))
    deadline = time.monotonic() + timeout_s
    while (batch := get_json(f"{platform.url}/batches/{batch_num}"))["forecast_status"] in ("pending", "running"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the forecasts of batch {batch_num} did not end in {timeout_s} s")
        time.sleep(0.5)
    cpu = sum(cpu_seconds(pid) for pid in platform.pids("forecast")) - cpu_before
    return ForecastTiming(time.perf_counter() - started, cpu, batch)


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    children_file = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        kids = [int(k) for k in children_file.read_text().split()]
    except OSError:
        return []
    return kids + [d for k in kids for d in _descendants(k)]


@dataclass
class RssSampler:
    """Samples the resident memory of a process and its descendants in a background thread."""

    pid: int
    interval_s: float = 0.05
    peak_single_kb: int = 0  # the largest one process reached (the RQ work horse doing the job)
    peak_tree_kb: int = 0  # the most the whole tree held at once
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            sizes = [_rss_kb(p) for p in [self.pid, *_descendants(self.pid)]]
            self.peak_single_kb = max(self.peak_single_kb, *sizes)
            self.peak_tree_kb = max(self.peak_tree_kb, sum(sizes))
            self._stop.wait(self.interval_s)


def cpu_seconds(pid: int) -> float:
    """CPU seconds a process has used, with those of its children it has waited for (RQ's work horses, and
    the processes they ran, such as Prophet's Stan optimiser)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def median(values: list[float]) -> float:
    """The median of measured values."""
    return statistics.median(values)


def machine() -> str:
    """A one-line description of where the figures were taken."""
    cores = os.cpu_count()
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    return f"{cores} cores, {total_kb / 2**20:.0f} GiB RAM"
