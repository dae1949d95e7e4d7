"""A category's own events (promotions, closures, one-off days): checking a list, storing it, reading it.

A PUT replaces the category's whole list in one transaction. The list is checked as a whole before
anything is written: each entry's fields, then overlaps, then whether each event can influence a
forecast at all (it must touch the category's history, or lie at most a year past its last day plus
the horizon).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from common.db import utcnow
from common.models import EVENT_NAME_LENGTH, CategoryEvent, InvoiceData
from common.status import EventKind
from services.api.errors import ApiError
from services.api.forecasts import UnknownCategory
from services.etl.load import is_lock_conflict

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Most events one category may hold.
MAX_EVENTS = 500
#: How far past the history's last day plus the horizon an event may start (later ones cannot matter yet).
MAX_LEAD = dt.timedelta(days=365)
#: Attempts of a replacement that lost a lock conflict to a concurrent one (MySQL deadlock / lock wait).
REPLACE_ATTEMPTS = 3
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_KEYS = ("name", "start", "end", "kind")


@dataclass(frozen=True)
class Event:
    """One event of a category: `name` from `start` to `end` (inclusive), of `kind`."""

    name: str
    start: dt.date
    end: dt.date
    kind: EventKind

    def as_json(self) -> dict[str, str]:
        """The event as the API shows it."""
        return {"name": self.name, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "kind": self.kind.value}


def parse_events(body: object) -> list[Event]:
    """The request body as events in list order; 400 naming the first entry at fault (1-based)."""
    if not isinstance(body, list):
        raise ApiError(400, "the request body must be a JSON array of events {name, start, end, kind}")
    if len(body) > MAX_EVENTS:
        raise ApiError(400, f"a category holds at most {MAX_EVENTS} events, got {len(body)}")
    return [parse_event(entry, number) for number, entry in enumerate(body, start=1)]


def parse_event(entry: object, number: int) -> Event:
    """One entry of the list as an Event; 400 naming it as `event <number>`."""
    if not isinstance(entry, dict):
        raise ApiError(400, f"event {number} must be a JSON object {{name, start, end, kind}}")
    unknown = sorted(str(key)[:30] for key in set(entry) - set(_KEYS))
    if unknown:
        raise ApiError(400, f"event {number}: unknown key(s) {', '.join(unknown)}; known: {', '.join(_KEYS)}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, f"event {number}: name is missing or empty")
    if len(name) > EVENT_NAME_LENGTH:
        raise ApiError(400, f"event {number} ({name[:30]!r}...): name is longer than {EVENT_NAME_LENGTH} characters")
    where = f"event {number} ({name!r})"
    start, end = _day(entry, "start", where), _day(entry, "end", where)
    if end < start:
        raise ApiError(400, f"{where}: end {end} is before start {start}")
    return Event(name, start, end, _kind(entry.get("kind", EventKind.EVENT.value), where))


def _day(entry: dict[str, object], key: str, where: str) -> dt.date:
    raw = entry.get(key)
    if not isinstance(raw, str) or not _ISO_DAY.fullmatch(raw):
        shown = repr(raw[:30]) if isinstance(raw, str) else "missing" if raw is None else type(raw).__name__
        raise ApiError(400, f"{where}: {key} must be a date as YYYY-MM-DD, got {shown}")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"{where}: {key} {raw!r} is not a real day") from None


def _kind(raw: object, where: str) -> EventKind:
    allowed = [k.value for k in EventKind]
    if not isinstance(raw, str) or raw not in allowed:
        shown = repr(raw[:30]) if isinstance(raw, str) else type(raw).__name__
        raise ApiError(400, f"{where}: kind must be one of {', '.join(allowed)}, got {shown}")
    return EventKind(raw)


def check_overlaps(events: Sequence[Event]) -> None:
    """400 naming two events of the list whose days overlap (one day can carry one event only)."""
    ordered = sorted(events, key=lambda e: (e.start, e.end))
    reach = ordered[0] if ordered else None  # the event so far reaching furthest
    for later in ordered[1:]:
        if later.start <= reach.end:
            raise ApiError(400, f"events {reach.name!r} ({reach.start} to {reach.end}) and {later.name!r} "
                                f"({later.start} to {later.end}) overlap; a day can carry one event only")
        if later.end > reach.end:
            reach = later


def check_reach(events: Sequence[Event], first_day: dt.date, last_day: dt.date, horizon_days: int) -> None:
    """400 for an event that cannot influence any forecast: all before the history, or too far after it."""
    latest = last_day + dt.timedelta(days=horizon_days) + MAX_LEAD
    for event in events:
        if event.end < first_day:
            raise ApiError(400, f"event {event.name!r} ends on {event.end}, before the category's first stored "
                                f"day {first_day}: it cannot influence anything")
        if event.start > latest:
            raise ApiError(400, f"event {event.name!r} starts on {event.start}, more than a year after the "
                                f"forecast horizon's end ({last_day + dt.timedelta(days=horizon_days)}): "
                                "it cannot influence anything yet")


def history_span(session: Session, category: str) -> tuple[dt.date, dt.date] | None:
    """The category's first and last stored day (read off the category/date index), or None without data."""
    row = session.execute(select(func.min(InvoiceData.date), func.max(InvoiceData.date))
                          .where(InvoiceData.category == category)).one()
    return None if row[0] is None else (row[0], row[1])


def list_events(session: Session, category: str) -> list[Event]:
    """The category's stored events ordered by start; UnknownCategory when it has no stored data."""
    if history_span(session, category) is None:
        raise UnknownCategory(category)
    return _stored(session, category)


def _stored(session: Session, category: str) -> list[Event]:
    rows = session.execute(
        select(CategoryEvent.name, CategoryEvent.start_date, CategoryEvent.end_date, CategoryEvent.kind)
        .where(CategoryEvent.category == category).order_by(CategoryEvent.start_date, CategoryEvent.name)
    ).all()
    return [Event(r.name, r.start_date, r.end_date, EventKind(r.kind)) for r in rows]


@dataclass(frozen=True)
class Replaced:
    """The category's list after a replacement, and whether it differs from the list before."""

    events: list[Event]
    changed: bool


def replace_events(sessions: sessionmaker[Session], category: str, events: Sequence[Event],
                   horizon_days: int) -> Replaced:
    """Check `events` against each other and the category's history, then make them its whole list."""
    check_overlaps(events)
    return retrying_lock_conflicts(lambda: _replace(sessions, category, events, horizon_days),
                                   f"category events replace category={category!r}")


def retrying_lock_conflicts(replace: Callable[[], T], what: str) -> T:
    """`replace()`, run again (up to REPLACE_ATTEMPTS times) when it lost a lock conflict to a concurrent one."""
    for attempt in range(1, REPLACE_ATTEMPTS + 1):
        try:
            return replace()
        except OperationalError as exc:
            # Two replacements of one category at once can deadlock on MySQL's gap locks: the loser runs again.
            if not is_lock_conflict(exc) or attempt == REPLACE_ATTEMPTS:
                raise
            logger.warning("%s lost a lock conflict attempt=%d", what, attempt)
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")


def _replace(sessions: sessionmaker[Session], category: str, events: Sequence[Event],
             horizon_days: int) -> Replaced:
    with sessions.begin() as session:
        span = history_span(session, category)
        if span is None:
            raise UnknownCategory(category)
        check_reach(events, *span, horizon_days)
        before = _stored(session, category)
        if sorted(before, key=_order) == sorted(events, key=_order):
            return Replaced(before, changed=False)
        session.execute(delete(CategoryEvent).where(CategoryEvent.category == category))
        now = utcnow()
        if events:
            session.execute(insert(CategoryEvent), [
                {"category": category, "name": e.name, "start_date": e.start, "end_date": e.end,
                 "kind": e.kind.value, "created_at": now} for e in events])
        stored = _stored(session, category)
    logger.info("category events saved category=%r events=%d", category, len(stored))
    return Replaced(stored, changed=True)


def _order(event: Event) -> tuple[dt.date, str, dt.date, str]:
    return event.start, event.name, event.end, event.kind.value
