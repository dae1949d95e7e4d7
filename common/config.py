"""Settings, read once from the environment (and an optional `.env` file) at start-up.

Nothing else in castflow reads `os.environ`: entry points call `Settings.from_env()` and pass the
result down. A missing or malformed setting fails at start with its name.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from common.fileformat import Limits
from common.schedule import cron_problem
from common.webhooks import url_problem

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
#: Values of CASTFLOW_ENV. Production refuses to start without a long enough API_KEY.
ENVIRONMENTS = ("development", "production")
#: Shortest API_KEY / READ_API_KEY accepted in production (a guessable key is no key).
MIN_KEY_LENGTH = 16
#: How to make a good key; quoted in the error that asks for one.
KEY_RECIPE = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
LOG_FORMATS = ("text", "json")
#: An exact browser origin: scheme, host, optional port; no path, no wildcard.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?")


#: castflow's S3 settings and the usual AWS variables each falls back to, in order, when it is empty.
AWS_FALLBACKS = {
    "s3_endpoint_url": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "s3_region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "s3_access_key_id": ("AWS_ACCESS_KEY_ID",),
    "s3_secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
}
#: An upload store URL: s3://bucket or s3://bucket/prefix (S3's bucket naming rules).
_S3_STORE = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9!_.*'()/-]*)?")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Every knob of the platform, with the default used when the variable is unset."""

    database_url: str = f"sqlite:///{DEFAULT_DATA_DIR / 'castflow.db'}"
    #: A read replica of DATABASE_URL for the API's heavy reads (empty: everything reads the primary).
    read_database_url: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"
    #: Prefix for RQ queue names, so that several deployments (or test runs) can share one Redis.
    queue_prefix: str = ""
    upload_dir: str = str(DEFAULT_DATA_DIR / "uploads")
    #: Where uploads are kept: empty for the UPLOAD_DIR directory, or s3://bucket/prefix for an S3-compatible store.
    upload_store: str = ""
    #: S3 endpoint (MinIO, Ceph, R2, ...); empty: AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, else AWS S3 itself.
    s3_endpoint_url: str = ""
    #: S3 region; empty: AWS_REGION / AWS_DEFAULT_REGION, else us-east-1.
    s3_region: str = ""
    #: S3 credentials; empty: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else boto3's own chain (instance roles).
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    #: path or virtual bucket addressing; empty: path with an S3_ENDPOINT_URL (MinIO, Ceph), else boto3's choice.
    s3_addressing_style: str = ""
    #: Seconds to wait for the S3 endpoint to connect or answer before the request gets HTTP 503.
    s3_timeout_seconds: float = 10.0
    #: Size of an upload's multipart parts in MB (S3's minimum is 5): each upload in flight buffers one part.
    s3_part_mb: int = 5
    max_upload_mb: int = 200
    #: Largest decompressed size of a .csv.gz or .xlsx, against decompression bombs.
    max_uncompressed_mb: int = 2048
    max_rejected_share: float = 0.10
    #: How many rejected rows per batch are kept with their details (all are counted).
    max_stored_errors: int = 10_000
    #: How many of the latest batches keep the rows they replaced in invoice_history, so that they can be undone;
    #: older copies are dropped as new batches merge (0: none are kept, and a batch that updated keys cannot be undone).
    undo_keep_batches: int = 20
    #: Rows of a file read, validated and staged at a time: bounds the ETL worker's memory.
    etl_chunk_rows: int = 100_000
    #: How often the ETL job runs before its batch is marked failed (transient errors only retry).
    etl_max_attempts: int = 3
    forecast_horizon_days: int = 30
    #: Coverage of the forecast intervals (0.95: 95% intervals).
    forecast_interval: float = 0.95
    #: How many times a forecast job runs before its run is marked failed (transient errors only retry).
    forecast_max_attempts: int = 3
    #: Categories with at most this many products have their products forecast too (unless a category's own
    #: setting says otherwise); 0: products only where a category's setting switches them on.
    product_forecast_max: int = 5000
    #: Product series per product job: a category's products are split into jobs of this many, shared by workers.
    product_chunk_size: int = 500
    #: Seconds a worker's heartbeat lasts: a job whose worker died is requeued at most this long after.
    worker_ttl_seconds: int = 60
    #: Seconds between a worker's maintenance rounds (the reconcile step and RQ's registry cleaning).
    maintenance_seconds: int = 60
    #: Default holiday calendar (a `holidays` country code); empty for none. Categories can override it.
    holiday_country: str = "US"
    #: development or production; production refuses to start without an API_KEY of MIN_KEY_LENGTH+ characters.
    castflow_env: str = "development"
    #: When non-empty, every endpoint but /health and /ready needs header X-API-Key with this value.
    api_key: str = ""
    #: A second key that may only read (GET/HEAD); needs API_KEY beside it.
    read_api_key: str = ""
    #: Comma-separated browser origins allowed to call the API cross-origin; empty: CORS off.
    cors_origins: str = ""
    #: Most data rows per file; a longer file fails its batch with nothing written.
    max_rows: int = 5_000_000
    #: Most columns in a file's header; a wider file is refused at upload (400).
    max_columns: int = 1000
    #: Longest header cell (400 at upload) and longest value in a column castflow reads (the row is rejected).
    max_cell_chars: int = 1000
    #: Database statement timeout of the API's connections, in seconds (MySQL/MariaDB; 0: none).
    api_query_timeout_seconds: float = 10.0
    log_level: str = "INFO"
    #: text (one readable line per record) or json (one JSON object per line, for log collectors).
    log_format: str = "text"
    #: gunicorn processes and threads per process serving the API.
    web_workers: int = 2
    web_threads: int = 8
    #: Answers of /forecast-data, /forecast-metrics, /categories and finished batches kept per API process (0: off).
    response_cache_entries: int = 4096
    #: Memory those answers may take per API process, in MB (stored compressed).
    response_cache_mb: int = 64
    #: Longest an answer is served from the cache, in seconds: bounds the effect of a lost invalidation.
    response_cache_seconds: float = 300.0
    #: Record request, job and row counts (in Redis) and answer GET /metrics in Prometheus' text format.
    metrics_enabled: bool = True
    #: /metrics open without a key; off: it needs a key like every other read (READ_API_KEY is enough).
    metrics_public: bool = False
    #: Cron expression (UTC) whose ticks refresh forecasts, e.g. "0 3 * * *"; empty: no schedule.
    forecast_schedule: str = ""
    #: Comma-separated categories the schedule refreshes; empty: every category with data.
    forecast_schedule_categories: str = ""
    #: URL every webhook event is POSTed to (empty: none; categories can add their own URL through the API).
    webhook_url: str = ""
    #: Key of the HMAC-SHA256 signature of every webhook body; needed as soon as any webhook URL is used.
    webhook_secret: str = ""
    #: Allow webhook URLs on this machine (loopback, link-local): for development and tests only.
    webhook_allow_local: bool = False
    #: Seconds a webhook receiver has to connect and answer before the attempt counts as failed.
    webhook_timeout_seconds: float = 10.0
    #: Attempts of one delivery at most (network errors, timeouts and 5xx answers are retried; 4xx never).
    webhook_max_attempts: int = 5
    #: Wait before the first retry of a delivery, in seconds; each next wait is four times longer (0: no wait).
    webhook_retry_seconds: int = 30
    #: Inventory defaults of every category without its own (PUT /categories/<name>/inventory-settings):
    #: supplier lead time in days (1..365), cycle service level (0.5 <= s < 1), days of demand an order covers
    #: when the EOQ cannot be computed, cost of placing one order (0: unknown, no EOQ), yearly holding cost
    #: as a share of the unit cost.
    inventory_lead_time_days: int = 7
    inventory_service_level: float = 0.95
    inventory_review_days: int = 7
    inventory_order_cost: float = 0.0
    inventory_holding_cost_rate: float = 0.25
    #: A category drifts when its current forecast's realised MASE passes this multiple of its backtest MASE
    #: (a category's own drift_threshold setting wins).
    drift_threshold: float = 1.5

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
        for name, fallbacks in AWS_FALLBACKS.items():
            if not values.get(name):
                values[name] = next((environ[f] for f in fallbacks if environ.get(f)), "")
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise SettingsError naming the first value that is out of range."""
        _check(self.max_upload_mb > 0, "MAX_UPLOAD_MB", "must be > 0")
        _check(self.max_uncompressed_mb > 0, "MAX_UNCOMPRESSED_MB", "must be > 0")
        _check(0 <= self.max_rejected_share <= 1, "MAX_REJECTED_SHARE", "must be between 0 and 1")
        _check(self.max_stored_errors >= 0, "MAX_STORED_ERRORS", "must be >= 0")
        _check(self.undo_keep_batches >= 0, "UNDO_KEEP_BATCHES", "must be >= 0")
        _check(self.etl_chunk_rows >= 1000, "ETL_CHUNK_ROWS", "must be >= 1000")
        _check(self.etl_max_attempts >= 1, "ETL_MAX_ATTEMPTS", "must be >= 1")
        _check(1 <= self.forecast_horizon_days <= 366, "FORECAST_HORIZON_DAYS", "must be 1..366")
        _check(0.5 <= self.forecast_interval <= 0.99, "FORECAST_INTERVAL", "must be between 0.5 and 0.99")
        _check(self.forecast_max_attempts >= 1, "FORECAST_MAX_ATTEMPTS", "must be >= 1")
        _check(self.product_forecast_max >= 0, "PRODUCT_FORECAST_MAX", "must be >= 0")
        _check(self.product_chunk_size >= 1, "PRODUCT_CHUNK_SIZE", "must be >= 1")
        _check(self.worker_ttl_seconds >= 5, "WORKER_TTL_SECONDS", "must be >= 5")
        _check(self.maintenance_seconds >= 1, "MAINTENANCE_SECONDS", "must be >= 1")
        _check(self.holiday_country == "" or self.holiday_country in supported_countries(),
               "HOLIDAY_COUNTRY", f"{self.holiday_country!r} is not a country code the holidays package knows")
        _check(re.fullmatch(r"[A-Za-z0-9_-]*", self.queue_prefix) is not None, "QUEUE_PREFIX",
               "may hold only letters, digits, _ and - (it becomes part of RQ job ids)")
        _check(self.web_workers >= 1 and self.web_threads >= 1, "WEB_WORKERS/WEB_THREADS", "must be >= 1")
        _check(self.database_url.split(":", 1)[0].split("+")[0] in ("sqlite", "mysql", "mariadb"),
               "DATABASE_URL", "must be a sqlite:// or mysql+pymysql:// URL")
        _check(not self.read_database_url
               or self.read_database_url.split(":", 1)[0].split("+")[0] in ("sqlite", "mysql", "mariadb"),
               "READ_DATABASE_URL", "must be empty or a sqlite:// or mysql+pymysql:// URL")
        _check(self.max_rows >= 1, "MAX_ROWS", "must be >= 1")
        _check(self.max_columns >= 4, "MAX_COLUMNS", "must be >= 4 (the required columns)")
        _check(self.max_cell_chars >= 100, "MAX_CELL_CHARS", "must be >= 100 (ids may hold 100 characters)")
        _check(math.isfinite(self.api_query_timeout_seconds) and self.api_query_timeout_seconds >= 0,
               "API_QUERY_TIMEOUT_SECONDS", "must be >= 0 (0: no timeout)")
        _check(self.log_format in LOG_FORMATS, "LOG_FORMAT", f"must be one of {', '.join(LOG_FORMATS)}")
        self._validate_access()
        self._validate_cache()
        self._validate_store()
        self._validate_webhooks()
        self._validate_inventory()
        _check(math.isfinite(self.drift_threshold) and self.drift_threshold > 0, "DRIFT_THRESHOLD", "must be > 0")
        problem = cron_problem(self.forecast_schedule) if self.forecast_schedule else None
        _check(problem is None, "FORECAST_SCHEDULE", f"{problem}")

    def _validate_store(self) -> None:
        """UPLOAD_STORE and the S3 settings it uses."""
        _check(not self.upload_store or _S3_STORE.fullmatch(self.upload_store) is not None, "UPLOAD_STORE",
               "must be empty (the UPLOAD_DIR directory) or s3://bucket/prefix")
        _check(not self.s3_endpoint_url or self.s3_endpoint_url.split("://")[0] in ("http", "https"),
               "S3_ENDPOINT_URL", "must be an http:// or https:// URL")
        _check(self.s3_addressing_style in ("", "path", "virtual"), "S3_ADDRESSING_STYLE",
               "must be empty, path or virtual")
        _check(math.isfinite(self.s3_timeout_seconds) and self.s3_timeout_seconds > 0, "S3_TIMEOUT_SECONDS",
               "must be > 0")
        _check(5 <= self.s3_part_mb <= 5120, "S3_PART_MB", "must be 5..5120 (S3's part size limits)")
        _check(not self.upload_store or self.max_upload_mb <= 5120, "MAX_UPLOAD_MB",
               "must be <= 5120 with an S3 upload store (an upload is copied to its name in one request)")
        _check(bool(self.s3_access_key_id) == bool(self.s3_secret_access_key), "S3_SECRET_ACCESS_KEY",
               "and S3_ACCESS_KEY_ID go together: set both or neither")

    def _validate_webhooks(self) -> None:
        """WEBHOOK_URL must be a receiver castflow may call; a URL needs a secret to sign with."""
        problem = url_problem(self.webhook_url, allow_local=self.webhook_allow_local) if self.webhook_url else None
        _check(problem is None, "WEBHOOK_URL", f"{problem}")
        _check(not self.webhook_url or bool(self.webhook_secret), "WEBHOOK_SECRET",
               f"is required when WEBHOOK_URL is set (every delivery is signed); generate one with: {KEY_RECIPE}")
        _check(math.isfinite(self.webhook_timeout_seconds) and 0 < self.webhook_timeout_seconds <= 120,
               "WEBHOOK_TIMEOUT_SECONDS", "must be between 0 and 120")
        _check(1 <= self.webhook_max_attempts <= 20, "WEBHOOK_MAX_ATTEMPTS", "must be 1..20")
        _check(0 <= self.webhook_retry_seconds <= 3600, "WEBHOOK_RETRY_SECONDS", "must be 0..3600")

    def _validate_inventory(self) -> None:
        """The inventory defaults, in the ranges the API accepts per category and product."""
        _check(1 <= self.inventory_lead_time_days <= 365, "INVENTORY_LEAD_TIME_DAYS", "must be 1..365")
        _check(0.5 <= self.inventory_service_level < 1, "INVENTORY_SERVICE_LEVEL", "must be >= 0.5 and < 1")
        _check(1 <= self.inventory_review_days <= 365, "INVENTORY_REVIEW_DAYS", "must be 1..365")
        _check(math.isfinite(self.inventory_order_cost) and self.inventory_order_cost >= 0, "INVENTORY_ORDER_COST",
               "must be >= 0 (0: unknown)")
        _check(math.isfinite(self.inventory_holding_cost_rate) and 0 < self.inventory_holding_cost_rate <= 10,
               "INVENTORY_HOLDING_COST_RATE", "must be > 0 and <= 10")

    def webhook_retry_intervals(self) -> list[int]:
        """The waits before each retry of a delivery: WEBHOOK_RETRY_SECONDS, then four times longer each time."""
        return [self.webhook_retry_seconds * 4**i for i in range(self.webhook_max_attempts - 1)]

    def _validate_cache(self) -> None:
        """The API's response cache: sizes of 0 turn it off, entries must expire."""
        _check(self.response_cache_entries >= 0, "RESPONSE_CACHE_ENTRIES", "must be >= 0 (0: no response cache)")
        _check(self.response_cache_mb >= 0, "RESPONSE_CACHE_MB", "must be >= 0 (0: no response cache)")
        _check(math.isfinite(self.response_cache_seconds) and self.response_cache_seconds > 0,
               "RESPONSE_CACHE_SECONDS", "must be > 0")

    def _validate_access(self) -> None:
        """The keys, the environment and CORS: the settings that decide who may call the API."""
        _check(self.castflow_env in ENVIRONMENTS, "CASTFLOW_ENV", f"must be one of {', '.join(ENVIRONMENTS)}")
        _check(not self.read_api_key or bool(self.api_key), "READ_API_KEY",
               "is set but API_KEY is empty: a read-only key only makes sense beside a full key")
        _check(not self.read_api_key or self.read_api_key != self.api_key, "READ_API_KEY", "must differ from API_KEY")
        if self.is_production:
            _check(bool(self.api_key), "API_KEY", "is required when CASTFLOW_ENV=production (without it every "
                                                  f"endpoint is open to anyone); generate one with: {KEY_RECIPE}")
            for name, key in (("API_KEY", self.api_key), ("READ_API_KEY", self.read_api_key)):
                _check(not key or len(key) >= MIN_KEY_LENGTH, name,
                       f"is shorter than {MIN_KEY_LENGTH} characters; generate one with: {KEY_RECIPE}")
        for origin in self.cors_origin_list:
            _check(_ORIGIN.fullmatch(origin) is not None, "CORS_ORIGINS",
                   f"entry {origin[:80]!r} is not an exact origin such as https://app.example.com "
                   "(scheme and host, optional port; no path, no trailing slash, no wildcard)")

    @property
    def is_production(self) -> bool:
        """True when CASTFLOW_ENV=production."""
        return self.castflow_env == "production"

    @property
    def cors_origin_list(self) -> tuple[str, ...]:
        """CORS_ORIGINS as a tuple of origins (empty: CORS off)."""
        return tuple(origin.strip() for origin in self.cors_origins.split(",") if origin.strip())

    @property
    def file_limits(self) -> Limits:
        """MAX_ROWS, MAX_COLUMNS and MAX_CELL_CHARS, for the upload check and the ETL reader."""
        return Limits(max_rows=self.max_rows, max_columns=self.max_columns, max_cell_chars=self.max_cell_chars)

    def secrets(self) -> tuple[str, ...]:
        """Every value that must never reach a log: the API keys and the passwords in the URLs."""
        passwords = [url_password(self.database_url), url_password(self.read_database_url),
                     url_password(self.redis_url)]
        values = [self.api_key, self.read_api_key, self.s3_secret_access_key, self.webhook_secret, *passwords,
                  *(unquote(p) for p in passwords)]
        return tuple(dict.fromkeys(value for value in values if value))

    def __repr__(self) -> str:
        # Settings end up in tracebacks and debug logs: never with a key or a password in them.
        shown = []
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name in ("api_key", "read_api_key", "s3_secret_access_key", "webhook_secret"):
                value = "***" if value else ""
            elif field.name.endswith("_url"):
                value = mask_url(value)
            shown.append(f"{field.name}={value!r}")
        return f"Settings({', '.join(shown)})"

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


def url_password(url: str) -> str:
    """The password in a URL such as mysql+pymysql://user:pass@host/db (as written, %-escapes kept), or ''."""
    try:
        return urlsplit(url).password or ""
    except ValueError:
        return ""


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***, safe to log."""
    if not url_password(url):
        return url
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _check(ok: bool, name: str, why: str) -> None:
    if not ok:
        raise SettingsError(f"{name} {why}")


#: How a yes/no setting may be written (case-insensitive).
_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _convert(name: str, raw: str, kind: type) -> object:
    raw = raw.strip()
    if kind is bool:
        if raw.lower() not in _BOOLEANS:
            raise SettingsError(f"{name}={raw!r} is not a yes/no value (1/0, true/false, yes/no, on/off)")
        return _BOOLEANS[raw.lower()]
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
