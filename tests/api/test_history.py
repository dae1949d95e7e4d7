"""GET /categories/<name>/history: a category's daily sales totals, with an optional inclusive date range."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.conftest import upload

#: north: two products on 1-5 March (day and 0.25 each) without the 3rd; south: one product on 4 March;
#: "a/b" (a name with a slash) and "North" (another category: names compare exactly) one day each.
SALES = "Date,product_id,category,sales\n" + "".join(
    f"2023-03-{day:02d},p1,north,{day}\n2023-03-{day:02d},p2,north,0.25\n" for day in (1, 2, 4, 5)
) + "2023-03-04,p1,south,7.5\n2023-03-02,p1,a/b,3\n2023-03-02,p1,North,99\n"


@pytest.fixture
def stored(client, drain):
    """The observations above, loaded through the ETL."""
    assert upload(client, SALES).status_code == 202
    drain()


def test_history_sums_products_per_day_in_date_order(client, stored):
    """Each stored day once, with the sum over the category's products, oldest first."""
    response = client.get("/categories/north/history")
    assert response.status_code == 200
    assert response.json == [{"date": "2023-03-01", "sales": 1.25}, {"date": "2023-03-02", "sales": 2.25},
                             {"date": "2023-03-04", "sales": 4.25}, {"date": "2023-03-05", "sales": 5.25}]


def test_history_is_of_one_category_only(client, stored):
    """Other categories' rows (and a name differing only in case) are not counted."""
    assert client.get("/categories/south/history").json == [{"date": "2023-03-04", "sales": 7.5}]
    assert client.get("/categories/North/history").json == [{"date": "2023-03-02", "sales": 99.0}]


def test_history_date_range_is_inclusive(client, stored):
    """start_date and end_date both count their own day; either may be given alone."""
    days = client.get("/categories/north/history?start_date=2023-03-02&end_date=2023-03-04").json
    assert [d["date"] for d in days] == ["2023-03-02", "2023-03-04"]
    assert [d["date"] for d in client.get("/categories/north/history?start_date=2023-03-05").json] == ["2023-03-05"]
    assert [d["date"] for d in client.get("/categories/north/history?end_date=2023-03-01").json] == ["2023-03-01"]


def test_history_of_a_range_without_rows_is_empty(client, stored):
    """A known category with no day in the range answers an empty array, not 404."""
    response = client.get("/categories/north/history?start_date=2024-01-01")
    assert response.status_code == 200
    assert response.json == []


def test_history_of_a_category_name_with_a_slash(client, stored):
    """A category whose name holds a slash is reachable (the name is a path)."""
    assert client.get("/categories/a/b/history").json == [{"date": "2023-03-02", "sales": 3.0}]


def test_unknown_category_is_json_404(client, stored):
    """A category without stored data is a 404 with a JSON error naming it."""
    response = client.get("/categories/west/history")
    assert response.status_code == 404
    assert "west" in response.json["error"]


@pytest.mark.parametrize("query", [
    "start_date=2023-02-30", "end_date=yesterday", "start_date=2023-03-05&end_date=2023-03-01", "limit=5",
])
def test_bad_parameters_are_400(client, stored, query):
    """A bad date, a reversed range or an unknown parameter is a JSON 400, never a silent default."""
    response = client.get(f"/categories/north/history?{query}")
    assert response.status_code == 400
    assert response.json["error"]


def test_history_is_one_aggregate_query_on_the_category_date_index(client, stored, engine):
    """The totals are summed by the database (GROUP BY) in one search of the (category, date) index."""
    statements: list[tuple[str, object]] = []
    event.listen(engine, "before_cursor_execute", lambda _c, _k, sql, params, *_: statements.append((sql, params)))
    client.get("/categories/north/history?start_date=2023-03-02")
    sums = [(sql, params) for sql, params in statements if "sum(" in sql.lower()]
    assert len(sums) == 1 and "GROUP BY" in sums[0][0]
    with engine.connect() as connection:
        plan = " ".join(row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sums[0][0], sums[0][1]))
    assert "USING INDEX ix_invoice_category_date" in plan and "TEMP B-TREE" not in plan
