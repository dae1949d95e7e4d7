"""A database made by an older castflow gets the new nullable columns at start-up, with its rows kept."""

from __future__ import annotations

from sqlalchemy import inspect, text

from common.db import add_missing_columns, create_schema, drop_retired_tables, make_engine


def test_start_up_adds_new_columns_to_an_old_table_and_keeps_its_rows(tmp_path):
    """forecast_data without the quantile columns gains p10/p50/p90; its existing row is still there."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE TABLE forecast_data (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, batch_num INTEGER, "
            "category VARCHAR(100) NOT NULL, model_type VARCHAR(20) NOT NULL, forecast_date DATE NOT NULL, "
            "forecast_value FLOAT NOT NULL, lower_bound FLOAT NOT NULL, upper_bound FLOAT NOT NULL)"))
        conn.execute(text("INSERT INTO forecast_data VALUES (1, 1, NULL, 'A', 'prophet', '2017-01-01', 5, 4, 6)"))
    create_schema(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("forecast_data")}
    assert {"p10", "p50", "p90"} <= columns
    with engine.connect() as conn:
        assert conn.execute(text("SELECT forecast_value, p50 FROM forecast_data")).one() == (5.0, None)
    engine.dispose()


def test_a_current_schema_needs_no_column(tmp_path):
    """On tables the current code made, nothing is added or dropped."""
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    create_schema(engine)
    with engine.begin() as conn:
        assert add_missing_columns(conn) == []
        assert drop_retired_tables(conn) == []
    engine.dispose()


def test_start_up_drops_the_stored_scores_of_an_older_castflow(tmp_path):
    """forecast_accuracy (scores stored by the merge, now computed when read) is dropped; the other tables and
    their rows stay."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE forecast_accuracy (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, "
                          "abs_error FLOAT NOT NULL)"))
        conn.execute(text("INSERT INTO forecast_accuracy VALUES (1, 1, 2.5)"))
        conn.execute(text("INSERT INTO category_settings (category) VALUES ('A')"))
    create_schema(engine)
    tables = set(inspect(engine).get_table_names())
    assert "forecast_accuracy" not in tables and "category_settings" in tables
    with engine.connect() as conn:
        assert conn.execute(text("SELECT category FROM category_settings")).scalar() == "A"
    engine.dispose()


def _create(path: str) -> None:
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    engine.dispose()


def test_processes_starting_together_on_a_fresh_sqlite_file_all_create_the_schema(tmp_path):
    """Four processes (gunicorn's workers, the workers) creating the tables at once all succeed.

    Without the write lock taken up front most of them failed with "database is locked".
    """
    import multiprocessing

    for attempt in range(3):
        path = str(tmp_path / f"race-{attempt}.db")
        processes = [multiprocessing.get_context("fork").Process(target=_create, args=(path,)) for _ in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
        assert [p.exitcode for p in processes] == [0, 0, 0, 0]


def test_start_up_gives_an_old_upload_metadata_categories_from(tmp_path):
    """upload_metadata made before wide files gains the nullable categories_from; its batch keeps its row."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE TABLE upload_metadata (batch_num INTEGER PRIMARY KEY, original_filename VARCHAR(255) NOT NULL, "
            "stored_filename VARCHAR(255) NOT NULL, file_hash VARCHAR(64) NOT NULL, mapping TEXT, "
            "mapping_digest VARCHAR(64) NOT NULL DEFAULT '', status VARCHAR(20) NOT NULL DEFAULT 'uploaded')"))
        conn.execute(text("INSERT INTO upload_metadata (batch_num, original_filename, stored_filename, file_hash) "
                          "VALUES (1, 'a.csv', 'h.csv', 'h')"))
    create_schema(engine)
    assert "categories_from" in {c["name"] for c in inspect(engine).get_columns("upload_metadata")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT original_filename, categories_from FROM upload_metadata")).one() == \
            ("a.csv", None)
    engine.dispose()


def test_start_up_gives_old_settings_and_runs_their_grain_columns(tmp_path):
    """category_settings and forecast_runs made before grains gain the grain columns; their rows are kept, a
    setting still overriding the calendar (holiday_country_default null) and a run read as daily (grain null)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE category_settings (category VARCHAR(100) PRIMARY KEY, "
                          "holiday_country VARCHAR(10), updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO category_settings (category, holiday_country) VALUES ('A', NULL)"))
        conn.execute(text("CREATE TABLE forecast_runs (id INTEGER PRIMARY KEY, category VARCHAR(100) NOT NULL, "
                          "batch_num INTEGER, status VARCHAR(20) NOT NULL DEFAULT 'pending', "
                          "horizon_days INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO forecast_runs (id, category, horizon_days) VALUES (1, 'A', 30)"))
    create_schema(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT holiday_country_default, grain, horizon FROM category_settings")).one() \
            == (None, None, None)
        assert conn.execute(text("SELECT horizon_days, grain, grain_anchor, horizon_periods, grain_problem "
                                 "FROM forecast_runs")).one() == (30, None, None, None, None)
    engine.dispose()
