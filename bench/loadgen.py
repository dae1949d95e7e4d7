"""Load generation for bench/load.py: wrk with bench/load.lua, or a slower Python client when wrk is absent.

Both drive `connections` keep-alive clients for a fixed time through a list of request paths and
answer a LoadResult: requests/s, latency percentiles, errors (non-2xx answers, timeouts, broken
connections).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

LUA_SCRIPT = Path(__file__).with_name("load.lua")
INSTALL_HINT = ("wrk is not installed: on Debian/Ubuntu `apt-get install -y wrk` (as root), on macOS "
                "`brew install wrk`; falling back to a Python client, whose own cost caps the figures")
#: A request slower than this counts as an error (a timeout), as with wrk's --timeout.
TIMEOUT_S = 10


@dataclass(frozen=True)
class LoadResult:
    """What one load run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int

    @property
    def rate(self) -> float:
        """Requests answered per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def have_wrk() -> bool:
    """True when the wrk binary is on PATH."""
    return shutil.which("wrk") is not None


def run_load(base_url: str, paths: list[str], *, seconds: float, connections: int, use_wrk: bool,
             delay_ms: int = 0, stop: threading.Event | None = None) -> LoadResult:
    """Drive `connections` clients through `paths` for `seconds` (or until `stop` is set)."""
    if use_wrk:
        return _run_wrk(base_url, paths, seconds, connections, delay_ms, stop)
    return _run_python(base_url, paths, seconds, connections, delay_ms, stop)


def _run_wrk(base_url: str, paths: list[str], seconds: float, connections: int, delay_ms: int,
             stop: threading.Event | None) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", prefix="castflow-load-", suffix=".txt", delete=False) as listing:
        listing.write("\n".join(paths) + "\n")
    threads = max(1, min(os.cpu_count() or 1, connections))
    argv = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
            "--timeout", f"{TIMEOUT_S}s", "-s", str(LUA_SCRIPT), base_url, "--", listing.name]
    try:
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                   env={**os.environ, "LOAD_DELAY_MS": str(delay_ms)})
        if stop is not None:
            _interrupt_when(stop, process)
        output, _ = process.communicate()
    finally:
        os.unlink(listing.name)
    return _parse_wrk(output)


def _interrupt_when(stop: threading.Event, process: subprocess.Popen) -> None:
    """SIGINT wrk (it then reports what it measured so far) once `stop` is set."""

    def watch() -> None:
        while process.poll() is None:
            if stop.wait(0.1):
                process.send_signal(signal.SIGINT)
                return

    threading.Thread(target=watch, daemon=True).start()


def _parse_wrk(output: str) -> LoadResult:
    line = next((line for line in output.splitlines() if line.startswith("LOAD-RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    raw = json.loads(line.removeprefix("LOAD-RESULT "))
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    return LoadResult(requests=raw["requests"], seconds=raw["duration_us"] / 1e6, p50_ms=raw["p50_us"] / 1000,
                      p90_ms=raw["p90_us"] / 1000, p99_ms=raw["p99_us"] / 1000, max_ms=raw["max_us"] / 1000,
                      errors=errors)


def _run_python(base_url: str, paths: list[str], seconds: float, connections: int, delay_ms: int,
                stop: threading.Event | None) -> LoadResult:
    host, port = base_url.removeprefix("http://").split(":")
    stop = stop or threading.Event()
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    workers = [threading.Thread(target=_client, args=(host, int(port), paths, n, stop, delay_ms, latencies[n], errors),
                                daemon=True) for n in range(connections)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    stop.wait(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    times = sorted(t for client in latencies for t in client)
    return LoadResult(requests=len(times), seconds=elapsed, p50_ms=_percentile(times, 50),
                      p90_ms=_percentile(times, 90), p99_ms=_percentile(times, 99),
                      max_ms=times[-1] if times else 0.0, errors=sum(errors))


def _client(host: str, port: int, paths: list[str], number: int, stop: threading.Event, delay_ms: int,
            latencies: list[float], errors: list[int]) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    position = number * 7919
    while not stop.is_set():
        position += 1
        started = time.perf_counter()
        try:
            conn.request("GET", paths[position % len(paths)])
            answer = conn.getresponse()
            answer.read()
            latencies.append((time.perf_counter() - started) * 1000)
            errors[number] += answer.status >= 400
        except (OSError, http.client.HTTPException):
            errors[number] += 1
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
        if delay_ms:
            stop.wait(delay_ms / 1000)
    conn.close()


def _percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
