"""What the fault and race tests start: castflow processes, a private Redis, MariaDB and S3 server.

Each process runs in its own process group (a worker forks a work horse and a scheduler), so a
test can SIGKILL a worker with everything it started, and the fixtures can always clean up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import create_engine, text

from common.config import Settings, settings_env

ROOT = Path(__file__).resolve().parents[2]
#: Ports the fault tests may use (the shared MariaDB and Redis keep their usual ones).
MARIADB_PORTS = range(3391, 3400)
REDIS_PORTS = range(6391, 6400)
HTTP_PORTS = range(5121, 5130)
S3_PORTS = range(9391, 9400)


def free_port(ports: range, host: str = "127.0.0.1") -> int:
    """The first port of `ports` that nothing listens on at `host`."""
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}..{ports.stop - 1}")


def wait_until(check: Callable[[], object], timeout_s: float, what: str | Callable[[], str],
               poll_s: float = 0.1) -> object:
    """Poll `check` until it returns something truthy; fail after `timeout_s` saying `what`."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = check()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s: {what() if callable(what) else what}")
        time.sleep(poll_s)


def descendants(pid: int) -> list[int]:
    """Every live process whose parent chain leads to `pid` (Linux /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        kids = [p for p, parent in parents.items() if parent == current]
        found += kids
        frontier += kids
    return found


@dataclass
class Spawned:
    """A process started in its own group, its output in a log file."""

    name: str
    popen: subprocess.Popen
    log: Path
    #: A server the others depend on (Redis, MariaDB): stopped after them.
    service: bool = False

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.popen.poll() is None

    def kill(self, signum: int = signal.SIGKILL) -> None:
        """Signal the process group and every descendant's group (RQ puts each work horse in a group of its own)."""
        groups = {self.popen.pid}
        for pid in descendants(self.popen.pid):  # found first: once the worker dies, its horse is re-parented
            with contextlib.suppress(ProcessLookupError):
                groups.add(os.getpgid(pid))
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signum)

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the group, SIGKILL it after `grace_s`, and reap the process."""
        if self.alive:
            self.kill(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace_s)
        self.kill(signal.SIGKILL)  # whatever of the group is left (a horse outliving its worker)
        self.popen.wait()

    def output(self, tail: int = 6000) -> str:
        """The end of the process's output."""
        return self.log.read_text(errors="replace")[-tail:] if self.log.exists() else ""


@dataclass
class Processes:
    """Every process a test started; `stop_all` ends them all (fixtures call it in `finally`)."""

    logs: Path
    started: list[Spawned] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None, *,
              service: bool = False) -> Spawned:
        """Start `argv` in a new process group, output to `<logs>/<name>.log`."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        with log.open("ab") as sink:
            popen = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        spawned = Spawned(name, popen, log, service)
        self.started.append(spawned)
        return spawned

    def worker(self, module: str, settings: Settings, name: str | None = None, *,
               prefix: Sequence[str] = ()) -> Spawned:
        """Start `python -m <module>` (services.etl, services.forecast) configured by `settings` alone."""
        return self.python(name or module.rsplit(".", 1)[-1], ["-m", module], settings, prefix=prefix)

    def python(self, name: str, args: list[str], settings: Settings, *, prefix: Sequence[str] = ()) -> Spawned:
        """Start `python <args>` configured by `settings` alone; `prefix` wraps it (`ip netns exec ...`).

        PYTHONPATH names this checkout, so that a wrapped process runs this tree's code wherever it starts.
        """
        env = {**os.environ, **settings_env(settings), "CASTFLOW_ENV_FILE": "", "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": str(ROOT)}
        return self.start(name, [*prefix, sys.executable, *args], env)

    def stop_all(self) -> None:
        """Stop every process started, newest first, the servers they use last."""
        for spawned in sorted(reversed(self.started), key=lambda s: s.service):
            spawned.stop(grace_s=5.0 if not spawned.service else 60.0)

    def report(self) -> str:
        """Every process's output tail, for failure messages."""
        return "\n".join(f"--- {s.name} (exit {s.popen.poll()}):\n{s.output(3000)}" for s in self.started)


class PrivateRedis:
    """A redis-server of the test's own, without persistence, so that it can be flushed or restarted."""

    def __init__(self, processes: Processes, host: str = "127.0.0.1") -> None:
        self.processes = processes
        self.host = host
        self.port = free_port(REDIS_PORTS, host)
        self.url = f"redis://{host}:{self.port}/0"
        self.server: Spawned | None = None

    def start(self) -> None:
        """Start the server (empty) and wait until it answers."""
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not on PATH"
        self.server = self.processes.start(f"redis-{self.port}", [
            binary, "--bind", self.host, "--port", str(self.port), "--save", "", "--appendonly", "no",
            "--protected-mode", "no"], service=True)  # no password, and on a LAN address too
        wait_until(self.answers, 15, lambda: self.server.output())

    def stop(self) -> None:
        """Stop the server; everything it held is gone."""
        if self.server is not None:
            self.server.stop()

    def answers(self) -> bool:
        """True when the server answers PING."""
        try:
            return bool(self.client().ping())
        except RedisError:
            return False

    def client(self) -> Redis:
        """A fresh client on this server."""
        return Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=5)


class PrivateMariaDB:
    """A mariadbd of the test's own (data directory in a temporary folder), so that it can be stopped.

    It listens on `host` alone; root may connect from any address that reaches it (without a password).
    """

    def __init__(self, processes: Processes, datadir: Path, host: str = "127.0.0.1") -> None:
        self.processes = processes
        self.datadir = datadir
        self.host = host
        self.port = free_port(MARIADB_PORTS, host)
        self.server: Spawned | None = None

    @staticmethod
    def available() -> bool:
        """True when the MariaDB server and its install tool are installed."""
        return bool(shutil.which("mariadbd") and shutil.which("mariadb-install-db"))

    def install(self) -> None:
        """Create the system tables (root without a password, on TCP only, from any address)."""
        grants = self.datadir.with_name(f"{self.datadir.name}-grants.sql")
        # The install runs without grant tables (no CREATE USER): root@'%' is root@localhost's row copied.
        grants.write_text("INSERT INTO mysql.global_priv SELECT '%', User, Priv FROM mysql.global_priv "
                          "WHERE Host = 'localhost' AND User = 'root';\n")
        subprocess.run([shutil.which("mariadb-install-db"), "--no-defaults", f"--datadir={self.datadir}",
                        "--auth-root-authentication-method=normal", "--user=root", "--skip-test-db",
                        "--skip-name-resolve", f"--extra-file={grants}"], check=True, capture_output=True,
                       timeout=120)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self.server = self.processes.start(f"mariadb-{self.port}", [
            shutil.which("mariadbd"), "--no-defaults", f"--datadir={self.datadir}", f"--port={self.port}",
            f"--bind-address={self.host}", f"--socket={self.datadir / 'mariadb.sock'}", "--user=root",
            "--skip-name-resolve", "--innodb-buffer-pool-size=64M", "--innodb-log-file-size=32M",
            f"--pid-file={self.datadir / 'mariadb.pid'}", "--local-infile=1"], service=True)
        wait_until(self.answers, 60, lambda: self.server.output())

    def stop(self) -> None:
        """Stop the server the way a service manager does (SIGTERM) and wait for it to exit."""
        if self.server is not None:
            self.server.stop(grace_s=60.0)

    def url(self, database: str = "") -> str:
        """A SQLAlchemy URL for `database` on this server."""
        return f"mysql+pymysql://root@{self.host}:{self.port}/{database}"

    def answers(self) -> bool:
        """True when the server accepts a connection and answers a query."""
        engine = create_engine(self.url(), connect_args={"connect_timeout": 2})
        try:
            with engine.connect() as conn:
                return conn.execute(text("SELECT 1")).scalar() == 1
        except Exception:  # noqa: BLE001 - not up (yet)
            return False
        finally:
            engine.dispose()

    def create_database(self, name: str) -> str:
        """Create database `name`; return its URL."""
        engine = create_engine(self.url())
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
        engine.dispose()
        return self.url(name)


def start_moto_server(processes: Processes, host: str = "127.0.0.1") -> str:
    """moto's standalone S3 server (`python -m moto.server`, CI's S3 endpoint) on `host`; its URL once it answers."""
    port = free_port(S3_PORTS, host)
    server = processes.start(f"moto-{port}", [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)],
                             service=True)
    wait_until(lambda: socket.create_connection((host, port), timeout=1).close() or True, 60,
               lambda: server.output())
    return f"http://{host}:{port}"
