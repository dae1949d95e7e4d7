"""A database made before backtests were stored gets forecast_backtests at start-up, its runs kept and readable."""

from __future__ import annotations

from sqlalchemy import inspect, text

from common.db import create_schema, make_engine


def test_start_up_adds_the_backtests_table_to_an_old_database(tmp_path):
    """An old forecast_runs with a completed run: the new table appears empty beside it, the run untouched."""
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE forecast_runs (id INTEGER PRIMARY KEY, category VARCHAR(100) NOT NULL, "
                          "batch_num INTEGER, status VARCHAR(20) NOT NULL, horizon_days INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO forecast_runs VALUES (1, 'north', NULL, 'completed', 30)"))
    create_schema(engine)
    assert "forecast_backtests" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM forecast_backtests")).scalar() == 0
        assert conn.execute(text("SELECT category, status FROM forecast_runs")).one() == ("north", "completed")
    engine.dispose()
