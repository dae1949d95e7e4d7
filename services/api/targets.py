"""A category's monthly targets (the totals a planner aims at): checking a set, storing it, reading it.

A PUT replaces the category's whole set in one transaction, checked as a whole first: each key a month as
YYYY-MM, each target a finite number >= 0, at most MAX_TARGETS of them.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Iterable, Mapping

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from common.db import utcnow
from common.models import CategoryTarget
from services.api.errors import ApiError
from services.api.events import history_span, retrying_lock_conflicts
from services.api.forecasts import UnknownCategory
from services.api.params import json_type

logger = logging.getLogger(__name__)

#: Most months one category may hold targets for (fifty years).
MAX_TARGETS = 600
#: Largest target accepted: far above any real month, below where a float stops counting units.
MAX_TARGET = 1e15
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_targets(body: object) -> dict[dt.date, float]:
    """The request body {"YYYY-MM": target, ...} as targets by each month's first day; 400 naming the key at fault."""
    if not isinstance(body, dict):
        raise ApiError(400, 'the request body must be a JSON object of month -> target, e.g. {"2026-03": 35000} '
                            f"(an empty object clears them), got {json_type(body)}")
    if len(body) > MAX_TARGETS:
        raise ApiError(400, f"a category holds at most {MAX_TARGETS} monthly targets, got {len(body)}")
    return {parse_month(key): parse_target(key, value) for key, value in body.items()}


def parse_month(key: str) -> dt.date:
    """A key YYYY-MM as the month's first day; 400 naming the key otherwise."""
    match = _MONTH.fullmatch(key)
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise ApiError(400, f"target {key[:30]!r}: the key must be a month as YYYY-MM (e.g. 2026-03)")
    return dt.date(int(match[1]), int(match[2]), 1)


def parse_target(key: str, value: object) -> float:
    """A target value: a finite number from 0 to MAX_TARGET; 400 naming the key otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(400, f"target {key!r}: the target must be a number, got {json_type(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ApiError(400, f"target {key!r}: the target must be a finite number, got {value}")
    if value < 0:
        raise ApiError(400, f"target {key!r}: the target must be 0 or more, got {value:g}")
    if value > MAX_TARGET:
        raise ApiError(400, f"target {key!r}: the target must be at most {MAX_TARGET:.0e}")
    return float(value)


def as_json(targets: Mapping[dt.date, float]) -> dict[str, float]:
    """Targets by month as the API shows them: {"YYYY-MM": target} in month order."""
    return {month.strftime("%Y-%m"): target for month, target in sorted(targets.items())}


def list_targets(session: Session, category: str) -> dict[dt.date, float]:
    """The category's targets by month; UnknownCategory when it has no stored data."""
    if history_span(session, category) is None:
        raise UnknownCategory(category)
    return {month: target for (_, month), target in targets_of(session, [category]).items()}


def targets_of(session: Session, categories: Iterable[str]) -> dict[tuple[str, dt.date], float]:
    """The targets of these categories, by (category, month)."""
    wanted = sorted(set(categories))
    if not wanted:
        return {}
    rows = session.execute(select(CategoryTarget.category, CategoryTarget.month, CategoryTarget.target)
                           .where(CategoryTarget.category.in_(wanted)))
    return {(category, month): float(target) for category, month, target in rows}


def replace_targets(sessions: sessionmaker[Session], category: str,
                    targets: Mapping[dt.date, float]) -> dict[dt.date, float]:
    """Make `targets` the category's whole set; UnknownCategory when it has no stored data."""
    retrying_lock_conflicts(lambda: _replace(sessions, category, targets),
                            f"category targets replace category={category!r}")
    logger.info("category targets saved category=%r months=%d", category, len(targets))
    return dict(targets)


def _replace(sessions: sessionmaker[Session], category: str, targets: Mapping[dt.date, float]) -> None:
    with sessions.begin() as session:
        if history_span(session, category) is None:
            raise UnknownCategory(category)
        session.execute(delete(CategoryTarget).where(CategoryTarget.category == category))
        now = utcnow()
        if targets:
            session.execute(insert(CategoryTarget), [
                {"category": category, "month": month, "target": target, "updated_at": now}
                for month, target in targets.items()])
