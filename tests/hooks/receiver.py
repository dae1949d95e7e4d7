"""A webhook receiver for tests: a threaded HTTP server on 127.0.0.1 that records each POST and answers a script.

Its fixtures (`receiver`, `deliver_all`) are shared by every test package through the root conftest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from rq import SimpleWorker

from common.queue import WEBHOOK_QUEUE, queue

#: A scripted answer that never comes: the request waits (until the receiver stops) so the sender times out.
HANG = 0


@dataclass(frozen=True)
class Received:
    """One POST as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the server got, and the status codes it answers in turn (then 200)."""

    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> int:
        """The next scripted status code, 200 once the script is spent."""
        with self.lock:
            return self.answers.pop(0) if self.answers else 200

    def wait_for(self, count: int, timeout_s: float = 60.0) -> list[Received]:
        """The requests once at least `count` have arrived; fails after `timeout_s`."""
        wait_until(lambda: len(self.received) >= count, timeout_s, f"{count} webhook requests")
        return list(self.received)


def wait_until(check: Callable[[], object], timeout_s: float, what: str) -> None:
    """Poll `check` until it is true; AssertionError naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f} s waiting for {what}"
        time.sleep(0.02)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            code = receiver.next_answer()
            with receiver.lock:
                receiver.received.append(Received(self.path, dict(self.headers.items()), body))
            if code == HANG:
                receiver.stopping.wait(60)
                return
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running_receiver(*answers: int) -> Iterator[Receiver]:
    """A receiver listening on a free port of 127.0.0.1 for the block's duration."""
    receiver = Receiver(answers=list(answers))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="webhook-receiver")
    thread.start()
    try:
        yield receiver
    finally:
        receiver.stopping.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver():
    """A receiver answering 200 to everything."""
    with running_receiver() as found:
        yield found


@pytest.fixture
def deliver_all(redis):
    """Run every queued webhook job (and the immediate retries they queue) in this process."""

    def run() -> None:
        SimpleWorker([queue(redis, WEBHOOK_QUEUE)], connection=redis).work(burst=True)

    return run
