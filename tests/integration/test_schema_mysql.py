"""One schema: sql/schema.sql and the SQLAlchemy models build the same tables on MariaDB/MySQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from common.db import create_schema, make_engine

pytestmark = pytest.mark.integration
SCHEMA = Path(__file__).resolve().parents[2] / "sql" / "schema.sql"


def describe(engine) -> dict[str, object]:
    """Columns (type, nullability, default, collation) and indexes of every table, from information_schema."""
    with engine.connect() as conn:
        columns = conn.execute(text(
            "SELECT table_name, column_name, column_type, is_nullable, column_default, collation_name, extra "
            "FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position"
        )).all()
        indexes = conn.execute(text(
            "SELECT table_name, index_name, non_unique, seq_in_index, column_name FROM information_schema.statistics "
            "WHERE table_schema = DATABASE() ORDER BY table_name, index_name, seq_in_index"
        )).all()
        tables = conn.execute(text(
            "SELECT table_name, engine, table_collation FROM information_schema.tables "
            "WHERE table_schema = DATABASE() ORDER BY table_name"
        )).all()
    return {"columns": [tuple(r) for r in columns], "indexes": [tuple(r) for r in indexes],
            "tables": [tuple(r) for r in tables]}


def run_sql_file(url: str, path: Path) -> None:
    """Run a SQL file the way the MySQL container's init does: through the command-line client."""
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        pytest.skip("no mariadb/mysql command-line client to run sql/schema.sql with")
    parsed = make_url(url)
    argv = [client, f"-h{parsed.host}", f"-P{parsed.port or 3306}", f"-u{parsed.username}", parsed.database]
    env = {**os.environ, "MYSQL_PWD": parsed.password or ""}
    with path.open("rb") as script:
        subprocess.run(argv, stdin=script, env=env, check=True, capture_output=True)


@pytest.fixture
def second_url(mysql_server, mysql_url):
    """Another fresh database next to mysql_url."""
    name = mysql_url.rsplit("/", 1)[1] + "_b"
    with mysql_server.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    yield mysql_url.rsplit("/", 1)[0] + "/" + name
    with mysql_server.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))


def test_sql_file_and_models_agree(mysql_url, second_url):
    """Running sql/schema.sql gives exactly the tables, columns and indexes that create_schema gives."""
    from_file, from_models = make_engine(mysql_url), make_engine(second_url)
    run_sql_file(mysql_url, SCHEMA)
    create_schema(from_models)
    try:
        assert describe(from_file) == describe(from_models)
        assert len(describe(from_file)["tables"]) >= 4
    finally:
        from_file.dispose()
        from_models.dispose()


def test_schema_creation_is_safe_when_processes_start_together(mysql_url):
    """Several create_schema calls at once (API and workers starting) all succeed, once."""
    engines = [make_engine(mysql_url) for _ in range(4)]
    errors: list[Exception] = []

    def create(engine) -> None:
        try:
            create_schema(engine)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    create_schema(engines[0])  # and again, idempotent
    for engine in engines:
        engine.dispose()
    assert errors == []


def test_an_older_schema_gains_the_new_columns_and_matches_the_current_one(mysql_url, second_url):
    """Tables made before p10/p50/p90, coverage80, wql and recommended_method get them at start-up (at the end of
    the table: the same columns, types and indexes, in another order), rows kept."""
    old, current = make_engine(mysql_url), make_engine(second_url)
    run_sql_file(mysql_url, SCHEMA)
    try:
        with old.begin() as conn:
            for table, column in [("forecast_data", "p10"), ("forecast_data", "p50"), ("forecast_data", "p90"),
                                  ("forecast_metrics", "coverage80"), ("forecast_metrics", "wql"),
                                  ("forecast_runs", "recommended_method")]:
                conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
            conn.execute(text("INSERT INTO forecast_runs (category, status, horizon_days) VALUES ('A', 'done', 30)"))
        create_schema(old)
        create_schema(current)
        upgraded, made = describe(old), describe(current)
        assert sorted(upgraded.pop("columns")) == sorted(made.pop("columns"))
        assert upgraded == made
        with old.connect() as conn:
            assert conn.execute(text("SELECT category, recommended_method FROM forecast_runs")).one() == ("A", None)
    finally:
        old.dispose()
        current.dispose()
