"""Statuses as string enums: their values are what the database stores and the API shows."""

from enum import StrEnum


class BatchStatus(StrEnum):
    """Where an uploaded file is in the ETL: uploaded -> processing -> completed | failed."""

    UPLOADED = "uploaded"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @classmethod
    def unfinished(cls) -> tuple["BatchStatus", ...]:
        """Statuses a batch can still leave: the reconcile step re-enqueues these."""
        return (cls.UPLOADED, cls.PROCESSING)


class ForecastStatus(StrEnum):
    """Roll-up of a batch's forecast jobs, and the status of one forecast run.

    `partial` is a batch's roll-up only (never a run's): its runs all ended, some completed and some failed.
    """

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"

    @classmethod
    def ended(cls) -> tuple["ForecastStatus", ...]:
        """A batch's roll-ups that no longer change (until a later run of the batch, which none makes today)."""
        return (cls.COMPLETED, cls.PARTIAL, cls.FAILED)


class EventKind(StrEnum):
    """What a category's own event is: days that move the numbers, or days the business is closed."""

    #: A day or days that move the numbers (a promotion, a fair, a strike nearby).
    EVENT = "event"
    #: The business is closed: sales are 0.
    CLOSURE = "closure"


class ModelType(StrEnum):
    """The forecast models and the forecasts built from them.

    `ensemble` is the mean of the single models that succeeded; `recommended` is the forecast castflow stands
    behind (a single model or a combination, chosen by backtest; its run says how it was built); `naive` is the
    fallback of a history too short for the models.
    """

    HOLT_WINTERS = "holt_winters"
    SARIMAX = "sarimax"
    PROPHET = "prophet"
    AUTO_ETS = "auto_ets"
    AUTO_THETA = "auto_theta"
    MSTL = "mstl"
    NAIVE = "naive"
    ENSEMBLE = "ensemble"
    RECOMMENDED = "recommended"


class ProductStatus(StrEnum):
    """How far a run's products got (forecast_runs.product_status; null: the run forecasts its category only)."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class ChunkStatus(StrEnum):
    """One product job of a run (product_chunks.status)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
