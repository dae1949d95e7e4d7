"""category_stats on SQLite: kept by the ETL's merge for the categories a batch adds keys to, filled once when empty."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from common.models import CategoryStats, InvoiceData
from services.etl import stats
from tests.conftest import upload

HEADER = "Date,product_id,category,sales\n"
OLD = dt.datetime(2000, 1, 1)


def load(client, drain, body: str, filename: str = "sales.csv") -> dict:
    """Upload a file, run the ETL, and return the batch as the API shows it."""
    response = upload(client, body, filename)
    assert response.status_code == 202, response.json
    drain()
    return client.get(f"/batches/{response.json['batch_num']}").json


def kept(engine) -> dict[str, tuple]:
    """category_stats: category -> (products, first day, last day, rows)."""
    with Session(engine) as session:
        return {s.category: (s.product_count, s.first_date.isoformat(), s.last_date.isoformat(), s.row_count)
                for s in session.scalars(select(CategoryStats))}


def aggregated(engine) -> dict[str, tuple]:
    """The same figures aggregated from invoice_data, as /categories once computed them on every call."""
    query = select(InvoiceData.category, func.count(func.distinct(InvoiceData.product_id)), func.min(InvoiceData.date),
                   func.max(InvoiceData.date), func.count()).group_by(InvoiceData.category)
    with Session(engine) as session:
        return {c: (n, first.isoformat(), last.isoformat(), rows) for c, n, first, last, rows in session.execute(query)}


def age_stats(engine) -> None:
    """Mark every stats row as computed long ago, to see which ones a merge recomputes."""
    with Session(engine) as session, session.begin():
        session.execute(update(CategoryStats).values(updated_at=OLD))


def updated_at(engine) -> dict[str, dt.datetime]:
    """category -> when its stats row was last recomputed."""
    with Session(engine) as session:
        return dict(session.execute(select(CategoryStats.category, CategoryStats.updated_at)).all())


def test_first_batch_fills_the_stats(client, drain, engine):
    """After the first batch each category has its products, first and last day and rows."""
    load(client, drain, HEADER + "2023-01-02,p1,north,1\n2023-01-05,p2,north,2\n2023-01-05,p1,north,NA\n"
                                 "2023-01-03,p1,south,3\n")
    assert kept(engine) == {"north": (2, "2023-01-02", "2023-01-05", 3), "south": (1, "2023-01-03", "2023-01-03", 1)}


def test_an_update_only_batch_leaves_the_stats_alone(client, drain, engine):
    """Changed values add no key: no category's stats are recomputed."""
    load(client, drain, HEADER + "2023-01-02,p1,north,1\n2023-01-03,p1,south,3\n")
    age_stats(engine)
    batch = load(client, drain, HEADER + "2023-01-02,p1,north,10\n", "corrected.csv")
    assert (batch["num_updated_rows"], batch["num_inserted_rows"]) == (1, 0)
    assert set(updated_at(engine).values()) == {OLD}
    assert kept(engine) == aggregated(engine)


def test_a_second_batch_recomputes_only_the_categories_it_added_keys_to(client, drain, engine):
    """New days, products and a new category count; an untouched category's row is not rewritten."""
    load(client, drain, HEADER + "2023-01-02,p1,north,1\n2023-01-03,p1,south,3\n2023-01-03,p1,west,3\n")
    age_stats(engine)
    load(client, drain, HEADER + "2022-12-30,p9,north,1\n2023-01-09,p1,north,1\n2023-01-03,p1,south,4\n"
                                 "2023-02-01,p1,east,2\n", "second.csv")
    assert kept(engine) == aggregated(engine)
    assert kept(engine)["north"] == (2, "2022-12-30", "2023-01-09", 3)
    changed = {category for category, when in updated_at(engine).items() if when != OLD}
    assert changed == {"north", "east"}


def test_categories_list_equals_the_direct_aggregate(client, drain, engine):
    """/categories shows what an aggregate over invoice_data says, for every category, after several batches."""
    load(client, drain, HEADER + "".join(f"2023-01-{d:02d},p{d % 3},c{d % 4},{d}\n" for d in range(1, 29)))
    load(client, drain, HEADER + "".join(f"2023-02-{d:02d},p{d % 5},c{d % 6},{d}\n" for d in range(1, 29)), "b.csv")
    shown = {c["category"]: (c["product_count"], c["first_date"], c["last_date"], c["row_count"])
             for c in client.get("/categories").json}
    assert shown == aggregated(engine)
    assert list(shown) == sorted(shown)


def test_first_categories_call_fills_stats_of_older_data(client, engine):
    """Observations stored before category_stats existed are summarised once, by the first /categories call."""
    with Session(engine) as session, session.begin():
        session.execute(insert(InvoiceData), [
            {"date": dt.date(2023, 1, d), "product_id": f"p{d % 2}", "category": "old", "sales": 1.0, "batch_num": 1,
             "file_hash": "a" * 64, "created_at": OLD, "updated_at": OLD} for d in range(1, 11)])
    assert kept(engine) == {}
    body = client.get("/categories").json
    assert [(c["category"], c["product_count"], c["row_count"]) for c in body] == [("old", 2, 10)]
    assert kept(engine) == aggregated(engine)


def test_backfill_does_nothing_when_stats_exist_or_nothing_is_stored(engine, client):
    """backfill_category_stats fills an empty table once and answers False otherwise."""
    assert stats.backfill_category_stats(engine) is False  # nothing stored
    with Session(engine) as session, session.begin():
        session.execute(insert(InvoiceData).values(date=dt.date(2023, 1, 1), product_id="p", category="c", sales=1.0,
                                                   batch_num=1, file_hash="a" * 64, created_at=OLD, updated_at=OLD))
    assert stats.backfill_category_stats(engine) is True
    assert stats.backfill_category_stats(engine) is False
    assert kept(engine) == {"c": (1, "2023-01-01", "2023-01-01", 1)}


def test_a_merge_into_older_data_recomputes_every_category(client, drain, engine):
    """When the table is empty (data from before it existed), the next merge summarises every category."""
    with Session(engine) as session, session.begin():
        session.execute(insert(InvoiceData).values(date=dt.date(2023, 1, 1), product_id="p", category="old",
                                                   sales=1.0, batch_num=1, file_hash="a" * 64, created_at=OLD,
                                                   updated_at=OLD))
    load(client, drain, HEADER + "2023-01-02,p1,new,1\n")
    assert kept(engine) == aggregated(engine) == {"old": (1, "2023-01-01", "2023-01-01", 1),
                                                  "new": (1, "2023-01-02", "2023-01-02", 1)}


def test_a_failed_batch_changes_no_stats(client, drain, engine):
    """A batch that fails (too many rejected rows) writes no stats, like it writes no observations."""
    load(client, drain, HEADER + "2023-01-02,p1,north,1\n")
    before = kept(engine)
    batch = load(client, drain, HEADER + "2023-01-03,p1,north,1\n" + "bad,p,north,1\n" * 5, "bad.csv")
    assert batch["status"] == "failed"
    assert kept(engine) == before
