"""The one-command local run: Redis (if none answers), the API and the workers, as child processes.

`python -m services.local [--port 5000]` prints the URL and runs until Ctrl-C (or SIGTERM), then stops
every child cleanly. With no DATABASE_URL the platform runs on the SQLite file under data/; with no
Redis answering at REDIS_URL it starts `redis-server` from PATH, else an embedded fake Redis server.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

from common.config import PROJECT_ROOT, Settings, load_settings, settings_env
from common.logs import setup_logging

logger = logging.getLogger("castflow.local")

#: The worker modules started next to the API (each is `python -m <module>`), when present.
WORKERS = ("services.etl", "services.forecast")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_answers(url: str) -> bool:
    """True when a Redis server answers PING at `url` within a second."""
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (RedisError, OSError, ValueError):
        return False


@dataclass
class Stack:
    """The processes of a local castflow, started in order and stopped in reverse."""

    env: dict[str, str]
    processes: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    fake_server: object | None = None
    #: Where the children write their logs (a file object); None: our own terminal.
    output: object | None = None

    def ensure_redis(self, url: str) -> str:
        """Use Redis at `url` if it answers, else start one; return the URL the platform should use."""
        if redis_answers(url):
            return url
        port = free_port()
        server = shutil.which("redis-server")
        if server:
            self.start("redis", [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                 "--appendonly", "no"])
        else:
            self.fake_server = _start_fake_redis(port)
        local = f"redis://127.0.0.1:{port}/0"
        _wait_for(lambda: redis_answers(local), "redis", 15)
        logger.info("started %s at %s", "redis-server" if server else "an embedded fake Redis", local)
        return local

    def start(self, name: str, argv: list[str]) -> subprocess.Popen:
        """Start one child process sharing this stack's environment and our terminal."""
        process = subprocess.Popen(argv, env=self.env, cwd=PROJECT_ROOT, start_new_session=True,
                                   stdout=self.output, stderr=subprocess.STDOUT if self.output else None)
        self.processes.append((name, process))
        return process

    def start_platform(self, host: str, port: int, workers: tuple[str, ...] = WORKERS) -> None:
        """Start the API (gunicorn, as in production) and each of `workers` that exists."""
        self.start("api", [sys.executable, "-m", "gunicorn", "services.api:create_app()",
                           "-b", f"{host}:{port}"])
        for module in workers:
            if (PROJECT_ROOT / Path(*module.split("."))).is_dir():
                self.start(module.split(".")[-1], [sys.executable, "-m", module])

    def failed(self) -> str | None:
        """The name of a child that has exited, if any."""
        return next((name for name, p in self.processes if p.poll() is not None), None)

    def stop(self, grace_s: float = 15.0) -> None:
        """Stop the platform (SIGTERM: workers finish their current job), then Redis; SIGKILL what lingers."""
        platform = [(n, p) for n, p in self.processes if n != "redis"]
        for group in (platform, [(n, p) for n, p in self.processes if n == "redis"]):
            _terminate(group, grace_s)
        if self.fake_server is not None:
            self.fake_server.shutdown()


def _terminate(processes: list[tuple[str, subprocess.Popen]], grace_s: float) -> None:
    for _, process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for name, process in processes:
        try:
            process.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in %.0f s; killing it", name, grace_s)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _start_fake_redis(port: int) -> object:
    from fakeredis import TcpFakeServer

    server = TcpFakeServer(("127.0.0.1", port), server_type="redis")
    # A connection thread can sit in a blocking pop forever after its client is gone: don't wait for it at exit.
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True, name="fake-redis").start()
    return server


def _wait_for(check, what: str, timeout_s: float) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not come up within {timeout_s:.0f} s")
        time.sleep(0.1)


def stack_env(settings: Settings, redis_url: str) -> dict[str, str]:
    """The children's environment: ours, plus every setting spelled out, plus the Redis in use."""
    env = {**os.environ, **settings_env(settings), "REDIS_URL": redis_url, "CASTFLOW_ENV_FILE": ""}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def main(argv: list[str] | None = None) -> int:
    """Run the platform locally until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m services.local", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address the API listens on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5000, help="port the API listens on (default 5000)")
    args = parser.parse_args(argv)
    settings = load_settings()
    setup_logging(settings.log_level)
    stack = Stack(env=dict(os.environ))
    stopping = threading.Event()
    # Explicit handlers: a shell starting us in the background may have left SIGINT ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        stack.env = stack_env(settings, stack.ensure_redis(settings.redis_url))
        stack.start_platform(args.host, args.port)
        _wait_for(lambda: _api_up(args.host, args.port) or stack.failed() or stopping.is_set(), "the API", 60)
        if stack.failed():
            raise RuntimeError(f"{stack.failed()} exited at start; see its log above")
        print(f"\ncastflow is running at http://{args.host}:{args.port}/  (Ctrl-C stops it)\n", flush=True)
        while not stopping.wait(1.0):
            if stack.failed():
                raise RuntimeError(f"{stack.failed()} exited; stopping everything")
    except RuntimeError as exc:
        logger.error("%s", exc)
        return 1
    finally:
        print("stopping castflow…", flush=True)
        stack.stop()
    return 0


def _api_up(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
