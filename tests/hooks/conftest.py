"""Webhook fixtures: settings that sign and retry at once, and the schema (the receiver: tests/hooks/receiver.py)."""

from __future__ import annotations

import dataclasses

import pytest

from common.config import Settings, settings_env
from common.db import create_schema

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
