"""Stage a batch's rows and merge them into invoice_data in one transaction, set-based, per dialect.

All work happens on one connection, in two temporary tables private to it:
- `cf_agg`: one row per key of the whole file, rows of the same key summed as chunks arrive
  (on MySQL filled by LOAD DATA LOCAL INFILE, the fastest path);
- `cf_stage`: a chunk whose keys were already in cf_agg, on its way to being added (MySQL only).
Then, under a lock that serialises merges (so overlapping batches cannot interleave), every key is
classified against invoice_data (insert, update, unchanged, or held by a newer batch), missing
values are imputed, and only new and changed keys are written: unchanged rows keep their version.
A merge that still loses a lock conflict (a deadlock with some other writer) is rolled back and run
again, a bounded number of times, instead of failing the batch.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from common.db import is_mysql
from common.models import MAX_SALES_CENTS
from services.etl.stats import add_merged_keys

logger = logging.getLogger(__name__)

#: MySQL advisory lock that serialises the classify-and-merge step of concurrent batches. Advisory locks
#: are server-wide, so the name carries the database: deployments sharing a server do not wait on each other.
MERGE_LOCK = "castflow_merge"
MERGE_LOCK_WAIT_S = 3600
#: MySQL errors after which a transaction was rolled back and may simply run again: deadlock, lock wait timeout.
LOCK_CONFLICTS = frozenset({1213, 1205})
#: How often a transaction that lost a lock conflict runs in all (bounded: a conflict that persists is an error).
LOCK_CONFLICT_ATTEMPTS = 4

#: MySQL errors that refuse LOAD DATA LOCAL INFILE: not allowed, disabled on a side, rejected by the client.
LOAD_DATA_REFUSED = frozenset({1148, 3948, 2068})

T = TypeVar("T")


class Action:
    """What the merge does with a key; stored in cf_agg.action."""

    INSERT, UPDATE, UNCHANGED, SUPERSEDED = 0, 1, 2, 3


@dataclass(frozen=True)
class MergeCounts:
    """What a merge did, counted by stored key."""

    inserted: int
    updated: int
    unchanged: int
    imputed: int


_KEY = "date DATE NOT NULL, product_id VARCHAR(100) {c} NOT NULL, category VARCHAR(100) {c} NOT NULL"
_AGG_COLUMNS = ("cents BIGINT NULL, n INT NOT NULL DEFAULT 0, imputed SMALLINT NOT NULL DEFAULT 0, "
                "action SMALLINT NOT NULL DEFAULT 0, chunk INT NOT NULL DEFAULT 0, "
                "PRIMARY KEY (date, product_id, category)")


class BatchLoader:
    """Stages one batch's rows on `conn` and merges them; create, stage chunks, then merge."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.mysql = is_mysql(conn)
        self._load_data = self.mysql
        self._chunks = 0

    def create(self) -> None:
        """(Re)create this connection's temporary tables."""
        collate = "COLLATE utf8mb4_bin" if self.mysql else ""
        key = _KEY.format(c=collate)
        temporary = "TEMPORARY" if self.mysql else "TEMP"
        for table, columns in (("cf_agg", f"{key}, {_AGG_COLUMNS}"),
                               ("cf_stage", f"{key}, cents BIGINT NULL, n INT NOT NULL"),
                               ("cf_series", f"product_id VARCHAR(100) {collate} NOT NULL, "
                                             f"category VARCHAR(100) {collate} NOT NULL, "
                                             "PRIMARY KEY (product_id, category)")):
            self.conn.exec_driver_sql(f"DROP {'TEMPORARY ' if self.mysql else ''}TABLE IF EXISTS {table}")
            suffix = " DEFAULT CHARSET=utf8mb4" if self.mysql else ""
            self.conn.exec_driver_sql(f"CREATE {temporary} TABLE {table} ({columns}){suffix}")
        self.conn.commit()

    def stage(self, good: pd.DataFrame) -> None:
        """Add validated rows (date, product_id, category, cents) to the per-key sums."""
        if good.empty:
            return
        self._chunks += 1
        summed = sum_by_key(good)
        if self.mysql:
            self._stage_mysql(summed)
        else:
            self._stage_sqlite(summed)
        self.conn.commit()

    def _stage_sqlite(self, summed: pd.DataFrame) -> None:
        self.conn.exec_driver_sql(
            "INSERT INTO cf_agg (date, product_id, category, cents, n) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (date, product_id, category) DO UPDATE SET "
            "cents = CASE WHEN excluded.cents IS NULL THEN cents WHEN cents IS NULL THEN excluded.cents "
            "ELSE cents + excluded.cents END, n = n + excluded.n",
            _tuples(summed),
        )

    def _stage_mysql(self, summed: pd.DataFrame) -> None:
        # Fast path: most keys occur once per file, so load straight into cf_agg and skip duplicates;
        # if any key was already there, undo this chunk and add it through cf_stage with summing.
        if self._load_data:
            try:
                inserted = self._load_file(summed, "cf_agg", ignore=True)
                if inserted == len(summed):
                    return
                self.conn.exec_driver_sql(f"DELETE FROM cf_agg WHERE chunk = {self._chunks}")
            except OperationalError as exc:  # LOAD DATA LOCAL refused by the server (MySQL 8's default)
                if not load_data_refused(exc):
                    raise  # a connection lost mid-load is no reason to stage the rest slowly
                logger.warning("LOAD DATA LOCAL INFILE refused; staging with multi-row INSERT (slower)")
                self.conn.rollback()
                self._load_data = False
        self.conn.exec_driver_sql("DELETE FROM cf_stage")
        if self._load_data:
            self._load_file(summed, "cf_stage", ignore=False)
        else:
            self.conn.exec_driver_sql(
                "INSERT INTO cf_stage (date, product_id, category, cents, n) VALUES (%s, %s, %s, %s, %s)",
                _tuples(summed),
            )
        self.conn.exec_driver_sql(
            "INSERT INTO cf_agg (date, product_id, category, cents, n) "
            "SELECT date, product_id, category, cents, n FROM cf_stage "
            "ON DUPLICATE KEY UPDATE "
            "cents = CASE WHEN VALUES(cents) IS NULL THEN cf_agg.cents WHEN cf_agg.cents IS NULL "
            "THEN VALUES(cents) ELSE cf_agg.cents + VALUES(cents) END, n = cf_agg.n + VALUES(n)"
        )

    def _load_file(self, summed: pd.DataFrame, table: str, *, ignore: bool) -> int:
        arrow = pa.Table.from_pandas(summed[["date", "product_id", "category", "cents", "n"]], preserve_index=False)
        fd, path = tempfile.mkstemp(prefix="castflow-stage-", suffix=".csv")
        os.close(fd)
        try:
            pacsv.write_csv(arrow, path, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
            chunk = f", chunk = {self._chunks}" if table == "cf_agg" else ""
            result = self.conn.exec_driver_sql(
                f"LOAD DATA LOCAL INFILE '{path}' {'IGNORE' if ignore else ''} INTO TABLE {table} "
                "CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' "
                "LINES TERMINATED BY '\\n' (date, product_id, category, @cents, n) "
                f"SET cents = NULLIF(@cents, ''){chunk}"
            )
            return result.rowcount
        finally:
            os.unlink(path)

    def largest_key(self) -> tuple | None:
        """A key whose summed sales exceed DECIMAL(12,2), or None."""
        return self.conn.exec_driver_sql(
            f"SELECT date, product_id, category FROM cf_agg WHERE cents > {MAX_SALES_CENTS} LIMIT 1"
        ).first()

    def lock(self) -> None:
        """Begin the merge transaction, serialised against other batches' merges."""
        if self.mysql:
            got = self.conn.execute(text("SELECT GET_LOCK(:name, :wait)"),
                                    {"name": self._lock_name(), "wait": MERGE_LOCK_WAIT_S}).scalar()
            if got != 1:
                raise OperationalError("GET_LOCK", {}, Exception("merge lock not granted"))
        else:
            self.conn.info["sqlite_begin"] = "BEGIN IMMEDIATE"  # take SQLite's write lock up front
        self.conn.commit()

    def unlock(self) -> None:
        """Release the merge lock (the connection's transaction must be over)."""
        if self.mysql:
            self.conn.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": self._lock_name()})
            self.conn.commit()

    def _lock_name(self) -> str:
        database = self.conn.exec_driver_sql("SELECT DATABASE()").scalar() or ""
        name = f"{MERGE_LOCK}:{database}"
        # MySQL caps lock names at 64 characters; a long database name is replaced by its digest.
        return name if len(name) <= 64 else f"{MERGE_LOCK}:{hashlib.sha256(database.encode()).hexdigest()[:40]}"

    def missing_series(self) -> pd.DataFrame:
        """Keys of the file that have no value at all (every row of the key was missing), with their series."""
        result = self.conn.exec_driver_sql(
            "SELECT date, product_id, category FROM cf_agg WHERE n = 0 ORDER BY product_id, category, date"
        )
        return pd.DataFrame(result.fetchall(), columns=["date", "product_id", "category"])

    def series_rows(self, series: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The file's and the stored rows of the given series (for imputation)."""
        params = "(%s, %s)" if self.mysql else "(?, ?)"
        self.conn.exec_driver_sql("DELETE FROM cf_series")
        self.conn.exec_driver_sql(f"INSERT INTO cf_series (product_id, category) VALUES {params}",
                                  list(series.itertuples(index=False, name=None)))
        columns = ["date", "product_id", "category", "cents"]
        file_rows = self.conn.exec_driver_sql(
            "SELECT a.date, a.product_id, a.category, CASE WHEN a.n = 0 THEN NULL ELSE a.cents END "
            "FROM cf_agg a JOIN cf_series s ON s.product_id = a.product_id AND s.category = a.category"
        ).fetchall()
        stored = self.conn.exec_driver_sql(
            "SELECT i.date, i.product_id, i.category, ROUND(i.sales * 100) FROM invoice_data i "
            "JOIN cf_series s ON s.product_id = i.product_id AND s.category = i.category"
        ).fetchall()
        return _frame(file_rows, columns), _frame(stored, columns)

    def set_imputed(self, values: pd.DataFrame) -> None:
        """Write imputed values for missing keys."""
        mark = "%s" if self.mysql else "?"
        self.conn.exec_driver_sql(
            f"UPDATE cf_agg SET cents = {mark}, imputed = 1 "
            f"WHERE date = {mark} AND product_id = {mark} AND category = {mark}",
            [(int(r.cents), r.date, r.product_id, r.category) for r in values.itertuples(index=False)],
        )

    def classify(self, batch_num: int) -> None:
        """Mark each key insert, update, unchanged, or superseded (a newer batch holds it)."""
        case = (
            f"CASE WHEN i.batch_num > {int(batch_num)} THEN {Action.SUPERSEDED} "
            f"WHEN ROUND(i.sales * 100) = {{agg}}.cents AND i.is_imputed = {{agg}}.imputed "
            f"THEN {Action.UNCHANGED} ELSE {Action.UPDATE} END"
        )
        join = "i.date = {agg}.date AND i.product_id = {agg}.product_id AND i.category = {agg}.category"
        if self.mysql:
            self.conn.exec_driver_sql(
                f"UPDATE cf_agg a JOIN invoice_data i ON {join.format(agg='a')} SET a.action = {case.format(agg='a')}"
            )
        else:
            self.conn.exec_driver_sql(
                f"UPDATE cf_agg SET action = {case.format(agg='cf_agg')} "
                f"FROM invoice_data i WHERE {join.format(agg='cf_agg')}"
            )

    def counts(self) -> tuple[MergeCounts, list[str]]:
        """How many keys each action touches and how many were imputed; the categories with writes."""
        rows = self.conn.exec_driver_sql(
            "SELECT action, category, COUNT(*), SUM(imputed) FROM cf_agg GROUP BY action, category"
        ).fetchall()
        by_action = dict.fromkeys((Action.INSERT, Action.UPDATE, Action.UNCHANGED, Action.SUPERSEDED), 0)
        for action, _, count, _ in rows:
            by_action[int(action)] += int(count)
        counts = MergeCounts(
            inserted=by_action[Action.INSERT],
            updated=by_action[Action.UPDATE],
            unchanged=by_action[Action.UNCHANGED] + by_action[Action.SUPERSEDED],
            imputed=sum(int(imputed or 0) for *_, imputed in rows),
        )
        touched = sorted({category for action, category, _, _ in rows if action in (Action.INSERT, Action.UPDATE)})
        return counts, touched

    def journal(self, batch_num: int) -> None:
        """Keep the stored rows this batch updates, as they are, in invoice_history: what undoing it puts back."""
        self.conn.execute(text(
            "INSERT INTO invoice_history (batch_num, date, product_id, category, sales, is_imputed, "
            "previous_batch_num, file_hash, created_at, updated_at, version) "
            "SELECT :batch, i.date, i.product_id, i.category, i.sales, i.is_imputed, i.batch_num, i.file_hash, "
            "i.created_at, i.updated_at, i.version FROM cf_agg a JOIN invoice_data i ON i.date = a.date "
            f"AND i.product_id = a.product_id AND i.category = a.category WHERE a.action = {Action.UPDATE}"
        ), {"batch": batch_num})

    def forget_journal(self, before: int) -> None:
        """Drop the replaced rows kept for batches numbered up to `before` (they can no longer be undone)."""
        self.conn.execute(text("DELETE FROM invoice_history WHERE batch_num <= :before"), {"before": before})

    def merge(self, batch_num: int, file_hash: str, now: dt.datetime, new_keys: int) -> None:
        """Write new and changed keys into invoice_data (version + 1 on change); `new_keys` of them are inserts."""
        select = (
            "SELECT date, product_id, category, cents / 100.0, imputed, :batch, :hash, :now, :now, 1 "
            f"FROM cf_agg WHERE action IN ({Action.INSERT}, {Action.UPDATE})"
        )
        columns = "date, product_id, category, sales, is_imputed, batch_num, file_hash, created_at, updated_at, version"
        if self.mysql:
            upsert = (" ON DUPLICATE KEY UPDATE sales = VALUES(sales), is_imputed = VALUES(is_imputed), "
                      "file_hash = VALUES(file_hash), updated_at = VALUES(updated_at), "
                      "version = invoice_data.version + 1, batch_num = VALUES(batch_num)")
        else:
            select += " AND true"  # SQLite needs a WHERE to tell the upsert's ON from a join's
            upsert = (" ON CONFLICT (date, product_id, category) DO UPDATE SET sales = excluded.sales, "
                      "is_imputed = excluded.is_imputed, file_hash = excluded.file_hash, "
                      "updated_at = excluded.updated_at, version = invoice_data.version + 1, "
                      "batch_num = excluded.batch_num")
        add_merged_keys(self.conn, Action.INSERT, new_keys, now)  # category_stats, before the rows land
        self.conn.execute(text(f"INSERT INTO invoice_data ({columns}) {select}{upsert}"),
                          {"batch": batch_num, "hash": file_hash, "now": now})

    def drop(self) -> None:
        """Drop the temporary tables (they also vanish with the connection)."""
        for table in ("cf_agg", "cf_stage", "cf_series"):
            self.conn.exec_driver_sql(f"DROP {'TEMPORARY ' if self.mysql else ''}TABLE IF EXISTS {table}")
        self.conn.commit()


def load_data_refused(exc: OperationalError) -> bool:
    """True when the server refused LOAD DATA LOCAL INFILE (not when, say, the connection dropped during it)."""
    orig = exc.orig
    code = orig.args[0] if getattr(orig, "args", None) else None
    return code in LOAD_DATA_REFUSED or any(words in str(orig).lower() for words in ("local data", "local infile"))


def is_lock_conflict(exc: BaseException) -> bool:
    """True for MySQL's deadlock (1213) and lock wait timeout (1205) errors."""
    orig = getattr(exc, "orig", None)
    return isinstance(exc, OperationalError) and bool(getattr(orig, "args", None)) and orig.args[0] in LOCK_CONFLICTS


def retry_lock_conflicts(conn: Connection, transaction: Callable[[], T], what: str,
                         attempts: int = LOCK_CONFLICT_ATTEMPTS) -> T:
    """Run `transaction` on `conn`; after a deadlock or lock wait timeout roll back and run it again (bounded)."""
    attempt = 1
    while True:
        try:
            return transaction()
        except OperationalError as exc:
            if not is_lock_conflict(exc) or attempt >= attempts:
                raise
            conn.rollback()
            logger.warning("%s lost a lock conflict (MySQL error %s); running it again, attempt %d of %d",
                           what, exc.orig.args[0], attempt + 1, attempts)
        time.sleep(0.1 * 2 ** attempt)
        attempt += 1


def _frame(rows: list, columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame([tuple(r[:3]) for r in rows], columns=columns[:3], dtype="str")
    frame["date"] = frame["date"].str.slice(0, 10)
    frame["cents"] = pd.array([None if r[3] is None else int(r[3]) for r in rows], dtype="Int64")
    return frame


def sum_by_key(good: pd.DataFrame) -> pd.DataFrame:
    """One row per key: summed cents (<NA> when every row of the key was missing) and n, the rows with a value."""
    keys = ["date", "product_id", "category"]
    frame = good[keys + ["cents"]].assign(n=good["cents"].notna().astype("int64"))
    if not frame.duplicated(keys).any():
        # Sorted like cf_agg's primary key, so the bulk load appends instead of splitting pages.
        return frame.sort_values(keys, kind="stable", ignore_index=True)
    summed = frame.groupby(keys, sort=True, as_index=False).agg(cents=("cents", lambda c: c.sum(min_count=1)),
                                                                 n=("n", "sum"))
    summed["cents"] = summed["cents"].astype("Int64")
    return summed


def _tuples(summed: pd.DataFrame) -> list[tuple]:
    cents = summed["cents"].astype("object").where(summed["cents"].notna(), None)
    return list(zip(summed["date"], summed["product_id"], summed["category"], cents,
                    summed["n"].astype("int64").tolist(), strict=True))
