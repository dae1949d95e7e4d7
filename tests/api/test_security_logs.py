"""Structured logs: text or JSON lines, job ids bound to every record, and no secret or file content in them."""

from __future__ import annotations

import io
import json
import logging
import sys
from dataclasses import replace

import pytest
from rq import SimpleWorker

from common.config import Settings, settings_env
from common.logs import (
    JsonFormatter,
    TextFormatter,
    bind_log_fields,
    configure_logging,
    job_log_context,
    log_context,
    setup_logging,
)
from common.queue import FORECAST_QUEUE, queue
from services.api import create_app
from tests.conftest import upload

API_KEY = "full-key-Zq8W3mX1vB7nL2pK"
READ_KEY = "read-key-Hh5Rt9Yu2Io4Pa6S"
REDIS_PASSWORD = "redis-pw-Jd7Fk3Ls"
DB_URL = "mysql+pymysql://castflow:db-pw%40Q9w8E7r6@db.internal:3306/castflow"
ROW_SECRET = "ROW-CONTENT-7a3f9e"


def record(message: str = "hello %s", args: tuple = ("world",), exc_info=None) -> logging.LogRecord:  # noqa: ANN001
    """A log record as a logger would make it."""
    return logging.LogRecord("castflow.test", logging.WARNING, __file__, 1, message, args, exc_info)


def emit(fmt: str, log: logging.LogRecord | None = None, secrets: tuple[str, ...] = ()) -> str:
    """What a castflow handler writes for one record."""
    out = io.StringIO()
    setup_logging("INFO", fmt, secrets, stream=out)
    logging.getLogger("castflow.test").handle(log or record())
    return out.getvalue()


# Formats


def test_json_line_has_time_level_logger_message(restore_logging):
    """LOG_FORMAT=json writes one JSON object per record with time, level, logger and message."""
    entry = json.loads(emit("json"))
    assert entry["level"] == "WARNING" and entry["logger"] == "castflow.test" and entry["message"] == "hello world"
    assert entry["time"].startswith("20") and "T" in entry["time"]
    assert "batch_num" not in entry and "job_id" not in entry


def test_json_line_carries_bound_ids(restore_logging):
    """Inside log_context, records carry batch_num, run_id and job_id (as JSON fields)."""
    with log_context(batch_num=7, job_id="etl-7"):
        bind_log_fields(run_id=3)
        entry = json.loads(emit("json"))
    assert (entry["batch_num"], entry["run_id"], entry["job_id"]) == (7, 3, "etl-7")
    assert "batch_num" not in json.loads(emit("json")), "the context ends with its block"


def test_text_line_shows_bound_ids(restore_logging):
    """The text format appends the bound ids to the line."""
    with log_context(batch_num=7, job_id="etl-7"):
        line = emit("text")
    assert line.rstrip().endswith("castflow.test: hello world batch_num=7 job_id=etl-7")


def test_json_keeps_the_traceback_as_one_field(restore_logging):
    """An exception's traceback is the `exception` field of the same JSON line."""
    try:
        raise ValueError("boom")
    except ValueError:
        line = emit("json", record("failed", (), sys.exc_info()))
    assert len(line.strip().splitlines()) == 1
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_job_decorator_binds_the_id_and_rq_job_id(restore_logging):
    """A job wrapped by job_log_context logs with its id and RQ's job id, through a real RQ worker."""
    import fakeredis

    redis = fakeredis.FakeRedis(server=fakeredis.FakeServer())
    out = io.StringIO()
    setup_logging("INFO", "json", stream=out)
    queue(redis, "jobs").enqueue(logged_job, 42, job_id="job-42")
    SimpleWorker([queue(redis, "jobs")], connection=redis).work(burst=True)
    mine = [json.loads(line) for line in out.getvalue().splitlines() if "inside the job" in line]
    assert [(e["run_id"], e["job_id"]) for e in mine] == [(42, "job-42")]


@job_log_context("run_id")
def logged_job(run_id: int) -> None:
    """A job that logs one line."""
    logging.getLogger("castflow.test").info("inside the job %s", run_id)


# Secrets


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_are_masked_in_messages_and_tracebacks(restore_logging, fmt):
    """A key or a password in a message, an argument or a traceback is written as ***."""
    settings = Settings(api_key=API_KEY, read_api_key=READ_KEY, database_url=DB_URL)
    try:
        raise RuntimeError(f"could not connect to {DB_URL} with {READ_KEY}")
    except RuntimeError:
        log = record("header %s url %s", (API_KEY, DB_URL.replace("%40", "@")), sys.exc_info())
    out = emit(fmt, log, settings.secrets())
    for secret in (API_KEY, READ_KEY, "db-pw%40Q9w8E7r6", "db-pw@Q9w8E7r6"):
        assert secret not in out
    assert "***" in out and "castflow:***@db.internal" in out


def test_masked_json_stays_valid_json(restore_logging):
    """Masking happens before serialising, so secrets with JSON-escaped characters are masked too."""
    out = emit("json", record("key %s", ('we"ird\\key-0123456',)), ('we"ird\\key-0123456',))
    assert json.loads(out)["message"] == "key ***"


@pytest.fixture
def keyed_env(settings, monkeypatch, restore_logging):
    """The environment gunicorn's create_app() reads: keys, a Redis password, JSON logs."""
    keyed = replace(settings, api_key=API_KEY, read_api_key=READ_KEY, log_format="json",
                    redis_url=f"redis://:{REDIS_PASSWORD}@cache.internal:6379/0")
    monkeypatch.setenv("CASTFLOW_ENV_FILE", "")
    for name, value in settings_env(keyed).items():
        monkeypatch.setenv(name, value)


def test_start_upload_and_jobs_log_no_secret_and_no_file_content(keyed_env, engine, redis, capsys):
    """App start, uploads (one refused, one whose rows are all rejected), the ETL and forecast jobs: the logs
    are JSON lines holding neither a key, nor the Redis password, nor a rejected row's value."""
    client = create_app(engine=engine, redis=redis).test_client()
    headers = {"X-API-Key": API_KEY}
    good = "Date,product_id,category,sales\n" + "".join(f"2023-01-{d:02d},p,c,{d}\n" for d in range(1, 29))
    bad = "Date,product_id,category,sales\n" + f"{ROW_SECRET},p,c,1\n" * 3
    assert upload(client, good, "good.csv", **headers).status_code == 202
    assert upload(client, bad, "bad.csv", **headers).status_code == 202
    assert upload(client, "x", "nope.csv", **{"X-API-Key": READ_KEY}).status_code == 403
    assert client.get("/metadata", headers={"X-API-Key": "wrong-" + API_KEY}).status_code == 401
    SimpleWorker([queue(redis, "etl")], connection=redis).work(burst=True)
    SimpleWorker([queue(redis, FORECAST_QUEUE)], connection=redis).work(burst=True)
    batches = client.get("/metadata", headers=headers).json
    assert sorted(b["status"] for b in batches) == ["completed", "failed"]
    assert ROW_SECRET in next(b["error_log"] for b in batches if b["status"] == "failed")
    logs = capsys.readouterr().err
    entries = [json.loads(line) for line in logs.splitlines() if line.strip()]
    assert any(e["message"].startswith("api ready") for e in entries)
    assert any(e.get("batch_num") == 1 and e.get("job_id") for e in entries), "the ETL job's records carry ids"
    assert any(e.get("run_id") and e.get("batch_num") == 1 for e in entries), "the forecast job's records too"
    for secret in (API_KEY, READ_KEY, REDIS_PASSWORD, ROW_SECRET):
        assert secret not in logs


def test_configure_logging_takes_format_and_secrets_from_settings(restore_logging):
    """configure_logging applies LOG_FORMAT and masks the settings' secrets."""
    out = io.StringIO()
    configure_logging(Settings(log_format="json", api_key=API_KEY), stream=out)
    logging.getLogger("castflow.test").warning("key=%s", API_KEY)
    assert json.loads(out.getvalue())["message"] == "key=***"


def test_text_formatter_and_json_formatter_mask_given_secrets():
    """Both formatters mask on their own, whoever installs them (gunicorn's handlers, say)."""
    for formatter in (TextFormatter([API_KEY]), JsonFormatter([API_KEY])):
        assert API_KEY not in formatter.format(record("%s", (API_KEY,)))
