"""Load benchmark: the query endpoints under 50 concurrent clients, against MariaDB holding a busy platform's data.

A fresh database (dropped at the end) is seeded with 1,022,000 invoice rows, 2,000 batches and
192,000 forecast rows in 400 completed runs of 200 categories (see bench/loadseed.py). The API runs
as shipped (gunicorn.conf.py: WEB_WORKERS x WEB_THREADS gthread), with an ETL worker beside it.
Each endpoint is driven by `--connections` keep-alive clients for `--seconds` after a warm-up, by
wrk (bench/load.lua rotates every connection through many URLs: categories, models, date ranges,
runs; batch ids), and the benchmark prints requests/s, p50 and p99 latency, errors and the API's
CPU time per request for each endpoint, the /forecast-data to /health throughput ratio, and
PASS/FAIL against the targets: every p99 < 100 ms, and /forecast-data at least 40% of /health's
requests/s. Then the API is started again with its response cache off (RESPONSE_CACHE_ENTRIES=0) and
the cached endpoints are measured once more: what the database path alone gives, for comparison.

With --metrics-overhead it measures only what the operator metrics cost instead: the API is started with
METRICS_ENABLED=0 and =1 in turn (--metrics-rounds times each, interleaved, on a smaller seed), /health,
/batches/<id> and /forecast-data are driven each time, and the API CPU per request of the two settings is
compared (target: the instrumentation adds < 1 ms of API CPU per request).

With --during-etl it then uploads the 4x Store Item Demand file (3,652,000 rows) and measures /health
while the ETL worker loads it: p50/p99 (target p99 < 50 ms) and the worker's peak memory.

    apt-get install -y wrk      # else a Python client is used, and its own cost caps the figures
    python bench/load.py [--seconds 15] [--no-cache-off] [--during-etl] [--metrics-overhead]
                         [--database-url mysql+pymysql://root@127.0.0.1:3306/test]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.engine import make_url  # noqa: E402

from bench.harness import (  # noqa: E402
    Platform,
    RssSampler,
    drop_database,
    fresh_database,
    get_json,
    machine,
    running_platform,
    upload_file,
    wait_for_batch,
)
from bench.ingest import SOURCE, prepare  # noqa: E402
from bench.loadgen import INSTALL_HINT, LoadResult, have_wrk, run_load  # noqa: E402
from bench.loadseed import Seeded, Shape, seed  # noqa: E402
from common.config import Settings  # noqa: E402

P99_TARGET_MS = 100
RATIO_TARGET = 0.40
ETL_P99_TARGET_MS = 50
ETL_RSS_TARGET_MB = 400
#: The endpoints whose answers the API's response cache keeps (the seeded batches are all finished);
#: measured again with it off.
CACHED = ("/forecast-data", "/batches/<id>", "/categories")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
METRICS_TARGET_MS = 1.0
#: The endpoints --metrics-overhead drives: no database, a cached read, a database read.
METRICS_PATHS = ("/health", "/batches/<id>", "/forecast-data")
#: The seed of --metrics-overhead: recording a request costs the same whatever the database holds.
METRICS_SHAPE = Shape(categories=20, batches=200)


def request_paths(seeded: Seeded, count: int = 3000) -> dict[str, list[str]]:
    """Per endpoint, the paths the clients rotate through (shuffled, fixed seed)."""
    rng = random.Random(7)
    forecast = [_forecast_path(seeded, rng) for _ in range(count)]
    batches = [f"/batches/{n}" for n in range(1, seeded.shape.batches + 1)]
    rng.shuffle(batches)
    return {"/health": ["/health"], "/forecast-data": forecast, "/batches/<id>": batches,
            "/categories": ["/categories"]}


def _forecast_path(seeded: Seeded, rng: random.Random) -> str:
    """One /forecast-data query as a client would ask it: a category's models, a window, a run, a day."""
    category, model = rng.choice(seeded.categories), rng.choice(seeded.shape.models)
    day = seeded.forecast_start + _days(rng.randrange(seeded.shape.horizon - 30))
    window = f"start_date={day.isoformat()}&end_date={(day + _days(rng.choice((6, 13, 29)))).isoformat()}"
    choices = (
        f"category={category}&model_type={model}",  # one model's whole horizon
        f"category={category}&model_type={model}&{window}",
        f"category={category}",  # every model of the category
        f"category={category}&{window}",
        f"run_id={rng.choice(seeded.completed_runs)}&model_type={model}",  # an older run too
        f"model_type={model}&start_date={day.isoformat()}&end_date={day.isoformat()}",  # one day, every category
    )
    return "/forecast-data?" + rng.choice(choices)


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


class Measured:
    """One endpoint's load result, how the connections spread over the workers, and the API's CPU per request."""

    def __init__(self, result: LoadResult, spread: str, cpu_ms: float) -> None:
        self.result, self.spread, self.cpu_ms = result, spread, cpu_ms


def measure_queries(platform: Platform, paths: dict[str, list[str]], args: argparse.Namespace,
                    label: str = "") -> dict[str, Measured]:
    """Warm each endpoint up, then drive it for the measured period; with spread and API CPU per request.

    With the response cache on, a cached endpoint's warm-up lasts --cache-warmup seconds, long enough for
    both workers to see its URLs a few times; it is reported too, as the cache-filling figure.
    """
    started = time.perf_counter()
    get_json(f"{platform.url}/categories")  # the first call summarises the seeded observations into category_stats
    print(f"  first /categories{label} (fills category_stats when empty): {time.perf_counter() - started:.1f} s",
          flush=True)
    results = {}
    for name, endpoint_paths in paths.items():
        if name in CACHED and not label:
            results[name + FILL] = drive(platform, endpoint_paths, args.cache_warmup, args)
        else:
            run_load(platform.url, endpoint_paths, seconds=args.warmup, connections=args.connections,
                     use_wrk=args.wrk)
        results[name + label] = drive(platform, endpoint_paths, args.seconds, args)
        print(f"  measured {name}{label}", flush=True)
    return results


def drive(platform: Platform, paths: list[str], seconds: float, args: argparse.Namespace) -> Measured:
    """Drive the clients through `paths` for `seconds`; what they measured, the spread, the API's CPU per request."""
    spread: list[str] = []
    sampler = threading.Timer(seconds / 2, _sample_spread, (platform, args.port, spread))
    sampler.start()
    api = [platform.pid("api"), *platform.subprocesses("api")]
    cpu_before = cpu_seconds(api)
    result = run_load(platform.url, paths, seconds=seconds, connections=args.connections, use_wrk=args.wrk)
    cpu_ms = (cpu_seconds(api) - cpu_before) * 1000 / max(result.requests, 1)
    sampler.join()
    return Measured(result, spread[0] if spread else "?", cpu_ms)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (those still running)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of the line
    return total / CLOCK_TICKS


def _sample_spread(platform: Platform, port: int, into: list[str]) -> None:
    into.append(connection_spread(platform, port))


def connection_spread(platform: Platform, port: int) -> str:
    """Established client connections per gunicorn worker, e.g. "50/0" (all on one worker: one core serves)."""
    try:
        out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    return "/".join(str(out.count(f"pid={pid},")) for pid in platform.subprocesses("api"))


def report_queries(results: dict[str, Measured], connections: int) -> bool:
    """Print the table and the verdicts on the shipped configuration (p99 on the query endpoints, /health being
    the ceiling; the cache-off rows are for comparison only); True when all pass."""
    print(f"\n{'endpoint':<28}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}{'API CPU':>9}"
          "  conns/worker")
    for name, m in results.items():
        r = m.result
        print(f"{name:<28}{r.rate:>9,.0f}{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}{r.max_ms:>9.1f}{r.errors:>8}"
              f"{m.cpu_ms:>7.2f}ms  {m.spread}")
    health = results["/health"].result.rate
    for name in CACHED:
        if f"{name}{OFF}" in results:
            print(f"{name} with the cache off: {results[f'{name}{OFF}'].result.rate / health:.0%} of /health's "
                  "throughput (the database path)")
    shipped = {name: m.result for name, m in results.items() if not name.endswith((OFF, FILL))}
    ratio = shipped["/forecast-data"].rate / health
    slow = [name for name, r in shipped.items() if r.p99_ms >= P99_TARGET_MS and name != "/health"]
    failed = [name for name, m in results.items() if m.result.errors]
    checks = [
        (f"p99 < {P99_TARGET_MS} ms at {connections} clients on every query endpoint", not slow, ", ".join(slow)),
        (f"/forecast-data throughput {ratio:.0%} of /health's (target >= {RATIO_TARGET:.0%})", ratio >= RATIO_TARGET,
         ""),
        ("no errors", not failed, ", ".join(failed)),
    ]
    return _verdicts(checks)


def _verdicts(checks: list[tuple[str, bool, str]]) -> bool:
    for text, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}{f' ({detail})' if detail and not ok else ''}")
    return all(ok for _, ok, _ in checks)


def measure_during_etl(url: str, etl_pid: int, big_file: Path, args: argparse.Namespace) -> bool:
    """Upload the 4x file, drive /health while the ETL loads it, and report latency and the worker's memory."""
    stop = threading.Event()
    outcome: dict[str, LoadResult] = {}
    with RssSampler(etl_pid) as rss:
        started = time.perf_counter()
        status, body = upload_file(url, big_file)
        if status != 202:
            raise RuntimeError(f"upload answered {status}: {body}")
        uploaded = time.perf_counter()
        driver = threading.Thread(target=lambda: outcome.setdefault("health", run_load(
            url, ["/health"], seconds=3600, connections=args.etl_connections, use_wrk=args.wrk,
            delay_ms=args.etl_delay_ms, stop=stop)))
        driver.start()
        batch = wait_for_batch(url, body["batch_num"], poll_s=1.0)
        stop.set()
        driver.join()
        finished = time.perf_counter()
    if batch["status"] != "completed":
        raise RuntimeError(f"the 4x batch failed: {batch['error_log']}")
    health, horse_mb = outcome["health"], rss.peak_single_kb / 1024
    think = f", each waiting {args.etl_delay_ms} ms between requests" if args.etl_delay_ms else ""
    print(f"\n4x file: {batch['num_total_rows']:,} rows uploaded in {uploaded - started:.1f} s, loaded by the ETL "
          f"in {finished - uploaded:.1f} s more")
    print(f"/health during the ETL ({args.etl_connections} clients{think}): {health.rate:,.0f} req/s, "
          f"p50 {health.p50_ms:.1f} ms, p99 {health.p99_ms:.1f} ms, max {health.max_ms:.1f} ms, "
          f"{health.errors} errors")
    print(f"ETL worker peak RSS: {horse_mb:.0f} MB in the job's process, {rss.peak_tree_kb / 1024:.0f} MB for "
          "the worker's whole tree")
    return _verdicts([
        (f"/health p99 < {ETL_P99_TARGET_MS} ms while the ETL runs", health.p99_ms < ETL_P99_TARGET_MS, ""),
        (f"ETL job process peak RSS < {ETL_RSS_TARGET_MB} MB on the 4x file", horse_mb < ETL_RSS_TARGET_MB, ""),
        ("no errors during the ETL", not health.errors, ""),
    ])


OFF = " (cache off)"
FILL = " (cache filling)"


def measure_metrics_overhead(settings: Settings, paths: dict[str, list[str]], workdir: Path,
                             args: argparse.Namespace) -> bool:
    """API CPU per request with METRICS_ENABLED off and on, interleaved; PASS when on adds < 1 ms on each endpoint."""
    cpu: dict[tuple[str, bool], list[float]] = {}
    for round_ in range(args.metrics_rounds):
        for enabled in (False, True):
            log = workdir / f"platform-metrics-{round_}-{int(enabled)}.log"
            with running_platform(replace(settings, metrics_enabled=enabled), (), log, port=args.port) as platform:
                for name in METRICS_PATHS:
                    run_load(platform.url, paths[name], seconds=args.warmup, connections=args.connections,
                             use_wrk=args.wrk)
                    measured = drive(platform, paths[name], args.seconds, args)
                    cpu.setdefault((name, enabled), []).append(measured.cpu_ms)
                    print(f"  round {round_ + 1} metrics {'on ' if enabled else 'off'} {name}: "
                          f"{measured.result.rate:,.0f} req/s, {measured.cpu_ms:.3f} ms API CPU/request, "
                          f"{measured.result.errors} errors", flush=True)
    return report_metrics_overhead(cpu)


def report_metrics_overhead(cpu: dict[tuple[str, bool], list[float]]) -> bool:
    """Print the mean API CPU per request off and on, and the verdict per endpoint."""
    print(f"\n{'endpoint':<20}{'metrics off':>14}{'metrics on':>14}{'added':>12}")
    checks = []
    for name in METRICS_PATHS:
        off, on = (sum(cpu[(name, e)]) / len(cpu[(name, e)]) for e in (False, True))
        print(f"{name:<20}{off:>11.3f} ms{on:>11.3f} ms{on - off:>9.3f} ms")
        checks.append((f"{name}: metrics add {on - off:.3f} ms API CPU per request (target < {METRICS_TARGET_MS} ms)",
                       on - off < METRICS_TARGET_MS, ""))
    return _verdicts(checks)


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15, help="measured seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds per endpoint")
    parser.add_argument("--connections", type=int, default=50, help="concurrent clients")
    parser.add_argument("--during-etl", action="store_true", help="also measure /health while a 4x file loads")
    parser.add_argument("--etl-only", action="store_true", help="only the --during-etl part")
    parser.add_argument("--etl-connections", type=int, default=50, help="clients of /health during the ETL")
    parser.add_argument("--etl-delay-ms", type=int, default=100,
                        help="each /health client's pause between requests during the ETL (0: flood)")
    parser.add_argument("--python-client", action="store_true", help="use the Python client even if wrk is there")
    parser.add_argument("--port", type=int, default=5131, help="the API's port")
    parser.add_argument("--cache-warmup", type=float, default=30,
                        help="warm-up seconds of the cached endpoints (the cache fills), reported on their own")
    parser.add_argument("--no-cache-off", action="store_true",
                        help="skip the second API run with the response cache off")
    parser.add_argument("--database-url", default="mysql+pymysql://root@127.0.0.1:3306/test",
                        help="a MySQL/MariaDB server URL; the benchmark creates and drops its own database")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--metrics-overhead", action="store_true",
                        help="only compare the API's CPU per request with METRICS_ENABLED off and on")
    parser.add_argument("--metrics-rounds", type=int, default=2, help="off/on pairs of --metrics-overhead")
    args = parser.parse_args()
    args.wrk = have_wrk() and not args.python_client
    if not have_wrk():
        print(f"# {INSTALL_HINT}", flush=True)
    return args


def main() -> int:
    """Seed, start the platform, measure, print; drop the database whatever happens."""
    args = parse_args()
    if (args.during_etl or args.etl_only) and not SOURCE.exists():
        sys.exit(f"missing {SOURCE.name}: the shared datasets must sit beside the project")
    name = f"bench_load_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="castflow-load-") as tmp:
        workdir = Path(tmp)
        try:
            started = time.perf_counter()
            seeded = seed(fresh_database(args.database_url, name),
                          METRICS_SHAPE if args.metrics_overhead else Shape())
            print(f"# load benchmark on {machine()}, client {'wrk' if args.wrk else 'Python'}; seeded "
                  f"{seeded.invoice_rows:,} invoice rows, {seeded.forecast_rows:,} forecast rows in "
                  f"{len(seeded.completed_runs)} completed runs in {time.perf_counter() - started:.0f} s", flush=True)
            return _run(args, name, seeded, workdir)
        finally:
            drop_database(args.database_url, name)  # leave nothing behind


def _run(args: argparse.Namespace, name: str, seeded: Seeded, workdir: Path) -> int:
    url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    settings = Settings(database_url=url, redis_url=args.redis_url, queue_prefix=f"benchload-{uuid.uuid4().hex[:8]}-",
                        upload_dir=str(workdir / "uploads"), product_forecast_max=0)
    if args.metrics_overhead:
        return 0 if measure_metrics_overhead(settings, request_paths(seeded), workdir, args) else 1
    ok = True
    if not args.etl_only:
        ok = measure_both(settings, request_paths(seeded), workdir, args)
    if args.during_etl or args.etl_only:
        with running_platform(settings, ("services.etl",), workdir / "platform.log", port=args.port) as platform:
            big = prepare(workdir)["4x"]
            ok = measure_during_etl(platform.url, platform.pid("etl"), big, args) and ok
    return 0 if ok else 1


def measure_both(settings: Settings, paths: dict[str, list[str]], workdir: Path, args: argparse.Namespace) -> bool:
    """The API as shipped (response cache on), then with RESPONSE_CACHE_ENTRIES=0 on the cached endpoints."""
    with running_platform(settings, ("services.etl",), workdir / "platform.log", port=args.port) as platform:
        results = measure_queries(platform, paths, args)
    if not args.no_cache_off:
        off = replace(settings, response_cache_entries=0)
        with running_platform(off, (), workdir / "platform-off.log", port=args.port) as platform:
            results.update(measure_queries(platform, {name: paths[name] for name in CACHED}, args, OFF))
    return report_queries(results, args.connections)


if __name__ == "__main__":
    sys.exit(main())
