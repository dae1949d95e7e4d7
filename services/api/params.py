"""Query-parameter and JSON-body parsing: a bad value is a 400 naming the parameter, never a silent default."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping

from flask import Request

from common.grain import Grain
from services.api.errors import ApiError

#: Largest JSON body read: the API's bodies are a few short keys.
MAX_JSON_BYTES = 64 * 1024


#: Largest id a parameter may name (id columns are 32-bit signed integers).
MAX_ID = 2**31 - 1
#: Largest offset a listing accepts (far past any real table; the database refuses offsets past 2**63).
MAX_OFFSET = 10**9
_SURROGATE = re.compile("[\ud800-\udfff]")


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


def get_grain(args: Mapping[str, str]) -> Grain:
    """The `grain` parameter (day, week, month, quarter); day when absent."""
    return Grain(get_choice(args, "grain", [g.value for g in Grain], default=Grain.DAY.value))


def get_choices(args: Mapping[str, str], name: str, choices: Iterable[str]) -> tuple[str, ...] | None:
    """A comma-separated list of `choices` (repeats dropped, order kept), or None when absent."""
    raw = args.get(name)
    if raw is None:
        return None
    allowed = list(choices)
    picked = raw.split(",")
    wrong = [value for value in picked if value not in allowed]
    if wrong:
        raise ApiError(400, f"{name} must be one of {', '.join(allowed)} (or several, comma-separated), "
                            f"got {wrong[0][:50]!r}")
    return tuple(dict.fromkeys(picked))


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


def json_object(request: Request, *, required: Iterable[str] = (), optional: Iterable[str] = (),
                allow_empty: bool = False) -> dict[str, object]:
    """The body as a JSON object holding every `required` key and no unknown one; 400 otherwise."""
    body = json_body(request, "send a JSON object as the request body", empty={} if allow_empty else None)
    if not isinstance(body, dict):
        raise ApiError(400, f"the request body must be a JSON object, got {json_type(body)}")
    known = [*required, *optional]
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise ApiError(400, f"unknown key(s): {', '.join(unknown)}; known: {', '.join(known)}")
    missing = [key for key in required if key not in body]
    if missing:
        raise ApiError(400, f"missing key(s): {', '.join(missing)}")
    return body


def json_body(request: Request, missing: str, *, empty: object = None, max_bytes: int = MAX_JSON_BYTES) -> object:
    """The body decoded as JSON (`empty` when blank and given, else a 400 saying `missing`); 413 past `max_bytes`."""
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ApiError(413, f"the JSON body is larger than {max_bytes} bytes")
    if not raw.strip():
        if empty is not None:
            return empty
        raise ApiError(400, missing)
    return json_value(raw, "the request body")


def json_value(raw: str | bytes, what: str) -> object:
    """`raw` decoded as JSON; 400 naming `what` when it is not JSON, nests too deeply or is not text."""
    try:
        value = json.loads(raw)
    except RecursionError:
        # Thousands of nested brackets exhaust the decoder's stack: a hostile body, not a server fault.
        raise ApiError(400, f"{what} nests arrays or objects too deeply") from None
    except ValueError as exc:
        where = f" ({exc.msg} at character {exc.pos})" if isinstance(exc, json.JSONDecodeError) else ""
        raise ApiError(400, f"{what} is not valid JSON{where}") from None
    if _holds_lone_surrogate(value):
        # JSON may escape half of a UTF-16 pair (\ud800); such a string cannot be encoded, stored or compared.
        raise ApiError(400, f"{what} holds a lone surrogate escape (\\ud800-\\udfff), which is not text")
    return value


def _holds_lone_surrogate(value: object) -> bool:
    pending = [value]  # iterative: a deep (but decodable) document must not exhaust the stack here
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def body_text(body: Mapping[str, object], name: str, *, max_length: int = 100, nullable: bool = False) -> str | None:
    """A non-empty string value of a JSON body (or null when `nullable`); 400 otherwise."""
    value = body.get(name)
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be a string{' or null' if nullable else ''}, got {json_type(value)}")
    if not value:
        raise ApiError(400, f"{name} must not be empty")
    if len(value) > max_length:
        raise ApiError(400, f"{name} is longer than {max_length} characters")
    return value


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
