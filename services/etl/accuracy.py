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

from sqlalchemy import Connection, func, select, text

from common.db import is_mysql
from common.grain import Grain
from common.models import ForecastRun
from common.status import ForecastStatus, ModelType

#: Temporary tables: the forecast windows of the categories, the keys whose actuals changed, their days, and
#: the days' totals.
_TABLES = ("cf_score_windows", "cf_changed", "cf_days", "cf_day_actuals")
_COLUMNS = ("run_id, product_id, model_type, forecast_date, category, periods_ahead, actual, forecast_value, "
            "abs_error, signed_error, inside, batch_num, scored_at")
_SCORED = ("f.forecast_value, ABS(f.forecast_value - {a}), f.forecast_value - {a}, "
           "CASE WHEN {a} >= f.lower_bound AND {a} <= f.upper_bound THEN 1 ELSE 0 END")
#: A daily run (grain null: made before grains, days) that completed.
_DAILY_COMPLETED = f"r.status = '{ForecastStatus.COMPLETED.value}' AND COALESCE(r.grain, 'day') = 'day'"


def windows(conn: Connection, categories: Iterable[str]) -> int:
    """Fill cf_score_windows: per category, the days some completed daily run forecast; returns how many.

    A key is worth scoring only inside (first run's last day of history, last run's last day + its horizon].
    """
    _create(conn, "cf_score_windows", "category VARCHAR(100) {c} NOT NULL, after_date DATE NOT NULL, "
                                      "last_date DATE NOT NULL, PRIMARY KEY (category)")
    wanted = sorted(set(categories))
    if not wanted:
        return 0
    rows = conn.execute(
        select(ForecastRun.category, func.min(ForecastRun.history_end), func.max(ForecastRun.history_end),
               func.max(func.coalesce(ForecastRun.horizon_periods, ForecastRun.horizon_days)))
        .where(ForecastRun.category.in_(wanted), ForecastRun.status == ForecastStatus.COMPLETED,
               func.coalesce(ForecastRun.grain, Grain.DAY.value) == Grain.DAY.value,
               ForecastRun.history_end.is_not(None))
        .group_by(ForecastRun.category)
    ).all()
    if rows:
        conn.execute(text("INSERT INTO cf_score_windows (category, after_date, last_date) VALUES (:c, :a, :l)"),
                     [{"c": c, "a": first.isoformat(),
                       "l": (last + dt.timedelta(days=int(horizon or 0))).isoformat()}
                      for c, first, last, horizon in rows])
    return len(rows)


def changed_from_merge(conn: Connection, written: Iterable[int]) -> None:
    """Fill cf_changed with the merge's written keys (cf_agg rows of actions `written`) inside the windows."""
    actions = ", ".join(str(int(a)) for a in written)
    _create_as(conn, "cf_changed",
               "SELECT a.date, a.product_id, a.category FROM cf_agg a JOIN cf_score_windows w "
               f"ON w.category = a.category WHERE a.action IN ({actions}) AND a.date > w.after_date "
               "AND a.date <= w.last_date")


def changed_by_batch(conn: Connection, batch_num: int) -> None:
    """Fill cf_changed with the stored keys batch `batch_num` wrote inside the windows (before it is undone)."""
    _create_as(conn, "cf_changed",
               "SELECT i.date, i.product_id, i.category FROM invoice_data i JOIN cf_score_windows w "
               "ON w.category = i.category AND i.date > w.after_date AND i.date <= w.last_date "
               f"WHERE i.batch_num = {int(batch_num)}")


def rescore(conn: Connection, now: dt.datetime) -> None:
    """Replace the scores of cf_changed's keys and days with scores against what invoice_data holds now."""
    mysql = is_mysql(conn)
    _create_as(conn, "cf_days", "SELECT DISTINCT c.category, c.date FROM cf_changed c")
    if mysql:
        conn.exec_driver_sql("DELETE s FROM forecast_accuracy s JOIN cf_days d ON s.category = d.category "
                             "AND s.product_id = '' AND s.forecast_date = d.date")
        conn.exec_driver_sql("DELETE s FROM forecast_accuracy s JOIN cf_changed c ON s.category = c.category "
                             "AND s.product_id = c.product_id AND s.forecast_date = c.date")
    else:
        conn.exec_driver_sql("DELETE FROM forecast_accuracy WHERE product_id = '' AND (category, forecast_date) "
                             "IN (SELECT category, date FROM cf_days)")
        conn.exec_driver_sql("DELETE FROM forecast_accuracy WHERE (category, product_id, forecast_date) "
                             "IN (SELECT category, product_id, date FROM cf_changed)")
    _create_as(conn, "cf_day_actuals",
               "SELECT i.category, i.date, SUM(i.sales) AS actual, MAX(i.batch_num) AS batch_num "
               "FROM invoice_data i JOIN cf_days d ON i.category = d.category AND i.date = d.date "
               "GROUP BY i.category, i.date")
    ahead = _days_between("f.forecast_date", "r.history_end", mysql)
    conn.execute(text(
        f"INSERT INTO forecast_accuracy ({_COLUMNS}) SELECT f.run_id, '', f.model_type, f.forecast_date, "
        f"f.category, {ahead}, a.actual, {_SCORED.format(a='a.actual')}, a.batch_num, :now "
        "FROM cf_day_actuals a JOIN forecast_data f ON f.category = a.category AND f.forecast_date = a.date "
        f"JOIN forecast_runs r ON r.id = f.run_id WHERE {_DAILY_COMPLETED} AND f.forecast_date > r.history_end"
    ), {"now": now})
    conn.execute(text(
        f"INSERT INTO forecast_accuracy ({_COLUMNS}) SELECT f.run_id, f.product_id, :recommended, "
        f"f.forecast_date, f.category, {ahead}, i.sales, {_SCORED.format(a='i.sales')}, i.batch_num, :now "
        "FROM cf_changed c JOIN invoice_data i ON i.date = c.date AND i.product_id = c.product_id "
        "AND i.category = c.category JOIN product_forecast_data f ON f.category = c.category "
        "AND f.product_id = c.product_id AND f.forecast_date = c.date JOIN forecast_runs r ON r.id = f.run_id "
        f"WHERE {_DAILY_COMPLETED} AND r.product_status = '{ForecastStatus.COMPLETED.value}' "
        "AND f.forecast_date > r.history_end"
    ), {"now": now, "recommended": ModelType.RECOMMENDED.value})


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
