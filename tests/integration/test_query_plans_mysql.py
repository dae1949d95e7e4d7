"""The query endpoints' SQL on the real MariaDB/MySQL: each uses its intended index and scans no table whole.

The statements are the ones the API really issues (captured with a before_cursor_execute hook while
the route runs through the Flask test client), EXPLAINed with their parameters on a database seeded
like the load benchmark's, only smaller, and analysed.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from bench.loadseed import Seeded, Shape, seed

pytestmark = pytest.mark.integration

#: Big enough that a full scan costs the optimizer more than an index: 36,000 observations, 19,200
#: forecast rows in 80 completed runs of 40 categories, 300 batches.
SHAPE = Shape(categories=40, products=6, days=150, horizon=60, batches=300)

RUN_INDEX, CATEGORY_INDEX = "ix_forecast_data_run", "ix_forecast_data_category"


@pytest.fixture
def seeded(settings) -> Seeded:
    """The test database, seeded and analysed."""
    return seed(settings.database_url, SHAPE)


@pytest.fixture
def plans(seeded, app, engine):
    """GET a path through the API; answer [(statement, EXPLAIN rows as dicts)] for each SELECT it issued."""

    def run(path: str) -> list[tuple[str, list[dict]]]:
        issued: list[tuple[str, object]] = []

        def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
            issued.append((statement, parameters))

        event.listen(engine, "before_cursor_execute", capture)
        try:
            response = app.test_client().get(path)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        assert response.status_code == 200, response.get_data(as_text=True)
        return [(statement, explain(engine, statement, parameters)) for statement, parameters in issued
                if re.match(r"\s*SELECT\b.*\bFROM\b", statement, re.IGNORECASE | re.DOTALL)]

    return run


def explain(engine, statement: str, parameters: object) -> list[dict]:
    """EXPLAIN's rows for one statement with its parameters."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN " + statement, parameters)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        raw.close()


def accesses(found: list[tuple[str, list[dict]]], table: str) -> list[dict]:
    """Every plan row that reads `table` (under its own name or an alias of it)."""
    return [row for _, rows in found for row in rows if (row["table"] or "").startswith(table)]


def assert_no_full_scan(found: list[tuple[str, list[dict]]], allowed: tuple[str, ...] = ()) -> None:
    """No real table (derived tables are the query's own small results) is read with type ALL."""
    for statement, rows in found:
        for row in rows:
            table = row["table"] or ""
            if not table.startswith("<") and table not in allowed:
                assert row["type"] != "ALL", f"full scan of {table}:\n{statement}\n{rows}"


@pytest.mark.parametrize(("query", "indexes"), [
    ("category=cat-007", {RUN_INDEX}),
    ("category=cat-007&model_type=sarimax", {RUN_INDEX}),
    ("category=cat-007&model_type=prophet&start_date=2024-05-02&end_date=2024-05-15", {RUN_INDEX}),
    # Every category: MariaDB may read the page in order off the category index and stop at the limit,
    # or range over the latest runs' ids and sort; both are index reads.
    ("start_date=2024-05-02&end_date=2024-05-08", {RUN_INDEX, CATEGORY_INDEX}),
    ("model_type=holt_winters&start_date=2024-05-10&end_date=2024-05-10", {RUN_INDEX, CATEGORY_INDEX}),
    # Without model_type each run's recommended forecast (or best model): looked up per run by index,
    # then read as (run_id, model_type) ranges; model_type=all and lists read as before.
    ("", {RUN_INDEX, CATEGORY_INDEX}),
    ("model_type=all&start_date=2024-05-02&end_date=2024-05-08", {RUN_INDEX, CATEGORY_INDEX}),
    ("category=cat-007&model_type=recommended,prophet", {RUN_INDEX}),
    ("category=cat-007&model_type=all", {RUN_INDEX}),
])
def test_forecast_data_filters_use_their_index(plans, query, indexes):
    """/forecast-data reads forecast_data through an index and finds the latest completed run through its own."""
    found = plans(f"/forecast-data?{query}")
    data = accesses(found, "forecast_data")
    assert data and {row["key"] for row in data} <= indexes, data
    assert_no_full_scan(found)
    for row in accesses(found, "forecast_runs"):
        assert row["key"] in ("ix_forecast_runs_category_status", "PRIMARY"), row


def test_forecast_data_of_a_named_run_reads_that_run_by_index(plans, seeded):
    """/forecast-data?run_id= (an older run) is a ref on the run index."""
    found = plans(f"/forecast-data?run_id={seeded.completed_runs[3]}&model_type=ensemble")
    assert [(row["key"], row["type"]) for row in accesses(found, "forecast_data")] == [(RUN_INDEX, "ref")]
    assert_no_full_scan(found)


def test_latest_runs_of_one_category_are_one_index_lookup(plans):
    """The latest completed run of one category costs no scan: MAX(id) is read off the (category, status, id) index."""
    found = plans("/forecast-data?category=cat-011&model_type=sarimax")
    runs = accesses(found, "forecast_runs")
    assert all(row["key"] == "ix_forecast_runs_category_status" for row in runs)
    extra = " ".join(row["Extra"] or "" for _, rows in found for row in rows)
    assert runs or "optimized away" in extra  # MariaDB answers a MAX over an index prefix without a table read


@pytest.mark.parametrize("query", ["category=cat-007", "category=cat-007&model_type=prophet",
                                   "model_type=prophet"])
def test_forecast_metrics_use_an_index(plans, query):
    """/forecast-metrics reads forecast_metrics by run (or category and run)."""
    found = plans(f"/forecast-metrics?{query}")
    rows = accesses(found, "forecast_metrics")
    assert rows and {row["key"] for row in rows} <= {"ix_forecast_metrics_run", "ix_forecast_metrics_category"}
    assert_no_full_scan(found)


def test_categories_read_the_stats_not_the_observations(plans):
    """/categories reads category_stats (one row per category, all of them wanted) and never invoice_data."""
    plans("/categories")  # the first call fills category_stats from the seeded observations
    found = plans("/categories")
    assert not accesses(found, "invoice_data")
    assert accesses(found, "category_stats")
    for row in accesses(found, "forecast_metrics"):
        assert row["key"] == "ix_forecast_metrics_run"
    assert_no_full_scan(found, allowed=("category_stats",))


def test_one_batch_is_a_primary_key_lookup(plans):
    """/batches/<id> reads one upload_metadata row by its key."""
    found = plans("/batches/123")
    assert [(row["key"], row["type"]) for row in accesses(found, "upload_metadata")] == [("PRIMARY", "const")]


def test_invoice_data_by_category_and_dates_uses_the_category_date_index(plans):
    """/invoice-data?category=&start_date=&end_date= (its count and its page) ranges over (category, date)."""
    found = plans("/invoice-data?category=cat-003&start_date=2023-02-01&end_date=2023-02-28&limit=50")
    rows = accesses(found, "invoice_data")
    assert len(rows) == 2 and {(row["key"], row["type"]) for row in rows} == {("ix_invoice_category_date", "range")}
    assert_no_full_scan(found)
