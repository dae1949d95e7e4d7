"""Realised accuracy: score earlier runs' forecasts against the actuals a batch brings, set-based, in its merge.

When a merge writes keys (date, product, category) that completed runs had forecast, every such run is scored
on those days: each model's forecast of the category's total (forecast_data) against the day's sum over the
category's products, and each product's reconciled forecast (product_forecast_data, runs whose products
completed) against the product's value. A row per (run, model, product, date) in forecast_accuracy holds the
actual, the forecast, the absolute and signed error, whether the actual fell inside the interval, how many
days ahead the date was, and the batch that brought the actual. A later change of an actual replaces the rows.

Only daily runs are scored: a weekly or monthly run's period would need every day of it stored first; those
runs' rows are left out (the API says so). Everything runs as a few INSERT ... SELECT / DELETE statements
over temporary tables private to the connection, limited to the days inside some completed run's horizon:
a first upload of years of history, with no forecast yet, costs one small query.

The same statements rescore after an undo (services/etl/undo.py): the keys the batch wrote are collected
before its rows are taken back, and rescored against what is stored after (removed when nothing is).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import Connection, case, func, select, text

from common.db import is_mysql
from common.grain import Grain
from common.models import ForecastRun
from common.status import ForecastStatus, ModelType

#: Temporary tables: the forecast windows of the categories, the keys whose actuals changed, their days, and
#: the days' totals.
_TABLES = ("cf_score_windows", "cf_changed", "cf_days", "cf_day_actuals")
_COLUMNS = ("category, product_id, forecast_date, model_type, run_id, periods_ahead, actual, forecast_value, "
            "abs_error, signed_error, inside, batch_num, scored_at")
_SCORED = ("f.forecast_value, ABS(f.forecast_value - {a}), f.forecast_value - {a}, "
           "CASE WHEN {a} >= f.lower_bound AND {a} <= f.upper_bound THEN 1 ELSE 0 END")
#: A daily run (grain null: made before grains, days) that completed.
_DAILY_COMPLETED = f"r.status = '{ForecastStatus.COMPLETED.value}' AND COALESCE(r.grain, 'day') = 'day'"


@dataclass(frozen=True)
class Windows:
    """What cf_score_windows holds: how many categories have a forecast window, and whether any of their runs
    forecast products (without one, no product can be scored and the product statements are skipped)."""

    categories: int
    products: bool


def windows(conn: Connection, categories: Iterable[str]) -> Windows:
    """Fill cf_score_windows: per category, the days some completed daily run forecast.

    A key is worth scoring only inside (first run's last day of history, last run's last day + its horizon].
    """
    _create(conn, "cf_score_windows", "category VARCHAR(100) {c} NOT NULL, after_date DATE NOT NULL, "
                                      "last_date DATE NOT NULL, PRIMARY KEY (category)")
    wanted = sorted(set(categories))
    if not wanted:
        return Windows(0, False)
    rows = conn.execute(
        select(ForecastRun.category, func.min(ForecastRun.history_end), func.max(ForecastRun.history_end),
               func.max(func.coalesce(ForecastRun.horizon_periods, ForecastRun.horizon_days)),
               func.max(case((ForecastRun.product_status == ForecastStatus.COMPLETED.value, 1), else_=0)))
        .where(ForecastRun.category.in_(wanted), ForecastRun.status == ForecastStatus.COMPLETED,
               func.coalesce(ForecastRun.grain, Grain.DAY.value) == Grain.DAY.value,
               ForecastRun.history_end.is_not(None))
        .group_by(ForecastRun.category)
    ).all()
    if rows:
        conn.execute(text("INSERT INTO cf_score_windows (category, after_date, last_date) VALUES (:c, :a, :l)"),
                     [{"c": c, "a": first.isoformat(),
                       "l": (last + dt.timedelta(days=int(horizon or 0))).isoformat()}
                      for c, first, last, horizon, _ in rows])
    return Windows(len(rows), any(products for *_, products in rows))


@dataclass(frozen=True)
class Keys:
    """Where a rescore reads the changed keys: a FROM clause naming them `c` (c.date, c.product_id, c.category),
    the condition that picks them, and the condition of those that may already have scores to replace (None:
    none may)."""

    source: str
    where: str
    replaced: str | None
    #: A product's actual and the batch that brought it: columns of invoice_data (`i`, looked up by the key) unless
    #: the source has them itself (then `lookup` is False).
    actual: str = "i.sales"
    batch: str = "i.batch_num"
    lookup: bool = True


def merged_keys(batch_num: int, written: Iterable[int], updated: int, any_updated: bool) -> Keys:
    """The merge's keys (cf_agg rows of actions `written`) inside the windows; only `updated` ones had scores
    (`any_updated`: the merge updated any key at all).

    Read straight from the staging table, with the values the merge wrote: copying 15,000 keys into a table of
    their own, or looking each up again in invoice_data, cost a good share of the scoring.
    """
    actions = ", ".join(str(int(a)) for a in written)
    return Keys("cf_agg c JOIN cf_score_windows w ON w.category = c.category",
                f"c.action IN ({actions}) AND c.date > w.after_date AND c.date <= w.last_date",
                f"c.action = {int(updated)}" if any_updated else None,
                actual="c.cents / 100.0", batch=str(int(batch_num)), lookup=False)


def batch_keys(conn: Connection, batch_num: int) -> Keys:
    """The stored keys batch `batch_num` wrote inside the windows, kept in cf_changed (before it is undone)."""
    _create_as(conn, "cf_changed",
               "SELECT i.date, i.product_id, i.category FROM invoice_data i JOIN cf_score_windows w "
               "ON w.category = i.category AND i.date > w.after_date AND i.date <= w.last_date "
               f"WHERE i.batch_num = {int(batch_num)}")
    return Keys("cf_changed c", "1 = 1", "1 = 1")


def rescore(conn: Connection, keys: Keys, now: dt.datetime, products: bool = True) -> None:
    """Replace the scores of the changed keys and of their days' totals with scores against invoice_data now
    (the products' too unless `products` is False: no run of the windows forecast products)."""
    mysql = is_mysql(conn)
    # Led by the changed keys, each step an index lookup (MariaDB otherwise chose to scan the forecasts for
    # every changed key: 29 s instead of a tenth of one for 15,000 keys).
    join = "STRAIGHT_JOIN" if mysql else "JOIN"
    _create_as(conn, "cf_days", f"SELECT DISTINCT c.category, c.date FROM {keys.source} WHERE {keys.where}")
    _delete_scores(conn, keys if products else replace(keys, replaced=None), mysql)
    _create_as(conn, "cf_day_actuals",
               "SELECT i.category, i.date, SUM(i.sales) AS actual, MAX(i.batch_num) AS batch_num "
               f"FROM cf_days d {join} invoice_data i ON i.category = d.category AND i.date = d.date "
               "GROUP BY i.category, i.date")
    ahead = _days_between("f.forecast_date", "r.history_end", mysql)
    lookup = (f"{join} invoice_data i ON i.date = c.date AND i.product_id = c.product_id "
              "AND i.category = c.category") if keys.lookup else ""
    conn.execute(text(
        f"INSERT INTO forecast_accuracy ({_COLUMNS}) SELECT f.category, '', f.forecast_date, f.model_type, "
        f"f.run_id, {ahead}, a.actual, {_SCORED.format(a='a.actual')}, a.batch_num, :now "
        f"FROM cf_day_actuals a {join} forecast_data f ON f.category = a.category AND f.forecast_date = a.date "
        f"{join} forecast_runs r ON r.id = f.run_id WHERE {_DAILY_COMPLETED} AND f.forecast_date > r.history_end"
    ), {"now": now})
    if not products:
        return
    conn.execute(text(
        f"INSERT INTO forecast_accuracy ({_COLUMNS}) SELECT f.category, f.product_id, f.forecast_date, "
        f":recommended, f.run_id, {ahead}, {keys.actual}, {_SCORED.format(a=keys.actual)}, {keys.batch}, :now "
        f"FROM {keys.source} {lookup} {join} product_forecast_data f ON f.category = c.category "
        f"AND f.product_id = c.product_id AND f.forecast_date = c.date {join} forecast_runs r ON r.id = f.run_id "
        f"WHERE {keys.where} AND {_DAILY_COMPLETED} AND r.product_status = '{ForecastStatus.COMPLETED.value}' "
        "AND f.forecast_date > r.history_end"
    ), {"now": now, "recommended": ModelType.RECOMMENDED.value})


def _delete_scores(conn: Connection, keys: Keys, mysql: bool) -> None:
    """Delete the category scores of the changed days and the product scores of the keys that may have some."""
    if mysql:
        conn.exec_driver_sql("DELETE s FROM cf_days d STRAIGHT_JOIN forecast_accuracy s ON s.category = d.category "
                             "AND s.product_id = '' AND s.forecast_date = d.date")
        if keys.replaced is None:
            return
        conn.exec_driver_sql(f"DELETE s FROM {keys.source} STRAIGHT_JOIN forecast_accuracy s "
                             "ON s.category = c.category AND s.product_id = c.product_id AND s.forecast_date = c.date "
                             f"WHERE {keys.where} AND {keys.replaced}")
    else:
        conn.exec_driver_sql("DELETE FROM forecast_accuracy WHERE product_id = '' AND (category, forecast_date) "
                             "IN (SELECT category, date FROM cf_days)")
        if keys.replaced is None:
            return
        conn.exec_driver_sql("DELETE FROM forecast_accuracy WHERE (category, product_id, forecast_date) IN "
                             f"(SELECT c.category, c.product_id, c.date FROM {keys.source} "
                             f"WHERE {keys.where} AND {keys.replaced})")


def scored_categories(conn: Connection) -> list[str]:
    """The categories of cf_days: those whose scores the last rescore replaced."""
    return list(conn.scalars(text("SELECT DISTINCT category FROM cf_days ORDER BY category")))


def drop(conn: Connection) -> None:
    """Drop the temporary tables (they also vanish with the connection)."""
    for table in _TABLES:
        conn.exec_driver_sql(f"DROP {'TEMPORARY ' if is_mysql(conn) else ''}TABLE IF EXISTS {table}")


def _create(conn: Connection, table: str, columns: str) -> None:
    mysql = is_mysql(conn)
    conn.exec_driver_sql(f"DROP {'TEMPORARY ' if mysql else ''}TABLE IF EXISTS {table}")
    suffix = " DEFAULT CHARSET=utf8mb4" if mysql else ""
    conn.exec_driver_sql(f"CREATE {'TEMPORARY' if mysql else 'TEMP'} TABLE {table} "
                         f"({columns.format(c='COLLATE utf8mb4_bin' if mysql else '')}){suffix}")


def _create_as(conn: Connection, table: str, query: str) -> None:
    mysql = is_mysql(conn)
    conn.exec_driver_sql(f"DROP {'TEMPORARY ' if mysql else ''}TABLE IF EXISTS {table}")
    conn.exec_driver_sql(f"CREATE {'TEMPORARY' if mysql else 'TEMP'} TABLE {table} AS {query}")


def _days_between(later: str, earlier: str, mysql: bool) -> str:
    if mysql:
        return f"DATEDIFF({later}, {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
