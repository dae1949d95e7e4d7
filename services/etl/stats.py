"""category_stats: per category, its products, first and last day and rows, kept beside invoice_data.

/categories used to aggregate the whole of invoice_data on every call (seconds at a million rows).
Instead the ETL's merge recomputes, inside its own transaction, the stats of the categories the
batch added keys to (from their slice of the (category, date) index), so the table is exactly as
current as the observations it describes. A database filled before the table existed is filled
once: by the first merge (when the table is empty it recomputes every category), or by the first
/categories call (`backfill_category_stats`), whichever comes first.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Connection, Engine, text

from common.db import is_mysql, utcnow

logger = logging.getLogger(__name__)

#: The merge's staging table (services.etl.load): one row per key of the batch, `action` saying what the merge did.
STAGED = "cf_agg"

_COLUMNS = "category, product_count, first_date, last_date, row_count, updated_at"
_AGGREGATE = ("SELECT i.category, COUNT(DISTINCT i.product_id), MIN(i.date), MAX(i.date), COUNT(*), :now "
              "FROM invoice_data i WHERE {where} GROUP BY i.category")
_UPSERT_MYSQL = (" ON DUPLICATE KEY UPDATE product_count = VALUES(product_count), first_date = VALUES(first_date), "
                 "last_date = VALUES(last_date), row_count = VALUES(row_count), updated_at = VALUES(updated_at)")
_UPSERT_SQLITE = (" ON CONFLICT (category) DO UPDATE SET product_count = excluded.product_count, "
                  "first_date = excluded.first_date, last_date = excluded.last_date, "
                  "row_count = excluded.row_count, updated_at = excluded.updated_at")


def refresh_merged_categories(conn: Connection, inserted: int, now: dt.datetime | None = None) -> None:
    """In the merge transaction: recompute the stats of the categories given new keys (all when the table is empty)."""
    if stats_empty(conn):
        recompute_category_stats(conn, None, now)
    else:
        recompute_category_stats(conn, f"SELECT DISTINCT s.category FROM {STAGED} s WHERE s.action = {int(inserted)}",
                                 now)


def recompute_category_stats(conn: Connection, categories: str | None, now: dt.datetime | None = None, *,
                             keep_existing: bool = False) -> None:
    """Upsert the stats of the categories the SQL `categories` selects (all when None) from invoice_data.

    With `keep_existing` a category that already has a row keeps it (the backfill's way of letting merges win).
    """
    where = f"i.category IN ({categories})" if categories else "1 = 1"  # SQLite's upsert wants a WHERE
    if keep_existing:
        upsert = " ON DUPLICATE KEY UPDATE category = category" if is_mysql(conn) else " ON CONFLICT DO NOTHING"
    else:
        upsert = _UPSERT_MYSQL if is_mysql(conn) else _UPSERT_SQLITE
    statement = f"INSERT INTO category_stats ({_COLUMNS}) {_AGGREGATE.format(where=where)}{upsert}"
    if is_mysql(conn) and conn.dialect.is_mariadb:
        # A whole-table recompute may outlast a statement time limit set for API reads.
        statement = f"SET STATEMENT max_statement_time = 0 FOR {statement}"
    conn.execute(text(statement), {"now": now or utcnow()})


def stats_empty(conn: Connection) -> bool:
    """True when category_stats has no row."""
    return conn.execute(text("SELECT 1 FROM category_stats LIMIT 1")).first() is None


def backfill_category_stats(engine: Engine) -> bool:
    """Fill category_stats from invoice_data when it is empty and invoice_data is not; True when it did.

    It never overwrites a row: a merge running meanwhile writes (and locks) the rows of its categories,
    computed from newer data, and those win. So no lock is needed against merges.
    """
    with engine.connect() as conn:
        if not stats_empty(conn) or conn.execute(text("SELECT 1 FROM invoice_data LIMIT 1")).first() is None:
            return False
        recompute_category_stats(conn, None, keep_existing=True)
        conn.commit()
    logger.info("category_stats filled from invoice_data")
    return True
