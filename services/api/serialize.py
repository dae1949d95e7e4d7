"""Rows to JSON-ready dicts: ISO 8601 dates and timestamps, floats for money, nothing else clever."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

from sqlalchemy import inspect

from common.models import Base


def jsonable(value: object) -> object:
    """One value in its JSON form (dates as ISO 8601, decimals as floats, NaN as null)."""
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or infinity (a metric that could not be computed)
    return value


def row_dict(row: Base, columns: list[str] | None = None) -> dict[str, object]:
    """A model instance as a dict of its columns (all of them unless `columns` names some)."""
    names = columns or [attr.key for attr in inspect(type(row)).column_attrs]
    return {name: jsonable(getattr(row, name)) for name in names}
