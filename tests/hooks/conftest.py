"""Webhook fixtures: settings that sign and retry at once, the schema, a local receiver, and a worker on the queue."""

from __future__ import annotations

import dataclasses

import pytest
from rq import SimpleWorker

from common.config import Settings, settings_env
from common.db import create_schema
from common.queue import WEBHOOK_QUEUE, queue
from tests.hooks.receiver import running_receiver

SECRET = "a-webhook-secret-for-tests"


@pytest.fixture
def settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The shared settings plus a secret, local receivers allowed, retries at once and a 1 s timeout (env too)."""
    changed = dataclasses.replace(settings, webhook_secret=SECRET, webhook_allow_local=True, webhook_retry_seconds=0,
                                  webhook_timeout_seconds=1.0, webhook_max_attempts=3)
    for name, value in settings_env(changed).items():
        monkeypatch.setenv(name, value)
    return changed


@pytest.fixture
def schema(engine) -> None:
    """The tables exist."""
    create_schema(engine)


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
