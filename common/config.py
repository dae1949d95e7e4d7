"""Settings, read once from the environment (and an optional `.env` file) at start-up.

Nothing else in castflow reads `os.environ`: entry points call `Settings.from_env()` and pass the
result down. A missing or malformed setting fails at start with its name.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Every knob of the platform, with the default used when the variable is unset."""

    database_url: str = f"sqlite:///{DEFAULT_DATA_DIR / 'castflow.db'}"
    redis_url: str = "redis://127.0.0.1:6379/0"
    #: Prefix for RQ queue names, so that several deployments (or test runs) can share one Redis.
    queue_prefix: str = ""
    upload_dir: str = str(DEFAULT_DATA_DIR / "uploads")
    max_upload_mb: int = 200
    #: Largest decompressed size of a .csv.gz or .xlsx, against decompression bombs.
    max_uncompressed_mb: int = 2048
    max_rejected_share: float = 0.10
    #: How many rejected rows per batch are kept with their details (all are counted).
    max_stored_errors: int = 10_000
    #: Rows of a file read, validated and staged at a time: bounds the ETL worker's memory.
    etl_chunk_rows: int = 100_000
    #: How often the ETL job runs before its batch is marked failed (transient errors only retry).
    etl_max_attempts: int = 3
    forecast_horizon_days: int = 30
    #: Coverage of the forecast intervals (0.95: 95% intervals).
    forecast_interval: float = 0.95
    #: How many times a forecast job runs before its run is marked failed (transient errors only retry).
    forecast_max_attempts: int = 3
    #: Default holiday calendar (a `holidays` country code); empty for none. Categories can override it.
    holiday_country: str = "US"
    #: When non-empty, every endpoint but /health and /ready needs header X-API-Key with this value.
    api_key: str = ""
    log_level: str = "INFO"
    #: gunicorn processes and threads per process serving the API.
    web_workers: int = 2
    web_threads: int = 8

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `environ` (default: the process environment), validating each value."""
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            raw = environ.get(field.name.upper())
            if raw is None:
                continue
            values[field.name] = _convert(field.name.upper(), raw, type(field.default))
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise SettingsError naming the first value that is out of range."""
        _check(self.max_upload_mb > 0, "MAX_UPLOAD_MB", "must be > 0")
        _check(self.max_uncompressed_mb > 0, "MAX_UNCOMPRESSED_MB", "must be > 0")
        _check(0 <= self.max_rejected_share <= 1, "MAX_REJECTED_SHARE", "must be between 0 and 1")
        _check(self.max_stored_errors >= 0, "MAX_STORED_ERRORS", "must be >= 0")
        _check(self.etl_chunk_rows >= 1000, "ETL_CHUNK_ROWS", "must be >= 1000")
        _check(self.etl_max_attempts >= 1, "ETL_MAX_ATTEMPTS", "must be >= 1")
        _check(1 <= self.forecast_horizon_days <= 366, "FORECAST_HORIZON_DAYS", "must be 1..366")
        _check(0.5 <= self.forecast_interval <= 0.99, "FORECAST_INTERVAL", "must be between 0.5 and 0.99")
        _check(self.forecast_max_attempts >= 1, "FORECAST_MAX_ATTEMPTS", "must be >= 1")
        _check(self.holiday_country == "" or self.holiday_country in supported_countries(),
               "HOLIDAY_COUNTRY", f"{self.holiday_country!r} is not a country code the holidays package knows")
        _check(re.fullmatch(r"[A-Za-z0-9_-]*", self.queue_prefix) is not None, "QUEUE_PREFIX",
               "may hold only letters, digits, _ and - (it becomes part of RQ job ids)")
        _check(self.web_workers >= 1 and self.web_threads >= 1, "WEB_WORKERS/WEB_THREADS", "must be >= 1")
        _check(self.database_url.split(":", 1)[0].split("+")[0] in ("sqlite", "mysql", "mariadb"),
               "DATABASE_URL", "must be a sqlite:// or mysql+pymysql:// URL")

    @property
    def max_upload_bytes(self) -> int:
        """MAX_UPLOAD_MB in bytes."""
        return self.max_upload_mb * 1024 * 1024

    @property
    def max_uncompressed_bytes(self) -> int:
        """MAX_UNCOMPRESSED_MB in bytes."""
        return self.max_uncompressed_mb * 1024 * 1024


@functools.cache
def supported_countries() -> frozenset[str]:
    """ISO codes of the countries whose public holidays the `holidays` package knows."""
    import holidays  # imported here: only validation needs it

    return frozenset(holidays.list_supported_countries())


def _check(ok: bool, name: str, why: str) -> None:
    if not ok:
        raise SettingsError(f"{name} {why}")


def _convert(name: str, raw: str, kind: type) -> object:
    raw = raw.strip()
    try:
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    return raw


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a `.env` file (KEY=value lines, # comments, optional quotes) into a dict."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip().replace("_", "").isalnum():
            raise SettingsError(f"{path.name} line {number}: expected KEY=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_settings() -> Settings:
    """Settings for an entry point: the process environment wins over the `.env` file.

    The file is CASTFLOW_ENV_FILE when set (empty: none), else `.env` at the project root.
    """
    env_file = os.environ.get("CASTFLOW_ENV_FILE", str(PROJECT_ROOT / ".env"))
    merged = read_env_file(Path(env_file)) if env_file else {}
    merged.update(os.environ)
    return Settings.from_env(merged)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables that reproduce `settings` (for child processes and jobs)."""
    return {f.name.upper(): str(getattr(settings, f.name)) for f in fields(settings)}
