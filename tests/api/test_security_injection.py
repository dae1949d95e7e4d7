"""SQL injection: hostile text in every filter of every read endpoint is a 200 without rows or a 4xx, never a
5xx, and every table keeps its rows. tests/integration/test_security_mysql.py runs the same on MariaDB."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from common.models import Base, ForecastData, ForecastMetric, ForecastRun
from tests.conftest import upload

#: Classic injection strings, LIKE wildcards, comment and terminator tricks, a NUL byte, a UNION that
#: would copy rows out, a time-based probe, and values that are right for one column but wrong for another.
PAYLOADS = (
    "' OR '1'='1",
    "' OR 1=1 --",
    "1; DROP TABLE invoice_data;--",
    "%' --",
    '" OR ""="',
    "\x00",
    "store-1\x00' OR '1'='1",
    "store-1' UNION SELECT date, product_id, category, sales, is_imputed, batch_num, version FROM invoice_data --",
    "store-1'; DELETE FROM upload_metadata; --",
    "') OR ('a'='a",
    "1 OR 1=1",
    "1)) OR ((1=1",
    "' AND SLEEP(3) --",
    "%",
    "_",
    "\\",
    "store-1\\' OR 1=1 #",
    "2023-01-01' OR '1'='1",
    "holt_winters' OR '1'='1",
    "-1",
    "0x31",
)
#: Each read endpoint and the query parameters it filters or pages on.
ENDPOINTS = {
    "/invoice-data": ("category", "product_id", "batch_num", "start_date", "end_date", "page", "limit"),
    "/forecast-data": ("category", "model_type", "run_id", "start_date", "end_date", "limit", "offset"),
    "/forecast-metrics": ("category", "model_type", "run_id"),
    "/metadata": ("limit", "offset", "status"),
    "/batches/1/errors": ("format",),
    "/categories/store-1/settings": (),
    "/categories/store-1/history": ("start_date", "end_date"),
    "/forecast-data/export": ("category", "model_type", "run_id", "start_date", "end_date", "format"),
    "/forecast-data/export?format=xlsx": ("category", "model_type", "run_id", "start_date", "end_date"),
}
#: Endpoints with the payload in the path itself ({} is where it goes).
PATH_ENDPOINTS = ("/batches/{}/errors", "/categories/{}/settings", "/categories/{}/history",
                  "/batches/{}", "/categories/{}/history?start_date=2023-01-01")
#: Statuses a hostile value may get: read nothing (200), refused (400), not found (404).
HARMLESS = (200, 400, 404)
SALES = "Date,product_id,category,sales\n" + "".join(
    f"2023-01-{day:02d},item-{item},store-{store},{day + item}\n"
    for day in range(1, 15) for item in (1, 2) for store in (1, 2)
) + "2023-01-15,item-1,O'Brien \"Store\",3\n2023-13-01,item-1,store-1,1\n"


def requests() -> Iterator[tuple[str, dict[str, str]]]:
    """Every (path, query) pair the test sends: each payload in each parameter and in each path slot."""
    for endpoint, params in ENDPOINTS.items():
        path, _, fixed = endpoint.partition("?")
        base = dict(p.split("=") for p in fixed.split("&")) if fixed else {}
        for param in params:
            for payload in PAYLOADS:
                yield path, {**base, param: payload}
        yield path, {**base, "category' OR '1'='1": "x"}  # in a parameter's name
    for template in PATH_ENDPOINTS:
        path, _, fixed = template.partition("?")
        base = dict(p.split("=") for p in fixed.split("&")) if fixed else {}
        for payload in PAYLOADS:
            yield path.format(quote(payload, safe="")), base


def seed(client, drain, engine: Engine) -> None:
    """Observations of three categories (one with quotes in its name), a rejected row, a forecast run."""
    assert upload(client, SALES, "sales.csv").status_code == 202
    drain()
    with Session(engine) as session, session.begin():
        run = ForecastRun(category="store-1", status="completed", horizon_days=3, created_at=dt.datetime(2023, 2, 1),
                          batch_num=1)
        session.add(run)
        session.flush()
        session.add_all(ForecastData(run_id=run.id, batch_num=1, category="store-1", model_type="holt_winters",
                                     forecast_date=dt.date(2023, 1, 15) + dt.timedelta(days=n), forecast_value=10,
                                     lower_bound=5, upper_bound=15) for n in range(3))
        session.add(ForecastMetric(run_id=run.id, category="store-1", model_type="holt_winters", mae=1.0,
                                   is_best=True))


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table of the schema (a dropped table would be missing)."""
    present = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in Base.metadata.sorted_tables if table.name in present}


def leaked_rows(path: str, query: dict[str, str], response) -> object:  # noqa: ANN001
    """The rows a 200 answer returned for a hostile value (anything but nothing is a leak)."""
    if path == "/invoice-data":
        return response.json["data"]
    if path == "/forecast-data/export":
        if query.get("format") == "xlsx":
            return None  # a workbook; its rows are the CSV's, checked on the CSV
        return list(csv.reader(io.StringIO(response.get_data(as_text=True))))[1:]
    return response.json


def check_every_request(client, engine: Engine) -> int:
    """Send every hostile request; fail on a 5xx or on rows answered; return how many were sent."""
    before = row_counts(engine)
    assert len(before) == len(Base.metadata.sorted_tables)
    assert before["invoice_data"] > 0 and before["forecast_data"] > 0 and before["batch_errors"] > 0
    problems, sent = [], 0
    for path, query in requests():
        response = client.get(path, query_string=query)
        sent += 1
        if response.status_code not in HARMLESS:
            problems.append((path, query, response.status_code, response.get_data(as_text=True)[:200]))
        elif response.status_code == 200 and leaked_rows(path, query, response):
            problems.append((path, query, "rows", leaked_rows(path, query, response)))
        elif response.status_code != 200 and "error" not in (response.json or {}):
            problems.append((path, query, response.status_code, "not a JSON error"))
    assert problems == []
    assert row_counts(engine) == before
    return sent


@pytest.fixture
def seeded(client, drain, engine):
    """The API on SQLite with data in every table the read endpoints touch."""
    seed(client, drain, engine)
    return client


def test_injection_strings_read_nothing_and_change_nothing(seeded, engine):
    """Every payload in every filter of every read endpoint: 200 without rows, 400 or 404; tables intact."""
    assert check_every_request(seeded, engine) > 500


def test_the_seeded_values_are_found_with_the_same_requests(seeded):
    """The same requests with real values do find rows (so 'no rows' above means no injection, not no data)."""
    assert seeded.get("/invoice-data", query_string={"category": "O'Brien \"Store\""}).json["pagination"][
        "total_items"] == 1
    assert len(seeded.get("/forecast-data", query_string={"category": "store-1"}).json) == 3
    assert len(seeded.get("/forecast-metrics", query_string={"model_type": "holt_winters"}).json) == 1
    assert len(seeded.get("/batches/1/errors").json) == 1
    assert seeded.get("/categories/" + quote("O'Brien \"Store\"", safe="") + "/history").status_code == 200
