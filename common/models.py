"""The tables, as SQLAlchemy 2.0 models. `sql/schema.sql` is generated from these (see common.schema)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Longest product_id / category accepted (DESIGN: over-long keys are rejected).
KEY_LENGTH = 100
#: Longest name of a category's event.
EVENT_NAME_LENGTH = 100
#: DECIMAL(12,2): the largest sales value a row can hold, in cents.
MAX_SALES_CENTS = 10**12 - 1


def key_column(length: int = KEY_LENGTH) -> String:
    """A text key compared exactly: binary collation on MySQL (SQLite compares bytes already)."""
    return String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )


def hash_column() -> String:
    """A hex SHA-256: ASCII on MySQL so that it costs 64 bytes, not 256."""
    return String(64).with_variant(mysql.CHAR(64, charset="ascii", collation="ascii_bin"), "mysql", "mariadb")


class Base(DeclarativeBase):
    """Declarative base; every table is InnoDB, utf8mb4 on MySQL."""

    __table_args__ = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def _table_args(*indexes: Index | UniqueConstraint, **options: object) -> tuple:
    return (*indexes, {**Base.__table_args__, **options})


def _count() -> Mapped[int]:
    return mapped_column(Integer, nullable=False, default=0, server_default="0")


class UploadMetadata(Base):
    """One uploaded file (a batch): where it is stored, how far the ETL got, what it counted."""

    __tablename__ = "upload_metadata"
    __table_args__ = _table_args(
        Index("ix_upload_status", "status"),
        # The same bytes are one batch per mapping: uploading them again with the same mapping is a duplicate.
        UniqueConstraint("file_hash", "mapping_digest", name="uq_upload_file_mapping"),
        sqlite_autoincrement=True,
    )

    batch_num: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    original_filename: Mapped[str] = mapped_column(String(255), nullable=False)
    stored_filename: Mapped[str] = mapped_column(String(255), nullable=False)
    file_hash: Mapped[str] = mapped_column(hash_column(), nullable=False)
    #: The column mapping the batch was uploaded with (canonical JSON), null for the original columns.
    mapping: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Where a wide file's or a workbook's categories come from, as JSON: {"columns": [...]} or {"sheets": [...]};
    #: null for a file with a category column. MEDIUMTEXT on MySQL: up to MAX_COLUMNS headers of 100 characters.
    categories_from: Mapped[str | None] = mapped_column(Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"),
                                                        nullable=True)
    #: SHA-256 of that mapping, empty for none: part of what makes an upload a duplicate.
    mapping_digest: Mapped[str] = mapped_column(String(64), nullable=False, server_default="")
    file_size: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP"))
    num_total_rows: Mapped[int] = _count()
    num_missing_rows: Mapped[int] = _count()
    num_imputed_rows: Mapped[int] = _count()
    num_inserted_rows: Mapped[int] = _count()
    num_updated_rows: Mapped[int] = _count()
    num_unchanged_rows: Mapped[int] = _count()
    num_rejected_rows: Mapped[int] = _count()
    #: Rows set aside by the mapping's drop_negative_sales (returns, cancellations): neither stored nor rejected.
    num_filtered_rows: Mapped[int] = _count()
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="uploaded")
    progress: Mapped[float] = mapped_column(Float, nullable=False, default=0.0, server_default="0")
    #: Null until the batch is loaded; then pending -> running -> completed | failed.
    forecast_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    error_log: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: How many times an ETL job has claimed this batch (bounded by ETL_MAX_ATTEMPTS).
    attempts: Mapped[int] = _count()
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class InvoiceData(Base):
    """One observation: a product's sales in a category on a day."""

    __tablename__ = "invoice_data"
    __table_args__ = _table_args(
        # One secondary index only: each one costs the bulk merge ~30% (measured on MariaDB); per-category
        # date ranges are what forecasts and the UI read, other filters scan.
        Index("ix_invoice_category_date", "category", "date"),
        mysql_collate="utf8mb4_bin",
    )

    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[str] = mapped_column(key_column(), primary_key=True)
    category: Mapped[str] = mapped_column(key_column(), primary_key=True)
    sales: Mapped[float] = mapped_column(Numeric(12, 2, asdecimal=False), nullable=False)
    is_imputed: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="0")
    batch_num: Mapped[int] = mapped_column(Integer, nullable=False)
    file_hash: Mapped[str] = mapped_column(hash_column(), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")


class InvoiceHistory(Base):
    """A stored row as it was just before a batch updated it: what undoing that batch puts back.

    Written by the batch's merge, in its transaction, for the keys it updates (not those it inserts:
    undoing removes those); keyed by that batch first, so an undo reads one range.
    """

    __tablename__ = "invoice_history"
    __table_args__ = _table_args(mysql_collate="utf8mb4_bin")

    #: The batch whose merge replaced this row.
    batch_num: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    product_id: Mapped[str] = mapped_column(key_column(), primary_key=True)
    category: Mapped[str] = mapped_column(key_column(), primary_key=True)
    sales: Mapped[float] = mapped_column(Numeric(12, 2, asdecimal=False), nullable=False)
    is_imputed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    #: The row's own batch_num, file_hash, timestamps and version before the replacement.
    previous_batch_num: Mapped[int] = mapped_column(Integer, nullable=False)
    file_hash: Mapped[str] = mapped_column(hash_column(), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)


class CategoryStats(Base):
    """What invoice_data holds per category, kept current by the ETL's merge so that reads need not aggregate it."""

    __tablename__ = "category_stats"

    category: Mapped[str] = mapped_column(key_column(), primary_key=True)
    product_count: Mapped[int] = _count()
    first_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    last_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    row_count: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    #: When a merge (or the one-time backfill) last changed the row.
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class CategoryProduct(Base):
    """A product that has observations in a category (one row per series): what product_count counts.

    Kept so that a merge can count a category's products from its own new keys, without reading the
    category's observations again.
    """

    __tablename__ = "category_products"

    category: Mapped[str] = mapped_column(key_column(), primary_key=True)
    product_id: Mapped[str] = mapped_column(key_column(), primary_key=True)


class BatchError(Base):
    """A rejected row of a batch: its line in the file, the column at fault, the value and why."""

    __tablename__ = "batch_errors"
    __table_args__ = _table_args(Index("ix_batch_errors_batch_line", "batch_num", "line"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_num: Mapped[int] = mapped_column(Integer, nullable=False)
    line: Mapped[int] = mapped_column(Integer, nullable=False)
    column_name: Mapped[str] = mapped_column(String(30), nullable=False)
    value: Mapped[str] = mapped_column(String(200), nullable=False)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)


class ForecastRun(Base):
    """One forecast job for one category, created when its work is enqueued."""

    __tablename__ = "forecast_runs"
    __table_args__ = _table_args(
        Index("ix_forecast_runs_batch", "batch_num"),
        Index("ix_forecast_runs_category", "category", "id"),
        # Each category's latest *completed* run, which every forecast read starts from: MAX(id) per
        # (category, status) is read off this index (a loose index scan), whatever the runs table holds.
        Index("ix_forecast_runs_category_status", "category", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    category: Mapped[str] = mapped_column(key_column(), nullable=False)
    #: The batch whose load asked for this run; null for a run asked for through the API.
    batch_num: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pending")
    horizon_days: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The holiday calendar the run used (ISO country code), null for none.
    holiday_country: Mapped[str | None] = mapped_column(String(10), nullable=True)
    #: The history the run saw: the first and the last period of its series (days; at weeks or months each
    #: period's first day).
    history_start: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    history_end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    attempts: Mapped[int] = _count()
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP"))
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    error_log: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: How the run's recommended forecast was built, in words (e.g. "weighted mean of prophet, auto_ets").
    recommended_method: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The grain the run forecast at (a common.grain.Grain value; null: day, for runs made before grains).
    #: `horizon_days` stays the requested horizon in days; the run's horizon in its periods is horizon_periods.
    grain: Mapped[str | None] = mapped_column(String(10), nullable=True)
    #: The grain's anchor: a weekday for weeks, "start"/"end"/"day N" for months and quarters.
    grain_anchor: Mapped[str | None] = mapped_column(String(20), nullable=True)
    #: How many periods of `grain` the run forecast.
    horizon_periods: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Why the run could not tell the category's grain (mixed or irregular dates, a setting finer than the
    #: data), in words; null when it could.
    grain_problem: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The mean absolute error of the seasonal naive forecast over the run's history (one step of its grain's
    #: seasonal lag): the scale realised accuracy divides by to give MASE, stored so scoring need not re-read history.
    naive_scale: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: The products of the run: null when the run forecasts the category only; else "queued", "running",
    #: "completed" or "failed". Product reads start from runs whose products are "completed".
    product_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    products_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    products_done: Mapped[int | None] = mapped_column(Integer, nullable=True)
    products_skipped: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The reconciliation method that made the products add up to the category (e.g. "mint_shrink", "bottom_up").
    reconciliation: Mapped[str | None] = mapped_column(String(30), nullable=True)
    #: How many times the reconciliation job has started on the run's products (null: never); past
    #: FORECAST_MAX_ATTEMPTS the products fail instead of being tried again.
    reconcile_attempts: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Why the products were not forecast, or what a planner should know about them, in words.
    product_note: Mapped[str | None] = mapped_column(Text, nullable=True)


class ForecastData(Base):
    """One forecast day of one model in one run: the value and its interval."""

    __tablename__ = "forecast_data"
    __table_args__ = _table_args(
        Index("ix_forecast_data_run", "run_id", "model_type", "forecast_date"),
        Index("ix_forecast_data_category", "category", "model_type", "forecast_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    batch_num: Mapped[int | None] = mapped_column(Integer, nullable=True)
    category: Mapped[str] = mapped_column(key_column(), nullable=False)
    model_type: Mapped[str] = mapped_column(String(20), nullable=False)
    forecast_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    forecast_value: Mapped[float] = mapped_column(Float, nullable=False)
    lower_bound: Mapped[float] = mapped_column(Float, nullable=False)
    upper_bound: Mapped[float] = mapped_column(Float, nullable=False)
    #: The 10th, 50th and 90th percentiles of the forecast distribution (null in runs made before quantiles).
    p10: Mapped[float | None] = mapped_column(Float, nullable=True)
    p50: Mapped[float | None] = mapped_column(Float, nullable=True)
    p90: Mapped[float | None] = mapped_column(Float, nullable=True)


class ForecastBacktest(Base):
    """One held-out day of one model's backtest in one run: what the model forecast from `origin`, and the actual.

    A run backtests each model on a few windows of its history (services/forecast/backtest.py); `origin` is the
    last day a window's model was trained on, and `actual` the value the run saw on the day (null: a gap).
    """

    __tablename__ = "forecast_backtests"
    __table_args__ = _table_args(Index("ix_forecast_backtests_run", "run_id", "model_type", "origin", "forecast_date"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    category: Mapped[str] = mapped_column(key_column(), nullable=False)
    model_type: Mapped[str] = mapped_column(String(20), nullable=False)
    origin: Mapped[dt.date] = mapped_column(Date, nullable=False)
    forecast_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    forecast_value: Mapped[float] = mapped_column(Float, nullable=False)
    lower_bound: Mapped[float] = mapped_column(Float, nullable=False)
    upper_bound: Mapped[float] = mapped_column(Float, nullable=False)
    actual: Mapped[float | None] = mapped_column(Float, nullable=True)


class ForecastMetric(Base):
    """How one model did in one run's backtest (null metrics and an error when it failed)."""

    __tablename__ = "forecast_metrics"
    __table_args__ = _table_args(
        Index("ix_forecast_metrics_run", "run_id", "model_type"),
        Index("ix_forecast_metrics_category", "category", "run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    category: Mapped[str] = mapped_column(key_column(), nullable=False)
    model_type: Mapped[str] = mapped_column(String(20), nullable=False)
    mae: Mapped[float | None] = mapped_column(Float, nullable=True)
    rmse: Mapped[float | None] = mapped_column(Float, nullable=True)
    smape: Mapped[float | None] = mapped_column(Float, nullable=True)
    mase: Mapped[float | None] = mapped_column(Float, nullable=True)
    coverage: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Share of held-out days inside the 80% interval (p10..p90), and the weighted quantile loss of p10/p50/p90.
    coverage80: Mapped[float | None] = mapped_column(Float, nullable=True)
    wql: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: How the model's held-out daily errors are correlated (services/forecast/sums.py): the share common to
    #: a whole window and the AR(1) of the rest; what a week's or a month's interval is built with. Null
    #: in runs made before it was measured (the reads then use a conservative default).
    error_level: Mapped[float | None] = mapped_column(Float, nullable=True)
    error_ar: Mapped[float | None] = mapped_column(Float, nullable=True)
    is_best: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default="0")
    fit_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ProductForecastData(Base):
    """One product's forecast for one day of a category's run: the recommended forecast after reconciliation.

    `run_id` is the category's forecast run (forecast_runs.id): a run that forecasts products writes the
    category's rows to forecast_data and each product's here, so the products of a completed run add up to
    the category's recommended forecast day by day. `model_type` names the method the product's forecast was
    recommended from before reconciliation (a ModelType value or a product method's name).
    """

    __tablename__ = "product_forecast_data"
    __table_args__ = _table_args(
        Index("ix_product_forecast_run", "run_id", "product_id", "forecast_date"),
        Index("ix_product_forecast_category", "category", "product_id", "forecast_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    category: Mapped[str] = mapped_column(key_column(), nullable=False)
    product_id: Mapped[str] = mapped_column(key_column(), nullable=False)
    model_type: Mapped[str] = mapped_column(String(30), nullable=False)
    forecast_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    forecast_value: Mapped[float] = mapped_column(Float, nullable=False)
    lower_bound: Mapped[float] = mapped_column(Float, nullable=False)
    upper_bound: Mapped[float] = mapped_column(Float, nullable=False)
    p10: Mapped[float | None] = mapped_column(Float, nullable=True)
    p50: Mapped[float | None] = mapped_column(Float, nullable=True)
    p90: Mapped[float | None] = mapped_column(Float, nullable=True)


class ProductForecastSummary(Base):
    """One product of a category's run: its recommended method, backtest error and volume, or why it was skipped."""

    __tablename__ = "product_forecast_summaries"
    __table_args__ = _table_args(Index("ix_product_summary_category", "category", "run_id"))

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    product_id: Mapped[str] = mapped_column(key_column(), primary_key=True)
    category: Mapped[str] = mapped_column(key_column(), nullable=False)
    #: "forecast" or "skipped" (a product with too little history; `note` says why).
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    method: Mapped[str | None] = mapped_column(String(30), nullable=True)
    #: The recommended method's backtest errors (MASE against the seasonal naive, MAE in units).
    mase: Mapped[float | None] = mapped_column(Float, nullable=True)
    mae: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Units sold over the history the run used, and on how many of its days the product sold.
    volume: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    selling_days: Mapped[int] = _count()
    #: The product's seasonal naive mean absolute error over its history: realised MASE's denominator.
    naive_scale: Mapped[float | None] = mapped_column(Float, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class ProductChunk(Base):
    """One product job of a run: which products it forecasts, how far it got, and its staged results.

    A run's products are split into chunks when its category forecast is published; each chunk is one RQ job.
    `result` holds the chunk's base forecasts, backtests and summaries (compressed JSON) until the run's
    reconciliation writes product_forecast_data from all chunks and clears it; a chunk that is `done` is never
    computed again, so a re-queued job (a worker killed mid-way) redoes only unfinished chunks.
    """

    __tablename__ = "product_chunks"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: The chunk's product ids, as a JSON list.
    products: Mapped[str] = mapped_column(Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb"), nullable=False)
    #: "pending", "running", "done" or "failed".
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pending")
    attempts: Mapped[int] = _count()
    result: Mapped[bytes | None] = mapped_column(LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb"),
                                                 nullable=True)


class CategoryRealised(Base):
    """How a category's current forecast did on the actuals that came after it, at the last drift check.

    Realised accuracy itself is computed when asked (common/realised.py); this row keeps the one figure
    the drift check measured, for /metrics to read without computing it again at every scrape.
    """

    __tablename__ = "category_realised"

    category: Mapped[str] = mapped_column(key_column(), primary_key=True)
    #: The run whose recommended forecast was measured (the category's latest completed run).
    run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    #: Days of that forecast with an actual, the MAE over the run's naive scale, and its backtest MASE.
    days: Mapped[int] = mapped_column(Integer, nullable=False)
    realised_mase: Mapped[float] = mapped_column(Float, nullable=False)
    backtest_mase: Mapped[float | None] = mapped_column(Float, nullable=True)
    measured_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)


class CategoryDrift(Base):
    """A time a category's current forecast drifted from the actuals: measured, explained, and when it cleared."""

    __tablename__ = "category_drift"
    __table_args__ = _table_args(Index("ix_category_drift_category", "category", "cleared_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    category: Mapped[str] = mapped_column(key_column(), nullable=False)
    since: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    #: The run whose recommended forecast drifted (updated while the drift lasts), and the numbers behind it.
    run_id: Mapped[int] = mapped_column(Integer, nullable=False)
    realised_mase: Mapped[float] = mapped_column(Float, nullable=False)
    backtest_mase: Mapped[float] = mapped_column(Float, nullable=False)
    ratio: Mapped[float] = mapped_column(Float, nullable=False)
    threshold: Mapped[float] = mapped_column(Float, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    #: The run that re-forecasts the category (the run that judged it, the undo's, or one the drift queued); null: none.
    reforecast_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: When a later check found the current forecast within its threshold again; null while drifting.
    cleared_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class CategorySetting(Base):
    """Per-category overrides: the holiday calendar (a row with a null country means none), grain and horizon."""

    __tablename__ = "category_settings"

    category: Mapped[str] = mapped_column(key_column(), primary_key=True)
    holiday_country: Mapped[str | None] = mapped_column(String(10), nullable=True)
    #: True when the row exists for the grain or horizon only and the calendar is the default (null: overridden,
    #: as every row made before grains).
    holiday_country_default: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: The grain the category is forecast at (a common.grain.Grain value); null: the grain its dates show.
    grain: Mapped[str | None] = mapped_column(String(10), nullable=True)
    #: The forecast horizon in periods of the grain; null: the grain's default (30 days, 13 weeks, 12 months..).
    horizon: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Forecast the category's products too; null: the default (on when it has at most PRODUCT_FORECAST_MAX).
    product_forecasts: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: Drift: the realised error that marks the category as drifting, as a multiple of its backtest error
    #: (null: the deployment's default), and whether drifting queues a new run (null: yes).
    drift_threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    drift_reforecast: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP"))


class ProductStock(Base):
    """A product's stock on hand as last sent (upload or API), with its own lead time, service level and costs.

    Null parameters take the category's inventory settings, else the deployment's defaults.
    """

    __tablename__ = "product_stock"

    category: Mapped[str] = mapped_column(key_column(), primary_key=True)
    product_id: Mapped[str] = mapped_column(key_column(), primary_key=True)
    #: Units on hand (the inventory position: on hand + on order - backorders, when those are known).
    on_hand: Mapped[float] = mapped_column(Float, nullable=False)
    lead_time_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    service_level: Mapped[float | None] = mapped_column(Float, nullable=True)
    order_cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit_cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP"))


class InventorySetting(Base):
    """A category's inventory defaults for its products' stock; a null value is the deployment's default."""

    __tablename__ = "inventory_settings"

    category: Mapped[str] = mapped_column(key_column(), primary_key=True)
    lead_time_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    service_level: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Days of demand one order covers when the EOQ cannot be computed (no order or unit cost).
    review_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    order_cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit_cost: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Yearly cost of holding one unit, as a share of its unit cost (the EOQ's carrying cost rate).
    holding_cost_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP"))


class CategoryEvent(Base):
    """A category's own event: a promotion, a closure or a one-off day, from start_date to end_date inclusive."""

    __tablename__ = "category_events"
    __table_args__ = _table_args(Index("ix_category_events_category_start", "category", "start_date"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    category: Mapped[str] = mapped_column(key_column(), nullable=False)
    name: Mapped[str] = mapped_column(String(EVENT_NAME_LENGTH), nullable=False)
    start_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    end_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    #: An EventKind: "event" or "closure".
    kind: Mapped[str] = mapped_column(String(20), nullable=False, server_default="event")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP"))


class CategoryTarget(Base):
    """A category's target for one month (the total a planner aims at), keyed by the month's first day."""

    __tablename__ = "category_targets"

    category: Mapped[str] = mapped_column(key_column(), primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    target: Mapped[float] = mapped_column(Float, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP"))


class MappingProfile(Base):
    """A named column mapping, for uploads that name it instead of sending the mapping each time."""

    __tablename__ = "mapping_profiles"

    name: Mapped[str] = mapped_column(key_column(), primary_key=True)
    mapping: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP"))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP"))


class CategoryWebhook(Base):
    """A category's own webhook URL: its events go there besides WEBHOOK_URL."""

    __tablename__ = "category_webhooks"

    category: Mapped[str] = mapped_column(key_column(), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP"))


class WebhookDelivery(Base):
    """One event to one URL: the exact body sent on every attempt, and how the attempts went."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = _table_args(
        # One delivery per (event, its subject, URL): a job that ends twice announces once.
        UniqueConstraint("dedupe_key", name="uq_webhook_deliveries_dedupe"),
        Index("ix_webhook_deliveries_category", "category", "id"),
        Index("ix_webhook_deliveries_event", "event", "id"),
        Index("ix_webhook_deliveries_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: The id receivers see in X-Castflow-Delivery (a UUID: unique across deployments too).
    delivery_id: Mapped[str] = mapped_column(String(36), nullable=False)
    #: SHA-256 of (event, subject, URL).
    dedupe_key: Mapped[str] = mapped_column(hash_column(), nullable=False)
    #: A WebhookEvent value.
    event: Mapped[str] = mapped_column(String(40), nullable=False)
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    #: The category whose own URL this went to; null for WEBHOOK_URL.
    category: Mapped[str | None] = mapped_column(key_column(), nullable=True)
    batch_num: Mapped[int | None] = mapped_column(Integer, nullable=True)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    #: A DeliveryStatus value.
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default="pending")
    attempts: Mapped[int] = _count()
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=text("CURRENT_TIMESTAMP"))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class WebhookAttempt(Base):
    """One attempt of a delivery: when, the HTTP status it got, or why it got none."""

    __tablename__ = "webhook_attempts"
    __table_args__ = _table_args(Index("ix_webhook_attempts_delivery", "delivery_id", "attempt"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: webhook_deliveries.id
    delivery_id: Mapped[int] = mapped_column(Integer, nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    attempted_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    duration_ms: Mapped[int] = _count()
