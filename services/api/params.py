"""Query-parameter parsing: a bad value is a 400 naming the parameter, never a silent default."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from services.api.errors import ApiError


def get_int(args: Mapping[str, str], name: str, default: int | None, *, minimum: int = 0,
            maximum: int | None = None) -> int | None:
    """An integer parameter within [minimum, maximum], or `default` when absent."""
    raw = args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ApiError(400, f"{name} must be an integer, got {raw[:50]!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ApiError(400, f"{name} must be {bound}, got {value}")
    return value


def get_date(args: Mapping[str, str], name: str) -> dt.date | None:
    """An ISO date parameter (YYYY-MM-DD), or None when absent."""
    raw = args.get(name)
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise ApiError(400, f"{name} must be a date as YYYY-MM-DD, got {raw[:50]!r}") from None


def get_choice(args: Mapping[str, str], name: str, choices: Iterable[str], default: str | None = None) -> str | None:
    """A parameter restricted to `choices`, or `default` when absent."""
    raw = args.get(name)
    if raw is None:
        return default
    allowed = list(choices)
    if raw not in allowed:
        raise ApiError(400, f"{name} must be one of {', '.join(allowed)}, got {raw[:50]!r}")
    return raw


def get_text(args: Mapping[str, str], name: str, max_length: int = 100) -> str | None:
    """A free-text filter value (compared exactly), or None when absent."""
    raw = args.get(name)
    if raw is None:
        return None
    if len(raw) > max_length:
        raise ApiError(400, f"{name} is longer than {max_length} characters")
    return raw


def date_range(args: Mapping[str, str]) -> tuple[dt.date | None, dt.date | None]:
    """start_date and end_date (inclusive); 400 when start is after end."""
    start, end = get_date(args, "start_date"), get_date(args, "end_date")
    if start and end and start > end:
        raise ApiError(400, "start_date is after end_date")
    return start, end


def reject_unknown(args: Mapping[str, str], known: Iterable[str]) -> None:
    """400 for a parameter the endpoint does not know (a typo must not silently widen a query)."""
    unknown = sorted(set(args) - set(known))
    if unknown:
        raise ApiError(400, f"unknown query parameter(s): {', '.join(unknown)}; "
                            f"known: {', '.join(sorted(known))}")
