"""The CLI against the real API: the app served over HTTP in a thread, the CLI run in-process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from common.queue import ETL_QUEUE
from services import cli
from services.cli import batches

HEADER = "Date,product_id,category,sales\n"
#: Two categories over two months, every row good.
GOOD = HEADER + "".join(f"2023-{m:02d}-{d:02d},p1,{c},{d}\n" for m in (1, 2) for d in range(1, 29)
                        for c in ("north", "south"))
#: Seconds a CLI run may take before the test gives up on it.
RUN_TIMEOUT_S = 60


@dataclass
class Run:
    """What one `castflow` run left: exit code, stdout and stderr."""

    code: int
    out: str
    err: str


@pytest.fixture
def serve() -> Iterator[Callable[[object], str]]:
    """Serve WSGI apps on 127.0.0.1, each on a free port, for the test; return a function giving the URL."""
    servers = []

    def start(app: object) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def url(app, serve) -> str:
    """The test's app (SQLite + fakeredis), served over real HTTP."""
    return serve(app)


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Poll batches every 20 ms and never pick up the developer's CASTFLOW_URL / CASTFLOW_API_KEY."""
    monkeypatch.setattr(batches, "POLL_S", 0.02)
    monkeypatch.delenv("CASTFLOW_URL", raising=False)
    monkeypatch.delenv("CASTFLOW_API_KEY", raising=False)


@pytest.fixture
def castflow(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run `castflow ARGS...` in this process."""

    def run(*argv: str) -> Run:
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return Run(int(code), captured.out, captured.err)

    return run


@pytest.fixture
def castflow_with_workers(capsys: pytest.CaptureFixture[str], drain) -> Callable[..., Run]:
    """Run `castflow ARGS...` in a thread while this thread works the queues (RQ's worker wants the main thread)."""

    def run(*argv: str, queues: tuple[str, ...] = (ETL_QUEUE,)) -> Run:
        outcome: dict[str, object] = {}

        def target() -> None:
            try:
                outcome["code"] = cli.main(list(argv))
            except BaseException as exc:  # noqa: BLE001 - handed to the test thread
                outcome["error"] = exc

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while thread.is_alive() and time.monotonic() < deadline:
            for name in queues:
                drain(name)
            thread.join(0.05)
        assert not thread.is_alive(), f"castflow {' '.join(argv)} did not end within {RUN_TIMEOUT_S} s"
        if "error" in outcome:
            raise outcome["error"]
        captured = capsys.readouterr()
        return Run(int(outcome["code"]), captured.out, captured.err)

    return run


@pytest.fixture
def sales_file(tmp_path: Path) -> Path:
    """A good sales CSV on disk."""
    path = tmp_path / "sales.csv"
    path.write_text(GOOD)
    return path
