"""Security on the real MariaDB: injection strings, the API's statement timeout, and a password-protected
database whose password never reaches the logs."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import replace

import pytest
from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from common.config import settings_env
from common.db import is_statement_timeout, make_engine
from services.api import create_app, services
from tests.api.test_security_injection import check_every_request, seed
from tests.conftest import upload

pytestmark = pytest.mark.integration

GOOD = "Date,product_id,category,sales\n" + "".join(f"2023-01-{d:02d},p,c,{d}\n" for d in range(1, 11))


def test_injection_strings_read_nothing_and_change_nothing_on_mariadb(client, drain, engine):
    """Every payload in every filter of every read endpoint: 200 without rows, 400 or 404; tables intact."""
    seed(client, drain, engine)
    assert check_every_request(client, engine) > 500


# The API's statement timeout


@pytest.fixture
def timed_app(app, settings, real_redis):
    """An app that builds its own engine, as in production, with API_QUERY_TIMEOUT_SECONDS=1 (jobs read the
    environment `app` set)."""
    app = create_app(replace(settings, api_query_timeout_seconds=1), redis=real_redis)
    yield app
    services_of(app).engine.dispose()


def services_of(app):  # noqa: ANN001, ANN201
    with app.app_context():
        return services()


def test_api_engine_stops_a_slow_statement(timed_app):
    """SELECT SLEEP(5) on the API's engine is stopped after about 1 s with the statement-timeout error."""
    started = time.monotonic()
    with pytest.raises(OperationalError) as caught, services_of(timed_app).engine.connect() as conn:
        conn.execute(text("SELECT SLEEP(5)"))
    assert is_statement_timeout(caught.value)
    assert time.monotonic() - started < 3


def test_slow_statement_in_a_request_is_503(timed_app):
    """A request whose query outlives the limit answers 503 "the query took too long" as JSON."""
    extra = Blueprint("slow_for_test", __name__)

    @extra.get("/test-only/slow")
    def slow():  # noqa: ANN202
        with services().sessions() as session:
            session.execute(text("SELECT SLEEP(5)"))
        return {}

    timed_app.register_blueprint(extra)
    response = timed_app.test_client().get("/test-only/slow")
    assert response.status_code == 503
    assert response.json["error"].startswith("the query took too long")


def test_ordinary_requests_work_under_the_limit(timed_app, drain):
    """Upload, load and read back through an app whose engine has the limit: nothing ordinary trips it."""
    client = timed_app.test_client()
    assert upload(client, GOOD).status_code == 202
    drain()
    assert client.get("/invoice-data").json["pagination"]["total_items"] == 10


def test_other_engines_have_no_limit(settings):
    """The workers' engines (no statement_timeout_s) let a long statement finish."""
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT SLEEP(1.5)")).scalar() == 0
    finally:
        engine.dispose()


def test_streamed_read_outlives_the_limit(settings):
    """A streamed read (a download, paced by its client) is not cut at the API's limit."""
    engine = make_engine(settings.database_url, statement_timeout_s=1)
    query = text("SELECT a.seq * 1000 + b.seq, REPEAT('x', 100) FROM seq_0_to_999 a, seq_0_to_299 b")
    started, seen = time.monotonic(), 0
    try:
        with Session(engine) as session:
            for chunk in session.execute(query.execution_options(yield_per=10_000)).partitions(10_000):
                seen += len(chunk)
                time.sleep(0.1)
    finally:
        engine.dispose()
    assert seen == 300_000 and time.monotonic() - started > 2.5


# The database password stays out of the logs


@pytest.fixture
def password_url(mysql_server, mysql_url):
    """The test database through an account of its own with a password; the account is dropped afterwards."""
    user, password = f"cf_{uuid.uuid4().hex[:10]}", f"Pw-{uuid.uuid4().hex[:16]}"
    database = make_url(mysql_url).database
    with mysql_server.connect() as conn:
        conn.execute(text(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'"))
        conn.execute(text(f"GRANT ALL ON {database}.* TO '{user}'@'%'"))
    yield make_url(mysql_url).set(username=user, password=password).render_as_string(hide_password=False), password
    with mysql_server.connect() as conn:
        conn.execute(text(f"DROP USER IF EXISTS '{user}'@'%'"))


def test_database_password_never_logged(settings, password_url, real_redis, drain, monkeypatch, capsys,
                                        restore_logging):
    """App start, an upload, the ETL job (whose batch fails on a bad row), a timed-out query: the logs
    show the database URL with *** and never the password."""
    url, password = password_url
    deployed = replace(settings, database_url=url, log_format="json", api_key="key-" + uuid.uuid4().hex)
    monkeypatch.setenv("CASTFLOW_ENV_FILE", "")
    for name, value in settings_env(deployed).items():
        monkeypatch.setenv(name, value)
    app = create_app(redis=real_redis)
    try:
        client = app.test_client()
        headers = {"X-API-Key": deployed.api_key}
        assert upload(client, GOOD, **headers).status_code == 202
        assert upload(client, GOOD.replace("2023-01-05", "2023-02-30") + "x,p,c,1\n" * 5, "bad.csv",
                      **headers).status_code == 202
        drain()
        statuses = sorted(b["status"] for b in client.get("/metadata", headers=headers).json)
        assert statuses == ["completed", "failed"]
    finally:
        services_of(app).engine.dispose()
    logs = capsys.readouterr().err
    entries = [json.loads(line) for line in logs.splitlines() if line.strip()]
    start = next(e["message"] for e in entries if e["message"].startswith("api ready"))
    assert f"{make_url(url).username}:***@" in start
    assert password not in logs
